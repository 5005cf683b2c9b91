"""The correction queue: failing and informative cases as Prodigy-compatible tasks.

``reports/queue/<suite>.jsonl`` holds one Prodigy task per input hash::

    {"text": ..., "tokens": [...], "spans": [...] | "cats": {...},   # pre-filled best answer
     "meta": {"suite": ..., "category": ..., "score": ...},
     "_input_hash": ..., "_task_hash": ...,
     "harness": {"suite", "scope": "eval" | "pool" | "behaviour" | "gold", "category", "status": "open" | "resolved",
                 "decision": null | "gold" | "llm" | "distilled" | "edited" | "reject" | "flag" | "skip",
                 "answer": <spans or cats chosen by the reviewer>, "gold": ..., "predictions": {name: ...},
                 "informativeness": float, "first_seen", "last_seen", "applied_to": null | "dataset@vN"}}

Categories (eval scope): ``regression`` (the blessed baseline got it right, the distilled
model now does not), ``train_signal`` (distilled wrong, LLM right), ``hard_case``
(both wrong, differently), ``gold_suspect`` (LLM and distilled agree against the gold).
Pool scope: ``disagreement`` (LLM and distilled differ on an unlabelled text),
``expected_error`` (``--rank expected-error``: many expected LLM errors), ``sampled``
(``--rank random``). Gold scope: ``gold_suspect`` from ``harness gold audit`` (an
out-of-fold student confidently contradicts the gold, in either split).

Exports are idempotent: one record per input hash; re-exporting keeps reviewers'
decisions, updates predictions, and marks records that now pass ``resolved``
(never deletes them). Writes hold an exclusive lock and replace the file atomically.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.categories import CATEGORY_ORDER
from ..core.spans import tokens_from_records
from ..errors import InputError
from ..io import atomic
from ..io.clock import now_iso
from ..io.jsonl import read_jsonl
from ..io.locks import file_lock
from ..reports.json_report import report_path
from .records import annotation_fields

#: What the Prodigy ``answer`` field says for each reviewer decision.
PRODIGY_ANSWER = {"reject": "reject", "skip": "ignore", "flag": "ignore"}


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
        # Only eval failures and behavioural cases can "now pass"; an undecided pool record not in this
        # (capped) fill is still unlabelled, so it stays open.
        if (
            key not in seen
            and scope in ("eval", "behaviour")
            and meta.get("scope") == scope
            and meta.get("status") == "open"
            and meta.get("decision") is None
        ):
            meta["status"] = "resolved"
            meta["last_seen"] = now_iso()
    return sort_records(by_hash.values())


def sort_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most useful first: open before resolved, category order, then informativeness."""
    return sorted(
        records,
        key=lambda r: (
            r["harness"].get("status") != "open",
            CATEGORY_ORDER.get(r["harness"].get("category"), 9),
            -float(r["harness"].get("informativeness") or 0.0),
            r["_input_hash"],
        ),
    )


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


def locked(path: str | Path) -> contextlib.AbstractContextManager[None]:
    """Exclusive lock on ``<queue>.lock`` for a read-modify-write of the queue."""
    return file_lock(path)


def save(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Atomically replace the queue file."""
    atomic.write_jsonl(path, (json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records))


def update(path: str | Path, fresh: Sequence[dict[str, Any]], *, scope: str, dataset: str | None = None) -> list[dict[str, Any]]:
    """Locked load + merge + atomic save; returns the new queue.

    ``dataset`` (the suite's gold dataset) is stamped on every fresh record; a queue
    that holds records made for another gold dataset is refused, naming both: two
    suites with the same name must not resolve each other's records.
    """
    for record in fresh:
        record["harness"]["dataset"] = dataset
    with locked(path):
        existing = load(path)
        others = sorted(
            {str(r["harness"].get("dataset")) for r in existing if dataset is not None and r["harness"].get("dataset") not in (None, dataset)}
        )
        if others:
            raise InputError(
                f"this queue holds records made for gold dataset(s) {', '.join(others)}, not {dataset}: "
                "two suites with the same name write to the same queue; rename one suite or use "
                "another reports directory",
                path=path,
            )
        records = merge(existing, fresh, scope=scope)
        save(path, records)
    return records


def queue_path(reports_dir: str | Path, suite: str) -> Path:
    """``reports/queue/<suite>.jsonl`` with the suite name made file-safe."""

    return report_path(Path(reports_dir) / "queue", suite).with_suffix(".jsonl")


def decide(record: dict[str, Any], decision: str, answer: Any, *, reviewer: str, task: str) -> None:
    """Record a reviewer's decision, the one way every reviewer (terminal, Prodigy,
    the simulated one) writes it: the harness fields, and the Prodigy fields a
    re-export to Prodigy shows (``answer``, and the chosen ``spans`` or ``cats``)."""
    meta = record["harness"]
    meta["decision"] = decision
    meta["answer"] = answer
    meta["reviewer"] = reviewer
    record["answer"] = PRODIGY_ANSWER.get(decision, "accept")
    if answer is not None:
        record.update(annotation_fields(task, answer, tokens_from_records(record.get("tokens") or ()) or None))
