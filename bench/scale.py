"""Past one process: `harness queue fill` and `harness eval` on the three engines.

A synthetic gold (copies of the shipped restaurant-reviews queries with a numbered suffix,
harness.gold.synthetic) holds the pool (its train split, written as JSONL shards of 20,000
lines) and a large eval split. The restaurant student (models/restaurant-ner) and the
SIMULATED teacher (answering live from the synthetic gold, no cassette) fill the queue from
pools of 50,000, 100,000 and 200,000 texts on `local`, `processes` (2 workers) and `ray`
(a local cluster of 2 CPUs, started before the clock), each run in its own process so its
peak RSS is its own. Then the student is evaluated on the 100,000-document eval split on
each engine. Printed: texts/s, peak RSS of the driver and of each worker, whether the queues
(and the scores and CIs) are identical to local's, and the ratios last:

    processes / local: N.NN x
    ray / local: N.NN x

Targets on a 2-core machine: both >= 1.7x, driver RSS < 2 GiB, identical queues and scores.

    .venv/bin/python bench/scale.py [--sizes 50000,100000,200000] [--eval-docs 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRATCH = REPO / "build" / "scale"
ENGINES = ("local", "processes", "ray")
SHARD_LINES = 20_000
LIMIT = 200
LABELS = ["Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating", "Restaurant_Name"]


def peak_rss_mib(pid: int | str = "self") -> float:
    """VmHWM: the process's peak resident set (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class WorkerRSS(threading.Thread):
    """Samples the peak RSS (VmHWM) of this run's worker processes every 0.2 s: the processes
    engine's spawned children and Ray's Data actors (``ray::MapWorker(...)``)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, float] = {}
        self.done = threading.Event()

    def _workers(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            spawned = ppid == os.getpid() and "multiprocessing.spawn" in cmdline and "resource_tracker" not in cmdline
            if spawned or cmdline.startswith("ray::MapWorker"):
                found.append(int(entry.name))
        return found

    def run(self) -> None:
        while not self.done.wait(0.2):
            for pid in self._workers():
                try:
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), peak_rss_mib(pid))
                except OSError:
                    continue


def prepare(total_pool: int, eval_docs: int) -> Path:
    """The synthetic gold (pool + eval), the pool shards and the suite, made once."""
    from harness.gold import GoldStore, import_examples
    from harness.gold.synthetic import SYNTHETIC_NOTE, synthetic_copies
    from harness.runners.spacy_data import spacy_tokenizer

    suite = SCRATCH / f"suite-{total_pool}-{eval_docs}.toml"
    if suite.exists():
        return suite
    SCRATCH.mkdir(parents=True, exist_ok=True)
    records = [
        json.loads(line) for split in ("train", "eval") for line in (REPO / "gold" / "restaurant-reviews" / "v1" / f"{split}.jsonl").open()
    ]
    source = SCRATCH / "synthetic.jsonl"
    # The split is by hash with eval_fraction = eval / total: a few more than asked on each side.
    total = int((total_pool + eval_docs) * 1.01)
    with source.open("w", encoding="utf-8") as handle:
        for record in synthetic_copies(records, total):
            handle.write(json.dumps(record) + "\n")
    name = f"scale{total_pool}"
    store = GoldStore(SCRATCH / "gold")
    started = time.perf_counter()
    import_examples(
        store,
        [source],
        name=name,
        tokenizer=spacy_tokenizer("en"),
        eval_fraction=eval_docs / (total_pool + eval_docs),
        seed=0,
        notes=SYNTHETIC_NOTE,
    )
    print(f"synthetic gold {name}@v1: {total:,} examples imported in {time.perf_counter() - started:.0f} s", flush=True)
    gold = store.resolve(f"{name}@v1")
    pool = SCRATCH / f"pool-{total_pool}"
    pool.mkdir(exist_ok=True)
    handle, written = None, 0
    for example in gold.iter_examples("train"):
        if written % SHARD_LINES == 0:
            if handle:
                handle.close()
            handle = (pool / f"part-{written // SHARD_LINES:04d}.jsonl").open("w", encoding="utf-8")
        handle.write(json.dumps({"text": example.text}) + "\n")
        written += 1
    if handle:
        handle.close()
    config = SCRATCH / "teacher.cfg"
    config.write_text(
        '[nlp]\nlang = "en"\npipeline = ["llm"]\n\n[components]\n\n[components.llm]\nfactory = "llm"\n\n'
        f'[components.llm.task]\n@llm_tasks = "spacy.NER.v3"\nlabels = {json.dumps(LABELS)}\n\n'
        f'[components.llm.model]\n@llm_models = "harness.SimulatedTeacher.v1"\ngold = "{name}@v1"\n'
        f'gold_dir = "{SCRATCH / "gold"}"\ntask = "ner"\n'
    )
    suite.write_text(
        f'[suite]\nname = "scale"\ngold = "{name}@v1"\ngold_dir = "{SCRATCH / "gold"}"\n\n'
        f'[pipelines.distilled]\npath = "{REPO / "models" / "restaurant-ner"}"\n\n[pipelines.simulated_llm]\nkind = "llm"\nconfig = "{config}"\n'
    )
    return suite


def pool_subset(total_pool: int, size: int) -> Path:
    """The first ``size`` pool texts, as shards of SHARD_LINES lines (a directory per size)."""
    directory = SCRATCH / f"pool-{total_pool}-first-{size}"
    if directory.exists():
        return directory
    directory.mkdir()
    lines = (line for shard in sorted((SCRATCH / f"pool-{total_pool}").glob("*.jsonl")) for line in shard.open(encoding="utf-8"))
    handle = None
    for i, line in enumerate(lines):
        if i == size:
            break
        if i % SHARD_LINES == 0:
            if handle:
                handle.close()
            handle = (directory / f"part-{i // SHARD_LINES:04d}.jsonl").open("w", encoding="utf-8")
        handle.write(line)  # type: ignore[union-attr]
    if handle:
        handle.close()
    return directory


def queue_digest(path: Path) -> str:
    """sha256 of the queue without its timestamps: equal digests, identical queues."""
    digest = hashlib.sha256()
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record["harness"] = {k: v for k, v in record["harness"].items() if k not in ("first_seen", "last_seen")}
        digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()


def start_ray_if(engine: str) -> None:
    if engine == "ray":
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # before the clock: a cluster is started once


def run_fill(suite: Path, engine: str, pool: Path, reports: Path) -> dict[str, object]:
    """One `queue fill` in this process (a child of main)."""
    from harness.loop import fill as fill_module
    from harness.options import EngineChoice
    from harness.suites import parse_suite

    start_ray_if(engine)
    sampler = WorkerRSS()
    sampler.start()
    started = time.perf_counter()
    summary = fill_module.fill(parse_suite(suite), reports_dir=reports, limit=LIMIT, pool=str(pool), engine=EngineChoice(name=engine, workers=2))
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    return {
        "texts": summary.pool,
        "seconds": seconds,
        "texts_per_second": summary.pool / seconds,
        "driver_rss_mib": peak_rss_mib(),
        "worker_rss_mib": [sampler.peaks[pid] for pid in sorted(sampler.peaks)],
        "queued": summary.queued,
        "problems": len(summary.problems),
        "queue": queue_digest(summary.path),
    }


def run_eval(suite: Path, engine: str) -> dict[str, object]:
    from harness.evaluate import evaluate_pipeline
    from harness.options import EngineChoice
    from harness.suites import parse_suite

    start_ray_if(engine)
    spec = parse_suite(suite)
    from harness.gold import GoldStore

    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    examples = list(gold.iter_examples("eval"))
    started = time.perf_counter()
    result = evaluate_pipeline(gold, spec.pipelines["distilled"], examples=examples, engine=EngineChoice(name=engine, workers=2))
    seconds = time.perf_counter() - started
    scores = json.dumps([result.scores.micro.f, result.scores.micro.f_ci, [(s.label, s.f, s.f_ci) for s in result.scores.labels]])
    return {
        "docs": len(examples),
        "seconds": seconds,
        "docs_per_second": len(examples) / seconds,
        "driver_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "micro_f": result.scores.micro.f,
        "scores": hashlib.sha256(scores.encode()).hexdigest(),
    }


def child(args: Sequence[str]) -> dict[str, object]:
    """Run one measurement in a fresh process; its JSON line back."""
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, env={**os.environ, "RAY_DEDUP_LOGS": "1"}
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not last.startswith("{"):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(last)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50000,100000,200000", help="pool sizes, comma-separated")
    parser.add_argument("--eval-docs", type=int, default=100_000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    if not (REPO / "models" / "restaurant-ner" / "config.cfg").exists():
        raise SystemExit("run `make models` first")
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    suite = prepare(max(sizes), args.eval_docs)
    fills: dict[tuple[int, str], dict[str, object]] = {}
    print(f"{'pool':>8} {'engine':>10} {'texts/s':>9} {'seconds':>8} {'driver RSS':>11}  worker RSS (MiB)  queue", flush=True)
    for size in sizes:
        pool = pool_subset(max(sizes), size)
        for engine in engines:
            reports = SCRATCH / f"reports-{size}-{engine}"
            (reports / "queue" / "scale.jsonl").unlink(missing_ok=True)
            r = fills[(size, engine)] = child(["_fill", str(suite), engine, str(pool), str(reports)])
            same = "identical" if r["queue"] == fills[(size, engines[0])]["queue"] else "DIFFERS"
            workers = ", ".join(f"{w:,.0f}" for w in r["worker_rss_mib"]) or "-"  # type: ignore[attr-defined]
            print(
                f"{size:>8,} {engine:>10} {r['texts_per_second']:>9,.0f} {r['seconds']:>8.1f} "
                f"{r['driver_rss_mib']:>8,.0f} MiB  {workers:<16}  {same}",
                flush=True,
            )
    evals = {}
    if args.eval_docs:
        print(f"\n{'eval docs':>9} {'engine':>10} {'docs/s':>8} {'seconds':>8} {'driver RSS':>11}  micro F  scores and CIs")
        for engine in engines:
            r = evals[engine] = child(["_eval", str(suite), engine])
            same = "identical" if r["scores"] == evals[engines[0]]["scores"] else "DIFFER"
            print(
                f"{r['docs']:>9,} {engine:>10} {r['docs_per_second']:>8,.0f} {r['seconds']:>8.1f} "
                f"{r['driver_rss_mib']:>8,.0f} MiB  {r['micro_f']:.4f}  {same}"
            )
    largest = max(sizes)
    print(f"\nqueue fill, pool of {largest:,} (texts/s over local's); eval of {args.eval_docs:,} docs in brackets")
    for engine in engines[1:]:
        ratio = fills[(largest, engine)]["texts_per_second"] / fills[(largest, engines[0])]["texts_per_second"]  # type: ignore[operator]
        extra = f" (eval: {evals[engine]['docs_per_second'] / evals[engines[0]]['docs_per_second']:.2f} x)" if evals else ""  # type: ignore[operator]
        print(f"{engine} / {engines[0]}: {ratio:.2f} x{extra}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_fill":
        print(json.dumps(run_fill(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_eval":
        print(json.dumps(run_eval(Path(sys.argv[2]), sys.argv[3])))
    else:
        main()
