"""What kind of error a model made, per example and counted per label (pure).

NER, for each gold span not predicted exactly:

- ``wrong_label``: a predicted span has the same boundaries and another label;
- ``boundary``: a predicted span of the same label overlaps it;
- ``wrong_label_boundary``: only a span of another label overlaps it;
- ``missed``: nothing overlaps it;

and for each predicted span matching no gold span exactly and overlapping none:
``spurious``. Text classification: per example, the gold labels not predicted
(``missed``) and the labels predicted without gold (``spurious``); a confusion
counts which spurious label came with which missed one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..options import GOLD_POSITIVE
from .spans import SpanTuple

ERROR_KINDS = ("missed", "wrong_label", "boundary", "wrong_label_boundary", "spurious")


def span_errors(gold: Sequence[SpanTuple], predicted: Sequence[SpanTuple]) -> list[dict[str, Any]]:
    """The errors in one example: ``{"kind", "label", "start", "end", "predicted": [start, end, label] | None}``."""
    gold_set: set[SpanTuple] = {(int(s), int(e), str(label)) for s, e, label in gold}
    pred_set: set[SpanTuple] = {(int(s), int(e), str(label)) for s, e, label in predicted}
    errors: list[dict[str, Any]] = []
    for g in sorted(gold_set - pred_set):
        overlapping = [p for p in pred_set if p[0] < g[1] and g[0] < p[1] and p not in gold_set]
        same_bounds = next((p for p in overlapping if p[0] == g[0] and p[1] == g[1]), None)
        same_label = next((p for p in sorted(overlapping) if p[2] == g[2]), None)
        if same_bounds is not None:
            kind, match = "wrong_label", same_bounds
        elif same_label is not None:
            kind, match = "boundary", same_label
        elif overlapping:
            kind, match = "wrong_label_boundary", sorted(overlapping)[0]
        else:
            kind, match = "missed", None
        errors.append({"kind": kind, "label": g[2], "start": g[0], "end": g[1], "predicted": list(match) if match is not None else None})
    for p in sorted(pred_set - gold_set):
        if not any(g[0] < p[1] and p[0] < g[1] for g in gold_set):
            errors.append({"kind": "spurious", "label": p[2], "start": p[0], "end": p[1], "predicted": list(p)})
    return errors


def cat_errors(gold: Mapping[str, float], predicted: Mapping[str, float], threshold: float) -> list[dict[str, Any]]:
    """Gold labels not predicted (``missed``) and predicted labels without gold (``spurious``)."""
    gold_on = {k for k, v in gold.items() if v >= GOLD_POSITIVE}
    pred_on = {k for k, v in predicted.items() if v >= threshold}
    return [{"kind": "missed", "label": k, "score": float(predicted.get(k, 0.0))} for k in sorted(gold_on - pred_on)] + [
        {"kind": "spurious", "label": k, "score": float(predicted[k])} for k in sorted(pred_on - gold_on)
    ]


def confusion(errors: Sequence[Sequence[Mapping[str, Any]]], labels: Sequence[str], *, spans: bool) -> dict[str, Any]:
    """Counts over every example's errors.

    NER: per gold label, how often each kind occurred, and for wrong labels which
    label was predicted instead (``"wrong_label": {"Cuisine": 3}``); per predicted
    label, the spurious spans. Text classification: per missed label, the spurious
    labels predicted with it in the same example (``"with": {...}``; ``"alone"`` when
    none), and per label the spurious count.
    """
    table: dict[str, dict[str, Any]] = {
        label: {"missed": 0, "boundary": 0, "wrong_label": {}, "spurious": 0, "alone": 0, "with": {}} for label in labels
    }

    def row(label: str) -> dict[str, Any]:
        return table.setdefault(label, {"missed": 0, "boundary": 0, "wrong_label": {}, "spurious": 0, "alone": 0, "with": {}})

    for example in errors:
        if spans:
            for e in example:
                r = row(e["label"])
                if e["kind"] in ("missed", "boundary", "spurious"):
                    r[e["kind"]] += 1
                else:  # wrong_label (exact or overlapping): to which label
                    other = e["predicted"][2]
                    r["wrong_label"][other] = r["wrong_label"].get(other, 0) + 1
        else:
            missed = [e["label"] for e in example if e["kind"] == "missed"]
            spurious = [e["label"] for e in example if e["kind"] == "spurious"]
            for label in spurious:
                row(label)["spurious"] += 1
            for label in missed:
                r = row(label)
                r["missed"] += 1
                if not spurious:
                    r["alone"] += 1
                for other in spurious:
                    r["with"][other] = r["with"].get(other, 0) + 1
    for r in table.values():
        r["wrong_label"] = dict(Counter(r["wrong_label"]).most_common())
        r["with"] = dict(Counter(r["with"]).most_common())
        if spans:
            del r["alone"], r["with"]
        else:
            del r["boundary"], r["wrong_label"]
    return dict(sorted(table.items()))
