"""The release flow from a user's project: no baseline -> bless -> identical -> a weaker
model fails no_regression with its newly broken examples -> bless -> history shows it all."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from .conftest import read_json, write_suite

REGRESSION = "f_min = 0.0\nno_regression = { max_drop = 0.02, per_label = true, size_max_growth = 0.5 }\n"


def harness_cli(project: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=project.path, capture_output=True, text=True, timeout=600, check=False
    )


def test_release_flow_bless_regress_bless(project: pytest.Pytester, ner_model: Path, weak_ner_model: Path) -> None:
    write_suite(project, ner_model, gates=REGRESSION)

    missing = project.runpytest("suites")
    assert missing.ret == 1
    missing.stdout.fnmatch_lines(["*no baseline: run `harness bless suites/mini.toml`*"])

    blessed = project.runpytest("suites", "--harness-bless", "-rs")
    assert blessed.ret == 0
    blessed.stdout.fnmatch_lines(["*blessed: baselines/mini-ner.json*", "*blessing (--harness-bless)*"])
    baseline = read_json(project.path / "baselines" / "mini-ner.json")
    assert baseline["schema"] == "distill-harness/baseline/v1" and baseline["gold"]["ref"] == "mini-restaurant@v1"
    assert len(baseline["pipelines"]["distilled"]["predictions"]) == baseline_eval_size(project)

    same = project.runpytest("suites")
    assert same.ret == 0
    same.stdout.fnmatch_lines(["*distilled vs baseline*", "*identical to baseline*"])

    # A deliberately weaker model in the suite's place: the run fails on no_regression.
    write_suite(project, weak_ner_model, gates=REGRESSION)
    worse = project.runpytest("suites", "--junitxml=junit.xml", "--harness-markdown=summary.md")
    assert worse.ret == 1
    worse.stdout.fnmatch_lines(
        [
            "*flips: * newly broken*",
            "*broken *gold*baseline*now*",
            "FAILED suites/mini.toml::mini-ner::distilled::no_regression<=0.02*",
        ]
    )
    assert "vs baseline" in worse.stdout.str() and "dropped by more than 0.020 and significant" in worse.stdout.str()
    report = read_json(project.path / "reports" / "mini-ner.json")
    compared = report["baselines"]["distilled"]
    assert compared["newly_broken"] > 0 and compared["identical_model"] is False
    first = next(f for f in compared["flips"] if f["broken"])
    assert first["text"] and first["baseline"] != first["current"]
    queue = [json.loads(line) for line in (project.path / "reports" / "queue" / "mini-ner.jsonl").read_text().splitlines()]
    regressions = [r for r in queue if r["harness"]["category"] == "regression"]
    assert regressions and regressions[0] is queue[0]  # reviewed first
    assert {f["input_hash"] for f in compared["flips"] if f["broken"]} >= {r["_input_hash"] for r in regressions}
    props = junit_properties(project.path / "junit.xml", "no_regression<=0.02")
    assert {"measured", "threshold", "ci_low", "ci_high", "baseline", "delta"} <= set(props)
    assert float(props["delta"]) < -0.02
    summary = (project.path / "summary.md").read_text()
    assert "❌" in summary and "| label" in summary and "Δ vs baseline" in summary
    # The run's page is drawn from its result objects; `harness report` draws the same page from
    # the JSON alone (read back into result objects): gates, flips, regression tests, trends.
    rebuilt = harness_cli(project, "report", "reports/mini-ner.json", "-o", "rebuilt.html")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    run_page = (project.path / "reports" / "report.html").read_text(encoding="utf-8")
    assert same_page((project.path / "rebuilt.html").read_text(encoding="utf-8"), run_page)

    # Review, then bless the new model from the CLI: the next run passes again.
    done = harness_cli(project, "bless", "suites/mini.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "blessed distilled" in done.stdout
    assert project.runpytest("suites").ret == 0

    listed = harness_cli(project, "history", "suites/mini.toml", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert len(runs) == 5  # every pytest run above wrote one
    assert [r["blessed"] for r in runs] == [False, False, False, True, True]  # the weak model is blessed now
    assert runs[3]["gates_failed"] > 0 and runs[4]["gates_failed"] == 0
    shown = harness_cli(project, "history", "mini-ner", "--pipeline", "distilled", "--last", "3")
    assert shown.returncode == 0 and "★" in shown.stdout and "trend" in shown.stdout
    table = harness_cli(project, "history", "mini-ner", "--csv")
    assert table.stdout.splitlines()[0].startswith("time,pipeline,git_commit") and len(table.stdout.splitlines()) == 6
    pruned = harness_cli(project, "history", "prune", "--keep", "2")
    assert pruned.returncode == 0 and "kept 2 run(s), removed 3" in pruned.stdout
    assert len(json.loads(harness_cli(project, "history", "suites/mini.toml", "--json").stdout)) == 2


def same_page(a: str, b: str) -> bool:
    """Two pages that draw the same figures: equal apart from when they were made and the
    embedded documents (the run embeds them as built, `harness report` as the file holds them)."""
    created = re.compile(r"created \S+ ·")
    data = re.compile(r'(<script type="application/json" id="harness-data">).*?(</script>)', re.S)
    a, b = (data.sub(r"\1\2", created.sub("created …", page)) for page in (a, b))
    return a == b and a.count("newly broken") > 0


def baseline_eval_size(project: pytest.Pytester) -> int:
    manifest = json.loads((project.path / "gold" / "mini-restaurant" / "v1" / "manifest.json").read_text())
    return (
        int(manifest["splits"]["eval"]["examples"])
        if "splits" in manifest
        else len((project.path / "gold" / "mini-restaurant" / "v1" / "eval.jsonl").read_text().splitlines())
    )


def junit_properties(path: Path, gate: str) -> dict[str, str]:
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        if case.get("name", "").endswith(gate):
            return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    raise AssertionError(f"no testcase for {gate}")


def test_xdist_workers_ship_baseline_comparisons_and_write_one_history_file(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates=REGRESSION)
    write_suite(project, ner_model, gates=REGRESSION, name="other")
    assert project.runpytest("suites", "--harness-bless").ret == 0
    result = project.runpytest("suites", "-n", "2", "--harness-markdown=summary.md")
    assert result.ret == 0
    out = result.stdout.str()
    assert out.count("distilled vs baseline") == 2 and out.count("identical to baseline") >= 2
    history = sorted((project.path / "reports" / "history").glob("run-*.parquet"))
    assert len(history) == 2  # the bless run and this one: the controller writes once per run
    summary = (project.path / "summary.md").read_text()
    assert "mini-ner" in summary and "other-ner" in summary
    # One HTML page for the run, written once by the controller, embedding the JSON reports as written.
    assert out.count("report (open in a browser): reports/report.html") == 1
    html = (project.path / "reports" / "report.html").read_text(encoding="utf-8")
    start = html.index('<script type="application/json" id="harness-data">') + len('<script type="application/json" id="harness-data">')
    embedded = json.loads(html[start : html.index("</script>", start)])
    assert embedded["suites"] == [read_json(project.path / "reports" / f"{name}.json") for name in ("mini-ner", "other-ner")]


def test_step_summary_is_appended_when_github_sets_it(project: pytest.Pytester, ner_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_suite(project, ner_model)
    target = project.path / "step_summary.md"
    target.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    assert project.runpytest("suites").ret == 0
    text = target.read_text()
    assert text.startswith("earlier step\n") and "## distill-harness: ✅ 1 suite passed" in text


def test_damaged_baseline_fails_the_gate_naming_the_file(project: pytest.Pytester, ner_model: Path) -> None:
    write_suite(project, ner_model, gates=REGRESSION)
    assert project.runpytest("suites", "--harness-bless").ret == 0
    path = project.path / "baselines" / "mini-ner.json"
    path.write_text(path.read_text().replace('"support": ', '"support": 1', 1))
    result = project.runpytest("suites")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*baselines/mini-ner.json*edited by hand or damaged*"])
    assert os.path.exists(path)
