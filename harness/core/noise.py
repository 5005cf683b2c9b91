"""Noise-aware regression tests: a candidate model against the *blessed configuration* (pure).

A baseline holds the blessed model's eval predictions and, for a pipeline the harness
can retrain, those of ``replicates``: the same data and config trained with other
seeds. Together they are ``M`` draws of "what this configuration produces". The
candidate is judged against their mean, with two noise sources:

* **eval sample**: a paired bootstrap over the compared examples, the candidate and
  every reference model resampled with the same draws; ``se_eval`` is the standard
  deviation of (candidate F - mean reference F) over the resamples;
* **training**: ``train_sd``, the standard deviation of F over the ``M`` reference
  models on these examples. Under "nothing changed" the candidate is one more draw
  from that spread and the reference mean has a variance of its own, so training
  adds ``train_sd**2 * (1 + 1/M)``.

The two variances are added and the difference is taken as normal:
``z = diff / se``, one-sided ``p = Phi(z)`` (the chance of a drop at least this large
when nothing changed). Part of the seed-to-seed spread on a finite eval split is
itself eval-sample noise, so the sum overstates the noise a little: the test errs
towards passing. Without replicates (an old baseline, an LLM, imported predictions,
a packaged model) ``M = 1`` and only the eval sample counts, which the result says.

The gates of one pipeline (micro and per label) are one family: :func:`holm`
adjusts their p-values so that "nothing changed" fails *any* of them at most at the
stated rate. :func:`min_detectable_drop` is the smallest observed drop that can be
significant on its own in that family.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np

from .metrics import Counts, bootstrap_sums, count_matrix, precision_recall_f, prf_arrays
from .results import NoiseRow, RegressionTest

_NORMAL = NormalDist()


def sources(models: int) -> str:
    """Which noise a test accounts for, in words (reports and JUnit show it)."""
    return f"eval sample + training ({models} models)" if models > 1 else "eval sample only"


def _f_arrays(sums: np.ndarray, model: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(resamples x labels) F per label and (resamples,) micro F of one model's block."""
    block = sums[:, 3 * k * model : 3 * k * (model + 1)]
    tp, fp, fn = block[:, 0::3], block[:, 1::3], block[:, 2::3]
    return prf_arrays(tp, fp, fn)[2], prf_arrays(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))[2]


def f_scores(counts: Mapping[str, Counts], labels: Sequence[str]) -> tuple[list[float], float]:
    """F per label and micro F of one model's counts."""
    per_label = [counts.get(label, Counts()).prf[2] for label in labels]
    tp = sum(len(counts.get(x, Counts()).tp) for x in labels)
    fp = sum(len(counts.get(x, Counts()).fp) for x in labels)
    fn = sum(len(counts.get(x, Counts()).fn) for x in labels)
    return per_label, precision_recall_f(tp, fp, fn)[2]


def one_sided_p(diff: float, se: float) -> float:
    """P(a drop at least this large | no change), normal approximation; 0 or 1 when ``se`` is 0."""
    if se > 0 and math.isfinite(se):
        return _NORMAL.cdf(diff / se)
    return 0.0 if diff < 0 else 1.0


def regression_tests(
    current: Mapping[str, Counts],
    references: Sequence[Mapping[str, Counts]],
    n_examples: int,
    *,
    resamples: int,
    seed: int,
    confidence: float,
) -> tuple[RegressionTest, ...]:
    """Micro first, then every label: ``current`` against the mean of ``references``
    (the blessed model first, then its replicates), counted on the same examples."""
    if not references:
        raise ValueError("a regression test needs at least one reference model")
    labels = sorted(set(current).union(*references))
    k, m = len(labels), len(references)
    models = [current, *references]
    matrix = np.hstack([count_matrix(c, labels, n_examples) for c in models])
    sums = bootstrap_sums(matrix, resamples, seed)  # one set of draws for all models: paired
    boot = [_f_arrays(sums, i, k) for i in range(m + 1)]
    points = [f_scores(c, labels) for c in models]
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)

    def test(scope: str, support: int, now: float, refs: list[float], boot_now: np.ndarray, boot_refs: list[np.ndarray]) -> RegressionTest:
        reference = float(np.mean(refs))
        diff = now - reference
        boot_diff = boot_now - np.mean(np.stack(boot_refs), axis=0)
        se_eval = float(np.std(boot_diff, ddof=1)) if boot_diff.size > 1 else 0.0
        train_sd = float(np.std(refs, ddof=1)) if m > 1 else None
        se = math.sqrt(se_eval**2 + ((train_sd or 0.0) ** 2) * (1 + 1 / m))
        return RegressionTest(
            scope=scope,
            support=support,
            current_f=now,
            reference_f=reference,
            blessed_f=refs[0],
            models=m,
            reference_range=(min(refs), max(refs)),
            train_sd=train_sd,
            se_eval=se_eval,
            se=se,
            diff=diff,
            ci=(diff - z * se, diff + z * se),
            p_value=one_sided_p(diff, se),
            sources=sources(m),
        )

    micro_support = sum(current.get(x, Counts()).support for x in labels)
    out = [test("micro", micro_support, points[0][1], [p[1] for p in points[1:]], boot[0][1], [b[1] for b in boot[1:]])]
    for j, label in enumerate(labels):
        out.append(
            test(
                label,
                current.get(label, Counts()).support,
                points[0][0][j],
                [p[0][j] for p in points[1:]],
                boot[0][0][:, j],
                [b[0][:, j] for b in boot[1:]],
            )
        )
    return tuple(out)


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values of one family (step-down, monotone, capped at 1):
    rejecting where the adjusted p is below alpha keeps the family-wise error <= alpha."""
    ordered = sorted(p_values.items(), key=lambda kv: (kv[1], kv[0]))
    m = len(ordered)
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[name] = running
    return adjusted


def min_detectable_drop(se: float, family_size: int, confidence: float) -> float:
    """The smallest observed drop that is significant alone in a family of ``family_size``
    tests (Holm's first step, alpha / m, one-sided): smaller drops cannot be told from noise."""
    alpha = (1.0 - confidence) / max(family_size, 1)
    return _NORMAL.inv_cdf(1.0 - alpha) * se if se > 0 and math.isfinite(se) else 0.0


def leave_one_out_se(
    models: Sequence[Mapping[str, Counts]], n_examples: int, *, resamples: int, seed: int, confidence: float
) -> dict[str, tuple[float, float | None]]:
    """What a future candidate of this configuration would face, per scope: (se, train_sd).

    Each model in turn plays the candidate against the others; their eval-sample
    variances are averaged, and the training spread is that of all ``M`` models
    (so ``se`` is the one a candidate judged against all of them gets)."""
    m = len(models)
    if m < 2:
        raise ValueError("leave-one-out needs at least two models")
    eval_var: dict[str, list[float]] = {}
    for i in range(m):
        tests = regression_tests(models[i], [*models[:i], *models[i + 1 :]], n_examples, resamples=resamples, seed=seed, confidence=confidence)
        for t in tests:
            eval_var.setdefault(t.scope, []).append(t.se_eval**2)
    labels = sorted(set().union(*models))
    points = [f_scores(c, labels) for c in models]
    spread = {
        "micro": float(np.std([p[1] for p in points], ddof=1)),
        **{label: float(np.std([p[0][j] for p in points], ddof=1)) for j, label in enumerate(labels)},
    }
    out = {}
    for scope, variances in eval_var.items():
        sd = spread.get(scope) or 0.0
        out[scope] = (math.sqrt(float(np.mean(variances)) + sd**2 * (1 + 1 / m)), spread.get(scope))
    return out


def configuration_rows(
    models: Sequence[Mapping[str, Counts]],
    labels: Sequence[str],
    n_examples: int,
    *,
    family_size: int,
    max_drops: Mapping[str, float],
    resamples: int,
    seed: int,
    confidence: float,
) -> tuple[list[NoiseRow], list[float]]:
    """``harness noise`` for one pipeline: per scope (micro, then each label) the mean, SD and
    range of F over the configuration's ``models`` (the blessed one first) and the smallest drop
    its gate can detect; and each model's micro F. ``max_drops``: scope -> the gate's max_drop."""
    spread = leave_one_out_se(models, n_examples, resamples=resamples, seed=seed, confidence=confidence) if len(models) > 1 else {}
    points = [f_scores(c, labels) for c in models]
    scopes = [("micro", sum(c.support for c in models[0].values()), [p[1] for p in points])]
    scopes += [(label, models[0][label].support if label in models[0] else 0, [p[0][j] for p in points]) for j, label in enumerate(labels)]
    rows = []
    for scope, support, values in scopes:
        se, sd = spread.get(scope, (float("nan"), None))
        rows.append(
            NoiseRow(
                scope,
                support,
                sum(values) / len(values),
                sd,
                min(values),
                max(values),
                min_detectable_drop(se, family_size, confidence) if se == se else float("nan"),
                max_drops.get(scope),
                sources(len(models)),
            )
        )
    return rows, [p[1] for p in points]
