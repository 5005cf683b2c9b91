"""The suite file's schema: typed pydantic models (``extra="forbid"``, strict types,
ranges; choices read from options.py and the runner registry), and how a validation
error becomes an :class:`InputError` naming the file and the dotted key (for an unknown
key, the keys valid there)."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError
from .options import (
    CHECKPOINTS,
    DEFAULT_BASELINES_DIR,
    DEFAULT_BATCH_SIZE,
    DEFAULT_BEHAVIOUR_EXAMPLES,
    DEFAULT_BEHAVIOUR_MIN_CASES,
    DEFAULT_BEHAVIOUR_SECONDS,
    DEFAULT_CHECKPOINT,
    DEFAULT_LATENCY_DOCS,
    DEFAULT_MIN_BASELINE_COVERAGE,
    DEFAULT_REPLICATES,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    DEFAULT_TRAIN_SEED,
    ENGINES,
    PREDICTION_KEYS,
    RANKS,
)
from .runners.registry import kinds

Fraction = typing.Annotated[float, Field(ge=0.0, le=1.0)]
Positive = typing.Annotated[float, Field(gt=0)]

# -- the file, as typed models ------------------------------------------------------


class _Table(BaseModel):
    # strict: "0.7" or true is not a number; extra="forbid": a typo'd key is an error.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _one_of(allowed: Callable[[], Iterable[str]], what: str) -> AfterValidator:
    """A string that must be one of ``allowed()`` (read from options.py or the runner registry,
    never spelled again here)."""

    def check(value: str) -> str:
        choices = tuple(allowed())
        if value not in choices:
            raise ValueError(f"unknown {what}; expected one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


Checkpoint = typing.Annotated[str, _one_of(lambda: CHECKPOINTS, "checkpoint")]
EngineName = typing.Annotated[str, _one_of(lambda: ENGINES, "engine")]
RankName = typing.Annotated[str, _one_of(lambda: RANKS, "rank")]
PipelineKind = typing.Annotated[str, _one_of(lambda: kinds(), "pipeline kind")]
PredictionKey = typing.Annotated[str, _one_of(lambda: PREDICTION_KEYS, "key")]


class TrainTable(_Table):
    config: str | None = None
    max_steps: int | None = Field(None, ge=1)
    seed: int = DEFAULT_TRAIN_SEED
    checkpoint: Checkpoint = DEFAULT_CHECKPOINT
    replicates: int = Field(DEFAULT_REPLICATES, ge=0, le=100)  # seeds retrained when blessed (training noise)


class PricesTable(_Table):
    prompt_per_1k: float = Field(0.0, ge=0)
    completion_per_1k: float = Field(0.0, ge=0)


class PipelineTable(_Table):
    kind: PipelineKind = "spacy"
    path: str | None = Field(None, min_length=1)
    config: str | None = Field(None, min_length=1)
    train: TrainTable | None = None
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1)
    latency_docs: int = Field(DEFAULT_LATENCY_DOCS, ge=0)
    size_bytes: Positive | None = None
    prices: PricesTable | None = None
    key: PredictionKey = "input_hash"


class VsLLMTable(_Table):
    llm: str | None = None
    max_drop: Fraction
    per_label: bool = False


class NoRegressionTable(_Table):
    max_drop: Fraction
    per_label: bool = False
    labels: list[str] | None = None  # per-label gates for these labels only (implies per_label)
    words_per_second_max_drop: Fraction | None = None
    size_max_growth: typing.Annotated[float, Field(ge=0.0)] | None = None
    min_coverage: Fraction = DEFAULT_MIN_BASELINE_COVERAGE


class CheckTable(_Table):
    min_pass_rate: Fraction
    max_examples: int = Field(DEFAULT_BEHAVIOUR_EXAMPLES, ge=1, le=10_000)
    min_cases: int = Field(DEFAULT_BEHAVIOUR_MIN_CASES, ge=1)  # fewer judged cases: the check fails
    max_seconds: Positive = DEFAULT_BEHAVIOUR_SECONDS  # time budget of the check's generation
    function: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")  # module:function (custom checks)


class GatesTable(_Table):
    f_min: Fraction | None = None
    macro_f_min: Fraction | None = None
    label_f_min: Fraction | None = None
    label_f_min_overrides: dict[str, Fraction] = Field(default_factory=dict)
    words_per_second_min: Positive | None = None
    size_bytes_max: Positive | None = None
    distilled_vs_llm: VsLLMTable | None = None
    no_regression: NoRegressionTable | None = None
    must_pass: list[int] = Field(default_factory=list)  # eval input hashes the pipeline must get exactly right


class SuiteTable(_Table):
    name: str = Field(min_length=1)
    gold: str
    gold_dir: str = "../gold"
    baselines_dir: str = DEFAULT_BASELINES_DIR
    description: str = ""
    threshold: Fraction = DEFAULT_THRESHOLD
    resamples: int = Field(DEFAULT_RESAMPLES, ge=1)
    seed: int = DEFAULT_SEED
    pool: str | None = None
    training: str | None = Field(None, min_length=1)
    engine: EngineName | None = None  # how pipelines map over the eval split and the pool (default local)
    rank: RankName | None = None  # how queue fill ranks the pool (default disagreement)


class SuiteFileModel(_Table):
    suite: SuiteTable
    pipelines: dict[str, PipelineTable] = Field(min_length=1)
    gates: dict[str, GatesTable] = Field(default_factory=dict)
    behaviour: dict[str, dict[str, CheckTable]] = Field(default_factory=dict)


def key_error(path: Path, key: str, message: str) -> InputError:
    return InputError(message, path=path, field=key)


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (to list the keys valid there)."""
    current: Any = SuiteFileModel
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        while typing.get_origin(current) in (typing.Union, types.UnionType):
            current = next(a for a in typing.get_args(current) if a is not type(None))
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def validation_error(path: Path, err: ValidationError) -> InputError:
    """The first pydantic error as an InputError with the dotted key path."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(part) for part in loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        model = model_at(loc)
        valid = ", ".join(sorted(model.model_fields)) if model else "see the README"
        return key_error(path, key, f"unknown key (expected one of: {valid})")
    if kind == "missing":
        if loc == ("suite",):
            return key_error(path, key, "missing [suite] table")
        return key_error(path, key, "required")
    return key_error(path, key, f"{first['msg']}, got {first.get('input')!r}")
