"""The spaCy runner: one timed pass, sane speed/size figures, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import PipelineError
from harness.gold import GoldVersion
from harness.runners.spacy_pipeline import run_spacy_pipeline, size_on_disk


def test_speed_latency_size_and_params(mini_restaurant: GoldVersion, ner_model: Path) -> None:
    texts = [e.text for e in mini_restaurant.iter_examples("eval")]
    run = run_spacy_pipeline(ner_model, texts, task="ner", latency_docs=10, batch_size=16)
    assert len(run.predictions) == len(texts)  # every text processed exactly once
    speed = run.speed
    assert speed.docs == len(texts) and speed.words == sum(p.n_words for p in run.predictions)
    assert speed.timed_batches == -(-(len(texts) - 10) // 16)
    assert speed.words_per_second > 0 and 0 < speed.latency_p50_ms <= speed.latency_p95_ms
    assert run.size_bytes == size_on_disk(ner_model) > 100_000
    assert run.n_params is not None and run.n_params > 10_000
    assert run.meta["harness"]["gold"] == "mini-restaurant"


def test_fewer_texts_than_latency_docs(ner_model: Path) -> None:
    run = run_spacy_pipeline(ner_model, ["a table for two in boston", ""], task="ner", latency_docs=32)
    assert run.speed.timed_batches == 0 and run.speed.docs == 2 and len(run.predictions) == 2


def test_wrong_task_and_missing_pipeline(textcat_model: Path, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="no 'ner' component"):
        run_spacy_pipeline(textcat_model, ["x"], task="ner")
    with pytest.raises(PipelineError, match="pipeline not found"):
        run_spacy_pipeline(tmp_path / "absent", ["x"], task="ner")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PipelineError, match="not a spaCy pipeline directory"):
        run_spacy_pipeline(tmp_path / "empty", ["x"], task="ner")


def test_installed_package_name_resolves_to_its_data_dir(
    ner_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline given by package name loads from ``<package>/<lang>_<name>-<version>``
    (spaCy's package layout); the lookup functions are spaCy's own, pointed at a copy."""
    import shutil

    import spacy.util

    from harness.runners.spacy_pipeline import resolve_pipeline_path

    package = tmp_path / "en_pipeline"
    shutil.copytree(ner_model, package / "en_pipeline-0.0.0")
    monkeypatch.setattr(spacy.util, "is_package", lambda name: name == "en_pipeline")
    monkeypatch.setattr(spacy.util, "get_package_path", lambda name: package)
    monkeypatch.setattr(spacy.util, "get_model_meta", lambda path: {"lang": "en", "name": "pipeline", "version": "0.0.0"})
    assert resolve_pipeline_path("en_pipeline") == package / "en_pipeline-0.0.0"
    run = run_spacy_pipeline("en_pipeline", ["a table for two"], task="ner")
    assert run.path == str(package / "en_pipeline-0.0.0")
