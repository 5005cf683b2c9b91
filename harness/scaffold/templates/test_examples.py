"""Model tests written in Python, beside the suite's gates: `pytest` runs both.

They use the suite's gold and model (`harness train --suite suites/example.toml` writes
models/example). Each test's outcome is a verdict of the suite "tests:__GOLD__" in the
reports, so a failing test here fails that suite too.
"""

import pytest

from harness.testing import assert_f

GOLD = "__GOLD__"
MODEL = "models/example"


def test_micro_f(harness_gold, harness_pipeline, harness_evaluate):
    result = harness_evaluate(harness_pipeline(MODEL), harness_gold(GOLD))  # evaluated once per run
    assert_f(result, 0.50)  # fails like the f_min gate: measured F, its 95% CI and failing examples


def test_every_label_is_found_at_least_once(harness_gold, harness_pipeline, harness_evaluate):
    gold = harness_gold(GOLD)
    result = harness_evaluate(harness_pipeline(MODEL), gold)
    never_right = [label for label in gold.labels if result.label(label).f == 0]
    assert not never_right, f"labels the model never gets right: {never_right}"


@pytest.mark.harness_examples(GOLD, limit=20)  # one test per eval example: test_predictions_are_well_formed[e0-...]
def test_predictions_are_well_formed(harness_example, harness_gold, harness_pipeline):
    labels = set(harness_gold(GOLD).labels)
    [spans] = harness_pipeline(MODEL).predict([harness_example.text], "ner")
    for start, end, label in spans:
        assert 0 <= start < end <= len(harness_example.text) and label in labels
    # harness.testing.assert_example(pipeline, example) asserts an exact match, with a diff
