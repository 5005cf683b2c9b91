"""A loaded pipeline as a function of texts, for callers that predict many small batches
(behavioural checks and their shrinking): loaded once, then ``nlp.pipe`` per call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.results import Output
from .base import Predict, Prediction, PredictRows
from .timing import prediction_of


def pipe_predictor(nlp: Any, task: str, batch_size: int) -> Predict:
    """``texts -> outputs`` through a loaded spaCy ``Language`` (spaCy or spacy-llm)."""

    def predict(texts: Sequence[str]) -> list[Output]:
        return [prediction_of(doc, task).output(task) for doc in nlp.pipe(list(texts), batch_size=batch_size)]

    return predict


def pipe_rows(nlp: Any, task: str, batch_size: int) -> PredictRows:
    """``texts -> predictions`` (answers with their word counts) through a loaded ``Language``:
    what an engine's worker runs (:mod:`harness.runners.engine_work`)."""

    def predict(texts: Sequence[str]) -> list[Prediction]:
        return [prediction_of(doc, task) for doc in nlp.pipe(list(texts), batch_size=batch_size)]

    return predict
