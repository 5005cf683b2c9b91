"""The spaCy runner: a pipeline directory or installed package, run over texts, timed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.tasks import task_of
from ..errors import PipelineError
from ..io import model_meta
from ..io.hashing import changed_files
from .base import Predict, PredictRows, RunOutput, freeze_so_far, long_lived
from .identity import spacy_identity
from .predictor import pipe_predictor, pipe_rows
from .timing import predict_timed

if TYPE_CHECKING:
    from spacy.language import Language

    from ..gold.records import GoldExample
    from ..specs import PipelineSpec


def resolve_pipeline_path(path_or_name: str | Path) -> Path:
    """The directory a pipeline loads from: a path, or an installed package's data dir."""
    path = Path(path_or_name)
    if path.exists():
        if not (path / "config.cfg").exists():
            raise PipelineError(f"{path} is not a spaCy pipeline directory (no config.cfg)")
        return path
    import spacy.util

    name = str(path_or_name)
    if spacy.util.is_package(name):
        package = spacy.util.get_package_path(name)
        meta = spacy.util.get_model_meta(package)
        return package / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    raise PipelineError(f"pipeline not found: {path_or_name} (neither a directory nor an installed package)")


def load_pipeline(path_or_name: str | Path) -> Language:
    """``spacy.load`` with a clear error for a missing or broken pipeline."""
    path = resolve_pipeline_path(path_or_name)
    recorded = read_meta(path).get("harness", {}).get("files")
    try:
        with long_lived():
            import spacy

            freeze_so_far()  # spaCy's import is most of the heap; loading switches collection back on
            return spacy.load(path)
    except Exception as err:  # spaCy raises many types; the user needs the path and the file.
        changed = changed_files(path, recorded, exclude=[model_meta.META_FILE]) if isinstance(recorded, dict) else []
        hint = f"; files changed since training: {', '.join(changed)}" if changed else ""
        raise PipelineError(f"could not load spaCy pipeline {path}: {type(err).__name__}: {err}{hint}") from err


def size_on_disk(path: Path) -> int:
    """Bytes of every file under ``path`` (what shipping the model costs)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def parameter_count(nlp: Language) -> int | None:
    """Trainable parameters over all components' thinc models (shared nodes once)."""
    seen: set[int] = set()
    total = 0
    found = False
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        found = True
        for node in model.walk():
            if node.id in seen:
                continue
            seen.add(node.id)
            for name in node.param_names:
                if node.has_param(name):
                    total += int(node.get_param(name).size)
    return total if found else None


def read_meta(path: Path) -> dict[str, Any]:
    """The pipeline's ``meta.json`` (including the ``harness`` training record), or {}; a
    damaged one fails the pipeline, naming the file."""
    try:
        return model_meta.read_meta(path)
    except model_meta.DamagedMeta as err:
        raise PipelineError(str(err)) from None


def check_task(nlp: Language, path: Path, task: str) -> None:
    """Refuse a pipeline that cannot produce the gold's annotation."""
    if (
        task_of(task).has_spans
        and "ner" not in nlp.pipe_names
        and not any(type(component).__name__ == "EntityRuler" for _, component in nlp.components)
    ):
        raise PipelineError(f"pipeline {path} has no 'ner' component but the gold task is ner (pipes: {nlp.pipe_names})")
    if not task_of(task).has_spans and not any(name.startswith("textcat") for name in nlp.pipe_names):
        raise PipelineError(f"pipeline {path} has no textcat component but the gold task is {task} (pipes: {nlp.pipe_names})")


def model_labels(nlp: Language, task: str) -> tuple[str, ...] | None:
    """The labels the pipeline's NER or textcat component can predict (None if it does not say)."""
    names = ["ner"] if task_of(task).has_spans else [n for n in nlp.pipe_names if n.startswith("textcat")]
    for name in names:
        if name in nlp.pipe_names:
            labels = getattr(nlp.get_pipe(name), "labels", None)
            if labels:
                return tuple(str(label) for label in labels)
    return None


class SpacyRunner:
    """Runs a trained spaCy pipeline; measures speed, size on disk and parameters."""

    kind: ClassVar[str] = "spacy"

    def predictor(self, spec: PipelineSpec, task: str, *, llm_mode: str | None = None) -> Predict:
        path = resolve_pipeline_path(spec.path)
        nlp = load_pipeline(path)
        check_task(nlp, path, task)
        return pipe_predictor(nlp, task, spec.batch_size)

    def row_predictor(self, spec: PipelineSpec, task: str, *, llm_mode: str | None = None) -> PredictRows:
        path = resolve_pipeline_path(spec.path)
        nlp = load_pipeline(path)
        check_task(nlp, path, task)
        return pipe_rows(nlp, task, spec.batch_size)

    def run(
        self, spec: PipelineSpec, examples: Sequence[GoldExample], *, task: str, llm_mode: str | None = None, timed: bool = True
    ) -> RunOutput:
        path = resolve_pipeline_path(spec.path)
        nlp = load_pipeline(path)
        check_task(nlp, path, task)
        predictions, speed = predict_timed(
            nlp, [e.text for e in examples], task=task, latency_docs=spec.latency_docs if timed else 0, batch_size=spec.batch_size
        )
        meta = read_meta(path)
        training = dict(meta.get("harness", {}))
        return RunOutput(
            predictions=tuple(predictions),
            speed=speed,
            path=str(path),
            size_bytes=size_on_disk(path),
            size_source="disk",
            n_params=parameter_count(nlp),
            training=training,
            train_examples=training.get("train_examples"),
            model_labels=model_labels(nlp, task),
            identity=spacy_identity(path, meta) if path.is_dir() else {"kind": "spacy", "path": str(path), "meta": meta},
        )
