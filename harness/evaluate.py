"""Evaluate one pipeline on a gold version's eval split: runner -> counts -> scores -> result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .core.metrics import Counts, ScoreTable
from .core.results import EvalExample, GoldInfo, Output, PipelineResult
from .core.tasks import task_of
from .errors import InputError, PipelineError
from .options import DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_THRESHOLD, EngineChoice
from .runners import RunOutput, get_runner
from .runners.engine_work import run_on_engine, runs_on_engines
from .runners.spacy_scoring import macro_auc

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .gold.records import GoldExample
    from .gold.store import GoldVersion
    from .specs import PipelineSpec


def gold_info(gold: GoldVersion) -> GoldInfo:
    """The identity of the gold a result is computed on."""
    return GoldInfo(gold.name, gold.version, gold.sha256, gold.task, gold.split_size("train"), gold.split_size("eval"))


def score_outputs(
    task: str,
    examples: Sequence[GoldExample],
    outputs: Sequence[Output],
    labels: Sequence[str],
    *,
    resamples: int,
    seed: int,
    threshold: float,
) -> tuple[ScoreTable, ScoreTable | None, float | None, Mapping[str, Counts]]:
    """(strict or threshold scores, overlap scores, macro ROC-AUC, per-label counts) of
    ``outputs`` against the examples' gold."""
    kind = task_of(task)
    scored = kind.scores([kind.gold_output(e) for e in examples], outputs, labels, resamples=resamples, seed=seed, threshold=threshold)
    auc = macro_auc(scored.auc_pairs) if scored.auc_pairs is not None else None
    return scored.headline, scored.overlap, auc, scored.counts


def eval_views(task: str, examples: Sequence[GoldExample]) -> tuple[EvalExample, ...]:
    """The eval examples as reports show them (text, id, gold annotation)."""
    kind = task_of(task)
    return tuple(EvalExample(e.input_hash, e.text, kind.gold_output(e)) for e in examples)


def count_outputs(
    task: str, examples: Sequence[GoldExample], outputs: Sequence[Output], labels: Sequence[str], *, threshold: float
) -> Mapping[str, Counts]:
    """Per-label counts (strict spans, or thresholded cats) of ``outputs`` against the
    examples' gold: the counts behind the headline scores, without intervals."""
    kind = task_of(task)
    return kind.count([kind.gold_output(e) for e in examples], outputs, labels, threshold=threshold)


def evaluate_pipeline(
    gold: GoldVersion,
    spec: PipelineSpec,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    threshold: float = DEFAULT_THRESHOLD,
    llm_mode: str | None = None,
    examples: Sequence[GoldExample] | None = None,
    engine: EngineChoice | None = None,
) -> PipelineResult:
    """Run ``spec`` on ``gold``'s eval split with its kind's runner and score it.

    ``examples`` is the eval split when the caller has read it already. ``engine``: map a
    spaCy pipeline over the split on that engine (every core, a Ray cluster); the scores
    are the same on every engine, the speed is the engine's throughput. Every gold
    label is scored, zero-support ones too: a label the model never
    predicts and the split never contains still shows up (as 0) in the table.
    """
    examples = list(examples) if examples is not None else list(gold.iter_examples("eval"))
    if not examples:
        raise InputError(
            f"gold {gold.ref} has an empty eval split: there is nothing to evaluate, and no gate can pass "
            "on missing data (import with --eval-fraction > 0 or --eval FILE)"
        )
    run = _run(spec, examples, gold.task, llm_mode, engine)
    warnings = _label_warnings(spec.name, run.model_labels, gold.labels)
    train_examples = run.train_examples
    trained_on = run.training.get("gold")
    if trained_on and trained_on != gold.name:
        # The model's training count belongs to another gold: do not show it as this one's.
        warnings.append(f"{spec.name} was trained on {trained_on}@v{run.training.get('gold_version')}, not on {gold.name}")
        train_examples = None
    outputs = run.outputs(gold.task)
    scores, overlap, auc, counts = score_outputs(gold.task, examples, outputs, gold.labels, resamples=resamples, seed=seed, threshold=threshold)
    return PipelineResult(
        name=spec.name,
        kind=spec.kind,
        path=run.path,
        task=gold.task,
        scores=scores,
        overlap=overlap,
        macro_auc=auc,
        speed=run.speed,
        size_bytes=run.size_bytes,
        n_params=run.n_params,
        train_examples=train_examples,
        eval_examples=len(examples),
        example_ids=tuple(e.input_hash for e in examples),
        training=run.training,
        size_source=run.size_source,
        llm=run.llm,
        missing_predictions=run.missing,
        counts=counts,
        outputs=tuple(outputs),
        unanswered=run.unanswered,
        warnings=tuple(warnings),
        identity=run.identity,
    )


def _run(spec: PipelineSpec, examples: Sequence[GoldExample], task: str, llm_mode: str | None, engine: EngineChoice | None) -> RunOutput:
    """The kind's runner, or an engine for a spaCy pipeline when one is chosen."""
    if engine is not None and not engine.is_local and runs_on_engines(spec):
        return run_on_engine(spec, examples, task=task, choice=engine)
    return get_runner(spec.kind).run(spec, examples, task=task, llm_mode=llm_mode)


def _label_warnings(name: str, predicted: Sequence[str] | None, gold: Sequence[str]) -> list[str]:
    """A model that cannot predict the gold's labels fails; one that lacks some is flagged."""
    if predicted is None:
        return []
    common = set(predicted) & set(gold)
    if gold and not common:
        raise PipelineError(
            f"pipeline {name} predicts labels {', '.join(sorted(predicted))}; the gold has "
            f"{', '.join(sorted(gold))}: none in common (a model for another dataset?)"
        )
    missing = sorted(set(gold) - set(predicted))
    extra = sorted(set(predicted) - set(gold))
    out = []
    if missing:
        out.append(f"{name} cannot predict gold label(s) {', '.join(missing)}: they score 0")
    if extra:
        out.append(f"{name} predicts label(s) the gold does not have: {', '.join(extra)} (all false positives)")
    return out
