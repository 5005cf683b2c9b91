"""The correction queue: failing and informative cases as Prodigy-compatible tasks.

``reports/queue/<suite>.jsonl`` holds one Prodigy task per input hash::

    {"text": ..., "tokens": [...], "spans": [...] | "cats": {...},   # pre-filled best answer
     "meta": {"suite": ..., "category": ..., "score": ...},
     "_input_hash": ..., "_task_hash": ...,
     "harness": {"suite", "scope": "eval" | "pool", "category", "status": "open" | "resolved",
                 "decision": null | "gold" | "llm" | "distilled" | "edited" | "reject" | "flag" | "skip",
                 "answer": <spans or cats chosen by the reviewer>, "gold": ..., "predictions": {name: ...},
                 "informativeness": float, "first_seen", "last_seen", "applied_to": null | "dataset@vN"}}

Categories (eval scope): ``train_signal`` (distilled wrong, LLM right), ``hard_case``
(both wrong, differently), ``gold_suspect`` (LLM and distilled agree against the gold).
Pool scope: ``disagreement`` (LLM and distilled differ on an unlabelled text).

Exports are idempotent: one record per input hash; re-exporting keeps reviewers'
decisions, updates predictions, and marks records that now pass ``resolved``
(never deletes them). Writes hold an exclusive lock and replace the file atomically.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import atomic
from .errors import InputError
from .gold import GoldExample, read_jsonl, stable_hash

CATEGORIES = ("train_signal", "hard_case", "gold_suspect", "disagreement")
DECISIONS = ("gold", "llm", "distilled", "edited", "reject", "flag", "skip")
ACCEPTING = ("gold", "llm", "distilled", "edited")  # decisions that carry an answer to apply
# Review order: what most needs a human first.
CATEGORY_ORDER = {"gold_suspect": 0, "train_signal": 1, "disagreement": 2, "hard_case": 3}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def normalise(value: Any, task: str, threshold: float = 0.5) -> Any:
    """Comparable form of an annotation: a sorted span tuple list, or the set of positive labels."""
    if task == "ner":
        return tuple(sorted(tuple(s) for s in value or ()))
    return tuple(sorted(label for label, score in (value or {}).items() if score >= threshold))


def categorize(gold: Any, distilled: Any, llm: Any | None, task: str, threshold: float = 0.5) -> str | None:
    """Which queue category an eval example falls in, or None if the distilled model is right.

    Without an LLM, every distilled error is a ``hard_case``.
    """
    g, d = normalise(gold, task, threshold), normalise(distilled, task, threshold)
    if llm is None:
        return None if d == g else "hard_case"
    m = normalise(llm, task, threshold)
    if d == g:
        return None
    if m == g:
        return "train_signal"
    return "gold_suspect" if m == d else "hard_case"


def disagreement_score(distilled: Any, llm: Any, task: str) -> float:
    """How informative a pool text is: the size of the disagreement.

    NER: differing spans over all spans (0..1) plus one per differing span, so that
    larger disagreements come first. Text classification: the summed absolute
    difference of label scores (a margin: close calls between the two models
    score low, flat contradictions high).
    """
    if task == "ner":
        a, b = set(normalise(distilled, task)), set(normalise(llm, task))
        diff = len(a ^ b)
        return diff + diff / max(1, len(a | b))
    labels = set(distilled or {}) | set(llm or {})
    return float(sum(abs(float((distilled or {}).get(x, 0.0)) - float((llm or {}).get(x, 0.0))) for x in labels))


def _annotation_fields(task: str, value: Any, example: GoldExample) -> dict[str, Any]:
    if task == "ner":
        starts = {t[0]: i for i, t in enumerate(example.tokens or ())}
        ends = {t[1]: i for i, t in enumerate(example.tokens or ())}
        spans = []
        for start, end, label in value or ():
            span = {"start": start, "end": end, "label": label}
            if start in starts and end in ends:
                span.update(token_start=starts[start], token_end=ends[end])
            spans.append(span)
        return {"spans": spans}
    return {"cats": {k: float(v) for k, v in (value or {}).items()}}


def _plain(value: Any, task: str) -> Any:
    """JSON form of spans (lists) or cats (dict)."""
    if task == "ner":
        return [list(s) for s in value or ()]
    return {k: float(v) for k, v in (value or {}).items()}


def make_record(
    *, suite: str, scope: str, category: str, example: GoldExample, task: str, best: Any, gold: Any | None,
    predictions: Mapping[str, Any], informativeness: float,
) -> dict[str, Any]:
    """One queue task, pre-filled with ``best`` (the answer most likely right)."""
    record: dict[str, Any] = {
        "text": example.text,
        "_input_hash": example.input_hash,
        "meta": {"suite": suite, "category": category, "score": round(informativeness, 4)},
        **_annotation_fields(task, best, example),
    }
    if example.tokens is not None:
        record["tokens"] = [{"text": t, "start": s, "end": e, "id": i, "ws": ws}
                            for i, (s, e, t, ws) in enumerate(example.tokens)]
    annotation = json.dumps(record.get("spans", record.get("cats")), sort_keys=True)
    record["_task_hash"] = stable_hash(f"{example.input_hash}|{suite}|{annotation}")
    now = _now()
    record["harness"] = {
        "suite": suite, "scope": scope, "category": category, "status": "open", "decision": None, "answer": None,
        "gold": _plain(gold, task) if gold is not None else None,
        "predictions": {name: _plain(v, task) for name, v in predictions.items()},
        "informativeness": informativeness, "first_seen": now, "last_seen": now, "applied_to": None,
    }
    return record


def merge(existing: Sequence[Mapping[str, Any]], fresh: Sequence[dict[str, Any]], *, scope: str) -> list[dict[str, Any]]:
    """Fold a new export into the queue (idempotent).

    - a fresh record for a known input hash updates predictions and category but
      keeps the reviewer's decision and answer (and first_seen);
    - an open record of the same scope that is no longer failing becomes
      ``resolved`` (kept, so its history and any decision survive);
    - everything else is kept as it was.
    """
    by_hash: dict[int, dict[str, Any]] = {int(r["_input_hash"]): json.loads(json.dumps(r)) for r in existing}
    seen = set()
    for record in fresh:
        key = int(record["_input_hash"])
        seen.add(key)
        old = by_hash.get(key)
        if old is None:
            by_hash[key] = record
            continue
        keep = old["harness"]
        new = record["harness"]
        for name in ("decision", "answer", "first_seen", "applied_to"):
            new[name] = keep.get(name)
        if keep.get("decision") is None and keep.get("status") == "resolved":
            new["status"] = "open"  # failing again
        elif keep.get("decision") is not None:
            new["status"] = keep.get("status", "open")
        by_hash[key] = record
    for key, record in by_hash.items():
        meta = record["harness"]
        # Only eval failures can "now pass"; an undecided pool record not in this
        # (capped) fill is still unlabelled, so it stays open.
        if (key not in seen and scope == "eval" and meta.get("scope") == "eval" and meta.get("status") == "open"
                and meta.get("decision") is None):
            meta["status"] = "resolved"
            meta["last_seen"] = _now()
    return sort_records(by_hash.values())


def sort_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most useful first: open before resolved, category order, then informativeness."""
    return sorted(records, key=lambda r: (r["harness"].get("status") != "open",
                                          CATEGORY_ORDER.get(r["harness"].get("category"), 9),
                                          -float(r["harness"].get("informativeness") or 0.0), r["_input_hash"]))


def load(path: str | Path) -> list[dict[str, Any]]:
    """Read a queue file; a line broken by hand is an error naming file and line."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, obj in read_jsonl(path):
        if "_input_hash" not in obj or "text" not in obj or not isinstance(obj.get("harness"), dict):
            raise InputError("queue record needs 'text', '_input_hash' and a 'harness' object", path=path, line=number)
        records.append(obj)
    return records


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Exclusive lock on ``<queue>.lock`` for a read-modify-write of the queue."""
    lock_path = Path(str(path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Atomically replace the queue file."""
    atomic.write_jsonl(path, (json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records))


def update(path: str | Path, fresh: Sequence[dict[str, Any]], *, scope: str) -> list[dict[str, Any]]:
    """Locked load + merge + atomic save; returns the new queue."""
    with locked(path):
        records = merge(load(path), fresh, scope=scope)
        save(path, records)
    return records


def queue_path(reports_dir: str | Path, suite: str) -> Path:
    from .reports.json_report import report_path

    return report_path(Path(reports_dir) / "queue", suite).with_suffix(".jsonl")


def eval_records(
    *, suite: str, task: str, examples: Sequence[GoldExample], outputs: Mapping[str, Sequence[Any]],
    distilled: str, llm: str | None, threshold: float = 0.5,
) -> list[dict[str, Any]]:
    """Queue records for the eval examples the distilled pipeline gets wrong.

    ``outputs`` maps pipeline name -> per-example predictions (same order as
    ``examples``). The pre-filled answer is the one most likely right: the LLM's
    for a training signal (it equals the gold), the models' shared answer for a
    suspected gold error, the gold for a hard case.
    """
    records = []
    for i, example in enumerate(examples):
        gold = example.spans if task == "ner" else dict(example.cats or {})
        mine = outputs[distilled][i]
        theirs = outputs[llm][i] if llm is not None else None
        category = categorize(gold, mine, theirs, task, threshold)
        if category is None:
            continue
        best = {"train_signal": theirs, "gold_suspect": mine}.get(category, gold)
        score = disagreement_score(mine, gold, task)
        records.append(make_record(
            suite=suite, scope="eval", category=category, example=example, task=task, best=best, gold=gold,
            predictions={name: values[i] for name, values in outputs.items()}, informativeness=score,
        ))
    return records
