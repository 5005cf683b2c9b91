"""``harness retrain``: a new distilled model from the newest training version, evaluated."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.gates import THRESHOLD_GATES, LabelFGate
from ..core.noise import regression_tests
from ..core.results import PipelineResult
from ..evaluate import evaluate_pipeline
from ..gold.store import GoldVersion
from ..io import atomic
from ..io.model_meta import RECORD_KEY, read_meta, write_meta
from ..options import CONFIDENCE
from ..specs import PipelineSpec, SuiteSpec
from ..suites import build_gates
from ..training import check_replaceable, train
from .apply import corrected_examples
from .learning import record_point
from .pool import gold_store


def train_distilled(distilled: PipelineSpec, version: GoldVersion, output: Path, max_steps: int | None, *, step_share: float = 1.0) -> Any:
    """Train ``distilled`` on ``version`` with the suite's training settings (config, steps,
    seed); ``max_steps`` overrides the steps, ``step_share`` scales them."""

    settings = distilled.train
    steps = max_steps if max_steps is not None else (settings.max_steps if settings else None)
    if steps is not None:
        steps = max(int(steps * step_share), 1)
    return train(
        version,
        output,
        config=settings.config if settings else None,
        max_steps=steps,
        seed=settings.seed if settings else 0,
        checkpoint=settings.checkpoint if settings else "best",
    )


@dataclass(frozen=True)
class RetrainSummary:
    """The new model, the training version it learnt from, its (and the LLM's) results."""

    model: Path
    training: str
    result: PipelineResult
    promoted: bool
    llm: PipelineResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    refused: str | None = None  # why --promote did not install it (worse than the current model, gates fail)


def promotion_refusal(
    spec: SuiteSpec, distilled: PipelineSpec, labels: list[str], new: PipelineResult, current: PipelineResult | None
) -> str | None:
    """Why ``new`` must not replace the suite's current model, or None: a threshold gate of the
    suite (f_min, label_f_min, size, ...) fails, or its micro F is significantly below the
    current model's (paired, eval-sample noise, one-sided 95%) by more than the suite's
    no_regression max_drop (0 without one)."""

    reasons = []
    for gate in build_gates(spec, labels):
        if gate.pipeline == distilled.name and (type(gate) in THRESHOLD_GATES.values() or isinstance(gate, LabelFGate)):
            verdict = gate.judge(new)
            if not verdict.passed:
                reasons.append(verdict.message)
    if current is not None and current.example_ids == new.example_ids:
        table = spec.gate_tables.get(distilled.name)
        max_drop = float(table.no_regression.max_drop) if table is not None and table.no_regression else 0.0
        micro = regression_tests(
            new.counts, [current.counts], len(new.example_ids), resamples=spec.resamples, seed=spec.seed, confidence=CONFIDENCE
        )[0]
        if micro.diff < -max_drop and micro.p_value < 1 - CONFIDENCE:
            reasons.append(
                f"micro F {micro.current_f:.3f} vs the current model's {micro.reference_f:.3f} "
                f"({micro.diff:+.3f}, 95% CI [{micro.ci[0]:+.3f}, {micro.ci[1]:+.3f}], p {micro.p_value:.2g}): "
                f"worse beyond eval-sample noise"
            )
    return "; ".join(reasons) or None


def retrain(
    spec: SuiteSpec,
    *,
    pipeline: str | None = None,
    output: str | Path | None = None,
    promote: bool = False,
    max_steps: int | None = None,
    evaluate_llm: bool = True,
    resamples: int | None = None,
    force: bool = False,
    reports_dir: str | Path | None = None,
) -> RetrainSummary:
    """Train the distilled pipeline on the newest training version, evaluate it on the
    suite's gold eval split, record the scores in its meta (and, given ``reports_dir``, as a
    point of the suite's learning curve: :mod:`harness.loop.learning`); ``promote`` installs it
    as the suite's distilled model, unless :func:`promotion_refusal` says it is worse
    (``force`` installs it all the same)."""

    if promote:  # before training: the suite's model path may point anywhere
        check_replaceable(Path((spec.pipelines[pipeline] if pipeline else spec.require_distilled()).path))
    store = gold_store(spec)
    distilled = spec.pipelines[pipeline] if pipeline else spec.require_distilled()
    version = store.resolve(spec.training) if store.version_numbers(spec.training) else store.resolve(spec.gold)
    out = Path(output) if output else Path(distilled.path).parent / f"{spec.name}-{distilled.name}-{version.name}-v{version.version}"
    trained = train_distilled(distilled, version, out, max_steps)
    gold = store.resolve(spec.gold)
    n = resamples if resamples is not None else spec.resamples
    result = evaluate_pipeline(
        gold, dataclasses.replace(distilled, path=str(trained.output)), resamples=n, seed=spec.seed, threshold=spec.threshold
    )
    meta = read_meta(trained.output)
    meta[RECORD_KEY]["eval"] = {
        "gold": gold.ref,
        "gold_sha256": gold.sha256,
        "micro_f": result.scores.micro.f,
        "micro_f_ci": list(result.scores.micro.f_ci),
        "macro_f": result.scores.macro_f,
    }
    write_meta(trained.output, meta)
    llm_result = None
    if evaluate_llm and any(p.is_llm for p in spec.pipelines.values()):
        llm_result = evaluate_pipeline(gold, spec.require_llm(), resamples=n, seed=spec.seed, threshold=spec.threshold)
    if reports_dir is not None:
        llm_f = llm_result.scores.micro.f if llm_result is not None else None
        record_point(reports_dir, spec.name, version.ref, len(corrected_examples(version)), result, llm_f, gold.sha256)
    refused = None
    if promote and not force:
        target = Path(distilled.path)
        current = None
        if target.is_dir() and any(target.iterdir()):
            current = evaluate_pipeline(gold, distilled, resamples=n, seed=spec.seed, threshold=spec.threshold)
        refused = promotion_refusal(spec, distilled, gold.labels, result, current)
        promote = refused is None
    if promote:
        target = Path(distilled.path)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.promote.", dir=target.parent))
        shutil.copytree(trained.output, staging, dirs_exist_ok=True)
        shutil.copystat(trained.output, staging)  # mkdtemp's private mode must not reach the promoted model
        atomic.replace_directory(staging, target)
    return RetrainSummary(trained.output, version.ref, result, promote, llm_result, refused=refused)
