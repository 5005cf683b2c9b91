"""Imported predictions as a pipeline kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.api import extract_versions
from harness.errors import InputError
from harness.evaluate import evaluate_pipeline
from harness.gold import GoldVersion
from harness.specs import PipelineSpec

from .conftest import SHIPPED_GOLD


def test_predictions_keyed_by_hash_or_text(mini_restaurant: GoldVersion, tmp_path: Path) -> None:
    examples = list(mini_restaurant.iter_examples("eval"))
    rows = [
        {"text": e.text, "_input_hash": e.input_hash, "spans": [{"start": s, "end": t, "label": label} for s, t, label in e.spans]}
        for e in examples[:-5]
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = evaluate_pipeline(mini_restaurant, PipelineSpec("imported", "predictions", str(path)), resamples=50)
    assert result.missing_predictions == 5  # counted, scored as empty predictions
    assert result.scores.micro.p == pytest.approx(1.0) and result.scores.micro.r < 1.0
    assert result.speed.words_per_second != result.speed.words_per_second  # NaN: nothing ran
    by_text = evaluate_pipeline(mini_restaurant, PipelineSpec("t", "predictions", str(path), key="text"), resamples=50)
    assert by_text.scores.micro.f == result.scores.micro.f


def test_bad_prediction_line_names_file_line_and_field(mini_restaurant: GoldVersion, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"text": "abc", "spans": [{"start": 0, "end": 99, "label": "X"}]}\n')
    with pytest.raises(InputError, match=rf"{path}:1, field 'spans\[0\]'"):
        evaluate_pipeline(mini_restaurant, PipelineSpec("p", "predictions", str(path)), resamples=10)


def test_extract_a_prodigy_session_from_versions(tmp_path: Path) -> None:
    out = tmp_path / "ner_model.jsonl"
    assert extract_versions("restaurant-reviews@v1", "ner_model", str(out), gold_dir=str(SHIPPED_GOLD)) == 1521
    first = json.loads(out.read_text().splitlines()[0])
    assert set(first) == {"text", "_input_hash", "spans", "meta"} and "ner_model" in first["meta"]["source"]
    shipped = SHIPPED_GOLD.parent / "suites" / "predictions" / "restaurant-ner-model.jsonl"
    assert out.read_text() == shipped.read_text()  # the committed example is exactly this extraction
