"""Cassette format and keys, the simulated teacher's answers, paired comparisons (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.compare import paired_differences
from harness.core.metrics import Counts
from harness.errors import InputError
from harness.gold import GoldExample
from harness.llm.cassette import Cassette, cassette_key, model_identity, scrub
from harness.llm.simulated_answers import UNPARSEABLE_ANSWER, ErrorRates, simulate_ner_answer, simulate_textcat_answer, text_from_prompt

TEXT = "cheap thai food near boston"
TOKENS = ((0, 5, "cheap", True), (6, 10, "thai", True), (11, 15, "food", True), (16, 20, "near", True), (21, 27, "boston", False))
EXAMPLE = GoldExample(7, TEXT, spans=((0, 5, "Price"), (6, 10, "Cuisine"), (21, 27, "Location")), tokens=TOKENS)
LABELS = ["Cuisine", "Location", "Price"]
PERFECT = ErrorRates(miss=0, boundary=0, wrong_label=0, spurious=0, unparseable=0)


def test_identity_drops_secrets_and_transport() -> None:
    identity = model_identity(
        "harness.OpenAICompatible.v1",
        {
            "name": "gpt-4o",
            "api_key": "sk-x",
            "base_url": "http://127.0.0.1:1",
            "timeout": 3,
            "config": {"temperature": 0, "headers": {"Authorization": "Bearer sk-x"}},
        },
    )
    assert identity == {"registry": "harness.OpenAICompatible.v1", "name": "gpt-4o", "config": {"temperature": 0}}
    assert "sk-x" not in json.dumps(identity)
    assert scrub({"token": 1, "nested": {"secret": 2, "ok": 3}}) == {"nested": {"ok": 3}}


def test_key_depends_on_prompt_and_model() -> None:
    a = model_identity("m", {"name": "x", "config": {"temperature": 0}})
    b = model_identity("m", {"name": "x", "config": {"temperature": 1}})
    assert cassette_key("p", a) != cassette_key("p", b) != cassette_key("q", b)
    assert cassette_key("p", a) == cassette_key("p", dict(reversed(list(a.items()))))


def test_add_flush_load_roundtrip_and_report(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    identity = model_identity("m", {"name": "x"})
    cassette = Cassette.load(path)
    assert not cassette.records
    cassette.add("Paragraph: a b c\nAnswer:", identity, "1. a | True | L | r", latency_s=0.5, usage=None, simulated=True)
    cassette.flush()
    loaded = Cassette.load(path)
    record = loaded.get("Paragraph: a b c\nAnswer:", identity)
    assert record is not None and record.simulated and record.latency_s == 0.5
    report = loaded.miss_report(["Paragraph: a b d\nAnswer:"], model_identity("m", {"name": "y"}))
    assert report.missing == 1 and report.other_model == 1
    assert "-Paragraph: a b c" in report.diff and "+Paragraph: a b d" in report.diff


def test_bad_lines_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    identity = model_identity("m", {})
    good = {"key": cassette_key("p", identity), "model": identity, "prompt": "p", "response": "r"}
    path.write_text(json.dumps(good) + "\n" + "oops\n")
    with pytest.raises(InputError, match=rf"{path}:2: not valid JSON"):
        Cassette.load(path)
    path.write_text(json.dumps({**good, "prompt": "edited"}) + "\n")
    with pytest.raises(InputError, match=rf"{path}:1, field 'key'"):
        Cassette.load(path)
    path.write_text(json.dumps({"key": "k"}) + "\n")
    with pytest.raises(InputError, match=rf"{path}:1"):
        Cassette.load(path)


def test_teacher_without_errors_answers_the_gold_in_text_order() -> None:
    answer = simulate_ner_answer(EXAMPLE, LABELS, PERFECT, seed=0)
    assert answer.splitlines() == [
        "1. cheap | True | Price | simulated teacher",
        "2. thai | True | Cuisine | simulated teacher",
        "3. boston | True | Location | simulated teacher",
    ]


def test_teacher_is_deterministic_and_rates_bite() -> None:
    rates = ErrorRates(miss=0.5, boundary=0.2, wrong_label=0.2, spurious=0.5, unparseable=0.0)
    answers = {simulate_ner_answer(GoldExample(h, TEXT, EXAMPLE.spans, tokens=TOKENS), LABELS, rates, seed=1) for h in range(40)}
    assert len(answers) > 5  # different docs, different errors
    assert simulate_ner_answer(EXAMPLE, LABELS, rates, 1) == simulate_ner_answer(EXAMPLE, LABELS, rates, 1)
    always_bad = ErrorRates(unparseable=1.0)
    assert simulate_ner_answer(EXAMPLE, LABELS, always_bad, 0) == UNPARSEABLE_ANSWER


def test_teacher_textcat_answers() -> None:
    example = GoldExample(1, "how to bake bread", cats={"baking": 1.0, "bread": 1.0, "meat": 0.0})
    labels = ["baking", "bread", "meat"]
    assert simulate_textcat_answer(example, labels, PERFECT, 0, exclusive=False) == "baking, bread"
    none = GoldExample(2, "x", cats={"baking": 0.0, "bread": 0.0, "meat": 0.0})
    assert simulate_textcat_answer(none, labels, PERFECT, 0, exclusive=False) == "==NONE=="
    assert simulate_textcat_answer(example, labels, PERFECT, 0, exclusive=True) in ("baking", "bread")


def test_text_from_prompt() -> None:
    assert text_from_prompt("intro\nParagraph: a\nParagraph: real text\nAnswer:", "ner") == "real text"
    assert text_from_prompt("Text:\n'''\nold\n'''\nText:\n'''\nline1\nline2\n'''\n", "textcat") == "line1\nline2"
    with pytest.raises(ValueError):
        text_from_prompt("no marker", "ner")


def test_paired_difference_of_identical_pipelines_is_exactly_zero() -> None:
    counts = {"A": Counts(tp=(0, 1, 2), fp=(3,), fn=(4,))}
    micro, macro, labels = paired_differences(counts, counts, 5, resamples=200, seed=0)
    assert micro.diff == 0 and micro.ci == (0.0, 0.0) and not micro.significant
    assert labels[0].ci == (0.0, 0.0)


def test_paired_difference_detects_a_clearly_better_pipeline() -> None:
    n = 60
    better = {"A": Counts(tp=tuple(range(n)))}
    worse = {"A": Counts(tp=tuple(range(0, n, 2)), fn=tuple(range(1, n, 2)))}
    micro, _, _ = paired_differences(better, worse, n, resamples=500, seed=0)
    assert micro.diff == pytest.approx(1 - 2 * 0.5 / 1.5)
    assert micro.significant and micro.ci[0] > 0
