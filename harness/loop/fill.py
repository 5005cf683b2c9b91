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
from ..core.tasks import task_of
from ..engines import EngineChoice, EngineStats, InMemory, Problem, build_engine
from ..engines.base import Item, MapTexts, Source
from ..errors import InputError
from ..gold.records import GoldExample, stable_hash
from ..options import DEFAULT_FOLDS, DEFAULT_QUEUE_FILL, DEFAULT_RANK, DEFAULT_REPORTS_DIR, RANKS, first_given
from ..runners.engine_work import PipelineWork, load_unpacked, output_from_json, output_json, row_predictor
from ..specs import PipelineSpec, SuiteSpec
from . import cross_fit, error_rank, queue
from .apply import base_training
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
    calibration: str | None = None  # --rank expected-error: how the students' probabilities were calibrated


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


def _category(found: dict[str, Any]) -> str:
    if found.get("evidence") is not None:
        return "expected_error"
    return "sampled" if found.get("agree") or found.get("sampled") else "disagreement"


def _records(
    suite: str, task: str, best: Sequence[tuple[float, int, str, dict[str, Any]]], by_hash: dict[int, GoldExample], distilled: str, llm: str
) -> list[dict[str, Any]]:
    """The queue records of the best-ranked texts, the LLM's answer pre-filled."""
    fresh = []
    for _, key, text, found in best:
        example = by_hash.get(key) or GoldExample(input_hash=key, text=text, split="pool")
        d, m = output_from_json(found["distilled"], task), output_from_json(found["llm"], task)
        record = make_record(
            suite=suite,
            scope="pool",
            category=_category(found),
            example=example,
            task=task,
            best=m,
            gold=None,
            predictions={distilled: d, llm: m},
            informativeness=found["score"],
        )
        if found.get("evidence") is not None:
            record["meta"]["evidence"] = list(found["evidence"])
        fresh.append(record)
    return fresh


def _expected_error_best(
    spec: SuiteSpec, source: Source, limit: int, llm: PipelineSpec, llm_mode: str | None, folds: int
) -> tuple[list[tuple[float, int, str, dict[str, Any]]], int, tuple[Problem, ...], str]:
    """``--rank expected-error`` (this process): cross-fitted students over the newest training
    data, recalibrated on the eval split, score every pool text; (best entries, texts, problems,
    how the probabilities were calibrated)."""
    gold = gold_store(spec).resolve(spec.gold)
    items = list(source.items())
    texts = {item.key: item.text for item in items if isinstance(item, Item)}
    problems = tuple(item for item in items if isinstance(item, Problem))
    if not texts:  # nothing new to rank: no students to train
        return [], 0, problems, "no pool texts to score"
    keys = list(texts)
    answers = row_predictor(llm, gold.task, llm_mode)([texts[k] for k in keys]) if keys else []
    llm_outputs = {k: a.output(gold.task) for k, a in zip(keys, answers, strict=True)}
    scored = error_rank.cross_fitted_scores(
        training=base_training(spec)[1],
        texts=texts,
        eval_examples=list(gold.iter_examples("eval")),
        distilled=spec.require_distilled(),
        task=gold.task,
        folds=folds,
        seed=spec.seed,
        lang=str(gold.manifest.get("lang", "en")),
    )
    kind = task_of(gold.task)
    best = [
        (
            r.score,
            r.key,
            r.text,
            {
                "score": r.score,
                "distilled": output_json(kind.normalise(r.student)),
                "llm": output_json(llm_outputs[r.key]),
                "evidence": r.evidence,
            },
        )
        for r in error_rank.rank(texts, llm_outputs, scored, gold.task, limit=limit, threshold=spec.threshold)
    ]
    return best, len(texts), problems, cross_fit.describe_calibration(scored.students)


def _fill_expected_error(
    spec: SuiteSpec, source: Source, by_hash: dict[int, GoldExample], path: Path, limit: int, llm_mode: str | None, folds: int, distilled: str
) -> FillSummary:
    """``fill`` with ``--rank expected-error``: the records of the texts with most expected LLM errors."""
    llm = spec.require_llm()
    task = gold_store(spec).resolve(spec.gold).task
    ranked, answered, problems, calibrated = _expected_error_best(spec, source, limit, llm, llm_mode, folds)
    fresh = _records(spec.name, task, ranked, by_hash, f"{distilled} (out-of-fold student)", llm.name)
    queue.update(path, fresh, scope="pool", dataset=spec.gold.name)
    return FillSummary(answered, len(ranked), len(fresh), path, problems=problems, rank="expected-error", calibration=calibrated)


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
    folds: int | None = None,
) -> FillSummary:
    """Run the distilled and LLM pipelines on the pool; queue the ``limit`` most
    informative disagreements not already queued.

    ``pool``: files to read the pool from (a JSONL or Parquet file, a directory or a glob of
    them) instead of the suite's gold pool. ``engine``: where the pipelines run (the
    suite's ``engine``, else local). ``skip_trained`` leaves out texts already in the newest
    training version: a model trained on silver labels of a text reproduces them, so
    disagreement there says little (the loop distils from part of the pool and fills from the rest).
    ``rank``: ``disagreement`` (the suite's ``rank``, else the default), ``expected-error``
    (the expected number of LLM errors from ``folds`` cross-fitted students trained on the
    newest training data and recalibrated on the eval split: :mod:`harness.loop.error_rank`;
    local engine only) or ``random``: every pool text alike, in a seeded order of input hashes
    (the baseline a ranking must beat).
    """
    task = gold_store(spec).resolve(spec.gold).task
    path = queue.queue_path(reports_dir, spec.name)
    known = {int(r["_input_hash"]) for r in queue.load(path)}
    if skip_trained:
        known |= training_hashes(spec)
    source, by_hash = pool_source(spec, known, pool)
    distilled = spec.require_distilled()
    if distilled_path is not None:
        distilled = dataclasses.replace(distilled, path=distilled_path)
    choice = (engine or EngineChoice()).resolved(spec.engine)
    ranking = first_given(rank, spec.rank, DEFAULT_RANK)
    if ranking not in RANKS:
        raise InputError(f"unknown rank {ranking!r} (one of {', '.join(RANKS)})", field="rank")
    if ranking == "expected-error":
        if not choice.is_local:
            raise InputError("--rank expected-error trains its students and scores the pool in this process: use --engine local", field="engine")
        return _fill_expected_error(spec, source, by_hash, path, limit, llm_mode, folds or DEFAULT_FOLDS, distilled.name)
    work = DisagreementWork(
        distilled, spec.require_llm(), task, spec.threshold, llm_mode, parallel=not choice.is_local, keep_agreements=ranking == "random"
    )
    return _fill_streamed(spec, work, choice, source, by_hash, path, limit, ranking)


def _fill_streamed(
    spec: SuiteSpec,
    work: DisagreementWork,
    choice: EngineChoice,
    source: Source,
    by_hash: dict[int, GoldExample],
    path: Path,
    limit: int,
    ranking: str,
) -> FillSummary:
    """``fill`` by disagreement or at random: the pool streams through the engine, the driver
    keeps an exact top-k."""
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
    fresh = _records(spec.name, work.task, best.best(), by_hash, work.distilled.name, work.llm.name)
    queue.update(path, fresh, scope="pool", dataset=spec.gold.name)
    problems = tuple(stats.problems or ())
    return FillSummary(answered, disagreements, len(fresh), path, runner.name, stats.workers, stats.loads, stats.seconds, problems, ranking)
