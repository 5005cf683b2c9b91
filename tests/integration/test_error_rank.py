"""``queue fill --rank expected-error``: cross-fitted students (no text scored by a model that
saw it), recalibrated on the eval split, rank the pool by expected LLM errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.gold import GoldStore
from harness.loop import queue
from harness.loop.cross_fit import Folds, recalibrated, score_out_of_fold, train_students
from harness.specs import PipelineSpec

from .test_cli import run
from .test_queue import suite  # noqa: F401  (the fixture)


def test_no_text_is_scored_by_a_student_that_saw_it(tmp_path: Path, mini_gold_dir: Path) -> None:
    version = GoldStore(mini_gold_dir).resolve("mini-restaurant@v1")
    training = list(version.iter_examples("train"))
    evals = list(version.iter_examples("eval"))
    folds = Folds(3, seed=1)
    students = train_students(training, folds, distilled=PipelineSpec("s", "spacy", ""), task="ner", workdir=tmp_path, max_steps=20)
    # each student saw exactly the training texts outside its fold
    for student in students:
        assert student.trained_on == {e.input_hash for e in training if folds.of(e.input_hash) != student.fold}
    students = [recalibrated(s, "ner", evals) for s in students]
    assert all(s.recalibration is not None and s.before is not None for s in students)
    texts = {e.input_hash: e.text for e in [*training, *evals]}
    scored = score_out_of_fold(students, texts, "ner")
    assert set(scored.probabilities) == set(texts)
    by_fold = {s.fold: s for s in students}
    for key, folds_used in scored.scored_by.items():
        assert folds_used and all(key not in by_fold[f].trained_on for f in folds_used)
        # a training text by its own fold's student only; an eval text by the whole committee
        assert folds_used == ((folds.of(key),) if key in {e.input_hash for e in training} else (0, 1, 2))
    # a student that saw every text can score none of them
    seen_all = [dataclasses.replace(s, trained_on=frozenset(texts)) for s in students]
    with pytest.raises(InputError, match="seen by every student"):
        score_out_of_fold(seen_all, texts, "ner")


def test_fill_ranks_by_expected_llm_errors(suite: Path, tmp_path: Path) -> None:  # noqa: F811
    reports = tmp_path / "reports"
    out = run("queue", "fill", str(suite), "--rank", "expected-error", "--folds", "2", "--limit", "20", "--reports", str(reports), cwd=tmp_path)
    assert "expected-error ranking" in out.stdout and "isotonic recalibration on the eval split" in out.stdout
    records = queue.load(reports / "queue" / "q.jsonl")
    assert len(records) == 20
    assert {r["harness"]["category"] for r in records} == {"expected_error"} and {r["harness"]["scope"] for r in records} == {"pool"}
    scores = [r["harness"]["informativeness"] for r in records]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert all(r["meta"]["evidence"] for r in records)
    assert set(records[0]["harness"]["predictions"]) == {"distilled (out-of-fold student)", "llm"}
    # the diversity cap: no (surface form, label) leads more than ceil(20 * 0.1) = 2 records
    leads = [r["meta"]["evidence"][0].split(" ", 3)[3].rsplit(" (", 1)[0] + r["meta"]["evidence"][0].split(" ")[2] for r in records]
    assert max(leads.count(x) for x in leads) <= 2
    refused = run(
        "queue", "fill", str(suite), "--rank", "expected-error", "--engine", "processes", "--reports", str(reports), cwd=tmp_path, ok=False
    )
    assert refused.returncode != 0 and "--engine local" in refused.stdout + refused.stderr
