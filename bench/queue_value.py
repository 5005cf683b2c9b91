"""Is the queue's order worth it? Correcting the top-k queued pool examples vs k
random pool examples, starting from a model distilled from the simulated LLM.

For k in (100, 200) and 3 seeds: training data = the LLM's silver annotations of
the restaurant-reviews pool (the gold train split's texts) with k examples
replaced by their real gold labels (a *simulated* reviewer), chosen either by the
queue (largest LLM/distilled disagreement first) or at random (seeded), both from
the half of the pool that the starting model (distilled from the LLM's silver of
the other half) never saw. Each set
trains a spaCy model (seed = run seed) evaluated on the gold eval split.
Target: the queue order gives a higher distilled F than random at both k.

    .venv/bin/python bench/queue_value.py [--max-steps 1500] [--ks 100 200] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from harness.evaluate import evaluate_pipeline  # noqa: E402
from harness.gold import GoldStore  # noqa: E402
from harness.loop import records  # noqa: E402
from harness.loop.distill import distill  # noqa: E402
from harness.loop.pool import pool_examples, predict_outputs  # noqa: E402
from harness.suites import parse_suite  # noqa: E402
from harness.training import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=str(REPO / "suites" / "restaurant.toml"))
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--ks", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        spec = parse_suite(args.suite)
        shutil.copytree(spec.gold_dir / spec.gold.name, tmp / "gold" / spec.gold.name)
        spec = dataclasses.replace(spec, gold_dir=(tmp / "gold").resolve())
        store = GoldStore(spec.gold_dir)
        gold = store.resolve(spec.gold)
        silver_version = distill(spec)
        silver = {e.input_hash: e for e in silver_version.iter_examples("train")}
        truth = {e.input_hash: e for e in pool_examples(spec)}
        student = spec.require_distilled()
        # The starting model is distilled from the LLM's silver of half the pool; both
        # strategies pick from the other half, which that model never saw (a model
        # reproduces the silver labels it was trained on, so ranking those says little).
        half_version = distill(spec, pool_fraction=0.5)
        seen = {e.input_hash for e in half_version.iter_examples("train")}

        def evaluate(model: Path) -> float:
            result = evaluate_pipeline(gold, dataclasses.replace(student, path=str(model)), resamples=0)
            return result.scores.micro.f

        # the suite's checkpoint choice ("best" or "last"), as harness retrain would use it
        checkpoint = student.train.checkpoint if student.train else "best"
        base = train(half_version, tmp / "models" / "base", max_steps=args.max_steps, seed=0, checkpoint=checkpoint).output
        base_f = evaluate(base)
        pool = [e for e in truth.values() if e.input_hash not in seen]
        mine = predict_outputs(dataclasses.replace(student, path=str(base)), pool, gold.task)
        theirs = predict_outputs(spec.require_llm(), pool, gold.task)
        ranked = sorted(zip(pool, mine, theirs), key=lambda t: (-records.disagreement_score(t[1], t[2], gold.task), t[0].input_hash))
        queue_order = [e.input_hash for e, _, _ in ranked]
        disagreeing = sum(1 for _, d, m in ranked if records.normalise(d, gold.task) != records.normalise(m, gold.task))
        rows: dict[tuple[str, int], list[float]] = {}
        for k in args.ks:
            for seed in args.seeds:
                for strategy in ("queue", "random"):
                    chosen = (
                        set(queue_order[:k]) if strategy == "queue" else set(random.Random(seed).sample(sorted(e.input_hash for e in pool), k))
                    )
                    examples = [dataclasses.replace(truth[h] if h in chosen else silver[h], split="train") for h in silver]
                    name = f"bench-{strategy}-k{k}-s{seed}"
                    version = store.write_version(name, examples, task=gold.task, source={"bench": "queue_value"}, eval_fraction=0.0, seed=0)
                    model = train(version, tmp / "models" / name, max_steps=args.max_steps, seed=seed, checkpoint=checkpoint).output
                    f = evaluate(model)
                    rows.setdefault((strategy, k), []).append(f)
                    print(f"k={k} seed={seed} {strategy:<6} F={f:.3f}", flush=True)
    print(
        f"\nrestaurant-reviews: pool {len(truth)}, eval {gold.split_size('eval')}, max_steps {args.max_steps}; "
        f"model distilled from the simulated LLM's silver of {len(seen)} pool texts: F={base_f:.3f}; "
        f"candidates: the other {len(pool)} texts, {disagreeing} of them with LLM/distilled disagreement; "
        f"training sets: silver of the whole pool with k texts corrected"
    )
    ok = True
    for k in args.ks:
        q, r = rows[("queue", k)], rows[("random", k)]
        better = statistics.mean(q) > statistics.mean(r)
        ok &= better
        print(
            f"k={k}: queue order F mean {statistics.mean(q):.3f} ({', '.join(f'{x:.3f}' for x in q)})  vs  "
            f"random {statistics.mean(r):.3f} ({', '.join(f'{x:.3f}' for x in r)})  -> {'queue better' if better else 'NOT better'}"
        )
    print(f"target (queue > random at every k): {'OK' if ok else 'NOT MET'}; took {time.perf_counter() - started:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
