"""One prediction pass that also measures speed: per-doc latency, then batched throughput."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from ..core.results import SpeedStats
from ..core.stats import percentile
from ..core.tasks import task_of
from .base import Prediction


def prediction_of(doc: Any, task: str) -> Prediction:
    """What a processed ``Doc`` says, for the gold's task."""
    if task_of(task).has_spans:
        spans = tuple((ent.start_char, ent.end_char, ent.label_) for ent in doc.ents)
        return Prediction(spans=spans, n_words=len(doc))
    return Prediction(cats=dict(doc.cats), n_words=len(doc))


def predict_timed(nlp: Any, texts: Sequence[str], *, task: str, latency_docs: int, batch_size: int) -> tuple[list[Prediction], SpeedStats]:
    """Run ``nlp`` over ``texts`` once, timing per-doc latency then batched throughput.

    The first ``latency_docs`` texts go through ``nlp(text)`` one at a time (warm-up
    and per-document latency p50/p95); the rest through ``nlp.pipe`` in
    timed batches. No text is processed twice, so evaluation costs one pass.
    """
    predictions: list[Prediction] = []
    latencies: list[float] = []
    total_words = 0
    started = time.perf_counter()
    head = texts[:latency_docs]
    head_words = 0
    head_seconds = 0.0
    for text in head:
        t0 = time.perf_counter()
        doc = nlp(text)
        elapsed = time.perf_counter() - t0
        latencies.append(elapsed * 1000.0)
        head_seconds += elapsed
        head_words += len(doc)
        predictions.append(prediction_of(doc, task))
    total_words += head_words
    rates: list[float] = []
    rest = texts[latency_docs:]
    for offset in range(0, len(rest), batch_size):
        batch = rest[offset : offset + batch_size]
        t0 = time.perf_counter()
        docs = list(nlp.pipe(batch, batch_size=batch_size))
        elapsed = time.perf_counter() - t0
        words = sum(len(doc) for doc in docs)
        total_words += words
        if elapsed > 0 and words > 0:
            rates.append(words / elapsed)
        predictions.extend(prediction_of(doc, task) for doc in docs)
    seconds = time.perf_counter() - started
    if rates:
        wps = statistics.median(rates)
    else:
        wps = head_words / head_seconds if head_seconds > 0 else 0.0
    speed = SpeedStats(
        words_per_second=wps,
        words=total_words,
        docs=len(texts),
        seconds=seconds,
        latency_p50_ms=percentile(latencies, 0.5),
        latency_p95_ms=percentile(latencies, 0.95),
        timed_batches=len(rates),
        batch_size=batch_size,
    )
    return predictions, speed
