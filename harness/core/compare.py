"""Paired comparison of two pipelines on the same examples (pure).

The difference in F (a minus b) gets a *paired* bootstrap CI: both pipelines'
per-example counts are resampled with the same draws, so the noise that is
shared (which documents happened to be in the eval split) cancels out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..options import DEFAULT_RESAMPLES, DEFAULT_SEED
from .metrics import Counts, bootstrap_sums, count_matrix, percentile_interval, precision_recall_f, prf_arrays
from .results import Comparison, Difference, PipelineResult


def paired_differences(
    a: Mapping[str, Counts], b: Mapping[str, Counts], n_examples: int, *, resamples: int, seed: int
) -> tuple[Difference, Difference, tuple[Difference, ...]]:
    """Micro, macro and per-label F differences with paired bootstrap CIs."""
    labels = sorted(set(a) | set(b))
    k = len(labels)
    matrix = np.hstack([count_matrix(a, labels, n_examples), count_matrix(b, labels, n_examples)])
    # One call, one set of draws for both halves: that is what makes the bootstrap paired.
    sums = bootstrap_sums(matrix, resamples, seed)

    def side(offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(resamples x labels) tp, fp, fn of one pipeline."""
        block = sums[:, offset : offset + 3 * k]
        return block[:, 0::3], block[:, 1::3], block[:, 2::3]

    a_tp, a_fp, a_fn = side(0)
    b_tp, b_fp, b_fn = side(3 * k)
    a_f = prf_arrays(a_tp, a_fp, a_fn)[2]  # (resamples x labels)
    b_f = prf_arrays(b_tp, b_fp, b_fn)[2]
    per_label = []
    for j, label in enumerate(labels):
        pa, pb = a.get(label, Counts()).prf[2], b.get(label, Counts()).prf[2]
        per_label.append(Difference(label, pa, pb, pa - pb, percentile_interval(a_f[:, j] - b_f[:, j])))

    def total(counts: Mapping[str, Counts]) -> float:
        tp = sum(len(counts.get(x, Counts()).tp) for x in labels)
        fp = sum(len(counts.get(x, Counts()).fp) for x in labels)
        fn = sum(len(counts.get(x, Counts()).fn) for x in labels)
        return precision_recall_f(tp, fp, fn)[2]

    ma, mb = total(a), total(b)
    micro_boot = (
        prf_arrays(a_tp.sum(axis=1), a_fp.sum(axis=1), a_fn.sum(axis=1))[2] - prf_arrays(b_tp.sum(axis=1), b_fp.sum(axis=1), b_fn.sum(axis=1))[2]
    )
    micro = Difference("micro", ma, mb, ma - mb, percentile_interval(micro_boot))
    n = k + 1e-100
    macro_a = sum(d.a_f for d in per_label) / n
    macro_b = sum(d.b_f for d in per_label) / n
    macro_boot = (a_f.sum(axis=1) - b_f.sum(axis=1)) / n
    macro = Difference("macro", macro_a, macro_b, macro_a - macro_b, percentile_interval(np.asarray(macro_boot)))
    return micro, macro, tuple(per_label)


def compare(a: PipelineResult, b: PipelineResult, *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Comparison:
    """Compare two results computed on the same gold examples, in the same order."""
    if a.example_ids != b.example_ids:
        raise ValueError(f"{a.name} and {b.name} were not evaluated on the same examples")
    micro, macro, labels = paired_differences(a.counts, b.counts, len(a.example_ids), resamples=resamples, seed=seed)
    speed_ratio = None
    wa, wb = a.words_per_second, b.words_per_second
    if wa == wa and wb == wb and wb > 0:  # not NaN (imported predictions have no speed)
        speed_ratio = wa / wb
    size_ratio = a.size_bytes / b.size_bytes if a.size_bytes and b.size_bytes else None
    return Comparison(a.name, b.name, micro, macro, labels, speed_ratio, size_ratio, resamples, seed)
