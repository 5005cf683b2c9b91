"""The engine interface: map a pipeline, loaded once per worker, over a stream of texts in
batches, and hand back plain rows (never ``Doc`` objects).

Engines know nothing of tasks or spaCy. They are given

- a :class:`Work`: a picklable recipe whose :meth:`Work.load` runs once in each worker
  and returns a function from texts to (answer as JSON, words) pairs (the runners build
  these for pipelines; :mod:`harness.loop.fill` one that runs two pipelines and scores their
  disagreement), and
- a :class:`Source`: where the texts come from, readable whole in the driver
  (:meth:`Source.items`) or shard by shard in a worker (:meth:`Source.read`), so a Ray
  cluster reads a pool's shards itself instead of shipping it through the driver.

and yield batches of :class:`Row` in any order: callers that need eval order sort rows by
``position``; the queue keeps an exact top-k, whatever the order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: What a worker's loaded function does: texts -> (answer as JSON, words) per text, in order.
MapTexts = Callable[[Sequence[str]], list[tuple[str, int]]]


@dataclass(frozen=True)
class Item:
    """One text to map: its key (the input hash), where it sits in eval order (-1: a pool
    text, no order) and where it was read (``file:line``, for errors)."""

    key: int
    text: str
    position: int = -1
    origin: str = ""


@dataclass(frozen=True)
class Problem:
    """A source line that could not be read: named, counted, and nothing else lost."""

    origin: str  # file:line
    message: str


@dataclass(frozen=True)
class Row:
    """The answer for one item (``answer`` is JSON: engines never look inside)."""

    key: int
    position: int
    text: str
    answer: str
    words: int
    worker: int  # the process that answered (model loads = distinct workers)


class Work(Protocol):
    """A picklable recipe for what each worker loads once."""

    def load(self) -> MapTexts: ...


class Source(Protocol):
    """Where texts come from. ``shards()`` are units a worker can read alone (file paths;
    ``()`` for texts held in memory, which then travel from the driver)."""

    def shards(self) -> Sequence[str]: ...

    def read(self, shard: str) -> Iterator[Item | Problem]: ...

    def items(self) -> Iterator[Item | Problem]: ...


@dataclass(frozen=True)
class InMemory:
    """Texts held in memory (a gold split), in their order: each item's position is its
    index (eval order), those whose key is in ``exclude`` are left out. They travel from the
    driver (no shards). ``examples``: anything with ``input_hash`` and ``text``."""

    examples: Sequence[Any]
    exclude: frozenset[int] = frozenset()

    def shards(self) -> Sequence[str]:
        return ()

    def read(self, shard: str) -> Iterator[Item | Problem]:
        raise NotImplementedError("texts held in memory have no shards")

    def items(self) -> Iterator[Item | Problem]:
        for position, example in enumerate(self.examples):
            if example.input_hash not in self.exclude:
                yield Item(example.input_hash, example.text, position, getattr(example, "source", ""))


@dataclass
class EngineStats:
    """What a run of an engine did: batches, rows, problems met, worker processes (each
    loaded the work once; a restarted worker counts again), seconds of wall clock."""

    engine: str
    workers: int = 0
    batches: int = 0
    rows: int = 0
    problems: list[Problem] | None = None
    seconds: float = 0.0
    worker_ids: set[int] | None = None

    @property
    def loads(self) -> int:
        return len(self.worker_ids or ())


class Engine(Protocol):
    """Maps ``work`` over ``source``; yields row batches (any order). ``stats`` is filled as
    the rows come: problems (unreadable source lines) are collected there, not raised."""

    @property
    def name(self) -> str: ...

    def run(self, work: Work, source: Source, stats: EngineStats) -> Iterator[list[Row]]: ...


def batched(items: Iterable[Item | Problem], size: int, problems: list[Problem]) -> Iterator[list[Item]]:
    """Items in batches of ``size``; problems go to ``problems`` as they are met."""
    batch: list[Item] = []
    for item in items:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def answer_batch(predict: MapTexts, batch: Sequence[Item], worker: int) -> list[Row]:
    """Run one batch through a loaded function: rows in the batch's order."""
    answers = predict([item.text for item in batch])
    if len(answers) != len(batch):
        raise RuntimeError(f"a worker answered {len(answers)} of {len(batch)} texts")
    return [Row(item.key, item.position, item.text, answer, words, worker) for item, (answer, words) in zip(batch, answers, strict=True)]
