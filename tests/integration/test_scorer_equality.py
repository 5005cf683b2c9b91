"""Strict scores equal spaCy's Scorer to 1e-9 on every shipped dataset.

Predictions come from (a) seeded perturbations of the gold over *all* examples of
each shipped dataset (dropped, relabelled, re-bounded and spurious spans; noisy
category scores), and (b) a real trained spaCy pipeline.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import spacy
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import filter_spans

from harness.core.metrics import count_cats, count_spans, score_table
from harness.evaluate import evaluate_pipeline
from harness.gold import GoldExample, GoldStore, GoldVersion
from harness.runners.spacy_scoring import macro_auc
from harness.specs import PipelineSpec

from .conftest import SHIPPED, SHIPPED_GOLD

TOL = 1e-9


def _doc(vocab: spacy.vocab.Vocab, example: GoldExample) -> Doc:
    if example.tokens is not None:
        return Doc(vocab, words=[t[2] for t in example.tokens], spaces=[t[3] for t in example.tokens])
    return spacy.blank("en").make_doc(example.text)


def _perturbed_ents(doc: Doc, gold: GoldExample, labels: list[str], rng: random.Random) -> list:
    spans = []
    for start, end, label in gold.spans:
        span = doc.char_span(start, end, label=label)
        roll = rng.random()
        if roll < 0.15:
            continue  # missed
        if roll < 0.3:
            span = spacy.tokens.Span(doc, span.start, span.end, label=rng.choice(labels))
        elif roll < 0.45:
            new_end = min(len(doc), span.end + 1) if rng.random() < 0.5 else max(span.start + 1, span.end - 1)
            span = spacy.tokens.Span(doc, span.start, new_end, label=label)
        spans.append(span)
        if rng.random() < 0.1 and len(doc) > 0:
            i = rng.randrange(len(doc))
            spans.append(spacy.tokens.Span(doc, i, i + 1, label=rng.choice(labels)))
    return filter_spans(spans)


def _compare_spans(golds: list[GoldExample], preds: list[list[tuple[int, int, str]]], examples: list[Example]) -> int:
    ours = score_table(count_spans([g.spans for g in golds], preds).strict, len(golds), variant="strict", resamples=0)
    theirs = Scorer.score_spans(examples, "ents")
    assert theirs["ents_per_type"], "no entities scored"
    for label, prf in theirs["ents_per_type"].items():
        mine = ours.label(label)
        assert abs(mine.p - prf["p"]) <= TOL and abs(mine.r - prf["r"]) <= TOL and abs(mine.f - prf["f"]) <= TOL, label
    assert abs(ours.micro.p - theirs["ents_p"]) <= TOL
    assert abs(ours.micro.r - theirs["ents_r"]) <= TOL
    assert abs(ours.micro.f - theirs["ents_f"]) <= TOL
    return len(theirs["ents_per_type"])


def _all_examples(version: GoldVersion) -> list[GoldExample]:
    return [e for split in ("train", "eval") for e in version.iter_examples(split)]


@pytest.mark.parametrize("ref", [r for r, task in SHIPPED.items() if task == "ner"])
def test_ner_strict_scores_equal_spacy_scorer(ref: str) -> None:
    version = GoldStore(SHIPPED_GOLD).resolve(ref)
    vocab = spacy.blank("en").vocab
    rng = random.Random(0)
    golds, preds, examples = [], [], []
    for gold in _all_examples(version):
        reference = _doc(vocab, gold)
        reference.ents = [reference.char_span(s, e, label=label) for s, e, label in gold.spans]
        predicted = _doc(vocab, gold)
        predicted.ents = _perturbed_ents(predicted, gold, version.labels, rng)
        golds.append(gold)
        preds.append([(e.start_char, e.end_char, e.label_) for e in predicted.ents])
        examples.append(Example(predicted, reference))
    assert _compare_spans(golds, preds, examples) == len(version.labels)


@pytest.mark.parametrize("ref", [r for r, task in SHIPPED.items() if task.startswith("textcat")])
def test_textcat_scores_equal_spacy_scorer(ref: str) -> None:
    version = GoldStore(SHIPPED_GOLD).resolve(ref)
    nlp = spacy.blank("en")
    rng = random.Random(0)
    labels = version.labels
    multi = version.task == "textcat_multilabel"
    golds, preds, examples = [], [], []
    for gold in _all_examples(version):
        cats = {label: min(1.0, max(0.0, (gold.cats or {}).get(label, 0.0) * 0.4 + rng.random() * 0.7)) for label in labels}
        reference = nlp.make_doc(gold.text)
        reference.cats = dict(gold.cats or {})
        predicted = nlp.make_doc(gold.text)
        predicted.cats = cats
        golds.append(gold.cats or {})
        preds.append(cats)
        examples.append(Example(predicted, reference))
    counts = count_cats(golds, preds, labels, multi_label=multi, threshold=0.5)
    ours = score_table(counts.per_label, len(golds), variant="threshold", resamples=0)
    theirs = Scorer.score_cats(examples, "cats", labels=labels, multi_label=multi, threshold=0.5)
    for label, prf in theirs["cats_f_per_type"].items():
        mine = ours.label(label)
        assert abs(mine.p - prf["p"]) <= TOL and abs(mine.r - prf["r"]) <= TOL and abs(mine.f - prf["f"]) <= TOL, label
    assert abs(ours.micro.f - theirs["cats_micro_f"]) <= TOL
    assert abs(ours.macro_f - theirs["cats_macro_f"]) <= TOL
    assert abs(macro_auc(counts.auc_pairs) - theirs["cats_macro_auc"]) <= TOL
    assert 0.0 < ours.micro.f < 1.0  # the perturbation really produced errors


def test_trained_pipeline_scores_equal_spacy_scorer(mini_restaurant: GoldVersion, ner_model: Path) -> None:
    """The harness's own evaluation of a real model agrees with Scorer on its docs."""
    result = evaluate_pipeline(mini_restaurant, PipelineSpec("m", "spacy", str(ner_model)), resamples=0)
    nlp = spacy.load(ner_model)
    golds = list(mini_restaurant.iter_examples("eval"))
    examples = []
    for gold, predicted in zip(golds, nlp.pipe([g.text for g in golds])):
        reference = _doc(nlp.vocab, gold)
        reference.ents = [reference.char_span(s, e, label=label) for s, e, label in gold.spans]
        examples.append(Example(predicted, reference))
    theirs = Scorer.score_spans(examples, "ents")
    assert abs(result.scores.micro.f - theirs["ents_f"]) <= TOL
    for label, prf in theirs["ents_per_type"].items():
        assert abs(result.scores.label(label).f - prf["f"]) <= TOL
