"""``harness queue fill``: LLM/distilled disagreements on the unlabelled pool, most informative first.

The pool streams through an engine (:mod:`harness.engines`): each worker loads both
pipelines once and answers, per text, whether they disagree and by how much. The driver
keeps an exact top-k (ties broken by input hash, then text), so its memory does not grow
with the pool and the queue is the same on every engine: the top-k of a union is the
top-k of the parts' top-ks.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.stats import keyed_uniform
from ..engines import EngineChoice, EngineStats, InMemory, Problem, build_engine
from ..engines.base import MapTexts, Source
from ..errors import InputError
from ..gold.records import GoldExample, stable_hash
from ..options import DEFAULT_QUEUE_FILL, DEFAULT_RANK, DEFAULT_REPORTS_DIR, RANKS, first_given
from ..runners.engine_work import PipelineWork, load_unpacked, output_from_json, output_json, row_predictor
from ..specs import PipelineSpec, SuiteSpec
from . import queue
from .pool import eval_hashes, gold_store, pool_examples, training_hashes
from .pool_source import PoolFiles, pool_files
from .records import disagreement_score, make_record, normalise

PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class FillSummary:
    """Texts answered, new disagreements found, records queued, the queue file, the engine's
    run (workers, model loads, seconds) and the pool lines that could not be read."""

    pool: int
    disagreements: int
    queued: int
    path: Path
    engine: str = "local"
    workers: int = 1
    loads: int = 1
    seconds: float = 0.0
    problems: tuple[Problem, ...] = ()
    rank: str = DEFAULT_RANK


@dataclass(frozen=True)
class DisagreementWork:
    """Engine work: both pipelines loaded once per worker; per text the disagreement
    (``null`` when they agree, else its score and both answers)."""

    distilled: PipelineSpec
    llm: PipelineSpec
    task: str
    threshold: float
    llm_mode: str | None = None
    parallel: bool = False  # run by several workers at once (any engine but local)
    keep_agreements: bool = False  # answer every text (--rank random), not only disagreements

    def load(self) -> MapTexts:
        mine = row_predictor(self.distilled, self.task, None)
        theirs = row_predictor(self.llm, self.task, self.llm_mode, parallel=self.parallel)
        task, threshold, keep = self.task, self.threshold, self.keep_agreements

        def answer(texts: Sequence[str]) -> list[tuple[str, int]]:
            out = []
            for d, m in zip(mine(texts), theirs(texts), strict=True):
                d_out, m_out = d.output(task), m.output(task)
                agree = normalise(d_out, task, threshold) == normalise(m_out, task, threshold)
                if agree and not keep:
                    out.append(("null", d.n_words))
                    continue
                score = 0.0 if agree else disagreement_score(d_out, m_out, task)
                found = {"score": score, "distilled": output_json(d_out), "llm": output_json(m_out)}
                out.append((json.dumps({**found, "agree": True} if agree else found), d.n_words))
            return out

        return answer

    def bundle(self) -> bytes | None:
        """The distilled pipeline's directory, packed (see :class:`PipelineWork`)."""
        return PipelineWork(self.distilled, self.task).bundle()

    def load_bundle(self, data: bytes) -> MapTexts:
        return load_unpacked(data, lambda path: dataclasses.replace(self, distilled=dataclasses.replace(self.distilled, path=path)).load())


class TopK:
    """The ``k`` best (score, key, text) seen so far: highest score first, then lowest input
    hash, then text. Memory O(k): trimmed whenever it holds 4k."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.kept: list[tuple[float, int, str, dict[str, Any]]] = []

    @staticmethod
    def order(entry: tuple[float, int, str, dict[str, Any]]) -> tuple[float, int, str]:
        return (-entry[0], entry[1], entry[2])

    def add(self, score: float, key: int, text: str, answers: dict[str, Any]) -> None:
        self.kept.append((score, key, text, answers))
        if len(self.kept) >= 4 * max(self.k, 1):
            self.kept = sorted(self.kept, key=self.order)[: self.k]

    def best(self) -> list[tuple[float, int, str, dict[str, Any]]]:
        return sorted(self.kept, key=self.order)[: self.k]


def pool_source(spec: SuiteSpec, known: set[int], pool: str | None) -> tuple[Source, dict[int, GoldExample]]:
    """The pool to stream and, for a gold pool, its examples by hash (their tokens go into
    the queue). A pool of files leaves out eval texts by hash; a gold pool that contains
    any is refused (:func:`pool_examples`)."""
    if pool is None:
        examples = pool_examples(spec)
        return InMemory(examples, frozenset(known)), {e.input_hash: e for e in examples}
    evals = eval_hashes(spec)
    exclude = frozenset(known | set(evals) | {stable_hash(text) for text in evals.values()})
    return PoolFiles(pool_files(pool), exclude), {}


def _records(suite: str, task: str, best: TopK, by_hash: dict[int, GoldExample], distilled: str, llm: str) -> list[dict[str, Any]]:
    """The queue records of the best-ranked texts, the LLM's answer pre-filled."""
    fresh = []
    for _, key, text, found in best.best():
        example = by_hash.get(key) or GoldExample(input_hash=key, text=text, split="pool")
        d, m = output_from_json(found["distilled"], task), output_from_json(found["llm"], task)
        fresh.append(
            make_record(
                suite=suite,
                scope="pool",
                category="sampled" if found.get("agree") or found.get("sampled") else "disagreement",
                example=example,
                task=task,
                best=m,
                gold=None,
                predictions={distilled: d, llm: m},
                informativeness=found["score"],
            )
        )
    return fresh


def fill(
    spec: SuiteSpec,
    *,
    reports_dir: str | Path = DEFAULT_REPORTS_DIR,
    limit: int = DEFAULT_QUEUE_FILL,
    llm_mode: str | None = None,
    distilled_path: str | None = None,
    skip_trained: bool = False,
    pool: str | None = None,
    engine: EngineChoice | None = None,
    rank: str | None = None,
) -> FillSummary:
    """Run the distilled and LLM pipelines on the pool; queue the ``limit`` most
    informative disagreements not already queued.

    ``pool``: files to read the pool from (a JSONL or Parquet file, a directory or a glob of
    them) instead of the suite's gold pool. ``engine``: where the pipelines run (the
    suite's ``engine``, else local). ``skip_trained`` leaves out texts already in the newest
    training version: a model trained on silver labels of a text reproduces them, so
    disagreement there says little (the loop distils from part of the pool and fills from the rest).
    ``rank``: ``disagreement`` (the suite's ``rank``, else the default) or ``random``: every
    pool text alike, in a seeded order of input hashes (the baseline a ranking must beat).
    """
    gold = gold_store(spec).resolve(spec.gold)
    path = queue.queue_path(reports_dir, spec.name)
    known = {int(r["_input_hash"]) for r in queue.load(path)}
    if skip_trained:
        known |= training_hashes(spec)
    source, by_hash = pool_source(spec, known, pool)
    distilled = spec.require_distilled()
    if distilled_path is not None:
        distilled = dataclasses.replace(distilled, path=distilled_path)
    llm = spec.require_llm()
    choice = (engine or EngineChoice()).resolved(spec.engine)
    ranking = first_given(rank, spec.rank, DEFAULT_RANK)
    if ranking not in RANKS:
        raise InputError(f"unknown rank {ranking!r} (one of {', '.join(RANKS)})", field="rank")
    work = DisagreementWork(
        distilled, llm, gold.task, spec.threshold, llm_mode, parallel=not choice.is_local, keep_agreements=ranking == "random"
    )
    runner = build_engine(choice)
    stats = EngineStats(runner.name)
    best, answered, disagreements = TopK(limit), 0, 0
    for rows in runner.run(work, source, stats):
        answered += len(rows)
        for row in rows:
            found: dict[str, Any] | None = json.loads(row.answer)
            if found is None:
                continue
            disagreements += not found.get("agree")
            if ranking == "random":  # the order does not depend on the answers (or the engine)
                best.add(keyed_uniform(spec.seed, "sample", row.key), row.key, row.text, {**found, "sampled": True})
            else:
                best.add(found["score"], row.key, row.text, found)
    fresh = _records(spec.name, gold.task, best, by_hash, distilled.name, llm.name)
    queue.update(path, fresh, scope="pool", dataset=spec.gold.name)
    problems = tuple(stats.problems or ())
    return FillSummary(answered, disagreements, len(fresh), path, runner.name, stats.workers, stats.loads, stats.seconds, problems, ranking)
