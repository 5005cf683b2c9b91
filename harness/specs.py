"""A parsed suite as plain frozen dataclasses (no pydantic: evaluating one pipeline
from the CLI needs these, not the suite file's models in :mod:`harness.suites`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .baselines import baseline_path
from .errors import HarnessError
from .options import (
    DEFAULT_BASELINES_DIRNAME,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHECKPOINT,
    DEFAULT_LATENCY_DOCS,
    DEFAULT_MIN_BASELINE_COVERAGE,
    DEFAULT_REPLICATES,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    DEFAULT_TRAIN_SEED,
)
from .runners.registry import kind_of

if TYPE_CHECKING:
    from .gold.store import GoldRef


@dataclass(frozen=True)
class TrainSpec:
    config: Path | None = None
    max_steps: int | None = None
    seed: int = DEFAULT_TRAIN_SEED
    checkpoint: str = DEFAULT_CHECKPOINT  # one of options.CHECKPOINTS
    replicates: int = DEFAULT_REPLICATES  # retrained with other seeds when blessed (training noise)


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline to evaluate: ``kind`` says which runner handles it."""

    name: str
    kind: str
    path: str  # resolved path, or an installed package name
    train: TrainSpec | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    latency_docs: int = DEFAULT_LATENCY_DOCS
    declared_size: int | None = None  # llm: the model's size is not on disk
    prices: Mapping[str, float] = field(default_factory=dict)  # llm: USD per 1k prompt/completion tokens
    key: str = "input_hash"  # predictions: match records by "input_hash" or "text"

    @property
    def role(self) -> str:
        """Its part in a suite: "distilled", "llm" or "reference" (its kind's, from the runner registry)."""
        return kind_of(self.kind).role

    @property
    def is_llm(self) -> bool:
        return self.role == "llm"


@dataclass(frozen=True)
class SuiteSpec:
    """A parsed suite file. Gates are built against the gold's labels by :func:`build_gates`."""

    file: Path
    name: str
    gold: GoldRef
    gold_dir: Path
    pipelines: Mapping[str, PipelineSpec]
    gate_tables: Mapping[str, Any] = field(default_factory=dict)  # gates.<pipeline> -> suites.GatesTable
    description: str = ""
    threshold: float = DEFAULT_THRESHOLD
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    pool: tuple[GoldRef, str] | None = None  # unlabelled pool: (gold ref, split), e.g. the gold's train split
    engine: str | None = None  # harness.engines: local (None), processes or ray
    rank: str | None = None  # queue fill: disagreement (None) or random
    training: str = ""  # dataset name of the training versions (default: "<gold>-train")
    baselines_dir: Path | None = None  # where baselines/<suite>.json lives (default: ../baselines)
    behaviour: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # pipeline -> check -> suites.CheckTable

    def min_baseline_coverage(self, pipeline: str) -> float:
        """The share of the eval split a baseline must be comparable on (the pipeline's
        ``no_regression.min_coverage``, else the default)."""
        table = self.gate_tables.get(pipeline)
        regression = getattr(table, "no_regression", None)
        return float(regression.min_coverage) if regression is not None else DEFAULT_MIN_BASELINE_COVERAGE

    @property
    def distilled(self) -> PipelineSpec | None:
        """The distilled pipeline: the suite's first pipeline of a distilled kind (spaCy)."""
        return next((p for p in self.pipelines.values() if p.role == "distilled"), None)

    @property
    def llm(self) -> PipelineSpec | None:
        """The teacher: the suite's first LLM pipeline."""
        return next((p for p in self.pipelines.values() if p.is_llm), None)

    @property
    def baseline_file(self) -> Path:
        """``<baselines_dir>/<suite>.json`` (default ``baselines/`` beside the suite's folder): the
        one place a suite's baseline file is worked out."""
        directory = self.baselines_dir if self.baselines_dir is not None else self.file.parent.parent / DEFAULT_BASELINES_DIRNAME
        return baseline_path(directory, self.name)

    def roles(self, ran: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """(distilled, llm): the names of those pipelines, if they are among ``ran``."""
        distilled, llm = self.distilled, self.llm
        return (
            distilled.name if distilled is not None and distilled.name in ran else None,
            llm.name if llm is not None and llm.name in ran else None,
        )

    def require_distilled(self) -> PipelineSpec:
        if self.distilled is None:
            raise HarnessError(f"{self.file}: the suite has no spaCy (distilled) pipeline")
        return self.distilled

    def require_llm(self) -> PipelineSpec:
        if self.llm is None:
            raise HarnessError(f"{self.file}: the suite has no llm pipeline")
        return self.llm
