"""Training, evaluating one pipeline, extracted predictions and recording LLM cassettes.

Imports inside functions: this package loads with every command (see :mod:`harness.api`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import HarnessError
from ..gold.store import GoldStore
from ..options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHECKPOINT,
    DEFAULT_GOLD_DIR,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    DEFAULT_TRAIN_SEED,
    EngineChoice,
)
from ..runners import kind_for_path
from ..specs import PipelineSpec

if TYPE_CHECKING:
    pass


from .suite import parse_suite


def train(
    gold: str,
    output: str,
    *,
    gold_dir: str = DEFAULT_GOLD_DIR,
    config: str | None = None,
    max_steps: int | None = None,
    seed: int = DEFAULT_TRAIN_SEED,
    checkpoint: str = DEFAULT_CHECKPOINT,
    force: bool = False,
    verbose: bool = False,
) -> Any:
    """Train a spaCy pipeline on a gold version's train split (reused if inputs are unchanged)."""
    from ..training import train as train_pipeline

    version = GoldStore(gold_dir).resolve(gold)
    return train_pipeline(version, output, config=config, max_steps=max_steps, seed=seed, checkpoint=checkpoint, force=force, quiet=not verbose)


def suite_training_jobs(suite_path: str) -> list[dict[str, Any]]:
    """The :func:`train` keyword arguments for every pipeline of a suite that has a [train] table."""
    spec = parse_suite(suite_path)
    jobs = []
    for pipeline in spec.pipelines.values():
        if pipeline.train is None:
            continue
        jobs.append(
            {
                "gold": str(spec.gold),
                "output": pipeline.path,
                "gold_dir": str(spec.gold_dir),
                "config": str(pipeline.train.config) if pipeline.train.config else None,
                "max_steps": pipeline.train.max_steps,
                "seed": pipeline.train.seed,
                "checkpoint": pipeline.train.checkpoint,
            }
        )
    if not jobs:
        raise HarnessError(f"{suite_path}: no pipeline has a [pipelines.<name>.train] table")
    return jobs


def evaluate_on_gold(
    gold: str,
    pipeline: str,
    *,
    gold_dir: str = DEFAULT_GOLD_DIR,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = DEFAULT_BATCH_SIZE,
    llm_mode: str | None = None,
    engine: EngineChoice | None = None,
) -> Any:
    """Evaluate one pipeline on a gold eval split without a suite: returns a SuiteResult.

    ``pipeline`` is a spaCy pipeline (directory or package), a spacy-llm config
    (``.cfg``) or imported predictions (``.jsonl``, keyed by ``_input_hash``). ``engine``:
    where a spaCy pipeline runs (:mod:`harness.engines`; scores do not depend on it).
    """
    from ..core.results import SuiteResult
    from ..evaluate import eval_views, evaluate_pipeline, gold_info

    version = GoldStore(gold_dir).resolve(gold)
    spec = PipelineSpec(name=Path(pipeline).stem or pipeline, kind=kind_for_path(pipeline), path=pipeline, batch_size=batch_size)
    examples = list(version.iter_examples("eval"))
    result = evaluate_pipeline(
        version, spec, resamples=resamples, seed=seed, threshold=threshold, llm_mode=llm_mode, examples=examples, engine=engine
    )
    return SuiteResult(
        f"eval-{spec.name}",
        "",
        gold_info(version),
        {spec.name: result},
        {},
        [],
        examples=eval_views(version.task, examples),
        threshold=threshold,
        distilled=spec.name if spec.role == "distilled" else None,
        llm=spec.name if spec.role == "llm" else None,
    )


def extract_versions(gold: str, session: str, output: str, *, gold_dir: str = DEFAULT_GOLD_DIR) -> int:
    """Write the annotations one Prodigy session made (kept in a review dataset's
    ``versions`` field) as an imported-predictions JSONL; returns the count written.

    A record whose single version lists several sessions means they agreed.
    """
    from ..io import atomic
    from ..io.jsonl import canonical_json
    from ..options import SPLITS

    version = GoldStore(gold_dir).resolve(gold)
    lines = []
    for split in SPLITS:
        for example in version.iter_examples(split):
            found = [v for v in example.extra.get("versions", []) if session in (v.get("sessions") or [v.get("_session_id")])]
            if not found:
                continue
            spans = [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in found[0].get("spans", [])]
            lines.append(
                canonical_json(
                    {
                        "text": example.text,
                        "_input_hash": example.input_hash,
                        "spans": spans,
                        "meta": {"source": f"{version.ref} versions, session {session}"},
                    }
                )
            )
    if not lines:
        raise HarnessError(f"no example of {version.ref} has a version from session {session!r}")
    atomic.write_jsonl(output, lines)
    return len(lines)


@dataclass(frozen=True)
class RecordSummary:
    """What recording one LLM pipeline did."""

    pipeline: str
    cassette: str
    prompts: int
    calls_made: int
    cached: int
    failed: int
    first_failure: str | None
    seconds: float
    simulated: bool
    records: int


def record(
    suite_path: str,
    *,
    splits: Sequence[str] = ("eval",),
    pipeline: str | None = None,
    concurrency: int | None = None,
    mode: str = "record",
    progress: Callable[[str, int], Callable[[bool], None]] | None = None,
    engine: EngineChoice | None = None,
) -> list[RecordSummary]:
    """Fill the cassettes of a suite's LLM pipelines; one summary per pipeline.

    Only prompts missing from a cassette are sent (so an interrupted recording
    resumes without paying twice); backend failures are counted, never a crash.
    ``progress(pipeline, total)`` may return a callback called once per prompt with
    whether it failed, so failures show as they happen. ``engine``: record with several
    workers (a cassette directory only: each worker appends under a lock); there a backend
    failure stops the run, and what was recorded stays.
    """
    from ..runners.llm_runner import build_llm_pipeline, cassette_of

    spec, targets = _llm_targets(suite_path, pipeline)
    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    examples = [e for split in splits for e in gold.iter_examples(split)]
    texts = [e.text for e in examples]
    choice = (engine or EngineChoice()).resolved(spec.engine)
    if not choice.is_local:
        return [_record_on_engine(target, examples, gold.task, mode, choice) for target in targets]
    summaries = []
    for target in targets:
        nlp = build_llm_pipeline(target.path, mode=mode)
        _, model = cassette_of(nlp)
        if concurrency is not None and hasattr(model.inner, "concurrency"):
            model.inner.concurrency = concurrency
        model.reset_log()
        model.progress = progress(target.name, len(texts)) if progress is not None else None
        started = time.perf_counter()
        try:
            for _ in nlp.pipe(texts):
                pass
        finally:
            model.progress = None
        log = model.log
        summaries.append(
            RecordSummary(
                pipeline=target.name,
                cassette=str(model.path),
                prompts=len(log.prompts),
                calls_made=log.calls_made,
                cached=log.cached,
                failed=len(log.failures),
                first_failure=log.failures[0] if log.failures else None,
                seconds=time.perf_counter() - started,
                simulated=model.simulated,
                records=len(model.cassette),
            )
        )
    return summaries


def _llm_targets(suite_path: str, pipeline: str | None) -> tuple[Any, list[PipelineSpec]]:
    """The suite and its llm pipelines (the one named ``pipeline``); none is an error."""
    spec = parse_suite(suite_path)
    targets = [p for p in spec.pipelines.values() if p.is_llm and (pipeline is None or p.name == pipeline)]
    if not targets:
        raise HarnessError(f"{suite_path}: no llm pipeline{f' named {pipeline!r}' if pipeline else ''} to record")
    return spec, targets


def _one_llm(suite_path: str, pipeline: str | None) -> Any:
    spec, targets = _llm_targets(suite_path, pipeline)
    if len(targets) != 1:
        named = f" named {pipeline!r}" if pipeline else ""
        raise HarnessError(f"{suite_path}: a batch file is for one llm pipeline{named}; found {len(targets)} (choose with --pipeline)")
    return spec, targets[0]


def record_batch_file(suite_path: str, output: str, *, splits: Sequence[str] = ("eval",), pipeline: str | None = None) -> Any:
    """Write the OpenAI Batch API input (``custom_id`` = cassette key) for every prompt of the
    suite's texts that the LLM pipeline's cassette lacks; returns a :class:`~harness.llm.batch.BatchWritten`."""
    from ..llm.batch import pending_path, request_body, write_batch
    from ..runners.llm_runner import build_llm_pipeline, cassette_of

    spec, target = _one_llm(suite_path, pipeline)
    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    nlp = build_llm_pipeline(target.path, mode="replay")  # misses are collected, nothing is called
    _, model = cassette_of(nlp)
    model.reset_log()
    for _ in nlp.pipe([e.text for split in splits for e in gold.iter_examples(split)]):
        pass
    body = request_body(model.inner_name, model.inner_config, None)
    return write_batch(model.log.missing, model.identity, body, Path(output), pending_path(model.path, model.sharded))


def import_batch_results(suite_path: str, results: str, *, pipeline: str | None = None) -> Any:
    """Put a Batch API results file's answers into the LLM pipeline's cassette; returns a
    :class:`~harness.llm.batch.BatchImported` (failed lines are left as misses)."""
    from ..llm.batch import import_batch, pending_path
    from ..runners.llm_runner import build_llm_pipeline, cassette_of

    _, target = _one_llm(suite_path, pipeline)
    _, model = cassette_of(build_llm_pipeline(target.path, mode="replay"))
    return import_batch(Path(results), model.cassette, pending_path(model.path, model.sharded), simulated=model.simulated)


def _record_on_engine(target: PipelineSpec, examples: Sequence[Any], task: str, mode: str, choice: EngineChoice) -> RecordSummary:
    """One LLM pipeline's texts answered by an engine's workers, each recording into the
    (sharded) cassette; the cassette is read again afterwards for its size."""
    from ..engines import EngineStats, InMemory, build_engine
    from ..runners.engine_work import PipelineWork
    from ..runners.llm_runner import build_llm_pipeline, cassette_of

    engine = build_engine(choice)
    stats = EngineStats(engine.name)
    started = time.perf_counter()
    answered = sum(len(rows) for rows in engine.run(PipelineWork(target, task, mode, parallel=True), InMemory(examples), stats))
    _, model = cassette_of(build_llm_pipeline(target.path, mode="replay"))
    return RecordSummary(
        pipeline=target.name,
        cassette=str(model.path),
        prompts=answered,
        calls_made=-1,  # made in the workers: not counted here
        cached=-1,
        failed=0,
        first_failure=None,
        seconds=time.perf_counter() - started,
        simulated=model.simulated,
        records=len(model.cassette),
    )
