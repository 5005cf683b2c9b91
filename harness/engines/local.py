"""``local``: the work loaded once in this process, batches mapped one after the other
(today's behaviour and the default)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .base import EngineStats, Row, Source, Work, answer_batch, batched


@dataclass(frozen=True)
class LocalEngine:
    batch_size: int
    name: str = "local"

    def run(self, work: Work, source: Source, stats: EngineStats) -> Iterator[list[Row]]:
        started = time.perf_counter()
        stats.problems, stats.worker_ids, stats.workers = [], set(), 1
        predict = work.load()
        stats.worker_ids.add(os.getpid())
        for batch in batched(source.items(), self.batch_size, stats.problems):
            rows = answer_batch(predict, batch, os.getpid())
            stats.batches += 1
            stats.rows += len(rows)
            stats.seconds = time.perf_counter() - started
            yield rows
        stats.seconds = time.perf_counter() - started
