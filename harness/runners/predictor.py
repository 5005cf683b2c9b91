"""A loaded pipeline as a function of texts, for callers that predict many small batches
(behavioural checks and their shrinking): loaded once, then ``nlp.pipe`` per call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..core.results import Output
from ..errors import InputError
from .timing import _prediction

if TYPE_CHECKING:
    from ..specs import PipelineSpec

Predict = Callable[[Sequence[str]], list[Output]]


def load_predictor(spec: PipelineSpec, task: str, *, llm_mode: str | None = None) -> Predict:
    """``texts -> outputs`` for a spaCy or LLM pipeline. Imported predictions have no model
    to call, so they have no predictor."""
    if spec.kind == "spacy":
        from .spacy_runner import check_task, load_pipeline, resolve_pipeline_path

        nlp = load_pipeline(spec.path)
        check_task(nlp, resolve_pipeline_path(spec.path), task)
    elif spec.kind == "llm":
        from .llm_runner import build_llm_pipeline

        nlp = build_llm_pipeline(spec.path, mode=llm_mode)
    else:
        raise InputError(
            f"pipeline {spec.name} is imported predictions: there is no model to run new texts through", field=f"pipelines.{spec.name}.kind"
        )

    def predict(texts: Sequence[str]) -> list[Output]:
        return [_prediction(doc, task).output(task) for doc in nlp.pipe(list(texts), batch_size=spec.batch_size)]

    return predict
