"""Replicates: the blessed pipeline retrained with other seeds, to measure training noise.

``harness bless --replicates N`` trains the pipeline N more times from the same
gold, config, steps and checkpoint with seeds ``seed + 1 .. seed + N``, evaluates
each on the eval split and keeps their predictions in the baseline
(:func:`harness.baselines.replicates_entry`), so that a later run is judged against
what the configuration produces, not against one lucky or unlucky model
(:mod:`harness.core.noise`).

Replicates train side by side in worker processes (one model load and one core
each). They live under ``<models>/.replicates/<model>-seed<k>``: directories this
module creates, whose harness record lets an unchanged replicate be reused.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .baselines import Replicate, configuration
from .errors import HarnessError
from .evaluate import evaluate_pipeline
from .gold.store import GoldStore
from .runners.registry import kind_of
from .specs import PipelineSpec
from .training import default_config, train

REPLICATES_DIRNAME = ".replicates"


@dataclass(frozen=True)
class ReplicateJob:
    """What one worker trains and evaluates (picklable: plain values only)."""

    gold_dir: str
    gold_ref: str
    pipeline: str
    output: str
    config: str | None
    max_steps: int | None
    seed: int
    checkpoint: str
    threshold: float


def replicate_seeds(seed: int, n: int) -> list[int]:
    """The seeds of ``n`` replicates of a model trained with ``seed``."""
    return [seed + k for k in range(1, n + 1)]


def replicate_path(model_path: str | Path, seed: int) -> Path:
    """Where the replicate of ``model_path`` with ``seed`` is trained."""
    model = Path(model_path)
    return model.parent / REPLICATES_DIRNAME / f"{model.name}-seed{seed}"


def can_replicate(spec: PipelineSpec) -> bool:
    """Only a trainable pipeline (a spaCy one) with a ``train`` table can be retrained by the harness."""
    return kind_of(spec.kind).trainable and spec.train is not None


def jobs_for(spec: PipelineSpec, *, gold_dir: str | Path, gold_ref: str, n: int, threshold: float) -> list[ReplicateJob]:
    """One job per replicate of a trainable pipeline."""
    if spec.train is None:
        raise HarnessError(f"pipeline {spec.name} has no [train] table: the harness cannot retrain it")
    train = spec.train
    return [
        ReplicateJob(
            str(gold_dir),
            gold_ref,
            spec.name,
            str(replicate_path(spec.path, seed)),
            str(train.config) if train.config else None,
            train.max_steps,
            seed,
            train.checkpoint,
            threshold,
        )
        for seed in replicate_seeds(train.seed, n)
    ]


def expected_configuration(spec: PipelineSpec, gold_sha256: str, task: str) -> dict[str, object]:
    """The configuration (see :func:`harness.baselines.configuration`) a model trained from
    ``spec``'s train table has: checked before any replicate is trained."""
    import hashlib

    assert spec.train is not None
    config = spec.train.config or default_config(task)
    try:
        text = Path(config).read_text(encoding="utf-8")
    except OSError as err:
        raise HarnessError(f"cannot read training config {config}: {err}") from None
    return {
        "gold_sha256": gold_sha256,
        "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "max_steps": spec.train.max_steps,
        "checkpoint": spec.train.checkpoint,
    }


def run_job(job: ReplicateJob) -> Replicate:
    """Train (or reuse) one replicate and predict the eval split with it (in a worker process)."""

    gold = GoldStore(job.gold_dir).resolve(job.gold_ref, verify=False)  # verified by the parent
    train(gold, job.output, config=job.config, max_steps=job.max_steps, seed=job.seed, checkpoint=job.checkpoint)
    spec = PipelineSpec(name=f"{job.pipeline}-seed{job.seed}", kind="spacy", path=job.output, latency_docs=0)
    result = evaluate_pipeline(gold, spec, resamples=1, seed=0, threshold=job.threshold)
    if not configuration(result.identity):
        raise HarnessError(f"replicate {job.output} has no harness training record")
    return Replicate(
        job.seed,
        str(result.identity.get("sha256", "")),
        result.example_ids,
        result.outputs,
        result.scores.micro.f,
        configuration=configuration(result.identity),
    )


def run_jobs(jobs: Sequence[ReplicateJob], *, workers: int | None = None, on_done: Callable[[Replicate], None] | None = None) -> list[Replicate]:
    """Run ``jobs`` on ``workers`` processes (default: one per available core), in seed order.

    Workers are spawned, not forked: a fresh interpreter per worker, whatever
    threads the parent runs (rich's live display, polars)."""
    if not jobs:
        return []
    workers = max(1, min(len(jobs), workers or len(os.sched_getaffinity(0))))
    done: list[Replicate] = []
    if workers == 1:
        for job in jobs:
            done.append(run_job(job))
            if on_done is not None:
                on_done(done[-1])
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run_job, job) for job in jobs]
            for future in as_completed(futures):
                done.append(future.result())
                if on_done is not None:
                    on_done(done[-1])
    return sorted(done, key=lambda r: r.seed)


def check_configuration(
    blessed: Mapping[str, object], replicates: Sequence[Mapping[str, object]], *, pipeline: str, model_path: str, suite_file: str | Path
) -> None:
    """The replicates (their configurations, or the one they will be trained from) must share
    the blessed model's configuration (all but the seed), or their spread is not the noise
    of that model's training."""
    for trained_from in replicates:
        if dict(trained_from) != dict(blessed):
            differs = sorted(k for k in set(blessed) | set(trained_from) if blessed.get(k) != trained_from.get(k))
            raise HarnessError(
                f"{model_path} was not trained from the [train] table of {suite_file} for pipeline {pipeline} "
                f"(differs in {', '.join(differs) or 'its training record'}): retrain it with `harness train --suite "
                f"{suite_file}` before blessing replicates, or bless with --replicates 0"
            )


def replicate_pipeline(
    spec: PipelineSpec,
    blessed: Mapping[str, object],
    *,
    n: int,
    gold_dir: str | Path,
    gold_ref: str,
    gold_sha256: str,
    task: str,
    threshold: float,
    suite_file: str | Path,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Replicate]:
    """``n`` replicates of ``spec``, whose blessed model has configuration ``blessed``: refused
    before any training when the train table would give another configuration, checked again
    on what was trained. ``progress(pipeline, done, total)`` follows them."""
    jobs = jobs_for(spec, gold_dir=gold_dir, gold_ref=gold_ref, n=n, threshold=threshold)
    if not jobs:
        return []
    check_configuration(
        blessed, [expected_configuration(spec, gold_sha256, task)], pipeline=spec.name, model_path=spec.path, suite_file=suite_file
    )
    done = 0

    def finished(_: Replicate) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(spec.name, done, len(jobs))

    if progress is not None:
        progress(spec.name, 0, len(jobs))
    made = run_jobs(jobs, workers=workers, on_done=finished)
    check_configuration(blessed, [r.configuration for r in made], pipeline=spec.name, model_path=spec.path, suite_file=suite_file)
    return made
