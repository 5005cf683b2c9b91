"""Strict per-label metrics + 1,000-resample bootstrap on 100,000 synthetic documents,
against nervaluate (no bootstrap) on the same documents in the same process.

Targets: under 2 s; at least 20x faster than nervaluate while also computing the
bootstrap CIs. Prints both times (median of repeats), the peak memory of our
computation (tracemalloc, separate run) and, last, ``speedup vs nervaluate: N.N x``.

    .venv/bin/pip install -e '.[bench]'      # nervaluate, the reference
    .venv/bin/python bench/metrics_scale.py [--docs 100000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import tracemalloc

from harness.core.metrics import count_spans, score_table

LABELS = ["Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating", "Restaurant_Name"]
BUDGET_SECONDS = 2.0


def synthetic(n_docs: int, seed: int = 0) -> tuple[list[list[tuple[int, int, str]]], list[list[tuple[int, int, str]]]]:
    """Gold with 0-4 spans per doc; predictions that keep, drop, shift, relabel or add spans."""
    rng = random.Random(seed)
    gold, pred = [], []
    for _ in range(n_docs):
        spans, position = [], 0
        for _ in range(rng.randint(0, 4)):
            start = position + rng.randint(0, 10)
            end = start + rng.randint(1, 12)
            spans.append((start, end, rng.choice(LABELS)))
            position = end + 1
        predicted = []
        for start, end, label in spans:
            roll = rng.random()
            if roll < 0.7:
                predicted.append((start, end, label))
            elif roll < 0.8:
                predicted.append((start, max(start + 1, end - 1), label))
            elif roll < 0.9:
                predicted.append((start, end, rng.choice(LABELS)))
        if rng.random() < 0.2:
            predicted.append((position + 5, position + 9, rng.choice(LABELS)))
        gold.append(spans)
        pred.append(predicted)
    return gold, pred


def compute(gold: list, pred: list, resamples: int) -> float:
    counts = count_spans(gold, pred, LABELS)
    table = score_table(counts.strict, len(gold), variant="strict", resamples=resamples, seed=0)
    return table.micro.f


def nervaluate_time(gold: list, pred: list, repeats: int) -> tuple[float, float]:
    """(median seconds, micro strict F) of nervaluate's Evaluator on the same spans."""
    from nervaluate import Evaluator

    def dicts(docs: list) -> list:
        return [[{"label": label, "start": start, "end": end} for start, end, label in doc] for doc in docs]

    true, predicted = dicts(gold), dicts(pred)  # input conversion is not timed
    times, f = [], float("nan")
    for _ in range(repeats):
        started = time.perf_counter()
        results = Evaluator(true, predicted, tags=LABELS).evaluate()
        times.append(time.perf_counter() - started)
        f = results["overall"]["strict"].f1
    return statistics.median(times), f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-repeats", type=int, default=1, help="nervaluate runs (about 20 s each)")
    args = parser.parse_args()
    gold, pred = synthetic(args.docs)
    n_spans = sum(map(len, gold))
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        f = compute(gold, pred, args.resamples)
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    compute(gold, pred, args.resamples)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    median = statistics.median(times)
    print(f"documents: {args.docs:,}  gold spans: {n_spans:,}  labels: {len(LABELS)}  resamples: {args.resamples}")
    print(f"micro F (sanity): {f:.4f}")
    print(f"time (median of {args.repeats}): {median:.3f} s   runs: {', '.join(f'{t:.3f}' for t in times)}")
    print(f"ratio to the {BUDGET_SECONDS:.0f} s budget: {median / BUDGET_SECONDS:.2f}  ({'OK' if median < BUDGET_SECONDS else 'OVER BUDGET'})")
    print(f"peak memory of the computation (tracemalloc): {peak / 2**20:.1f} MiB")
    print(f"process max RSS (includes the synthetic corpus): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")
    reference, their_f = nervaluate_time(gold, pred, args.reference_repeats)
    print(f"nervaluate (strict, no bootstrap), median of {args.reference_repeats}: {reference:.3f} s, micro strict F {their_f:.4f}")
    print(f"speedup vs nervaluate: {reference / median:.1f} x  (target >= 20x: {'OK' if reference / median >= 20 else 'UNDER'})")


if __name__ == "__main__":
    main()
