"""The current run of a pipeline against its blessed baseline (pure: no files, no spaCy).

A baseline keeps each eval example's prediction, so the comparison is paired,
example by example, without the old model: both prediction sets are counted on
the examples whose gold did not change, and the paired bootstrap that judges
"distilled vs LLM" judges "current vs baseline" too.

Flips come straight from the counts that keep their examples: on a label, an
example is *wrong* when it holds a false positive or a false negative of that
label. Newly broken = wrong now and not in the baseline; newly fixed = the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..options import CONFIDENCE
from .compare import paired_differences
from .metrics import Counts, precision_recall_f
from .noise import regression_tests
from .results import BaselineComparison, Comparison, Difference, Flip, Output, PipelineResult, RegressionTest
from .tasks import task_of

#: Counts per label of ``outputs`` against the gold of ``positions`` (the caller's scorer).
CountFunction = Callable[[Sequence[int], Sequence[Output]], Mapping[str, Counts]]


@dataclass(frozen=True)
class BaselineEntry:
    """What a baseline file holds for one pipeline (see :mod:`harness.baselines`)."""

    identity: Mapping[str, Any]
    predictions: Mapping[int, Output]  # input hash -> prediction
    words_per_second: float | None
    size_bytes: int | None
    machine: str
    # Seed -> predictions of models retrained from the same data and config with other
    # seeds (``harness bless --replicates N``); empty in older baselines and for
    # pipelines the harness cannot retrain.
    replicates: Mapping[int, Mapping[int, Output]] = field(default_factory=dict)


@dataclass(frozen=True)
class BaselineContext:
    """The baseline file's suite-wide part: where it is, when and on which gold it was blessed."""

    file: str
    blessed: str
    gold_ref: str
    gold_sha256: str
    gold_digests: Mapping[int, str]  # input hash -> annotation digest in the baseline's gold


def _wrong(counts: Mapping[str, Counts]) -> dict[str, set[int]]:
    return {label: set(c.fp) | set(c.fn) for label, c in counts.items()}


def _label_view(task: str, value: Output | None, label: str) -> Output:
    """What a flip shows of an annotation: the label's spans (NER), or all scores (textcat)."""
    return task_of(task).label_view(value, label)


def _comparable(
    current: PipelineResult, baseline: BaselineEntry, context: BaselineContext, gold_digests: Sequence[str]
) -> tuple[list[int], int, int]:
    """(positions comparable with the baseline, how many had changed gold, how many it lacks)."""
    compared: list[int] = []
    changed = unseen = 0
    for position, input_hash in enumerate(current.example_ids):
        recorded = context.gold_digests.get(input_hash)
        if recorded is None or input_hash not in baseline.predictions:
            unseen += 1
        elif recorded != gold_digests[position]:
            changed += 1
        else:
            compared.append(position)
    return compared, changed, unseen


def _ratios(current: PipelineResult, baseline: BaselineEntry) -> tuple[float | None, float | None]:
    """(words/second now over then, size now over then), None where one is unknown."""
    wps, base_wps = current.words_per_second, baseline.words_per_second
    speed_ratio = wps / base_wps if base_wps and wps == wps and base_wps == base_wps else None
    size_ratio = (current.size_bytes / baseline.size_bytes) if current.size_bytes and baseline.size_bytes else None
    return speed_ratio, size_ratio


def _replicate_counts(baseline: BaselineEntry, hashes: Sequence[int], compared: list[int], count: CountFunction) -> list[Mapping[str, Counts]]:
    """The counts of every replicate that has a prediction for each compared example (one made
    on another eval split cannot be paired): with the blessed model, the blessed configuration."""
    return [count(compared, [preds[h] for h in hashes]) for _, preds in sorted(baseline.replicates.items()) if all(h in preds for h in hashes)]


def _outline(
    current: PipelineResult, baseline: BaselineEntry, context: BaselineContext, machine: str, *, compared: int, changed: int, unseen: int
) -> BaselineComparison:
    """What the comparison says whatever its outcome (filled in by the caller)."""
    identical_model = bool(current.identity.get("sha256")) and current.identity.get("sha256") == baseline.identity.get("sha256")
    return BaselineComparison(
        pipeline=current.name,
        baseline_file=context.file,
        blessed=context.blessed,
        baseline_gold=context.gold_ref,
        compared=compared,
        eval_examples=len(current.example_ids),
        changed=changed,
        unseen=unseen,
        identical_model=identical_model,
        baseline_words_per_second=baseline.words_per_second,
        baseline_size_bytes=baseline.size_bytes,
        same_machine=bool(machine) and machine == baseline.machine,
        comparison=None,
        identical_predictions=False,
        differing_predictions=0,
        flips=(),
    )


def compare_with_baseline(
    current: PipelineResult,
    baseline: BaselineEntry,
    context: BaselineContext,
    *,
    texts: Sequence[str],
    gold: Sequence[Output],
    gold_digests: Sequence[str],
    count: CountFunction,
    machine: str,
    min_coverage: float,
    resamples: int,
    seed: int,
) -> BaselineComparison:
    """Pair ``current`` with ``baseline`` on the examples whose gold is unchanged.

    ``texts``, ``gold`` and ``gold_digests`` follow ``current.example_ids``; ``count``
    scores predictions for a subset of those positions. Fewer comparable examples than
    ``min_coverage`` of the eval split sets ``problem`` (the gate refuses to judge).
    """
    compared, changed, unseen = _comparable(current, baseline, context, gold_digests)
    n = len(current.example_ids)
    common = _outline(current, baseline, context, machine, compared=len(compared), changed=changed, unseen=unseen)
    if not compared or len(compared) < min_coverage * n:
        problem = (
            f"baseline comparable on {len(compared)} of {n} eval examples ({changed} with changed gold, "
            f"{unseen} not in the baseline), under the {min_coverage:.0%} required: bless a new baseline "
            f"for gold {context.gold_ref if context.gold_sha256 else '?'} -> current"
        )
        return replace(common, problem=problem)
    mine = [current.outputs[i] for i in compared]
    theirs = [baseline.predictions[current.example_ids[i]] for i in compared]
    differing = sum(1 for a, b in zip(mine, theirs, strict=True) if _normal(a) != _normal(b))
    now_counts, base_counts = count(compared, mine), count(compared, theirs)
    if differing == 0:
        # The same predictions: every resample's difference is exactly 0, no need to draw them.
        micro, macro, labels = _no_difference(now_counts)
    else:
        micro, macro, labels = paired_differences(now_counts, base_counts, len(compared), resamples=resamples, seed=seed)
    speed_ratio, size_ratio = _ratios(current, baseline)
    comparison = Comparison(current.name, "baseline", micro, macro, labels, speed_ratio, size_ratio, resamples, seed)
    flips = _flips(current.task, compared, current.example_ids, texts, gold, mine, theirs, now_counts, base_counts)
    replicates = _replicate_counts(baseline, [current.example_ids[i] for i in compared], compared, count)
    tests: tuple[RegressionTest, ...] = ()
    if differing or replicates:
        tests = regression_tests(now_counts, [base_counts, *replicates], len(compared), resamples=resamples, seed=seed, confidence=CONFIDENCE)
    return replace(
        common,
        comparison=comparison,
        identical_predictions=differing == 0,
        differing_predictions=differing,
        flips=flips,
        tests=tests,
        replicates=len(replicates),
    )


def _no_difference(counts: Mapping[str, Counts]) -> tuple[Difference, Difference, tuple[Difference, ...]]:
    """Micro, macro and per-label differences of a pipeline with itself (0, CI [0, 0])."""
    labels = tuple(Difference(label, c.prf[2], c.prf[2], 0.0, (0.0, 0.0)) for label, c in sorted(counts.items()))
    tp = sum(len(c.tp) for c in counts.values())
    fp = sum(len(c.fp) for c in counts.values())
    fn = sum(len(c.fn) for c in counts.values())
    micro_f = precision_recall_f(tp, fp, fn)[2]
    macro_f = sum(d.a_f for d in labels) / (len(labels) + 1e-100)
    return (Difference("micro", micro_f, micro_f, 0.0, (0.0, 0.0)), Difference("macro", macro_f, macro_f, 0.0, (0.0, 0.0)), labels)


def _normal(value: Output) -> Any:
    if isinstance(value, dict):
        return sorted((k, round(float(v), 6)) for k, v in value.items())
    return sorted(tuple(s) for s in value)


def _flips(
    task: str,
    compared: Sequence[int],
    example_ids: Sequence[int],
    texts: Sequence[str],
    gold: Sequence[Output],
    mine: Sequence[Output],
    theirs: Sequence[Output],
    now_counts: Mapping[str, Counts],
    base_counts: Mapping[str, Counts],
) -> tuple[Flip, ...]:
    """Per label, the examples that went right -> wrong (broken) and wrong -> right (fixed)."""
    now_wrong, base_wrong = _wrong(now_counts), _wrong(base_counts)
    flips = []
    for label in sorted(set(now_wrong) | set(base_wrong)):
        now_l, base_l = now_wrong.get(label, set()), base_wrong.get(label, set())
        for local in sorted(now_l ^ base_l):  # positions within ``compared``
            position = compared[local]
            flips.append(
                Flip(
                    label,
                    example_ids[position],
                    local in now_l,
                    texts[position],
                    _label_view(task, gold[position], label),
                    _label_view(task, theirs[local], label),
                    _label_view(task, mine[local], label),
                )
            )
    # Broken first (what a release reviewer reads), then by label and example.
    return tuple(sorted(flips, key=lambda f: (not f.broken, f.label, f.input_hash)))
