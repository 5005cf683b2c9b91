"""A cassette directory at 10^6 records (harness.llm.sharded_cassette).

Records 1,000,000 synthetic prompt/answer pairs (spacy-llm-sized prompts, ~700 bytes) one
by one through ``ShardedCassette.add``, timing the first and the last 10,000 (O(1) per
record: the two rates should match); then, in a fresh process, loads the index (time and
peak RSS) and replays 10,000 random prompts. Targets: index load < 10 s and < 1 GiB.

    .venv/bin/python bench/cassette_scale.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRATCH = REPO / "build" / "cassette-scale"
IDENTITY = {"registry_name": "harness.OpenAICompatible.v1", "config": {"name": "bench-model", "config": {"temperature": 0}}}
TIMED = 10_000


def prompt(i: int) -> str:
    """A prompt of the size spacy-llm's NER.v3 renders for a short query."""
    task = "You are an expert Named Entity Recognition system. Your task is to accept Text as input and extract named entities. "
    return f"{task}{'Entities are the parts of a restaurant search query. ' * 8}Text:\n'''\nquery number {i}\n'''"


def record(n: int) -> None:
    from harness.llm.sharded_cassette import ShardedCassette

    shutil.rmtree(SCRATCH, ignore_errors=True)
    cassette = ShardedCassette.load(SCRATCH)

    def add(start: int, stop: int) -> float:
        """Records start..stop; their rate per second."""
        began = time.perf_counter()
        for i in range(start, stop):
            cassette.add(prompt(i), IDENTITY, '[{"label": "Dish", "text": "sushi"}]', latency_s=0.4, usage=None, simulated=True)
        return (stop - start) / (time.perf_counter() - began)

    started = time.perf_counter()
    rates = [add(0, TIMED), add(TIMED, n - TIMED), add(n - TIMED, n)]
    total = time.perf_counter() - started
    size = sum(p.stat().st_size for p in SCRATCH.iterdir())
    print(f"recorded {n:,} records in {total:.1f} s ({n / total:,.0f}/s); {size / 2**20:,.0f} MiB in {len(list(SCRATCH.iterdir()))} shards")
    print(
        f"first {TIMED:,}: {rates[0]:,.0f} records/s; last {TIMED:,}: {rates[2]:,.0f} records/s "
        f"(O(1) per record: last / first {rates[2] / rates[0]:.2f})"
    )


def replay(n: int) -> dict[str, float]:
    from harness.llm.sharded_cassette import ShardedCassette

    started = time.perf_counter()
    cassette = ShardedCassette.load(SCRATCH)
    load = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    find = cassette.lookup(IDENTITY)
    chosen = random.Random(0).sample(range(n), TIMED)
    started = time.perf_counter()
    found = sum(find(prompt(i)) is not None for i in chosen)
    lookups = time.perf_counter() - started
    return {"records": len(cassette), "load_s": load, "rss_mib": rss, "found": found, "lookups_per_s": TIMED / lookups}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    record(args.records)
    done = subprocess.run([sys.executable, __file__, "_replay", str(args.records)], capture_output=True, text=True, check=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"index of {r['records']:,} records loaded in {r['load_s']:.2f} s, peak RSS {r['rss_mib']:,.0f} MiB (fresh process)")
    print(f"replay: {r['found']:,} of {TIMED:,} random prompts found, {r['lookups_per_s']:,.0f} lookups/s")
    print(f"index load: {r['load_s']:.2f} s (target < 10 s), {r['rss_mib'] / 1024:.2f} GiB (target < 1 GiB)")
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_replay":
        print(json.dumps(replay(int(sys.argv[2]))))
    else:
        main()
