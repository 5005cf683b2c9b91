"""`harness history` over 10,000 runs of the restaurant suite.

The history is written the way pytest writes it (``append_run`` per run, with its
compaction), from the suite's real result (its gated pipelines, 8 labels, 26 gates:
about 100 rows a run, a million in all); then the reads are timed.

Target: `harness history` over all 10,000 runs (the per-run table it prints) in
under 1 second. Reading every row (1 million) as a frame is timed beside it.

    .venv/bin/python bench/history_scale.py [--runs 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from harness import api, history
from harness.options import HISTORY_DIRNAME, EvalSettings
from harness.session import HarnessSession, load_suite

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=str(REPO / "suites" / "restaurant.toml"))
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    suite = load_suite(args.suite)
    session = HarnessSession(EvalSettings())
    session.add_suite(suite)
    for gate in suite.gates:
        session.check(suite.spec.name, gate)
    results = session.suite_results()
    reports = Path(tempfile.mkdtemp(prefix="history-bench-"))
    directory = reports / HISTORY_DIRNAME
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    for i in range(args.runs):
        context = history.RunContext(f"bench-{i:06d}", start + dt.timedelta(minutes=i), "0" * 40, False, "bench")
        history.append_run(directory, history.run_rows(results, context), context)
    written = time.perf_counter() - started
    files = sorted(p.name.split("-")[0] for p in directory.glob("*.parquet"))
    print(
        f"wrote {args.runs:,} runs in {written:.1f} s ({written / args.runs * 1000:.1f} ms a run); on disk: "
        f"{files.count('segment')} segment(s), {files.count('run')} run file(s)"
    )
    timings = {}
    started = time.perf_counter()
    rows = history.runs(directory, suite.spec.name)
    timings["every row"] = time.perf_counter() - started
    started = time.perf_counter()
    _, table = api.history(args.suite, reports_dir=str(reports), last=args.runs)
    timings[f"harness history --last {args.runs}"] = time.perf_counter() - started
    started = time.perf_counter()
    _, last = api.history(args.suite, reports_dir=str(reports), last=20)
    timings["harness history --last 20"] = time.perf_counter() - started
    pipelines = len(results[0].pipelines)
    assert rows["run_id"].n_unique() == args.runs and len(table) == pipelines * args.runs and len(last) == pipelines * 20
    for name, seconds in timings.items():
        print(f"{name:>26}: {seconds:.3f} s")
    total = timings[f"harness history --last {args.runs}"]
    print(f"harness history over {args.runs:,} runs ({rows.height:,} rows) in {total:.3f} s; ratio to the 1 s target: {total:.2f}")


if __name__ == "__main__":
    main()
