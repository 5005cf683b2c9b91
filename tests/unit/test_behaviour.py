"""Behavioural checks: perturbations keep their spans, every check type can pass and
fail, generation is reproducible, and failures shrink to the smallest change."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.behaviour import run_check
from harness.behaviour_checks import CHECKS, Subject, custom_check
from harness.core.gates import BehaviourGate
from harness.core.perturb import apply_edits, case_edits, words
from harness.errors import CheckError
from harness.gold.records import GoldExample

TEXTS = [
    "find pasta near rome",
    "cheap pizza in milan please",
    "where is good sushi",
    "best ramen around tokyo",
    "i want tacos in austin tonight",
    "any burgers close to boston",
]
DISHES = ("pasta", "pizza", "sushi", "ramen", "tacos", "burgers", "noodles")
CITIES = ("rome", "milan", "tokyo", "austin", "boston", "paris")


def examples() -> list[GoldExample]:
    out = []
    for i, text in enumerate(TEXTS * 5):
        spans = tuple(
            sorted(
                (m.start(), m.end(), label)
                for label, vocab in (("DISH", DISHES), ("CITY", CITIES))
                for m in re.finditer(r"\b(" + "|".join(vocab) + r")\b", text)
            )
        )
        out.append(GoldExample(input_hash=i, text=text, spans=spans, split="eval"))
    return out


def dictionary_ner(*, case_sensitive: bool, vocab_dish: Sequence[str] = DISHES, needs: str | None = None):  # type: ignore[no-untyped-def]
    """A real (if tiny) NER: dictionary lookup on word boundaries."""
    flags = 0 if case_sensitive else re.IGNORECASE

    def predict(texts: Sequence[str]) -> list[tuple]:
        out = []
        for text in texts:
            if needs is not None and needs not in text:
                out.append(())
                continue
            spans = [
                (m.start(), m.end(), label)
                for label, vocab in (("DISH", vocab_dish), ("CITY", CITIES))
                for m in re.finditer(r"\b(" + "|".join(vocab) + r")\b", text, flags)
            ]
            out.append(tuple(sorted(spans)))
        return out

    return predict


def subjects(predict, pool=None) -> list[Subject]:  # type: ignore[no-untyped-def]
    exs = examples()
    return [Subject(i, e, predict([e.text])[0], pool or {}) for i, e in enumerate(exs)]


def run(name: str, predict, *, check=None, pool=None, n: int = 60):  # type: ignore[no-untyped-def]
    return run_check(
        name,
        check or CHECKS[name],
        pipeline="m",
        task="ner",
        subjects=subjects(predict, pool),
        predict=predict,
        min_pass_rate=0.9,
        max_examples=n,
        threshold=0.5,
    )


@given(st.sampled_from(TEXTS), st.data())
def test_edits_outside_spans_move_spans_with_their_text(text: str, data: st.DataObject) -> None:
    spans = examples()[TEXTS.index(text)].spans
    spaces = [i for i, c in enumerate(text) if c == " " and not any(s <= i < e for s, e, _ in spans)]
    chosen = data.draw(st.lists(st.sampled_from(spaces), unique=True)) if spaces else []
    edits = [(i, i + 1, " " * data.draw(st.integers(2, 4))) for i in chosen]
    if data.draw(st.booleans()):
        edits.append((0, 0, "well, "))
    new_text, moved = apply_edits(text, edits, spans)
    assert [new_text[s:e] for s, e, _ in moved] == [text[s:e] for s, e, _ in spans]
    assert new_text.split() == (["well,"] if (0, 0, "well, ") in edits else []) + text.split()


def test_case_edits_keep_offsets() -> None:
    text = "find pasta near rome"
    new, moved = apply_edits(text, case_edits(text, words(text), "title"), ((5, 10, "DISH"),))
    assert new == "Find Pasta Near Rome" and moved == ((5, 10, "DISH"),)


def test_titlecase_fails_a_case_sensitive_model_and_shrinks_to_one_word() -> None:
    result = run("titlecase", dictionary_ner(case_sensitive=True))
    assert result.cases > 20 and result.pass_rate < 0.9
    # Capitalising a word that is no entity changes nothing; the smallest failing change is one entity word.
    # (Hypothesis's shrinker does not promise the minimum on every case: at least one gets there.)
    shrunk = min(result.shrunk, key=lambda c: c.change.count("'"))
    assert shrunk.change.count("'") == 2, [c.change for c in result.shrunk]
    word = shrunk.change.split("'")[1]
    assert word in DISHES + CITIES and word.title() in shrunk.text
    verdict = BehaviourGate("m", 0.9, check="titlecase").judge_behaviour(result)
    assert not verdict.passed and "shrunk failing case" in verdict.message
    assert repr(result.shrunk[0].text) in verdict.message


def test_titlecase_passes_a_case_insensitive_model() -> None:
    result = run("titlecase", dictionary_ner(case_sensitive=False))
    assert result.cases > 20 and result.pass_rate == 1.0 and result.shrunk == ()


def test_whitespace_punctuation_and_clause_checks_pass_a_robust_model() -> None:
    for name in ("double_whitespace", "trailing_punctuation", "neutral_clause"):
        result = run(name, dictionary_ner(case_sensitive=False))
        assert result.pass_rate == 1.0 and result.cases > 0, name


def test_typo_fails_a_model_that_keys_on_one_word() -> None:
    result = run("typo", dictionary_ner(case_sensitive=False, needs="near"))
    assert result.cases > 0 and result.pass_rate < 1.0
    assert "'near' ->" in result.shrunk[0].change


def test_substitution_needs_the_other_surface_forms() -> None:
    pool = {"DISH": ["pasta", "noodles"], "CITY": ["rome", "paris"]}
    knows = run("substitution", dictionary_ner(case_sensitive=False), pool=pool)
    assert knows.cases > 0 and knows.pass_rate == 1.0
    blind = run("substitution", dictionary_ner(case_sensitive=False, vocab_dish=("pasta",)), pool=pool)
    assert blind.pass_rate < 1.0
    assert "-> 'noodles' (DISH)" in blind.shrunk[0].change or "-> 'pasta' (DISH)" in blind.shrunk[0].change


def test_generation_is_reproducible() -> None:
    first = run("titlecase", dictionary_ner(case_sensitive=True))
    second = run("titlecase", dictionary_ner(case_sensitive=True))
    assert [(c.text, c.passed) for c in first.failures] == [(c.text, c.passed) for c in second.failures]
    assert (first.cases, first.passed) == (second.cases, second.passed)
    assert [c.text for c in first.shrunk] == [c.text for c in second.shrunk]


def test_custom_check_from_a_module() -> None:
    module = types.ModuleType("user_checks")

    def add_city(example: GoldExample, draw) -> tuple[str, list] | None:  # type: ignore[no-untyped-def]
        city = draw(st.sampled_from(["paris", "lyon"]))
        text = example.text + " in " + city
        start = len(example.text) + 4
        return text, [*example.spans, (start, start + len(city), "CITY")]

    module.add_city = add_city  # type: ignore[attr-defined]
    sys.modules["user_checks"] = module
    try:
        result = run("add_city", dictionary_ner(case_sensitive=False), check=custom_check("user_checks:add_city"))
    finally:
        del sys.modules["user_checks"]
    assert result.cases > 0 and 0 < result.pass_rate < 1.0  # "lyon" is unknown to the model
    assert all("lyon" in c.text for c in result.failures)


def test_nothing_to_perturb_fails_under_min_cases_saying_why() -> None:
    result = run("lowercase", dictionary_ner(case_sensitive=False))  # the texts have no capital to lower
    assert result.cases == 0 and not result.skipped and "perturbed no example" in str(result.note)
    verdict = BehaviourGate("m", 0.5, check="lowercase", min_cases=20).judge_behaviour(result)
    assert not verdict.passed and not verdict.skipped
    assert "judged on 0 case(s), fewer than its min_cases (20)" in verdict.message and "perturbed no example" in verdict.message


def _custom(function) -> object:  # type: ignore[no-untyped-def]
    module = types.ModuleType("user_checks_bad")
    module.check = function  # type: ignore[attr-defined]
    sys.modules["user_checks_bad"] = module
    return custom_check("user_checks_bad:check")


@pytest.mark.parametrize("behaviour", ["raises on every example", "raises on examples with entities", "returns 42"])
def test_a_custom_check_that_raises_or_returns_junk_is_an_error_with_its_traceback(behaviour: str) -> None:
    def check(example: GoldExample, draw):  # type: ignore[no-untyped-def]
        if behaviour == "returns 42":
            return 42
        if behaviour == "raises on every example" or example.spans:
            raise RuntimeError("my check is broken")
        return example.text, []

    try:
        with pytest.raises(CheckError) as raised:
            run("broken", dictionary_ner(case_sensitive=False), check=_custom(check))
    finally:
        del sys.modules["user_checks_bad"]
    message = str(raised.value)
    assert "custom check user_checks_bad:check" in message
    if behaviour == "returns 42":
        assert "returned 42" in message and "expected None or (text, expected)" in message
    else:
        assert "raised RuntimeError" in message and "my check is broken" in message
        assert "in check" in message and 'raise RuntimeError("my check is broken")' in message  # the check's frame


def test_a_model_that_finds_nothing_does_not_pass_invariance_checks() -> None:
    """Lower-casing, typos, ... on an example where the model found nothing 'pass' by finding
    nothing again: those examples are left out and said, and with none left the check fails."""
    result = run("typo", lambda texts: [() for _ in texts])
    assert result.cases == 0 and "left out: the model found nothing" in str(result.note)
    verdict = BehaviourGate("m", 0.9, check="typo", min_cases=20).judge_behaviour(result)
    assert not verdict.passed and "judged on 0 case(s)" in verdict.message


def test_a_slow_check_stops_at_its_time_budget_and_says_so() -> None:
    import time as clock

    def slow(example: GoldExample, draw):  # type: ignore[no-untyped-def]
        clock.sleep(0.05)
        return example.text, example.spans

    try:
        result = run_check(
            "slow",
            _custom(slow),
            pipeline="m",
            task="ner",  # type: ignore[arg-type]
            subjects=subjects(dictionary_ner(case_sensitive=False), None),
            predict=dictionary_ner(case_sensitive=False),
            min_pass_rate=0.5,
            max_examples=500,
            threshold=0.5,
            max_seconds=0.5,
            needs_answer=False,
        )
    finally:
        del sys.modules["user_checks_bad"]
    assert result.seconds < 5 and 0 < result.cases < 500
    assert "time budget (0.5 s, max_seconds)" in str(result.note)
