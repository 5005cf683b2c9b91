"""What comparing with the blessed baseline adds to a suite's run: the restaurant suite
evaluated end to end (every pipeline, the LLM comparison, the reports' data) with and
without its baseline, alternating, in one process (behavioural checks left out of both).

Target: ratio with / without <= 1.10.

    .venv/bin/python bench/baseline_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import statistics
import tempfile
import time
from pathlib import Path

from harness.options import EvalSettings
from harness.session import HarnessSession, LoadedSuite, load_suite

REPO = Path(__file__).resolve().parents[1]


def run_suite(suite: LoadedSuite, baseline: object = None) -> float:
    """One pytest-like run of the suite: every gate judged, the suite result assembled.
    ``baseline``: an in-memory baseline to use instead of reading the file."""
    fresh = dataclasses.replace(suite, _eval=None, _baseline=baseline)  # nothing else cached between runs
    session = HarnessSession(EvalSettings())
    session.add_suite(fresh)
    gc.collect()
    started = time.perf_counter()
    for gate in fresh.gates:
        session.check(fresh.spec.name, gate)
    for pipeline in fresh.spec.pipelines:
        session.pipeline_result(fresh.spec.name, pipeline)
    session.suite_results()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=str(REPO / "suites" / "restaurant.toml"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    loaded = load_suite(args.suite)
    # Behavioural checks are left out of both runs: they take seconds and would hide the
    # comparison's cost in the ratio (the stricter measure).
    with_baseline = dataclasses.replace(loaded, gates=tuple(g for g in loaded.gates if not g.id.startswith("pass>=")))
    if not with_baseline.baseline_path.exists():
        raise SystemExit(f"no baseline at {with_baseline.baseline_path}: run `harness bless {args.suite}`")
    empty = Path(tempfile.mkdtemp(prefix="no-baselines-"))
    without = dataclasses.replace(
        with_baseline,
        spec=dataclasses.replace(with_baseline.spec, baselines_dir=empty),
        gates=tuple(g for g in with_baseline.gates if not g.id.startswith(("no_regression", "speed_drop", "size_growth"))),
    )
    run_suite(with_baseline)  # warm-up: spaCy, the model and the cassette loaded once
    # A baseline whose distilled predictions differ on every tenth example: the comparison then
    # runs its paired bootstrap (identical predictions skip it) and finds flips.
    from harness.baselines import load

    blessed = load(with_baseline.baseline_path)
    entry = blessed.pipelines["distilled"]
    changed_predictions = {h: (() if i % 10 == 0 else p) for i, (h, p) in enumerate(entry.predictions.items())}
    changed = dataclasses.replace(
        blessed, pipelines={**blessed.pipelines, "distilled": dataclasses.replace(entry, predictions=changed_predictions)}
    )
    timings: dict[str, list[float]] = {"with baseline": [], "with a changed baseline": [], "without": []}
    for _ in range(args.repeats):
        timings["with baseline"].append(run_suite(with_baseline))
        timings["with a changed baseline"].append(run_suite(with_baseline, (changed, None)))
        timings["without"].append(run_suite(without))
    for name, values in timings.items():
        print(f"{name:>24}: median {statistics.median(values):.3f} s over {len(values)} runs ({', '.join(f'{v:.3f}' for v in values)})")
    base = statistics.median(timings["without"])
    print(f"changed baseline / without: {statistics.median(timings['with a changed baseline']) / base:.3f}")
    ratio = statistics.median(timings["with baseline"]) / base
    print(f"baseline comparison overhead ratio (with / without, target <= 1.10): {ratio:.3f}")


if __name__ == "__main__":
    main()
