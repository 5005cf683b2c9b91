"""Imported predictions as a pipeline: a JSONL of spans or cats keyed by input hash or text.

Typical use: an LLM's pre-annotations exported from Prodigy, or another team's
model output. No model runs, so there is no speed or size to measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..core.results import SpeedStats
from ..core.tasks import task_of
from ..errors import InputError, PipelineError
from ..gold.records import GoldExample, stable_hash
from ..io.jsonl import read_jsonl
from .base import Predict, Prediction, RunOutput
from .identity import files_identity

if TYPE_CHECKING:
    from ..specs import PipelineSpec


def load_predictions(path: str | Path, *, key: str, task: str) -> dict[object, Prediction]:
    """Read predictions; each line needs ``text`` (and ``_input_hash`` when keyed by it)."""
    path = Path(path)
    if not path.exists():
        raise PipelineError(f"predictions file not found: {path}")
    out: dict[object, Prediction] = {}
    for number, obj in read_jsonl(path):
        text = obj.get("text")
        if not isinstance(text, str):
            raise InputError("missing or non-string 'text'", path=path, line=number, field="text")
        ident = obj.get("_input_hash", stable_hash(text)) if key == "input_hash" else text
        if task_of(task).has_spans:
            spans = []
            for i, span in enumerate(obj.get("spans") or []):
                try:
                    start, end, label = int(span["start"]), int(span["end"]), str(span["label"])
                except (KeyError, TypeError, ValueError):
                    raise InputError("span needs start, end and label", path=path, line=number, field=f"spans[{i}]") from None
                if not 0 <= start < end <= len(text):
                    raise InputError(f"span [{start}:{end}] outside the text", path=path, line=number, field=f"spans[{i}]")
                spans.append((start, end, label))
            prediction = Prediction(spans=tuple(sorted(spans)), n_words=len(text.split()))
        else:
            cats = obj.get("cats")
            if not isinstance(cats, dict):
                raise InputError("missing 'cats' object", path=path, line=number, field="cats")
            prediction = Prediction(cats={str(k): float(v) for k, v in cats.items()}, n_words=len(text.split()))
        if ident in out and out[ident] != prediction:
            raise InputError(f"two different predictions for the same {key}", path=path, line=number)
        out[ident] = prediction
    return out


def predict_from_file(path: str | Path, examples: Sequence[GoldExample], *, key: str, task: str) -> tuple[list[Prediction], int]:
    """Predictions aligned with ``examples``; examples without one get an empty prediction (counted)."""
    table = load_predictions(path, key=key, task=task)
    predictions, missing = [], 0
    for example in examples:
        found = table.get(example.input_hash if key == "input_hash" else example.text)
        if found is None:
            missing += 1
            found = Prediction(cats=None if task_of(task).has_spans else {})
        predictions.append(found)
    return predictions, missing


NO_SPEED = SpeedStats(float("nan"), 0, 0, 0.0, float("nan"), float("nan"), 0, 0, "not measured: imported predictions")


class PredictionsRunner:
    """Imported predictions: nothing runs, so there is no speed or size to measure."""

    kind: ClassVar[str] = "predictions"

    def predictor(self, spec: PipelineSpec, task: str, *, llm_mode: str | None = None) -> Predict:
        raise InputError(
            f"pipeline {spec.name} is imported predictions: there is no model to run new texts through", field=f"pipelines.{spec.name}.kind"
        )

    def run(
        self, spec: PipelineSpec, examples: Sequence[GoldExample], *, task: str, llm_mode: str | None = None, timed: bool = True
    ) -> RunOutput:
        predictions, missing = predict_from_file(spec.path, examples, key=spec.key, task=task)
        identity = files_identity("predictions", spec.path, [Path(spec.path)], {"key": spec.key})
        return RunOutput(predictions=tuple(predictions), speed=NO_SPEED, path=spec.path, missing=missing, identity=identity)
