"""``ray``: Ray Data (the optional extra ``distill-harness[ray]``).

- The pipeline loads once per actor: ``map_batches`` with a callable class, ``concurrency``
  actors of ``num_cpus`` / ``num_gpus`` each.
- Models travel through Ray's object store: a work that can ``bundle()`` itself (a spaCy
  pipeline directory, packed) is put there once and unpacked by each actor, so workers on
  other nodes never read the driver's working directory. Other files a work names (an LLM
  config, its cassette) must be on a path every node sees (docs/scale.md).
- A source with shards (a pool's JSONL or Parquet files) is read by the cluster, one task
  per shard, streaming; a source held in memory (a gold split) travels from the driver.
- Rows stream back to the driver as they are answered, so the driver's memory does not grow
  with the pool. A worker that dies is restarted and its batch retried by Ray.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import HarnessError
from .base import EngineStats, Item, MapTexts, Problem, Row, Source, Work

READ_ROWS = 2000  # rows per block a shard reader yields
HARNESS_ERROR = re.compile(r"harness\.errors\.\w+: (.+)")
INIT_DEATHS = 3  # workers in a row that may die loading the model before the run fails
COLUMNS = ("key", "position", "text", "origin", "problem")


def _columns(items: list[Item | Problem]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for item in items:
        if isinstance(item, Problem):
            values: tuple[Any, ...] = (0, -1, "", item.origin, item.message)
        else:
            values = (item.key, item.position, item.text, item.origin, "")
        for column, value in zip(COLUMNS, values, strict=True):
            out[column].append(value)
    return out


def _read_shards(batch: Any, source: Source) -> Iterator[dict[str, list[Any]]]:
    """A cluster task: read each shard named in ``batch``, in blocks of READ_ROWS."""
    for shard in batch["shard"]:
        block: list[Item | Problem] = []
        for item in source.read(str(shard)):
            block.append(item)
            if len(block) >= READ_ROWS:
                yield _columns(block)
                block = []
        if block:
            yield _columns(block)


class _Answer:
    """A Ray Data actor: the work loaded once, then every batch it is given."""

    def __init__(self, work: Work, bundle: Any) -> None:
        if bundle is not None:
            import ray

            data = ray.get(bundle)  # the packed model, from the object store (once per actor)
            self.predict: MapTexts = work.load_bundle(data)  # type: ignore[attr-defined]
        else:
            self.predict = work.load()
        self.worker = os.getpid()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        n = len(batch["key"])
        readable = [i for i in range(n) if not batch["problem"][i]]
        answers = self.predict([str(batch["text"][i]) for i in readable]) if readable else []
        answer, words = [""] * n, [0] * n
        for i, (a, w) in zip(readable, answers, strict=True):
            answer[i], words[i] = a, w
        return {**{c: list(batch[c]) for c in COLUMNS}, "answer": answer, "words": words, "worker": [self.worker] * n}


def connect(address: str | None, cpus: int | None) -> None:
    """Join the cluster at ``address`` (``auto``, ``ray://host:port``), else start a local
    one (or use the one this process already runs)."""
    try:
        import ray
    except ImportError:
        raise HarnessError("the ray engine needs Ray: pip install 'distill-harness[ray]'") from None
    if ray.is_initialized():
        return
    logging.getLogger("ray").setLevel(logging.WARNING)
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)


@dataclass(frozen=True)
class RayEngine:
    batch_size: int
    concurrency: int | None = None  # actors (None: as many as the cluster's CPUs allow)
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    address: str | None = None
    name: str = "ray"

    def run(self, work: Work, source: Source, stats: EngineStats) -> Iterator[list[Row]]:
        connect(self.address, self.concurrency)
        import ray
        import ray.data

        started = time.perf_counter()
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        # Ray Data restarts a worker that dies (OOM, a lost node) and retries its batch; a worker
        # that cannot even load the model fails the run after a few tries, not forever.
        context.max_consecutive_actor_init_deaths = INIT_DEATHS
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        actors = self.concurrency or max(1, int(ray.cluster_resources().get("CPU", 1) // max(self.num_cpus, 1e-9)))
        stats.problems, stats.worker_ids, stats.workers = [], set(), actors
        shards = list(source.shards())
        if shards:
            listing = ray.data.from_items([{"shard": s} for s in shards], override_num_blocks=len(shards))
            # Reading is I/O: it takes no CPU from the actors (they hold every core).
            dataset = listing.map_batches(functools.partial(_read_shards, source=source), batch_size=1, num_cpus=0)
        else:
            dataset = ray.data.from_items([{c: v[0] for c, v in _columns([item]).items()} for item in source.items()])
        bundled = getattr(work, "bundle", None)
        bundle = bundled() if bundled is not None else None
        answered = dataset.map_batches(
            _Answer,
            fn_constructor_args=(work, ray.put(bundle) if bundle is not None else None),
            batch_size=self.batch_size,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus or None,
            batch_format="numpy",
        )
        try:
            yield from self._rows(answered, stats, started)
        except Exception as err:  # Ray wraps what a worker raised: name the cause, not Ray's machinery
            raise HarnessError(f"the ray engine failed: {_cause(err)}") from err
        stats.seconds = time.perf_counter() - started

    @staticmethod
    def _rows(answered: Any, stats: EngineStats, started: float) -> Iterator[list[Row]]:
        assert stats.problems is not None and stats.worker_ids is not None
        for batch in answered.iter_batches(batch_size=None, batch_format="numpy"):
            rows = []
            for i in range(len(batch["key"])):
                if batch["problem"][i]:
                    stats.problems.append(Problem(str(batch["origin"][i]), str(batch["problem"][i])))
                    continue
                rows.append(
                    Row(
                        int(batch["key"][i]),
                        int(batch["position"][i]),
                        str(batch["text"][i]),
                        str(batch["answer"][i]),
                        int(batch["words"][i]),
                        int(batch["worker"][i]),
                    )
                )
            stats.batches += 1
            stats.rows += len(rows)
            stats.worker_ids.update(row.worker for row in rows)
            stats.seconds = time.perf_counter() - started
            yield rows


def _cause(err: BaseException) -> str:
    """What a worker raised: the first harness error in ``err``'s chain, or named in the text
    of one (Ray passes a dead actor's traceback as text), else the innermost message."""
    seen: BaseException | None = err
    messages: list[str] = []
    while seen is not None and len(messages) < 20:
        if isinstance(seen, HarnessError):
            return str(seen)
        messages.append(f"{type(seen).__name__}: {seen}")
        seen = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
    for message in messages:
        named = HARNESS_ERROR.search(message)
        if named:
            return named.group(1)
    inner = next((m for m in reversed(messages) if not m.endswith(": ")), messages[-1])
    return inner.splitlines()[0][:500]
