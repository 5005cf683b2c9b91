"""Nothing is recorded as passed that did not pass: interrupted and partial runs, suites
without gates, and blessing a run whose gates fail (pytester runs of a real tiny model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import read_json, write_suite

GATES = "f_min = 0.0\nlabel_f_min = 0.0\nsize_bytes_max = 100_000_000\nno_regression = { max_drop = 0.02 }\n"


def _history_suite_passed(project: pytest.Pytester) -> list[bool]:
    import polars as pl

    frame = pl.read_parquet(sorted((project.path / "reports" / "history").glob("*.parquet")))
    return frame.unique("run_id", maintain_order=True)["suite_passed"].to_list()


def test_a_deselected_gate_is_not_a_passed_gate(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates=GATES)
    assert project.runpytest("suites", "--harness-bless").ret == 0
    partial = project.runpytest("suites", "-k", "size")
    assert partial.ret == 0  # the selected gate passed ...
    report = read_json(project.path / "reports" / "mini-ner.json")
    assert report["passed"] is False and report["status"] == "INCOMPLETE"  # ... the suite did not
    assert "1 of" in report["incomplete"] and "deselected" in report["incomplete"]
    assert _history_suite_passed(project)[-1] is False
    assert "INCOMPLETE" in partial.stdout.str()


def test_an_interrupted_run_claims_no_verdict_and_does_not_bless(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates=GATES)
    # Ctrl-C as the second gate starts (a KeyboardInterrupt in the run, as pytest sees SIGINT).
    project.makeconftest("""
        calls = []
        def pytest_runtest_call(item):
            calls.append(item.nodeid)
            if len(calls) == 2:
                raise KeyboardInterrupt
    """)
    interrupted = project.runpytest_subprocess("suites", "--harness-bless")  # in-process, it would stop us too
    assert interrupted.ret == pytest.ExitCode.INTERRUPTED
    report = read_json(project.path / "reports" / "mini-ner.json")
    assert report["passed"] is False and report["status"] == "INCOMPLETE"
    assert report["incomplete"].startswith("interrupted")
    assert not (project.path / "baselines" / "mini-ner.json").exists()  # never blessed
    assert "not blessed: the run is incomplete" in interrupted.stdout.str()


def test_a_run_stopped_by_x_is_incomplete(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates="f_min = 0.99\nlabel_f_min = 0.0\n")
    stopped = project.runpytest("suites", "-x")
    assert stopped.ret == 1
    report = read_json(project.path / "reports" / "mini-ner.json")
    assert report["status"] == "FAILED" and report["incomplete"].startswith("stopped early")


def test_pytest_bless_refuses_a_suite_whose_gates_fail_unless_allowed(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates="f_min = 0.99\nno_regression = { max_drop = 0.02 }\n")
    refused = project.runpytest("suites", "--harness-bless")
    assert refused.ret == 1
    assert not (project.path / "baselines" / "mini-ner.json").exists()
    said = " ".join(refused.stdout.str().split())
    assert "not blessed: 1 gate(s) fail (distilled::f>=0.99)" in said and "--harness-allow-failing" in said
    allowed = project.runpytest("suites", "--harness-bless", "--harness-allow-failing")
    assert allowed.ret == 1 and (project.path / "baselines" / "mini-ner.json").exists()


def test_harness_bless_refuses_a_suite_whose_gates_fail_unless_allowed(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates="f_min = 0.99\n")

    def bless(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness.cli", "bless", "suites/mini.toml", *extra],
            cwd=project.path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    refused = bless()
    assert refused.returncode != 0
    said = " ".join((refused.stdout + refused.stderr).split())
    assert "not blessed: 1 gate(s) fail (distilled::f>=0.99)" in said and "--allow-failing" in said
    assert not (project.path / "baselines" / "mini-ner.json").exists()
    allowed = bless("--allow-failing")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert json.loads((project.path / "baselines" / "mini-ner.json").read_text())["suite"] == "mini-ner"


def test_a_suite_without_gates_is_said_to_judge_nothing(project: pytest.Pytester, ner_model: Path) -> None:
    path = write_suite(project, ner_model)
    path.write_text(path.read_text().split("[gates.distilled]")[0])
    run = project.runpytest("suites", "--harness-markdown=summary.md")
    assert "has no gates: it judges nothing" in run.stdout.str()  # the collection warning
    report = read_json(project.path / "reports" / "mini-ner.json")
    assert report["passed"] is False and report["status"] == "INCOMPLETE" and "no gates" in report["incomplete"]
    assert "INCOMPLETE" in (project.path / "summary.md").read_text()


def test_a_baseline_copied_from_another_suite_is_refused(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates=GATES)
    assert project.runpytest("suites", "--harness-bless").ret == 0
    baselines = project.path / "baselines"
    (baselines / "other-ner.json").write_bytes((baselines / "mini-ner.json").read_bytes())
    (project.path / "suites" / "mini.toml").unlink()
    write_suite(project, ner_model, gates=GATES, name="other")
    run = project.runpytest("suites")
    assert run.ret == 1
    said = " ".join(run.stdout.str().split())
    assert "was blessed for suite 'mini-ner', not 'other-ner'" in said


def test_a_corrupt_history_file_is_named_and_the_run_goes_on(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model)
    history_dir = project.path / "reports" / "history"
    history_dir.mkdir(parents=True)
    (history_dir / "run-corrupt.parquet").write_bytes(b"\x00" * 64)
    run = project.runpytest("suites")
    assert run.ret == 0
    said = " ".join(run.stdout.str().split())
    assert "run-corrupt.parquet skipped: not a readable Parquet file" in said and "nothing deleted" in said
    assert (project.path / "reports" / "report.html").exists()
    assert (history_dir / "unreadable" / "run-corrupt.parquet").exists()
    listed = subprocess.run(
        [sys.executable, "-m", "harness.cli", "history", "suites/mini.toml", "--json"],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1


# -- weak cases: a clear one-line error instead of a traceback -------------------------------


def test_reports_path_that_is_a_file_is_a_usage_error(project: pytest.Pytester) -> None:
    (project.path / "out").write_text("mine\n")
    run = project.runpytest("suites", "--harness-reports", "out")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert "exists and is not a directory" in run.stderr.str() and "Traceback" not in run.stderr.str()
    assert (project.path / "out").read_text() == "mine\n"


def test_markdown_path_that_is_a_directory_is_a_usage_error(project: pytest.Pytester) -> None:
    (project.path / "summary").mkdir()
    run = project.runpytest("suites", "--harness-markdown", "summary")
    assert run.ret == pytest.ExitCode.USAGE_ERROR and "is a directory" in run.stderr.str()


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ('"mini-restaurant@v1", limit=-279', "limit must be a whole number >= 1"),
        ('"mini-restaurant@v1", limit=0', "limit must be a whole number >= 1"),
        ('"mini-restaurant@v1", limt=5', "unknown keyword(s) limt"),
    ],
)
def test_a_bad_harness_examples_marker_is_named(project: pytest.Pytester, arguments: str, said: str) -> None:
    project.makepyfile(
        test_mine=f"""
        import pytest

        @pytest.mark.harness_examples({arguments})
        def test_each(harness_example):
            pass
    """
    )
    run = project.runpytest("test_mine.py")
    assert run.ret != 0
    assert said in run.stdout.str() + run.stderr.str()


def test_harness_report_names_a_malformed_results_file(project: pytest.Pytester) -> None:
    assert project.runpytest("suites").ret == 0
    results = project.path / "reports" / "mini-ner.json"
    document = json.loads(results.read_text())
    document["gates"] = "oops"
    results.write_text(json.dumps(document))
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(results), "-o", "page.html"],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "gates" in done.stderr + done.stdout and "expected a list, got str" in done.stderr + done.stdout


def test_a_custom_check_beside_the_suite_is_found_and_its_errors_fail_the_item(project: pytest.Pytester, ner_model: Path) -> None:
    path = write_suite(project, ner_model)
    path.write_text(path.read_text() + '\n[behaviour.distilled]\nmine = { function = "checks:broken", min_pass_rate = 0.5 }\n')
    (path.parent / "checks.py").write_text("def broken(example, draw):\n    raise ValueError('oops in my check')\n")
    run = project.runpytest("suites", "-k", "behaviour")  # from the project root, not the suite's folder
    assert run.ret == 1
    out = run.stdout.str()
    assert "cannot import" not in out
    assert "custom check checks:broken raised ValueError" in out and "oops in my check" in out
    assert "checks.py" in out  # the check's own frame


def test_harness_report_never_overwrites_the_runs_page_unless_told(project: pytest.Pytester) -> None:
    assert project.runpytest("suites").ret == 0
    page = project.path / "reports" / "report.html"
    before = page.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "reports/mini-ner.json"],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert page.read_bytes() == before and (project.path / "reports" / "mini-ner.html").exists()
    told = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "reports/mini-ner.json", "-o", "reports/report.html"],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert told.returncode == 0 and page.read_bytes() != before


@pytest.mark.slow
def test_promote_refuses_a_worse_model_unless_forced(tmp_path: Path, mini_gold_dir: Path, ner_model: Path) -> None:
    import shutil

    from harness.loop.retrain import retrain
    from harness.suites import parse_suite

    current = tmp_path / "models" / "current"
    shutil.copytree(ner_model, current)
    before = {p.name: p.read_bytes() for p in current.iterdir() if p.is_file()}
    suite = tmp_path / "s.toml"
    suite.write_text(
        f'[suite]\nname = "s"\ngold = "mini-restaurant@v1"\ngold_dir = "{mini_gold_dir}"\nresamples = 200\n'
        f'[pipelines.distilled]\npath = "{current}"\n[gates.distilled]\nf_min = 0.0\n'
        "no_regression = { max_drop = 0.02 }\n"
    )
    weak = retrain(parse_suite(suite), output=str(tmp_path / "weak"), promote=True, max_steps=5, resamples=50)
    assert not weak.promoted and weak.refused is not None
    assert "vs the current model's" in weak.refused and "worse beyond eval-sample noise" in weak.refused
    assert {p.name: p.read_bytes() for p in current.iterdir() if p.is_file()} == before  # the current model stays
    forced = retrain(parse_suite(suite), output=str(tmp_path / "weak2"), promote=True, max_steps=5, resamples=50, force=True)
    assert forced.promoted and forced.refused is None
    assert {p.name: p.read_bytes() for p in current.iterdir() if p.is_file()} != before
