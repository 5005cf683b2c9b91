"""ROC-AUC with spaCy's own ``ROCAUCScore``, so ``cats_macro_auc`` matches spaCy by construction.

The rest of the metrics are pure (:mod:`harness.core.metrics`); this is the one
figure we take from spaCy itself rather than re-implement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def macro_auc(auc_pairs: Mapping[str, Sequence[tuple[float, float]]]) -> float:
    """spaCy's ``cats_macro_auc``: per-label ROC-AUC over (score, gold) pairs; labels
    without both classes count as 0; averaged over all labels."""
    from spacy.scorer import ROCAUCScore

    total = 0.0
    for pairs in auc_pairs.values():
        score = ROCAUCScore()
        for candidate, gold in pairs:
            score.score_set(candidate, gold)
        total += score.score if score.is_binary() else 0.0
    return total / (len(auc_pairs) + 1e-100)
