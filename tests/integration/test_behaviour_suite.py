"""Behavioural checks from a user's suite file, through pytest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import read_json, write_suite

BEHAVIOUR = """
[behaviour.distilled]
titlecase = { min_pass_rate = 0.95, max_examples = 60 }
double_whitespace = { min_pass_rate = 0.10, max_examples = 40 }
"""


def test_a_model_trained_on_lower_case_text_fails_titlecase_with_a_shrunk_example(project: pytest.Pytester, ner_model: Path) -> None:
    suite = write_suite(project, ner_model, gates="f_min = 0.0\n")
    suite.write_text(suite.read_text() + BEHAVIOUR)
    result = project.runpytest("suites", "-k", "behaviour", "-v", "--harness-markdown=summary.md")
    result.assert_outcomes(passed=1, failed=1)  # `-k behaviour` selects the two checks only
    result.stdout.fnmatch_lines(
        [
            "*suites/mini.toml::mini-ner::distilled::behaviour::pass>=0.95?titlecase? FAILED*",
            "*suites/mini.toml::mini-ner::distilled::behaviour::pass>=0.10?double_whitespace? PASSED*",
        ]
    )
    out = result.stdout.str()
    assert "titlecase pass rate = " in out and "shrunk failing case: original '" in out and "perturbed (title-cased" in out
    report = read_json(project.path / "reports" / "mini-ner.json")
    titlecase = next(b for b in report["behaviour"] if b["check"] == "titlecase")
    assert titlecase["cases"] > 10 and titlecase["pass_rate"] < 0.95 and titlecase["shrunk"]
    assert titlecase["ci"][0] <= titlecase["pass_rate"] <= titlecase["ci"][1]
    queue = [json.loads(line) for line in (project.path / "reports" / "queue" / "mini-ner.jsonl").read_text().splitlines()]
    cases = [r for r in queue if r["harness"]["category"] == "behaviour"]
    assert cases and all(r["harness"]["scope"] == "behaviour" and r["meta"]["check"] for r in cases)
    assert any(r["text"] == c["text"] for r in cases for c in titlecase["failures"])
    assert len([r for r in cases if r["meta"]["check"] == "titlecase"]) <= 20  # shrunk first, 20 per check
    assert any(r["text"] == titlecase["shrunk"][0]["text"] for r in cases)
    assert "**Behavioural checks**" in (project.path / "summary.md").read_text()

    again = project.runpytest("suites", "-k", "behaviour")
    rerun = read_json(project.path / "reports" / "mini-ner.json")
    assert again.ret == 1
    assert [b["failures"] for b in rerun["behaviour"]] == [b["failures"] for b in report["behaviour"]]  # same cases


def test_behaviour_on_imported_predictions_is_refused(project: pytest.Pytester) -> None:
    (project.path / "preds.jsonl").write_text("")
    (project.path / "suites" / "p.toml").write_text(
        '[suite]\nname = "p"\ngold = "mini-restaurant@v1"\n\n[pipelines.imported]\nkind = "predictions"\n'
        'path = "../preds.jsonl"\n\n[behaviour.imported]\ntitlecase = { min_pass_rate = 0.9 }\n'
    )
    result = project.runpytest("suites/p.toml")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*suites/p.toml, field 'behaviour.imported': predictions pipelines (e.g. imported predictions) have no model*"])


def test_llm_behaviour_is_skipped_in_replay_mode(project: pytest.Pytester) -> None:
    (project.path / "suites" / "l.toml").write_text(
        '[suite]\nname = "l"\ngold = "mini-restaurant@v1"\n\n[pipelines.teacher]\nkind = "llm"\n'
        'config = "teacher.cfg"\n\n[behaviour.teacher]\ntypo = { min_pass_rate = 0.9 }\n'
    )
    result = project.runpytest("suites/l.toml", "-k", "behaviour", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*replay mode: a cassette cannot answer new prompts*"])


def test_unknown_check_names_the_key_and_the_known_ones(project: pytest.Pytester, ner_model: Path) -> None:
    suite = write_suite(project, ner_model, gates="f_min = 0.0\n")
    suite.write_text(suite.read_text() + "\n[behaviour.distilled]\ntitle_case = { min_pass_rate = 0.9 }\n")
    result = project.runpytest("suites")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*field 'behaviour.distilled.title_case': unknown check (built in: lowercase, titlecase*"])
