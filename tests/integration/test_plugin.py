"""The pytest plugin, driven through pytester like a user's project would be."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import read_json, write_suite


def test_passing_suite_runs_gates_and_prints_one_summary(project: pytest.Pytester) -> None:
    result = project.runpytest("suites", "-v")
    assert result.ret == 0
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 1 + 3 + 8  # evaluate + f, wps, size + one per label of restaurant
    result.stdout.fnmatch_lines(
        [
            "*suites/mini.toml::mini-ner::distilled::f>=0.00 PASSED*",
            "*suites/mini.toml::mini-ner::distilled::label_f>=0.00?Location? PASSED*",
            "*distill-harness*",
            "*Accuracy (micro F)*",
            "*Speed (words/second)*",
            "*results: reports*mini-ner.json*",
        ]
    )
    assert result.stdout.str().count("Overview") == 1
    report = read_json(project.path / "reports" / "mini-ner.json")
    distilled = report["pipelines"]["distilled"]
    assert report["schema"] == "distill-harness/results/v1"
    assert report["gold"]["ref"] == "mini-restaurant@v1" and len(report["gold"]["sha256"]) == 64
    for key in ("p", "r", "f", "support", "f_ci", "p_ci", "r_ci"):
        assert key in distilled["micro"]
        assert key in distilled["labels"]["Location"]
    assert distilled["words_per_second"] > 0 and distilled["size_bytes"] > 0
    assert report["passed"] is True and len(report["gates"]) == 11


def test_pipeline_runs_once_however_many_gates(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.session

    calls: list[str] = []
    real = harness.session.evaluate_pipeline

    def counting(gold, spec, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(spec.name)
        return real(gold, spec, **kwargs)

    monkeypatch.setattr(harness.session, "evaluate_pipeline", counting)
    result = project.runpytest_inprocess("suites")
    assert result.ret == 0 and calls == ["distilled"]


def test_failing_gate_reports_measured_threshold_and_ci(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates="f_min = 0.99\nwords_per_second_min = 10\n")
    result = project.runpytest("suites", "--junitxml=junit.xml")
    assert result.ret == 1
    result.assert_outcomes(passed=2, failed=1)  # evaluate, words/s pass; f fails
    result.stdout.re_match_lines([r".*distilled: micro F = 0\.\d{3} \(95% CI \[0\.\d{3}, 0\.\d{3}\]\) fails >= 0\.990.*"])
    junit = (project.path / "junit.xml").read_text()
    assert '<property name="measured"' in junit and '<property name="threshold" value="0.99"' in junit
    assert 'name="f&gt;=0.99"' in junit or "f&gt;=0.99" in junit
    report = read_json(project.path / "reports" / "mini-ner.json")
    assert report["passed"] is False


def test_the_plugin_leaves_the_collector_of_the_pytest_process_alone(project: pytest.Pytester) -> None:
    # Only the CLI freezes its heap (harness/heap.py): pytest is the user's process.
    project.makeconftest(
        "import gc\n\ndef pytest_unconfigure(config):\n    open('collector.txt', 'w').write(f'{gc.get_freeze_count()} {gc.isenabled()}')\n"
    )
    result = project.runpytest_subprocess("suites")
    assert result.ret == 0, result.stdout.str()
    assert "Overview" in result.stdout.str()  # the suite did load and run the spaCy pipeline
    assert (project.path / "collector.txt").read_text() == "0 True"


def test_k_and_x_select_and_stop(project: pytest.Pytester, ner_model: Path) -> None:
    result = project.runpytest("suites", "-k", "Location")
    result.assert_outcomes(passed=1)
    write_suite(project, ner_model, gates="f_min = 0.99\nmacro_f_min = 0.99\nwords_per_second_min = 10\n")
    result = project.runpytest("suites", "-x")
    result.assert_outcomes(passed=1, failed=1)  # the evaluate item, then the first gate stops the run


def test_xdist_workers_merge_into_one_summary(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, name="second")
    result = project.runpytest_subprocess("suites", "-n", "2", "-p", "xdist")
    assert result.ret == 0, result.stdout.str()
    out = result.stdout.str()
    assert out.count("distill-harness ===") == 1 or out.count(" distill-harness ") == 1
    assert out.count("Overview") == 2  # one per suite, printed once by the controller
    assert (project.path / "reports" / "mini-ner.json").exists()
    assert (project.path / "reports" / "second-ner.json").exists()
    assert read_json(project.path / "reports" / "second-ner.json")["passed"] is True


def test_tampered_gold_fails_before_any_pipeline_runs(project: pytest.Pytester) -> None:
    eval_file = project.path / "gold" / "mini-restaurant" / "v1" / "eval.jsonl"
    eval_file.write_text(eval_file.read_text().replace('"Location"', '"Cuisine"', 1))
    result = project.runpytest("suites")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*GoldIntegrityError*mini-restaurant@v1 was modified*", f"*{eval_file}*"])
    assert "Overview" not in result.stdout.str()
    assert not (project.path / "reports").exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("f_min = 0.0", "f_min = [oops"), r"mini\.toml:\d+: invalid TOML"),
        (lambda t: t.replace("f_min = 0.0", "f_minimum = 0.0"), r"field 'gates\.distilled\.f_minimum'"),
        (
            lambda t: t + "label_f_min_overrides = { Locaton = 0.5 }\n",
            r"field 'gates\.distilled\.label_f_min_overrides\.Locaton'.*unknown label",
        ),
        (lambda t: t.replace("mini-restaurant@v1", "mini-restaurant@v9"), r"unknown gold version mini-restaurant@v9"),
    ],
    ids=["toml-syntax", "unknown-key", "unknown-label", "unknown-version"],
)
def test_bad_suite_is_a_collection_error_naming_file_and_key(project: pytest.Pytester, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    suite = project.path / "suites" / "mini.toml"
    suite.write_text(edit(suite.read_text()))
    result = project.runpytest("suites")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert re.search(expected, result.stdout.str()), result.stdout.str()
    assert str(suite) in result.stdout.str()


def test_missing_pipeline_path_fails_gates_clearly(project: pytest.Pytester, tmp_path: Path) -> None:
    write_suite(project, tmp_path / "no-such-model")
    result = project.runpytest("suites")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*pipeline not found: *no-such-model*"])
    report = read_json(project.path / "reports" / "mini-ner.json")
    assert "no-such-model" in report["errors"]["distilled"]


HEAVY = ("spacy", "spacy_llm", "numpy", "thinc", "pydantic", "rich", "harness.session", "harness.core.metrics")


def test_plugin_import_does_not_import_spacy() -> None:
    code = f"import json, sys, harness.plugin; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_run_without_suites_does_no_harness_work(pytester: pytest.Pytester) -> None:
    """A project with no suite file: no session is made and nothing heavy is imported,
    checked in the pytest process itself (a subprocess, so this test's imports don't count)."""
    pytester.makepyfile("def test_ok():\n    assert True\n")
    pytester.makeconftest(f"""
import json, sys
def pytest_unconfigure(config):
    from harness.plugin import SESSION_KEY
    loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
    with open("harness-probe.json", "w") as handle:
        json.dump({{"session": config.stash.get(SESSION_KEY, None) is not None, "loaded": loaded}}, handle)
""")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    probe = json.loads((pytester.path / "harness-probe.json").read_text())
    assert probe == {"session": False, "loaded": []}


def test_unrelated_project_is_unaffected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    assert True\n")
    pytester.makefile(".toml", pyproject="[tool.other]\nx = 1\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "distill-harness ===" not in result.stdout.str() and "Overview" not in result.stdout.str()
