"""One Task per task: what differs between NER and text classification lives in
harness/core/tasks.py, and nothing else compares task names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.core.tasks import CATEGORY_RULES, TASKS, CategoryTask, SpanTask, task_of
from harness.gold.records import GoldExample
from harness.options import GOLD_POSITIVE
from harness.options import TASKS as TASK_NAMES

PACKAGE = Path(__file__).resolve().parents[2] / "harness"


def test_no_task_name_comparisons_outside_the_task_module() -> None:
    # a task compared with a task name (two tasks compared with each other are fine)
    pattern = re.compile(r"""\w*task\w*\s*(==|!=)\s*["']|["']\s*(==|!=)\s*[\w.]*task\w*\b|\w*task\w*\s+(not\s+)?in\s*[(\[{]\s*["']""")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "tasks.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


def test_every_task_name_has_its_task() -> None:
    assert tuple(TASKS) == TASK_NAMES
    assert task_of("ner").has_spans and not task_of("textcat").has_spans
    assert task_of("textcat_multilabel").multi_label and not task_of("textcat").multi_label
    assert {task_of(n).family for n in TASK_NAMES} == {"ner", "textcat"}
    with pytest.raises(ValueError, match="unknown task 'pos'"):
        task_of("pos")


def test_gold_output_and_empty_output() -> None:
    ner = GoldExample(1, "sushi in rome", spans=((0, 5, "DISH"), (9, 13, "LOC")))
    cats = GoldExample(2, "how long to bake", cats={"baking": 1.0, "bread": 0.0})
    assert task_of("ner").gold_output(ner) == ((0, 5, "DISH"), (9, 13, "LOC"))
    assert task_of("textcat").gold_output(cats) == {"baking": 1.0, "bread": 0.0}
    assert task_of("ner").empty_output() == () and task_of("textcat_multilabel").empty_output() == {}


def test_one_positive_rule_for_gold_categories() -> None:
    """It had three definitions (>= 0.5, > 0.5, > 0); on gold scores of 0 and 1 they agree."""
    assert CATEGORY_RULES.positives({"a": 1.0, "b": 0.0, "c": GOLD_POSITIVE}) == {"a", "c"}
    assert CATEGORY_RULES.positives({"a": 0.7, "b": 0.2}, threshold=0.1) == {"a", "b"}


def test_disagreement_sizes_spans_and_category_margins() -> None:
    ner = SpanTask()
    assert ner.disagreement([(0, 5, "DISH")], [(0, 5, "DISH")]) == 0
    assert ner.disagreement([(0, 5, "DISH")], [(0, 4, "DISH")]) == pytest.approx(2 + 2 / 2)
    assert CategoryTask().disagreement({"a": 0.9}, {"a": 0.2, "b": 0.5}) == pytest.approx(0.7 + 0.5)


span = st.tuples(st.integers(0, 50), st.integers(1, 20), st.sampled_from(["A", "B"])).map(lambda t: (t[0], t[0] + t[1], t[2]))
score = st.floats(0, 1, allow_nan=False)


@given(st.lists(span, max_size=6))
def test_stored_spans_read_back_sorted(spans: list[tuple[int, int, str]]) -> None:
    ner = task_of("ner")
    assert ner.from_stored(ner.to_stored(spans)) == tuple(sorted(spans))
    assert ner.same(spans, list(reversed(spans)), 0.5)


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), score))
def test_stored_categories_read_back(cats: dict[str, float]) -> None:
    task = task_of("textcat_multilabel")
    assert task.from_stored(task.to_stored(cats)) == cats
    rounded = task.from_stored(task.to_stored(cats, decimals=4))
    assert all(abs(rounded[k] - v) <= 5e-5 for k, v in cats.items())
    assert task.comparable(cats, 0.5) == tuple(sorted(k for k, v in cats.items() if v >= 0.5))


def test_outputs_of_the_other_task_are_refused() -> None:
    with pytest.raises(TypeError, match="expected spans"):
        task_of("ner").count([{"a": 1.0}], [{"a": 1.0}], ["a"], threshold=0.5)
