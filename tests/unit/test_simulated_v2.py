"""SimulatedTeacher.v2: deterministic, and its errors repeat across texts for a surface form."""

from __future__ import annotations

from collections import Counter

from harness.gold.records import GoldExample
from harness.llm.simulated_answers import ErrorRates, simulate_ner_answer
from harness.llm.simulated_answers_v2 import FATES, SystematicProfile, keyed, phrasing, simulate_ner_answer_v2, simulate_textcat_answer_v2

LABELS = ["Dish", "Location", "Price"]
CONTEXTS = ["cheap {} near me", "where can i get {} tonight", "best {} in town", "{} delivery open now", "any good {} places"]


def example(i: int, dish: str) -> GoldExample:
    text = CONTEXTS[i % len(CONTEXTS)].format(dish) + f" {i}"
    start = text.index(dish)
    tokens, at = [], 0
    for word in text.split(" "):
        tokens.append((at, at + len(word), word, True))
        at += len(word) + 1
    return GoldExample(input_hash=1000 + i, text=text, spans=((start, start + len(dish), "Dish"),), tokens=tuple(tokens))


def fate_of(answer: str, dish: str) -> str:
    """What became of the dish: kept, missed, relabelled (to which label) or moved."""
    for line in answer.splitlines():
        text, _, label = line.split(". ", 1)[-1].split(" | ")[:3]
        if dish in text:
            return "kept" if (text, label) == (dish, "Dish") else (f"label {label}" if text == dish else "moved")
    return "missed"


PROFILE = SystematicProfile.of([("Dish", 1)] * 10 + [("Location", 1)] * 10 + [("Price", 1)] * 10)
RATES = ErrorRates(miss=0.3, boundary=0.2, wrong_label=0.3, spurious=0.0, unparseable=0.0)


def test_v2_answers_are_deterministic_and_seeded() -> None:
    e = example(3, "sushi")
    assert simulate_ner_answer_v2(e, LABELS, RATES, 0, PROFILE) == simulate_ner_answer_v2(e, LABELS, RATES, 0, PROFILE)
    answers = {simulate_ner_answer_v2(example(i, "sushi"), LABELS, RATES, seed, PROFILE) for seed in range(8) for i in range(3)}
    assert len(answers) > 3  # seeds give other teachers


def test_a_surface_form_gets_the_same_mistakes_in_every_text_v1_does_not() -> None:
    """With mix 0 every decision about "sushi" as a Dish is keyed: across 60 texts at most FATES
    outcomes, and a relabelled sushi always gets the same wrong label. v1 scatters."""
    for dish in ("sushi", "ramen", "tacos", "pho", "dumplings"):
        v2 = Counter(fate_of(simulate_ner_answer_v2(example(i, dish), LABELS, RATES, 0, PROFILE, mix=0.0), dish) for i in range(60))
        assert len(v2) <= FATES, (dish, v2)
        assert len({f for f in v2 if f.startswith("label")}) <= 1
    v1 = Counter(fate_of(simulate_ner_answer(example(i, "sushi"), LABELS, RATES, 0), "sushi") for i in range(60))
    assert len(v1) >= 3  # independent per span


def test_misses_rise_with_rarity_and_length_at_the_same_mean() -> None:
    profile = SystematicProfile.of([("Dish", 1)] * 80 + [("Dish", 3)] * 20 + [("Price", 1)] * 5)
    assert profile.miss_rate(0.15, "Price", 1) > profile.miss_rate(0.15, "Dish", 1)
    assert profile.miss_rate(0.15, "Dish", 3) > profile.miss_rate(0.15, "Dish", 1)
    spans = [("Dish", 1)] * 80 + [("Dish", 3)] * 20 + [("Price", 1)] * 5
    mean = sum(profile.miss_rate(0.15, label, n) for label, n in spans) / len(spans)
    assert abs(mean - 0.15) < 1e-9


def test_textcat_errors_are_keyed_on_what_the_text_is_about() -> None:
    assert phrasing("How do I keep my Sourdough starter alive?") == "sourdough starter"
    texts = [f"Question {i}: is my sourdough starter dead?" for i in range(40)]
    cats = {"baking": 1.0, "bread": 1.0, "meat": 0.0}
    rates = ErrorRates(miss=0.5, spurious=0.5, wrong_label=0.0, boundary=0.0, unparseable=0.0)
    answers = Counter(
        simulate_textcat_answer_v2(GoldExample(input_hash=i, text=t, cats=cats), list(cats), rates, 0, exclusive=False, mix=0.0)
        for i, t in enumerate(texts)
    )
    assert len(answers) <= FATES**3  # three labels, each one of FATES keyed draws
    assert 0.0 <= keyed(0, "x") < 1.0 and keyed(0, "x") == keyed(0, "x") != keyed(1, "x")
