"""``processes``: every local core. Worker processes (spawned, so nothing the driver loaded
is shared by accident) load the work once each, on their first batch; the driver reads the source and keeps
a bounded number of batches in flight, so memory stays flat whatever the source's size."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from .base import EngineStats, Item, MapTexts, Row, Source, Work, answer_batch, batched

_loaded: list[MapTexts] = []  # in a worker: the work, loaded on its first batch


def _answer(work: Work, batch: Sequence[Item]) -> list[Row]:
    # Loaded on the first batch, not in a pool initializer: an error loading the model then
    # comes back to the driver as itself, not as a broken pool.
    if not _loaded:
        _loaded.append(work.load())
    return answer_batch(_loaded[0], batch, os.getpid())


@dataclass(frozen=True)
class ProcessesEngine:
    batch_size: int
    workers: int
    name: str = "processes"

    def run(self, work: Work, source: Source, stats: EngineStats) -> Iterator[list[Row]]:
        started = time.perf_counter()
        stats.problems, stats.worker_ids, stats.workers = [], set(), self.workers
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            pending: deque[Future[list[Row]]] = deque()
            # Two batches per worker in flight: workers never wait, memory stays bounded.
            for batch in batched(source.items(), self.batch_size, stats.problems):
                pending.append(pool.submit(_answer, work, batch))
                if len(pending) >= 2 * self.workers:
                    yield self._take(pending.popleft(), stats, started)
            while pending:
                yield self._take(pending.popleft(), stats, started)
        stats.seconds = time.perf_counter() - started

    @staticmethod
    def _take(future: Future[list[Row]], stats: EngineStats, started: float) -> list[Row]:
        rows = future.result()
        stats.batches += 1
        stats.rows += len(rows)
        assert stats.worker_ids is not None
        stats.worker_ids.update(row.worker for row in rows)
        stats.seconds = time.perf_counter() - started
        return rows


def default_workers() -> int:
    """Every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
