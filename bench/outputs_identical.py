"""Are two versions of the harness saying the same thing? Snapshot what `make demo` writes
(the JSON reports, the Markdown summary, and the baselines a re-bless would write), then
compare two snapshots ignoring only what changes from run to run: timestamps, timings and
the commit.

In a scratch clone with the models trained (`make models`), at each commit:

    .venv/bin/python bench/outputs_identical.py snapshot /tmp/outputs-before
    git checkout NEW && .venv/bin/pip install -q -e . && .venv/bin/python bench/outputs_identical.py snapshot /tmp/outputs-after
    .venv/bin/python bench/outputs_identical.py compare /tmp/outputs-before /tmp/outputs-after

`snapshot` blesses (`pytest suites --harness-bless`: no training, the replicates are kept)
to see what a baseline would hold, then puts the committed baselines back. `compare` prints
each difference and exits 1 if there is one; the last line says how many files were
compared.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITES = ("suites/restaurant.toml", "suites/food.toml", "suites/cooking.toml")
# What differs between two runs of the same code on the same machine (found by comparing two
# snapshots of one commit): when, how fast, and from which commit.
VOLATILE_KEYS = {
    "created",
    "blessed",
    "git",
    "commit",
    "dirty",
    "words_per_second",
    "latency_p50_ms",
    "latency_p95_ms",
    "seconds",
    "replay_words_per_second",
    "speed_ratio",
    "wall_seconds",
    "history",
    "elapsed_s",
    "first_seen",
    "last_seen",
}
# Gates on a timing: every figure of theirs is a timing.
TIMED_GATES = ("words_per_second", "speed_drop")
VOLATILE_TEXT = (
    re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00"),  # timestamps
    re.compile(r"[\d,.]+ words/s(econd)?"),
    re.compile(r"×[\d,.]+ faster"),
    re.compile(r"\| *[\d,]+ *\| *[\d.]+ / [\d.]+ *\|"),  # speed and latency cells
)


def snapshot(out: Path) -> None:
    out.mkdir(parents=True)
    pytest = [sys.executable, "-m", "pytest", *SUITES, "-p", "no:randomly", "-q"]
    subprocess.run([*pytest, f"--harness-reports={out / 'reports'}", f"--harness-markdown={out / 'summary.md'}"], cwd=ROOT, check=False)
    baselines = ROOT / "baselines"
    committed = {p.name: p.read_bytes() for p in baselines.glob("*.json")}
    try:
        subprocess.run([*pytest, "--harness-bless", f"--harness-reports={out / 'bless-run'}"], cwd=ROOT, check=True)
        shutil.copytree(baselines, out / "baselines")
    finally:
        for name, data in committed.items():
            (baselines / name).write_bytes(data)
    shutil.rmtree(out / "bless-run")
    shutil.rmtree(out / "reports" / "history", ignore_errors=True)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        if str(value.get("id", "")).startswith(TIMED_GATES):
            return {k: v for k, v in value.items() if k in ("id", "pipeline", "threshold", "op")}
        return {k: ("…" if k in VOLATILE_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _text(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for pattern in VOLATILE_TEXT:
        lines = [pattern.sub("…", line) for line in lines]
    return lines


def _differences(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in {'first' if k in a else 'second'}" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += _differences(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {str(a)[:120]!r} != {str(b)[:120]!r}"]


def compare(first: Path, second: Path) -> int:
    names = sorted(
        {p.relative_to(first) for p in first.rglob("*") if p.is_file()} | {p.relative_to(second) for p in second.rglob("*") if p.is_file()}
    )
    problems: list[str] = []
    for name in names:
        a, b = first / name, second / name
        if not a.exists() or not b.exists():
            problems.append(f"{name}: only in {'first' if a.exists() else 'second'}")
        elif name.suffix == ".json":
            da, db = json.loads(a.read_text()), json.loads(b.read_text())
            if name.parts[0] == "baselines":  # a baseline's hash of its own content covers its timestamp
                da.pop("sha256", None), db.pop("sha256", None)
            problems += [f"{name}: {d}" for d in _differences(_scrub(da), _scrub(db), "")]
        elif name.suffix == ".jsonl":
            ra, rb = ([json.loads(line) for line in p.read_text().splitlines()] for p in (a, b))
            problems += [f"{name}: {d}" for d in _differences(_scrub(ra), _scrub(rb), "")]
        elif name.suffix == ".html":
            continue  # the page embeds the JSON reports compared above, and timings
        elif name.suffix == ".md":
            la, lb = _text(a), _text(b)
            problems += [f"{name}:{i + 1}: {x!r} != {y!r}" for i, (x, y) in enumerate(zip(la, lb)) if x != y]
            if len(la) != len(lb):
                problems.append(f"{name}: {len(la)} vs {len(lb)} lines")
        elif a.read_bytes() != b.read_bytes():
            problems.append(f"{name}: bytes differ")
    for problem in problems[:200]:
        print(problem)
    print(f"{len(names)} files compared, {len(problems)} difference(s) beyond timestamps, timings and the commit")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("snapshot", help="run the demo's suites and a bless into DIR").add_argument("out", type=Path)
    p = commands.add_parser("compare", help="compare two snapshots")
    p.add_argument("first", type=Path)
    p.add_argument("second", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out)
        return 0
    return compare(args.first, args.second)


if __name__ == "__main__":
    sys.exit(main())
