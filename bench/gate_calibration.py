"""Calibration and power of the no_regression gates on the shipped suites (long: run by hand).

Every gate of the distilled pipeline is judged (absolute gates and behavioural checks
too), so the null runs also say whether the rest of the shipped suite holds on
another seed or CPU; the summary counts no_regression false alarms.

False alarms: retrains that change nothing real, judged by the shipped suites' gates
against the shipped baselines (which carry replicates). Half use new seeds; the other
half also disable numpy's widest SIMD paths (``NPY_DISABLE_CPU_FEATURES``), which
stands in for another CPU: numpy picks its kernels per CPU, so another machine
trains another model from the same inputs.

Power: real regressions that must fail: a tenth of the training steps; the
training examples of one label halved; one label's examples removed from training.

Each run trains a real spaCy model in its own process (so that the numpy switch
applies before numpy is imported), ``--workers`` at a time, under build/calibration/.
The last line is the summary.

    .venv/bin/python bench/gate_calibration.py                 # 10 null runs per suite + 3 regressions
    .venv/bin/python bench/gate_calibration.py --null 4 --suites food
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# suite key -> (suite file, the label whose training examples the power runs halve and remove)
SUITES = {
    "restaurant": ("suites/restaurant.toml", "Rating"),
    "food": ("suites/food.toml", "INGRED"),
    "cooking": ("suites/cooking.toml", "baking"),
}


def cpu_switch() -> str:
    """The NPY_DISABLE_CPU_FEATURES value that drops this machine's widest numpy kernels."""
    flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    if "avx512f" in flags:
        return "X86_V4 AVX512_ICL AVX512_SPR"
    return "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"


class AlteredGold:
    """A gold version whose train split is filtered or relabelled (its sha256 says so)."""

    def __init__(self, gold: Any, change: str, label: str) -> None:
        self._gold, self._change, self._label = gold, change, label

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gold, name)

    @property
    def sha256(self) -> str:
        return f"{self._gold.sha256}-{self._change}-{self._label}"

    def iter_examples(self, split: str) -> Any:
        from harness.gold.store import split_key

        for example in self._gold.iter_examples(split):
            if split == "train" and self._has_label(example):
                if self._change == "remove_label":
                    continue
                if self._change == "halve_label" and split_key(17, example.input_hash) < 0.5:
                    continue
            yield example

    def _has_label(self, example: Any) -> bool:
        if example.cats is not None:
            return float(example.cats.get(self._label, 0.0)) >= 0.5
        return any(span[2] == self._label for span in example.spans)


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Train one model as ``job`` says and judge it with the suite's no_regression gates."""
    from harness.core.gates import NoRegressionGate
    from harness.gold.store import GoldStore
    from harness.session import HarnessSession, load_suite
    from harness.training import train

    suite = load_suite(ROOT / job["suite"])
    spec = suite.spec.distilled
    assert spec is not None and spec.train is not None
    gold: Any = GoldStore(suite.spec.gold_dir).resolve(str(suite.spec.gold))
    if job["change"] in ("halve_label", "remove_label"):
        gold = AlteredGold(gold, job["change"], job["label"])
    steps = spec.train.max_steps
    if job["change"] == "tenth_steps" and steps:
        steps = max(1, steps // 10)
    output = ROOT / "build" / "calibration" / job["name"]
    started = time.perf_counter()
    train(gold, output, config=spec.train.config, max_steps=steps, seed=job["seed"], checkpoint=spec.train.checkpoint)
    trained = time.perf_counter() - started
    suite.spec = dataclasses.replace(suite.spec, pipelines={**suite.spec.pipelines, spec.name: dataclasses.replace(spec, path=str(output))})
    session = HarnessSession()
    session.add_suite(suite)
    failed, shown, other_failed, measured = [], [], [], {}
    for gate in suite.gates:
        if gate.pipeline != spec.name:
            continue
        verdict = session.check(suite.spec.name, gate)
        if isinstance(gate, NoRegressionGate):
            row = {
                "gate": gate.label or "micro",
                "diff": verdict.delta,
                "ci": verdict.ci,
                "p": verdict.p_value,
                "p_holm": verdict.p_adjusted,
                "passed": verdict.passed,
                "noise": verdict.noise,
            }
            shown.append(row)
            if not verdict.passed:
                failed.append(row)
        else:
            measured[gate.id] = verdict.measured if verdict.measured == verdict.measured else None
            if not verdict.passed and not verdict.skipped:
                other_failed.append(f"{gate.id}: {verdict.message}")
    result = session.pipeline_result(suite.spec.name, spec.name)
    return {
        **job,
        "micro_f": result.scores.micro.f,
        "failed": failed,
        "gates": shown,
        "other_failed": other_failed,
        "measured": measured,
        "train_seconds": round(trained, 1),
    }


def launch(job: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ)
    if job.get("npy"):
        env["NPY_DISABLE_CPU_FEATURES"] = job["npy"]
    done = subprocess.run([sys.executable, __file__, "--job", json.dumps(job)], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {**job, "error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def plan(suites: list[str], null: int, first_seed: int) -> list[dict[str, Any]]:
    switch = cpu_switch()
    jobs = []
    for key in suites:
        path, label = SUITES[key]
        for i in range(null):
            seed = first_seed + i
            npy = switch if i % 2 else ""
            jobs.append(
                {
                    "suite": path,
                    "kind": "null",
                    "change": "none",
                    "seed": seed,
                    "npy": npy,
                    "label": "",
                    "name": f"{key}-null-seed{seed}{'-npy' if npy else ''}",
                }
            )
        for change in ("tenth_steps", "halve_label", "remove_label"):
            jobs.append(
                {
                    "suite": path,
                    "kind": "power",
                    "change": change,
                    "seed": 0,
                    "npy": "",
                    "label": label if change != "tenth_steps" else "",
                    "name": f"{key}-{change}{'-' + label if change != 'tenth_steps' else ''}",
                }
            )
    return jobs


def describe(row: dict[str, Any]) -> str:
    if "error" in row:
        return "ERROR " + row["error"].strip().splitlines()[-1]
    text = (
        "all no_regression gates pass"
        if not row["failed"]
        else "no_regression FAILS: "
        + "; ".join(f"{g['gate']} {g['diff']:+.3f} [{g['ci'][0]:+.3f}, {g['ci'][1]:+.3f}] p_holm {g['p_holm']:.2g}" for g in row["failed"])
    )
    if row.get("other_failed"):
        text += " | other gates failing: " + "; ".join(row["other_failed"])
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suites", nargs="+", choices=sorted(SUITES), default=["restaurant", "food"])
    parser.add_argument("--null", type=int, default=10, help="null retrains per suite (default 10)")
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json", default=str(ROOT / "build" / "calibration" / "results.json"))
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(run_one(json.loads(args.job))))
        return 0
    jobs = plan(args.suites, args.null, args.first_seed)
    print(
        f"{len(jobs)} trainings, {args.workers} at a time; numpy switch for 'another CPU': NPY_DISABLE_CPU_FEATURES={cpu_switch()!r}", flush=True
    )
    rows = []
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        for row in pool.map(launch, jobs):
            rows.append(row)
            what = row["change"] + (f" {row['label']}" if row["label"] else "") + (" +npy" if row["npy"] else "")
            print(
                f"{row['suite']:<24} {row['kind']:<6} seed {row['seed']:<4} {what:<24} "
                f"micro F {row.get('micro_f', float('nan')):.3f}  {describe(row)}",
                flush=True,
            )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    summary = []
    for key in args.suites:
        path = SUITES[key][0]
        null = [r for r in rows if r["suite"] == path and r["kind"] == "null"]
        power = [r for r in rows if r["suite"] == path and r["kind"] == "power"]
        alarms = sum(1 for r in null if r.get("failed") or "error" in r)
        caught = sum(1 for r in power if r.get("failed"))
        others = sum(1 for r in null if r.get("other_failed"))
        spread: dict[str, list[float]] = {}
        for r in null:
            for gate_id, value in (r.get("measured") or {}).items():
                if value is not None and gate_id.startswith(("pass>=", "f>=", "label_f>=", "macro_f>=")):
                    spread.setdefault(gate_id, []).append(value)
        for gate_id, values in sorted(spread.items()):
            print(f"{key}: {gate_id} over {len(values)} null runs: {min(values):.3f}-{max(values):.3f}")
        summary.append(
            f"{key}: false alarms {alarms} of {len(null)} (other gates failing in {others}), regressions caught {caught} of {len(power)}"
        )
    print("summary: " + "; ".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
