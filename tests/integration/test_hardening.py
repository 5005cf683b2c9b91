"""Bad input and faults a new user hit (spaCy, the CLI, pytest): each case failed before its fix."""

from __future__ import annotations

import json
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.api import record
from harness.errors import InputError, PipelineError
from harness.evaluate import evaluate_pipeline
from harness.gold import GoldStore, GoldVersion, import_examples
from harness.specs import PipelineSpec
from harness.training import train

from ..helpers.chat_server import ChatServer
from .conftest import _cut, read_json, write_suite
from .test_cli import run
from .test_llm import suite_file, write_config

# -- training never destroys what it did not make, never reuses a damaged model ------


def test_train_refuses_to_replace_a_directory_it_did_not_make(tmp_path: Path, mini_gold_dir: Path) -> None:
    mine = tmp_path / "my-project"
    mine.mkdir()
    (mine / "notes.txt").write_text("three weeks of work")
    proc = run(
        "train",
        "--gold",
        "mini-restaurant@v1",
        "--output",
        str(mine),
        "--max-steps",
        "5",
        "--gold-dir",
        str(mini_gold_dir),
        cwd=tmp_path,
        ok=False,
    )
    assert proc.returncode == 2 and "not a pipeline trained by the harness" in proc.stdout
    assert (mine / "notes.txt").read_text() == "three weeks of work"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_a_damaged_model_is_retrained_not_reused(tmp_path: Path, mini_restaurant: GoldVersion) -> None:
    out = tmp_path / "model"
    first = train(mini_restaurant, out, max_steps=5)
    assert not first.reused and train(mini_restaurant, out, max_steps=5).reused
    weights = out / "ner" / "model"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    again = train(mini_restaurant, out, max_steps=5)
    assert not again.reused
    with pytest.raises(InputError, match="max_steps must be >= 1"):
        train(mini_restaurant, tmp_path / "m2", max_steps=0)


def test_max_steps_zero_is_refused_by_the_cli(tmp_path: Path) -> None:
    proc = run("train", "--gold", "x", "--output", "y", "--max-steps", "0", cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "must be >= 1" in proc.stderr


def test_damaged_model_files_and_meta_are_named(tmp_path: Path, mini_restaurant: GoldVersion) -> None:
    out = tmp_path / "model"
    train(mini_restaurant, out, max_steps=5)
    weights = out / "ner" / "model"
    weights.write_bytes(weights.read_bytes()[:100])
    spec = PipelineSpec("distilled", "spacy", str(out))
    with pytest.raises(PipelineError, match=r"files changed since training: ner/model \(changed\)"):
        evaluate_pipeline(mini_restaurant, spec, resamples=10)
    (out / "meta.json").write_text("{not json")
    with pytest.raises(PipelineError, match=r"meta\.json: not valid JSON"):
        evaluate_pipeline(mini_restaurant, spec, resamples=10)


# -- evaluation refuses missing data -------------------------------------------------


def test_a_model_for_another_label_set_fails(tmp_path: Path, mini_gold_dir: Path, mini_restaurant: GoldVersion) -> None:
    store = GoldStore(tmp_path / "gold")
    shutil.copytree(Path(__file__).resolve().parents[2] / "gold" / "food-ingredients", tmp_path / "gold" / "food-ingredients")
    food_model = tmp_path / "food"
    train(store.resolve("food-ingredients@v1"), food_model, max_steps=5)
    with pytest.raises(PipelineError, match="none in common"):
        evaluate_pipeline(mini_restaurant, PipelineSpec("distilled", "spacy", str(food_model)), resamples=10)


def test_training_count_of_another_gold_is_not_shown_as_this_ones(mini_gold_dir: Path, ner_model: Path) -> None:
    store = GoldStore(mini_gold_dir)
    result = evaluate_pipeline(store.resolve("mini-restaurant@v1"), PipelineSpec("d", "spacy", str(ner_model)), resamples=10)
    assert result.train_examples and not any("trained on" in w for w in result.warnings)
    cut = _cut("restaurant-reviews", 300, 120, mini_gold_dir.parent / "again.jsonl")
    from harness.runners.spacy_data import spacy_tokenizer

    other = import_examples(store, [cut], name="restaurant-copy", tokenizer=spacy_tokenizer("en"), eval_fraction=0.3)
    result = evaluate_pipeline(other, PipelineSpec("d", "spacy", str(ner_model)), resamples=10)
    assert result.train_examples is None and any("trained on mini-restaurant@v1" in w for w in result.warnings)


def test_an_empty_eval_split_is_an_error_not_a_pass(tmp_path: Path) -> None:
    source = tmp_path / "food.jsonl"
    source.write_text(
        "".join(
            (Path(__file__).resolve().parents[2] / "gold" / "food-ingredients" / "v1" / "train.jsonl").read_text().splitlines(keepends=True)[:30]
        )
    )
    run("gold", "import", str(source), "--name", "food", "--eval-fraction", "0", cwd=tmp_path)
    proc = run("eval", "--gold", "food@v1", "--pipeline", "nothing", cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "empty eval split" in proc.stdout and "PASSED" not in proc.stdout


def test_a_huge_text_without_tokens_imports(tmp_path: Path) -> None:
    big = "word " * 400_000  # 2 MB, past spaCy's default max_length
    source = tmp_path / "big.jsonl"
    source.write_text(json.dumps({"text": big, "spans": []}) + "\n" + json.dumps({"text": "x y", "spans": []}) + "\n")
    out = run("gold", "import", str(source), "--name", "big", "--task", "ner", cwd=tmp_path).stdout
    assert "wrote big@v1" in out


def test_llm_failures_in_record_mode_fail_the_pipeline(tmp_path: Path, mini_gold_dir: Path, mini_restaurant: GoldVersion) -> None:
    """432 of 432 failed calls used to score 0.000 and pass distilled_vs_llm (0 - 0 > -0.1)."""
    with ChatServer(lambda prompt: "1. pizza | True | Dish | x") as server:
        server.failures = ["500"] * 10_000
        config = write_config(
            tmp_path / "llm.cfg",
            tmp_path / "c.jsonl",
            "harness.OpenAICompatible.v1",
            {"base_url": server.base_url, "name": "m", "max_tries": 1, "backoff": 0.0},
        )
        with pytest.raises(PipelineError, match=r"LLM call\(s\) failed .*no result"):
            evaluate_pipeline(mini_restaurant, PipelineSpec("llm", "llm", str(config)), resamples=10, llm_mode="record")


def test_an_unreachable_backend_fails_fast(tmp_path: Path, mini_gold_dir: Path) -> None:
    config = write_config(
        tmp_path / "llm.cfg",
        tmp_path / "c.jsonl",
        "harness.OpenAICompatible.v1",
        {"base_url": "http://127.0.0.1:9/v1", "name": "m", "max_tries": 5, "backoff": 1.0},
    )
    seen: list[bool] = []
    started = time.perf_counter()
    summary = record(str(suite_file(tmp_path, mini_gold_dir, config)), progress=lambda name, total: seen.append)[0]
    assert time.perf_counter() - started < 20  # was ~17 minutes of retries for 432 prompts
    assert summary.failed == summary.prompts and "connection failed (not retried)" in (summary.first_failure or "")
    assert seen and all(seen)  # failures were reported as they happened


def test_a_plain_spacy_llm_replay_refuses_an_unrecorded_prompt(tmp_path: Path, mini_gold_dir: Path) -> None:
    """Outside the harness, Cassette.v1 in replay is strict by default (like vcrpy)."""
    from spacy_llm.util import assemble

    from harness.llm.backend import BackendError

    config = write_config(
        tmp_path / "llm.cfg",
        tmp_path / "empty.jsonl",
        "harness.SimulatedTeacher.v1",
        {"gold": "mini-restaurant@v1", "gold_dir": str(mini_gold_dir), "task": "ner", "seed": 0},
    )
    nlp = assemble(config)
    with pytest.raises(BackendError, match=r"prompt\(s\) not recorded"):
        nlp("a table for two in boston")


# -- pytest: ids, queues, reports ---------------------------------------------------


def test_gate_ids_round_trip_through_xdist_and_junit(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("suites", "-n", "2", "-p", "xdist", "--junitxml=junit.xml")
    assert result.ret == 0
    cases = ET.parse(project.path / "junit.xml").getroot().iter("testcase")
    names = [c.get("name") for c in cases]
    label_gate = next(n for n in names if n and n.startswith("label_f"))
    assert label_gate.count("[") == 1 and label_gate.endswith("]") and not label_gate.endswith("]]")
    again = project.runpytest(f"suites/mini.toml::mini-ner::distilled::{label_gate}")
    again.assert_outcomes(passed=1)


def test_a_bad_queue_file_does_not_cost_the_run_its_report(project: pytest.Pytester) -> None:
    assert project.runpytest("suites").ret == 0
    queue_file = project.path / "reports" / "queue" / "mini-ner.jsonl"
    queue_file.write_text(queue_file.read_text() + '{"text": "trunc')
    (project.path / "reports" / "mini-ner.json").unlink()
    result = project.runpytest("suites")
    assert result.ret == 0
    assert "Overview" in result.stdout.str() and "correction queue not updated" in result.stdout.str()
    assert "mini-ner.jsonl:" in result.stdout.str()
    assert read_json(project.path / "reports" / "mini-ner.json")["passed"] is True


def test_two_suites_with_one_name_do_not_resolve_each_others_queue(project: pytest.Pytester, ner_model: Path, mini_gold_dir: Path) -> None:
    write_suite(project, ner_model, gates="f_min = 0.99\n")  # fails: the queue gets records
    project.runpytest("suites")
    before = [r["harness"]["status"] for r in map(json.loads, (project.path / "reports/queue/mini-ner.jsonl").open())]
    store = GoldStore(project.path / "gold")
    from harness.runners.spacy_data import spacy_tokenizer

    import_examples(
        store,
        [_cut("restaurant-reviews", 200, 80, project.path / "o.jsonl")],
        name="other-restaurant",
        tokenizer=spacy_tokenizer("en"),
        eval_fraction=0.3,
    )
    suite = project.path / "suites" / "mini.toml"
    suite.write_text(suite.read_text().replace("mini-restaurant@v1", "other-restaurant@v1"))
    result = project.runpytest("suites")
    assert "made for gold dataset(s) mini-restaurant, not other-restaurant" in result.stdout.str()
    after = [r["harness"]["status"] for r in map(json.loads, (project.path / "reports/queue/mini-ner.jsonl").open())]
    assert after == before and "resolved" not in after


# -- messages -------------------------------------------------------------------------


def test_distill_without_pool_names_the_section(tmp_path: Path, mini_gold_dir: Path, ner_model: Path) -> None:
    suite = tmp_path / "s.toml"
    suite.write_text(
        f'[suite]\nname = "s"\ngold = "mini-restaurant@v1"\ngold_dir = "{mini_gold_dir}"\n'
        f'[pipelines.d]\npath = "{ner_model}"\n[pipelines.l]\nkind = "llm"\nconfig = "x.cfg"\n'
    )
    proc = run("distill", str(suite), cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "to [suite])" in proc.stdout


def test_every_command_and_option_has_help() -> None:
    import argparse

    from harness.cli import USAGE_EXAMPLE, build_parser

    parser = build_parser()
    assert "examples:" in USAGE_EXAMPLE and "examples:" in parser.format_help()

    def walk(p: argparse.ArgumentParser, where: str) -> list[str]:
        missing = []
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not choice.help:
                        missing.append(f"{where} {choice.dest}")
                for name, sub in action.choices.items():
                    missing += walk(sub, f"{where} {name}")
            elif not action.help and action.dest != "help":
                missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}")
        return missing

    assert walk(parser, "harness") == []


def test_resamples_below_one_are_refused_by_pytest_and_the_cli(project: pytest.Pytester, tmp_path: Path) -> None:
    result = project.runpytest("suites", "--harness-resamples", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "must be >= 1" in result.stderr.str()
    proc = run("eval", "--gold", "g", "--pipeline", "p", "--resamples", "-1", cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "must be >= 1" in proc.stderr


def test_promote_refuses_to_replace_what_the_harness_did_not_make(tmp_path: Path, mini_gold_dir: Path) -> None:
    from harness.loop.retrain import retrain
    from harness.suites import parse_suite

    mine = tmp_path / "my-model"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    suite = tmp_path / "s.toml"
    suite.write_text(f'[suite]\nname = "s"\ngold = "mini-restaurant@v1"\ngold_dir = "{mini_gold_dir}"\n[pipelines.distilled]\npath = "{mine}"\n')
    with pytest.raises(InputError, match="not a pipeline trained by the harness"):
        retrain(parse_suite(suite), output=str(tmp_path / "new"), promote=True, max_steps=5, resamples=10)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
