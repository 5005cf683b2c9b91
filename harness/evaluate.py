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
    llm_mode: str | None = None,
) -> PipelineResult:
    """Run ``spec`` on ``gold``'s eval split and score it (strict + overlap, or threshold).

    ``spec.kind`` picks the runner: ``spacy`` (a pipeline directory or package),
    ``llm`` (a spacy-llm config, replayed from its cassette unless ``llm_mode``
    says otherwise) or ``predictions`` (an imported JSONL).
    """
    examples = list(gold.iter_examples("eval"))
    texts = [e.text for e in examples]
    llm = None
    missing = 0
    n_params: int | None = None
    training: dict = {}
    if spec.kind == "spacy":
        from .runners.spacy_pipeline import run_spacy_pipeline

        run = run_spacy_pipeline(spec.path, texts, task=gold.task, latency_docs=spec.latency_docs, batch_size=spec.batch_size)
        predictions, speed, size, size_source, path = run.predictions, run.speed, run.size_bytes, "disk", run.path
        n_params = run.n_params
        training = dict(run.meta.get("harness", {}))
    elif spec.kind == "llm":
        from .runners.llm_pipeline import run_llm_pipeline

        run, llm = run_llm_pipeline(spec.path, texts, task=gold.task, mode=llm_mode, prices=spec.prices,
                                    latency_docs=spec.latency_docs, batch_size=spec.batch_size,
                                    declared_size=spec.declared_size)
        predictions, speed, path = run.predictions, run.speed, run.path
        size, size_source = (spec.declared_size, "declared") if spec.declared_size else (0, "unknown")
    elif spec.kind == "predictions":
        from .runners.predictions import NO_SPEED, predict_from_file

        predictions, missing = predict_from_file(spec.path, examples, key=spec.key, task=gold.task)  # type: ignore[assignment]
        speed, size, size_source, path = NO_SPEED, 0, "unknown", spec.path
    else:  # pragma: no cover - suites reject unknown kinds
        raise ValueError(spec.kind)
    labels = eval_labels(gold)
    n = len(examples)
    if gold.task == "ner":
        counts = count_spans((e.spans for e in examples), (p.spans for p in predictions), labels)
        per_label = counts.strict
        scores = score_table(counts.strict, n, variant="strict", resamples=resamples, seed=seed)
        overlap = score_table(counts.overlap, n, variant="overlap", resamples=resamples, seed=seed)
        auc = None
    else:
        cat_counts = count_cats(
            (e.cats or {} for e in examples), (p.cats or {} for p in predictions), labels,
            multi_label=gold.task == "textcat_multilabel", threshold=threshold,
        )
        per_label = cat_counts.per_label
        scores = score_table(cat_counts.per_label, n, variant="threshold", resamples=resamples, seed=seed,
                             extras={"threshold": threshold})
        overlap = None
        auc = macro_auc(cat_counts.auc_pairs)
    return PipelineResult(
        name=spec.name,
        kind=spec.kind,
        path=path,
        task=gold.task,
        scores=scores,
        overlap=overlap,
        macro_auc=auc,
        speed=speed,
        size_bytes=size,
        n_params=n_params,
        train_examples=training.get("train_examples") if spec.kind == "spacy" else (0 if spec.kind == "llm" else None),
        eval_examples=n,
        example_ids=tuple(e.input_hash for e in examples),
        training=training,
        size_source=size_source,
        llm=llm,
        missing_predictions=missing,
        counts=per_label,
        outputs=tuple(p.spans if gold.task == "ner" else dict(p.cats or {}) for p in predictions),
    )
