"""Gold examples and their Prodigy record form (the one (de)serialisation of a task).

A gold example is one Prodigy task: ``text``, ``tokens``, ``spans`` (NER) or
``cats`` (text classification), ``meta``, ``_input_hash``, ``_task_hash`` and
``answer``. Keys the harness does not interpret travel along in ``extra``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.spans import SpanTuple, TokenTuple, spans_to_records, tokens_from_records, tokens_to_records
from ..options import GOLD_POSITIVE

Task = str  # a task name: one of options.TASKS (harness.core.tasks has their rules)

#: Record keys the harness reads; everything else is kept in ``GoldExample.extra``.
KNOWN_KEYS = frozenset({"text", "spans", "cats", "tokens", "meta", "_input_hash", "_task_hash", "answer", "accept", "label", "options"})


@dataclass(frozen=True)
class GoldExample:
    """One gold task. ``spans`` for NER, ``cats`` for text classification."""

    input_hash: int
    text: str
    spans: tuple[SpanTuple, ...] = ()
    cats: Mapping[str, float] | None = None
    tokens: tuple[TokenTuple, ...] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    split: str = "train"
    source: str = ""  # "file:line" the example came from, for error messages

    def annotation_key(self) -> str:
        """A canonical string of the annotation, to compare duplicates and versions."""
        if self.cats is not None:
            return json.dumps(sorted(self.cats.items()))
        return json.dumps(sorted(self.spans))

    def to_record(self) -> dict[str, Any]:
        """The Prodigy task written to gold (``_split`` is implied by the file)."""
        record: dict[str, Any] = dict(self.extra)
        record["text"] = self.text
        record["_input_hash"] = self.input_hash
        record["answer"] = "accept"
        record["meta"] = dict(self.meta)
        if self.tokens is not None:
            record["tokens"] = tokens_to_records(self.tokens)
        if self.cats is not None:
            record["cats"] = dict(self.cats)
        else:
            record["spans"] = spans_to_records(self.spans, self.tokens)
        record["_task_hash"] = stable_hash(f"{self.input_hash}|{self.annotation_key()}")
        return record


def stable_hash(text: str) -> int:
    """A signed 32-bit hash (Prodigy's ``_input_hash`` range) that is stable across runs."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big", signed=True)


def with_split(example: GoldExample, split: str) -> GoldExample:
    """The same example assigned to another split."""
    return replace(example, split=split)


def label_counts(examples: Iterable[GoldExample]) -> Counter[str]:
    """Spans per label (NER) or positive examples per label (textcat)."""
    counts: Counter[str] = Counter()
    for example in examples:
        if example.cats is not None:
            for label, value in example.cats.items():
                counts[label] += 1 if value >= GOLD_POSITIVE else 0
        else:
            counts.update(label for _, _, label in example.spans)
    return counts


def example_from_record(record: Mapping[str, Any], split: str, source: str) -> GoldExample:
    """Rebuild a :class:`GoldExample` from a record the store wrote (already validated)."""
    tokens = tokens_from_records(record["tokens"]) if "tokens" in record else None
    cats = record.get("cats")
    spans = tuple((s["start"], s["end"], s["label"]) for s in record.get("spans", ()))
    extra = {k: v for k, v in record.items() if k not in KNOWN_KEYS}
    return GoldExample(record["_input_hash"], record["text"], spans, cats, tokens, record.get("meta") or {}, extra, split, source)
