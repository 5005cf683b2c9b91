"""Noise-aware regression verdicts end to end: `harness bless --replicates`, `harness noise`,
and the shipped suites' gates against the shipped baselines for real retrains (another
seed passes; a tenth of the training steps fails)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.core.gates import NoRegressionGate, SpeedRegressionGate
from harness.gold.store import GoldStore
from harness.session import HarnessSession, load_suite
from harness.training import train

from .conftest import REPO, read_json

MINI_SUITE = """\
[suite]
name = "mini-ner"
gold = "mini-restaurant@v1"
resamples = 200

[pipelines.distilled]
path = "../models/mini"

[pipelines.distilled.train]
max_steps = 200
checkpoint = "last"
replicates = 2

[gates.distilled]
no_regression = { max_drop = 0.02, per_label = true }
"""


def harness_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
def test_bless_with_replicates_noise_and_a_retrain_with_another_seed(pytester: pytest.Pytester, mini_gold_dir: Path) -> None:
    shutil.copytree(mini_gold_dir, pytester.path / "gold")
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "mini.toml").write_text(MINI_SUITE)
    trained = harness_cli(pytester.path, "train", "--suite", "suites/mini.toml")
    assert trained.returncode == 0, trained.stderr

    blessed = harness_cli(pytester.path, "bless", "suites/mini.toml", "--workers", "2")
    assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    assert "2 replicates (other seeds): micro F" in blessed.stdout
    entry = read_json(pytester.path / "baselines" / "mini-ner.json")["pipelines"]["distilled"]
    models = entry["replicates"]["models"]
    assert sorted(int(s) for s in models) == [1, 2]  # seeds 0 + 1, 0 + 2 of the train table
    assert len(models["1"]["predictions"]) == len(entry["predictions"])
    assert entry["replicates"]["configuration"]["max_steps"] == 200
    assert (pytester.path / "models" / ".replicates" / "mini-seed1" / "meta.json").exists()

    noise = harness_cli(pytester.path, "noise", "suites/mini.toml")
    assert noise.returncode == 0, noise.stderr
    assert "3 model(s) of the blessed configuration" in noise.stdout and "detectable drop" in noise.stdout

    # The same configuration retrained with another seed: judged against the blessed configuration.
    retrained = harness_cli(pytester.path, "train", "--suite", "suites/mini.toml", "--seed", "7")
    assert retrained.returncode == 0, retrained.stderr
    run = pytester.runpytest("suites", "--junitxml=junit.xml", "--harness-markdown=summary.md")
    assert run.ret == 0, run.stdout.str()
    out = " ".join(run.stdout.str().split())  # rich wraps lines at the terminal's width
    assert "vs its blessed configuration" in out and "eval sample + training (3 models)" in out
    report = read_json(pytester.path / "reports" / "mini-ner.json")
    gates = [g for g in report["gates"] if g["id"].startswith("no_regression")]
    assert gates and all(g["noise"] == "eval sample + training (3 models)" for g in gates)
    assert all(g["p_adjusted"] >= g["p_value"] for g in gates)
    assert report["baselines"]["distilled"]["replicates"] == 2
    junit = (pytester.path / "junit.xml").read_text()
    assert 'name="p_adjusted"' in junit and 'name="noise" value="eval sample + training (3 models)"' in junit
    assert "Δ vs blessed config" in (pytester.path / "summary.md").read_text()

    # `pytest --harness-bless` of a model trained from the same configuration keeps the replicates.
    assert pytester.runpytest("suites", "--harness-bless").ret == 0
    kept = read_json(pytester.path / "baselines" / "mini-ner.json")["pipelines"]["distilled"]
    assert sorted(kept["replicates"]["models"]) == ["1", "2"]


def _judge_shipped(suite_file: str, model: Path, *, every_gate: bool = False) -> list:  # type: ignore[type-arg]
    """The shipped suite's no_regression verdicts (``every_gate``: all of the distilled pipeline's
    gates but the speed regression, which a loaded test machine cannot judge) for ``model`` in
    the distilled pipeline's place."""
    suite = load_suite(REPO / suite_file)
    spec = suite.spec.distilled
    assert spec is not None
    suite.spec = dataclasses.replace(suite.spec, pipelines={**suite.spec.pipelines, spec.name: dataclasses.replace(spec, path=str(model))})
    session = HarnessSession()
    session.add_suite(suite)
    chosen = [
        g
        for g in suite.gates
        if g.pipeline == spec.name and not isinstance(g, SpeedRegressionGate) and (every_gate or isinstance(g, NoRegressionGate))
    ]
    return [session.check(suite.spec.name, g) for g in chosen]


def _train_food(tmp_path: Path, *, seed: int, steps_divisor: int = 1) -> Path:
    suite = load_suite(REPO / "suites" / "food.toml")
    spec = suite.spec.distilled
    assert spec is not None and spec.train is not None and spec.train.max_steps
    out = tmp_path / f"food-seed{seed}-div{steps_divisor}"
    train(
        GoldStore(suite.spec.gold_dir).resolve(str(suite.spec.gold)),
        out,
        config=spec.train.config,
        max_steps=spec.train.max_steps // steps_divisor,
        seed=seed,
        checkpoint=spec.train.checkpoint,
    )
    return out


@pytest.mark.slow
def test_the_shipped_food_gates_pass_a_retrain_with_another_seed(tmp_path: Path) -> None:
    """Every gate of the shipped food suite (no_regression against the shipped baseline,
    absolute F, vs LLM, size, behavioural checks) passes a model retrained with a seed
    that is not in the baseline: on this CPU or any other."""
    verdicts = _judge_shipped("suites/food.toml", _train_food(tmp_path, seed=11), every_gate=True)
    assert len(verdicts) > 10 and all(v.passed for v in verdicts), [v.message for v in verdicts if not v.passed]
    regression = [v for v in verdicts if v.gate_id.startswith("no_regression")]
    assert len(regression) == 2 and all(v.noise == "eval sample + training (6 models)" for v in regression)
    assert all("identical to baseline" not in v.message for v in regression)  # really another model
    assert any(v.gate_id.startswith("pass>=") for v in verdicts)  # the behavioural checks too


@pytest.mark.slow
def test_the_shipped_food_gates_fail_a_tenth_of_the_training_steps(tmp_path: Path) -> None:
    verdicts = _judge_shipped("suites/food.toml", _train_food(tmp_path, seed=0, steps_divisor=10))
    failed = [v for v in verdicts if not v.passed]
    assert failed, [v.message for v in verdicts]
    micro = next(v for v in verdicts if v.gate_id == "no_regression<=0.02")
    assert not micro.passed and "dropped by more than 0.020 and significant" in micro.message
    assert micro.p_adjusted is not None and micro.p_adjusted < 0.05


@pytest.mark.slow
def test_bless_refuses_replicates_of_a_model_trained_otherwise_before_training(pytester: pytest.Pytester, mini_gold_dir: Path) -> None:
    shutil.copytree(mini_gold_dir, pytester.path / "gold")
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "mini.toml").write_text(MINI_SUITE)
    weaker = harness_cli(pytester.path, "train", "--suite", "suites/mini.toml", "--max-steps", "20")
    assert weaker.returncode == 0, weaker.stderr
    refused = harness_cli(pytester.path, "bless", "suites/mini.toml")
    assert refused.returncode != 0
    said = " ".join((refused.stdout + refused.stderr).split())
    assert "was not trained from the [train] table" in said and "max_steps" in said and "--replicates 0" in said
    assert not (pytester.path / "models" / ".replicates").exists()  # refused before training anything
    accepted = harness_cli(pytester.path, "bless", "suites/mini.toml", "--replicates", "0")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "no replicates" in accepted.stdout
    assert "replicates" not in read_json(pytester.path / "baselines" / "mini-ner.json")["pipelines"]["distilled"]
