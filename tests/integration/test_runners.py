"""Runners: one protocol for every pipeline kind; the spaCy runner's timed pass, figures, errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.errors import PipelineError
from harness.gold import GoldExample, GoldVersion
from harness.runners import RunOutput, get_runner
from harness.runners.spacy_runner import size_on_disk
from harness.specs import PipelineSpec


def run_spacy_pipeline(path: str | Path, texts: list[str], *, task: str, latency_docs: int = 32, batch_size: int = 128) -> RunOutput:
    spec = PipelineSpec("distilled", "spacy", str(path), latency_docs=latency_docs, batch_size=batch_size)
    examples = [GoldExample(i, text) for i, text in enumerate(texts)]
    return get_runner("spacy").run(spec, examples, task=task)


def test_every_kind_returns_the_same_shape(mini_restaurant: GoldVersion, mini_gold_dir: Path, ner_model: Path, tmp_path: Path) -> None:
    """spaCy, LLM and imported predictions all answer with a RunOutput: one prediction
    per example, in order, with speed, size and (for the LLM only) LLM figures."""
    import json

    from .test_llm import write_config

    teacher_config = write_config(
        tmp_path / "llm.cfg",
        tmp_path / "cassette.jsonl",
        "harness.SimulatedTeacher.v1",
        {"gold": "mini-restaurant@v1", "gold_dir": str(mini_gold_dir), "task": "ner", "seed": 0},
    )
    examples = list(mini_restaurant.iter_examples("eval"))
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(
        "".join(
            json.dumps({"text": e.text, "_input_hash": e.input_hash, "spans": [{"start": s[0], "end": s[1], "label": s[2]} for s in e.spans]})
            + "\n"
            for e in examples[:-1]
        )
    )
    get_runner("llm").run(PipelineSpec("llm", "llm", str(teacher_config)), examples, task="ner", llm_mode="record")
    specs = [
        PipelineSpec("distilled", "spacy", str(ner_model)),
        PipelineSpec("llm", "llm", str(teacher_config)),
        PipelineSpec("imported", "predictions", str(predictions)),
    ]
    for spec in specs:
        run = get_runner(spec.kind).run(spec, examples, task="ner")
        assert isinstance(run, RunOutput), spec.kind
        assert len(run.predictions) == len(run.outputs("ner")) == len(examples)
        assert all(isinstance(o, tuple) for o in run.outputs("ner"))
        assert (run.llm is not None) == (spec.kind == "llm")
        assert run.size_source in ("disk", "declared", "unknown")
    imported = get_runner("predictions").run(specs[2], examples, task="ner")
    assert imported.missing == 1 and imported.outputs("ner")[0] == examples[0].spans
    untimed = get_runner("spacy").run(specs[0], examples, task="ner", timed=False)
    assert math.isnan(untimed.speed.latency_p50_ms) and untimed.speed.timed_batches > 0  # no one-by-one pass


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
    assert run.training["gold"] == "mini-restaurant" and run.train_examples == run.training["train_examples"]


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


def test_installed_package_name_resolves_to_its_data_dir(ner_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipeline given by package name loads from ``<package>/<lang>_<name>-<version>``
    (spaCy's package layout); the lookup functions are spaCy's own, pointed at a copy."""
    import shutil

    import spacy.util

    from harness.runners.spacy_runner import resolve_pipeline_path

    package = tmp_path / "en_pipeline"
    shutil.copytree(ner_model, package / "en_pipeline-0.0.0")
    monkeypatch.setattr(spacy.util, "is_package", lambda name: name == "en_pipeline")
    monkeypatch.setattr(spacy.util, "get_package_path", lambda name: package)
    monkeypatch.setattr(spacy.util, "get_model_meta", lambda path: {"lang": "en", "name": "pipeline", "version": "0.0.0"})
    assert resolve_pipeline_path("en_pipeline") == package / "en_pipeline-0.0.0"
    run = run_spacy_pipeline("en_pipeline", ["a table for two"], task="ner")
    assert run.path == str(package / "en_pipeline-0.0.0")


def test_span_probabilities_come_from_the_beam_as_character_offsets(ner_model: Path, mini_restaurant: GoldVersion) -> None:
    import spacy

    from harness.runners.span_probabilities import span_probabilities

    texts = [e.text for e in mini_restaurant.iter_examples("eval")][:40]
    probabilities = span_probabilities(ner_model, texts, batch_size=16)
    assert len(probabilities) == len(texts)
    nlp = spacy.load(ner_model)
    found, total = 0, 0
    for text, spans, doc in zip(texts, probabilities, nlp.pipe(texts), strict=True):
        assert all(0 < p <= 1 + 1e-6 and 0 <= s < e <= len(text) for (s, e, _), p in spans.items())
        total += len(doc.ents)
        found += sum((ent.start_char, ent.end_char, ent.label_) in spans for ent in doc.ents)
    # The greedy answer is (nearly always) among the beam's parses; the beam may prefer another.
    assert total and found / total >= 0.8
