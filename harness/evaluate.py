"""Evaluate one pipeline on a gold version's eval split: predictions -> metrics -> result."""

from __future__ import annotations

from .gold import GoldVersion
from .metrics import count_cats, count_spans, macro_auc, score_table
from .results import GoldInfo, PipelineResult
from .suites import PipelineSpec


def gold_info(gold: GoldVersion) -> GoldInfo:
    """The identity of the gold a result is computed on."""
    return GoldInfo(gold.name, gold.version, gold.sha256, gold.task, gold.split_size("train"), gold.split_size("eval"))


def eval_labels(gold: GoldVersion) -> list[str]:
    """Labels scored for this gold: every label of the version (zero-support ones too)."""
    return gold.labels


def evaluate_pipeline(
    gold: GoldVersion,
    spec: PipelineSpec,
    *,
    resamples: int = 1000,
    seed: int = 0,
    threshold: float = 0.5,
) -> PipelineResult:
    """Run ``spec`` on ``gold``'s eval split and score it (strict + overlap, or threshold)."""
    from .runners.spacy_pipeline import run_spacy_pipeline

    examples = list(gold.iter_examples("eval"))
    texts = [e.text for e in examples]
    run = run_spacy_pipeline(spec.path, texts, task=gold.task, latency_docs=spec.latency_docs, batch_size=spec.batch_size)
    labels = eval_labels(gold)
    n = len(examples)
    if gold.task == "ner":
        counts = count_spans((e.spans for e in examples), (p.spans for p in run.predictions), labels)
        scores = score_table(counts.strict, n, variant="strict", resamples=resamples, seed=seed)
        overlap = score_table(counts.overlap, n, variant="overlap", resamples=resamples, seed=seed)
        auc = None
    else:
        cat_counts = count_cats(
            (e.cats or {} for e in examples), (p.cats or {} for p in run.predictions), labels,
            multi_label=gold.task == "textcat_multilabel", threshold=threshold,
        )
        scores = score_table(cat_counts.per_label, n, variant="threshold", resamples=resamples, seed=seed,
                             extras={"threshold": threshold})
        overlap = None
        auc = macro_auc(cat_counts.auc_pairs)
    training = dict(run.meta.get("harness", {}))
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
        train_examples=training.get("train_examples"),
        eval_examples=n,
        example_ids=tuple(e.input_hash for e in examples),
        training=training,
    )
