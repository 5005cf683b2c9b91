"""Pipelines as engine work (:mod:`harness.engines`): what each worker loads once, and a
pipeline's run over a gold split on an engine.

The engines know nothing of spaCy or tasks; this module is where a pipeline becomes a
function of texts that answers in JSON (spans as ``[[start, end, label], ...]``, label
scores as ``{label: score}``) with each text's word count.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.results import Output, SpeedStats
from ..core.tasks import task_of
from ..engines import EngineChoice, EngineStats, InMemory, build_engine
from ..engines.base import MapTexts
from ..errors import PipelineError
from .base import Prediction, RunOutput
from .identity import spacy_identity
from .registry import get_runner, kind_of
from .spacy_runner import read_meta, resolve_pipeline_path, size_on_disk

if TYPE_CHECKING:
    from ..gold.records import GoldExample
    from ..specs import PipelineSpec


def output_json(output: Output) -> str:
    """An answer as the JSON rows carry it (exact: floats keep every digit)."""
    if isinstance(output, dict):
        return json.dumps(output, separators=(",", ":"), sort_keys=True)
    return json.dumps([list(span) for span in output], separators=(",", ":"))


def output_from_json(text: str, task: str) -> Output:
    """The answer back from a row, in the task's shape."""
    value = json.loads(text)
    if task_of(task).has_spans:
        return tuple((int(s), int(e), str(label)) for s, e, label in value)
    return {str(k): float(v) for k, v in value.items()}


def predictions_to_rows(predict: Callable[[Sequence[str]], list[Prediction]], task: str) -> MapTexts:
    def answer(texts: Sequence[str]) -> list[tuple[str, int]]:
        return [(output_json(p.output(task)), p.n_words) for p in predict(texts)]

    return answer


def row_predictor(spec: PipelineSpec, task: str, llm_mode: str | None, *, parallel: bool = False) -> Callable[[Sequence[str]], list[Prediction]]:
    """The kind's runner as ``texts -> predictions``; a runner that gives answers only (a
    third-party kind) gets whitespace word counts. ``parallel``: one of an engine's workers."""
    runner = get_runner(spec.kind)
    rows = getattr(runner, "row_predictor", None)
    if rows is not None:
        extra = {"parallel": True} if parallel and kind_of(spec.kind).role == "llm" else {}
        predict: Callable[[Sequence[str]], list[Prediction]] = rows(spec, task, llm_mode=llm_mode, **extra)
        return predict
    outputs = runner.predictor(spec, task, llm_mode=llm_mode)
    has_spans = task_of(task).has_spans

    def counted(texts: Sequence[str]) -> list[Prediction]:
        found = outputs(texts)
        return [
            Prediction(spans=o, n_words=len(t.split())) if has_spans else Prediction(cats=o, n_words=len(t.split()))  # type: ignore[arg-type]
            for t, o in zip(texts, found, strict=True)
        ]

    return counted


@dataclass(frozen=True)
class PipelineWork:
    """One pipeline's answers, loaded once per worker. A spaCy pipeline directory can travel
    as a bundle (packed bytes, through Ray's object store); anything else loads from its path."""

    spec: PipelineSpec
    task: str
    llm_mode: str | None = None
    parallel: bool = False  # one of several workers (an LLM's cassette must take parallel writes)

    def load(self) -> MapTexts:
        return predictions_to_rows(row_predictor(self.spec, self.task, self.llm_mode, parallel=self.parallel), self.task)

    def bundle(self) -> bytes | None:
        """The pipeline directory packed (None: not a directory pipeline; it loads by path)."""
        if kind_of(self.spec.kind).source != "pipeline" or not Path(self.spec.path).is_dir():
            return None
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(self.spec.path, arcname="model")
        return buffer.getvalue()

    def load_bundle(self, data: bytes) -> MapTexts:
        """Load the pipeline from its bundle (see :func:`load_unpacked`)."""
        return load_unpacked(data, lambda path: replace(self, spec=replace(self.spec, path=path)).load())


def load_unpacked(data: bytes, load: Callable[[str], MapTexts]) -> MapTexts:
    """Unpack a bundled pipeline directory into a temporary directory of this worker, ``load``
    from its path, then remove the directory (it was made here; the model is in memory)."""
    target = Path(tempfile.mkdtemp(prefix="harness-model-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            tar.extractall(target, filter="data")
        return load(str(target / "model"))
    finally:
        shutil.rmtree(target, ignore_errors=True)


def runs_on_engines(spec: PipelineSpec) -> bool:
    """Pipelines an engine runs in evaluation: those loaded from a pipeline directory or
    package (spaCy). LLM pipelines keep their runner (the figures of a cassette and its calls
    are counted in-process; the backend has its own concurrency), imported predictions
    have nothing to run."""
    kind = kind_of(spec.kind)
    return kind.source == "pipeline" and kind.has_model


def meta_labels(meta: dict[str, Any], task: str) -> tuple[str, ...] | None:
    """The labels ``meta.json`` says the NER or textcat component predicts (the driver does
    not load the model to ask it)."""
    labels = meta.get("labels") or {}
    names = ["ner"] if task_of(task).has_spans else sorted(n for n in labels if n.startswith("textcat"))
    found = next((labels[n] for n in names if labels.get(n)), None)
    return tuple(str(label) for label in found) if found else None


def run_on_engine(spec: PipelineSpec, examples: Sequence[GoldExample], *, task: str, choice: EngineChoice) -> RunOutput:
    """``spec`` over ``examples`` on an engine: predictions in eval order, throughput as the
    engine measured it (words over wall-clock seconds, every worker together)."""
    path = resolve_pipeline_path(spec.path)
    engine = build_engine(choice)
    stats = EngineStats(engine.name)
    answers: list[Output | None] = [None] * len(examples)
    words = 0
    work = PipelineWork(replace(spec, path=str(path)), task)
    for rows in engine.run(work, InMemory(examples), stats):
        for row in rows:
            answers[row.position] = output_from_json(row.answer, task)
            words += row.words
    missing = [i for i, answer in enumerate(answers) if answer is None]
    if missing:
        raise PipelineError(f"the {engine.name} engine returned no answer for {len(missing)} of {len(examples)} examples")
    meta = read_meta(path)
    training = dict(meta.get("harness", {}))
    seconds = max(stats.seconds, 1e-9)
    speed = SpeedStats(
        words_per_second=words / seconds,
        words=words,
        docs=len(examples),
        seconds=seconds,
        latency_p50_ms=float("nan"),
        latency_p95_ms=float("nan"),
        timed_batches=stats.batches,
        batch_size=choice.batch_size,
        method=f"{engine.name} engine, {stats.workers} worker(s): words / wall-clock seconds of the whole run (model loads included)",
    )
    predictions = tuple(Prediction(spans=a) if task_of(task).has_spans else Prediction(cats=a) for a in answers)  # type: ignore[arg-type]
    return RunOutput(
        predictions=predictions,
        speed=speed,
        path=str(path),
        size_bytes=size_on_disk(path),
        size_source="disk",
        training=training,
        train_examples=training.get("train_examples"),
        model_labels=meta_labels(meta, task),
        identity=spacy_identity(path, meta) if path.is_dir() else {"kind": spec.kind, "path": str(path), "meta": meta},
    )
