"""Tests written in Python in a user's project: the plugin's fixtures, the example marker,
the assertion helpers and must_pass in suite files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import read_json, write_suite

USER_TESTS = """
import pytest
from harness.testing import assert_example, assert_f

MODEL = "{model}"


def test_gold_fixture(harness_gold):
    gold = harness_gold("mini-restaurant@v1")
    assert gold.ref == "mini-restaurant@v1" and len(gold.sha256) == 64 and "Location" in gold.labels
    assert len(gold) == len(gold.examples) > 0 and harness_gold("mini-restaurant@v1") is gold


def test_location_is_good_enough(harness_gold, harness_pipeline, harness_evaluate):
    result = harness_evaluate(harness_pipeline(MODEL), harness_gold("mini-restaurant@v1"))
    assert result.label("Location").f > 0.3 and result.micro.f_ci[0] <= result.micro.f <= result.micro.f_ci[1]
    assert set(result.failing("Location")) <= set(result.example_ids)
    assert_f(result, 0.30, label="Location")


def test_dish_is_not_good_enough(harness_gold, harness_pipeline, harness_evaluate):
    result = harness_evaluate(harness_pipeline(MODEL), harness_gold("mini-restaurant@v1"))
    assert_f(result, 0.99, label="Dish")


@pytest.mark.harness_examples("mini-restaurant@v1", split="eval", limit=8)
def test_each_example(harness_example, harness_pipeline):
    assert_example(harness_pipeline(MODEL), harness_example)
"""


def test_fixtures_marker_and_helpers_from_a_users_project(project: pytest.Pytester, ner_model: Path) -> None:
    project.makepyfile(test_model=USER_TESTS.format(model=ner_model))
    result = project.runpytest("test_model.py", "-v", "-p", "no:randomly")
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] >= 2 + 1 and outcomes["failed"] >= 1
    result.stdout.fnmatch_lines(["*test_model.py::test_each_example?e0-*", "*test_model.py::test_each_example?e7-*"])
    assert "test_each_example[e8-" not in out  # limit=8
    # A failing threshold reads like the gate: measured, 95% CI, threshold, failing examples.
    assert "F of label Dish = " in out and "(95% CI [" in out and "fails >= 0.990" in out
    assert "failing eval example(s), e.g. input hashes" in out
    # A failing example shows gold vs predicted as a diff.
    assert "(- gold only, + predicted only):" in out
    assert re.search(r"^E?\s*[-+] '[^']+' [A-Za-z_]+ \[\d+:\d+\]$", out, re.MULTILINE)  # a diff line
    # The evaluations made in tests join the reports like a suite's.
    report = read_json(project.path / "reports" / "tests_mini-restaurant_v1.json")
    assert report["suite"]["name"] == "tests:mini-restaurant@v1"
    assert list(report["pipelines"]) == [ner_model.stem]  # evaluated once, however many tests used it
    # Its verdict reflects its tests: it used to say PASSED while items had failed.
    failed = {g["id"] for g in report["gates"] if not g["passed"] and not g["skipped"]}
    assert report["status"] == "FAILED" and "test_model.py::test_dish_is_not_good_enough" in failed
    n_failed_examples = len(re.findall(r"test_each_example\[\S+ FAILED", out))
    assert sum("test_each_example[" in g for g in failed) == n_failed_examples
    assert len(report["gates"]) == outcomes["passed"] + outcomes["failed"] - 1  # all but the gold-only test
    assert "tests:mini-restaurant@v1 on gold mini-restaurant@v1" in " ".join(out.split()) and "FAILED ─" in out


def test_fixture_evaluations_survive_xdist(project: pytest.Pytester, ner_model: Path) -> None:
    project.makepyfile(test_model=USER_TESTS.format(model=ner_model))
    result = project.runpytest("test_model.py", "-n", "2")
    assert "failed" in result.parseoutcomes()
    report = read_json(project.path / "reports" / "tests_mini-restaurant_v1.json")
    assert report["pipelines"][ner_model.stem]["eval_examples"] > 0
    assert report["status"] == "FAILED" and len(report["gates"]) == 2 + 8  # the workers' test outcomes merged


def test_a_suite_of_example_tests_only_passes_when_they_pass(project: pytest.Pytester, ner_model: Path) -> None:
    project.makepyfile(
        test_model="""
import pytest

@pytest.mark.harness_examples("mini-restaurant@v1", limit=3)
def test_nonempty(harness_example):
    assert harness_example.text
"""
    )
    result = project.runpytest("test_model.py", "-n", "2")
    result.assert_outcomes(passed=3)
    report = read_json(project.path / "reports" / "tests_mini-restaurant_v1.json")
    assert report["status"] == "PASSED" and len(report["gates"]) == 3 and report["pipelines"] == {}


def test_must_pass_makes_one_item_per_example_with_a_diff(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates="f_min = 0.0\n")
    assert project.runpytest("suites").ret == 0
    report = read_json(project.path / "reports" / "mini-ner.json")
    wrong = {h for label in report["pipelines"]["distilled"]["labels"].values() for h in (*label["fp_examples"], *label["fn_examples"])}
    right = [item["input_hash"] for item in report["examples"]["items"] if item["input_hash"] not in wrong]
    hashes = [sorted(wrong)[0], right[0]]  # one the model gets wrong, one it gets right
    write_suite(project, ner_model, gates=f"f_min = 0.0\nmust_pass = {hashes}\n")
    result = project.runpytest("suites", "-v", "-k", "must_pass")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"*distilled::must_pass?{hashes[0]}? FAILED*", f"*distilled::must_pass?{hashes[1]}? PASSED*"])
    assert f"must-pass example {hashes[0]} " in result.stdout.str()
    assert "is wrong (- gold only, + predicted only):" in result.stdout.str()

    write_suite(project, ner_model, gates="must_pass = [12345]\n")
    bad = project.runpytest("suites")
    assert bad.ret != 0
    bad.stdout.fnmatch_lines(["*field 'gates.distilled.must_pass': input hash 12345 is not in the eval split*"])
