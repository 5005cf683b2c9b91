"""``harness loop``: the whole human-in-the-loop cycle as a demo, with a simulated reviewer."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.forecast import Forecast, forecast, micro_f_replicates
from ..errors import InputError
from ..gold.store import GoldStore
from ..options import DEFAULT_DISTILL_FRACTION, DEFAULT_LOOP_PER_ROUND, DEFAULT_LOOP_ROUNDS, DEFAULT_LOOP_STEPS
from ..specs import SuiteSpec
from .apply import apply, corrected_examples, simulated_review
from .distill import distill
from .fill import fill
from .learning import FORECAST_MIN_POINTS as FORECAST_MIN_ROUNDS
from .learning import FORECAST_RESAMPLES, micro_counts
from .pool import gold_store, pool_examples, training_hashes
from .retrain import RetrainSummary, retrain, train_distilled


@dataclass(frozen=True)
class LoopRound:
    """One row of the demo loop's table, with the forecast of the corrections still needed
    to reach the LLM's F (from round 2 on: :mod:`harness.core.forecast`)."""

    round: int
    corrected: int
    distilled_f: float
    distilled_f_ci: tuple[float, float]
    llm_f: float
    words_per_second: float
    training: str
    forecast: Forecast | None = None
    # Per eval example: true positives, false positives, false negatives (the forecast's bootstrap).
    counts: np.ndarray | None = field(default=None, repr=False, compare=False)


def round_forecast(rows: list[LoopRound], target: float, seed: int) -> Forecast | None:
    """The corrections still needed to reach ``target``, fitted on the rounds so far (None:
    too few rounds, the target reached already, or rounds scored on different eval examples)."""
    counts = [r.counts for r in rows]
    if len(rows) < FORECAST_MIN_ROUNDS or rows[-1].distilled_f >= target or any(c is None or c.shape != counts[0].shape for c in counts):  # type: ignore[union-attr]
        return None
    replicates = micro_f_replicates(counts, FORECAST_RESAMPLES, seed)  # type: ignore[arg-type]
    return forecast([r.corrected for r in rows], replicates, target)


def backtest(rows: list[LoopRound], seed: int) -> list[tuple[int, float | None, float | None]]:
    """For each prefix of rounds (0-2, 0-3, ...) before the loop reached the LLM's F: (last
    round of the prefix, predicted corrections at the crossing, corrections where it happened)."""
    crossed = next((r for r in rows if r.distilled_f >= r.llm_f), None)
    out = []
    for end in range(FORECAST_MIN_ROUNDS, len(rows) + 1):
        if crossed is not None and rows[end - 1].round >= crossed.round:
            break
        predicted = round_forecast(rows[:end], rows[0].llm_f, seed)
        at = None if predicted is None or predicted.median is None else rows[end - 1].corrected + predicted.median
        out.append((rows[end - 1].round, at, float(crossed.corrected) if crossed is not None else None))
    return out


def corrected_count(version_ref: str, store: GoldStore) -> int:
    """How many corrected (reviewed) examples a training version holds."""
    return len(corrected_examples(store.resolve(version_ref)))


def held_out_distilled(spec: SuiteSpec, output: Path, max_steps: int | None) -> Path | None:
    """A distilled model trained on the corrected examples of the newest training version only
    (half the suite's steps: it only ranks the queue); None when there are too few."""
    store = gold_store(spec)
    version = store.resolve(spec.training)
    corrected = corrected_examples(version)
    if len(corrected) < 20:
        return None
    held = store.write_version(
        f"{spec.training}-held-out",
        corrected,
        task=version.task,
        source={"held_out_from": version.ref},
        notes=f"loop: the {len(corrected)} corrected examples of {version.ref}, no silver",
        eval_fraction=0.0,
        seed=0,
        lang=str(version.manifest.get("lang", "en")),
    )
    return train_distilled(spec.require_distilled(), held, output, max_steps, step_share=0.5).output


#: Written into the loop's scratch directory: only a directory holding it is ever cleared.
WORKDIR_MARKER = ".harness-loop-workdir"


def _fresh_workdir(workdir: Path) -> Path:
    """An empty scratch directory: a previous loop's is cleared, anything else is refused
    (never delete what the harness did not create)."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / WORKDIR_MARKER).is_file():
            raise InputError("is not empty and was not made by `harness loop`; refusing to clear it (choose another --workdir)", path=workdir)
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / WORKDIR_MARKER).write_text("scratch directory of `harness loop`; cleared by the next run\n")
    return workdir


def _scratch_copy(spec: SuiteSpec, workdir: Path) -> SuiteSpec:
    """The suite on a copy of its gold (and pool) datasets under ``workdir``."""
    scratch_gold = workdir / "gold"
    datasets = {spec.gold.name} | ({spec.pool[0].name} if spec.pool else set())
    for name in datasets:
        shutil.copytree(spec.gold_dir / name, scratch_gold / name)
    return dataclasses.replace(spec, gold_dir=scratch_gold.resolve())


def _fill_round(scratch: SuiteSpec, reports: Path, model: Path, per_round: int, held_out_path: Path, max_steps: int | None) -> None:
    """Queue ``per_round`` pool texts: unseen ones ranked by the round's model first, then,
    once those are used up, the rest ranked by a held-out model."""
    filled = fill(scratch, reports_dir=reports, limit=per_round, distilled_path=str(model), skip_trained=True)
    if filled.queued >= per_round:
        return
    # The unseen part of the pool is used up. The round's model was trained on the
    # remaining silver texts and reproduces their labels, right or wrong, so the
    # rest of the pool is ranked with a held-out distilled model that never saw them.
    # Unseen texts the model and the LLM agreed on were never queued; they join
    # the training data as silver (corrections kept) instead of being left out.
    if {e.input_hash for e in pool_examples(scratch)} - training_hashes(scratch):
        distill(scratch, pool_fraction=1.0)
    held_out = held_out_distilled(scratch, held_out_path, max_steps)
    if held_out is not None:
        fill(scratch, reports_dir=reports, limit=per_round - filled.queued, distilled_path=str(held_out))


def loop(
    spec: SuiteSpec,
    *,
    rounds: int = DEFAULT_LOOP_ROUNDS,
    per_round: int = DEFAULT_LOOP_PER_ROUND,
    workdir: str | Path = "build/loop",
    max_steps: int | None = DEFAULT_LOOP_STEPS,
    on_round: Callable[[LoopRound], None] | None = None,
    distill_fraction: float = DEFAULT_DISTILL_FRACTION,
) -> list[LoopRound]:
    """The demo loop on a scratch copy of the gold: distil from the (simulated) LLM's
    annotations of part of the pool -> evaluate -> fill the queue from the rest ->
    the simulated reviewer applies the pool's real gold labels -> apply -> retrain
    -> evaluate, ``rounds`` times. Once the unseen texts are used up, the rest of
    the pool is ranked with a held-out distilled model trained on the corrections only."""
    workdir = _fresh_workdir(Path(workdir))
    scratch = _scratch_copy(spec, workdir)
    reports = workdir / "reports"
    store = gold_store(scratch)
    rows: list[LoopRound] = []

    def record_round(number: int, summary: RetrainSummary, llm_f: float) -> None:
        row = LoopRound(
            number,
            corrected_count(summary.training, store),
            summary.result.scores.micro.f,
            summary.result.scores.micro.f_ci,
            llm_f,
            summary.result.words_per_second,
            summary.training,
            counts=micro_counts(summary.result),
        )
        row = dataclasses.replace(row, forecast=round_forecast([*rows, row], llm_f, scratch.seed))
        rows.append(row)
        if on_round is not None:
            on_round(row)

    distill(scratch, pool_fraction=distill_fraction)
    first = retrain(scratch, output=workdir / "models" / "round-0", max_steps=max_steps, reports_dir=reports)
    assert first.llm is not None
    llm_f = first.llm.scores.micro.f
    record_round(0, first, llm_f)
    model = first.model
    for number in range(1, rounds + 1):
        _fill_round(scratch, reports, model, per_round, workdir / "models" / f"round-{number}-held-out", max_steps)
        simulated_review(scratch, reports_dir=reports)
        apply(scratch, reports_dir=reports)
        summary = retrain(scratch, output=workdir / "models" / f"round-{number}", max_steps=max_steps, evaluate_llm=False, reports_dir=reports)
        record_round(number, summary, llm_f)
        model = summary.model
    return rows
