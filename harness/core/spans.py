"""Spans and tokens as plain tuples, and the checks every room needs on them.

Tuples keep metrics fast on 100k documents; the helpers here are the one place
where spans are checked for overlap and tokens are read back from Prodigy records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: A span as (start_char, end_char, label).
SpanTuple = tuple[int, int, str]
#: A token as (start_char, end_char, text, trailing_whitespace).
TokenTuple = tuple[int, int, str, bool]


def first_overlap(spans: Iterable[Sequence[Any]]) -> tuple[Sequence[Any], Sequence[Any]] | None:
    """The first pair of overlapping spans (in start order), or None.

    Spans are anything indexable as ``(start, end, ...)``: tuples or JSON lists.
    """
    ordered = sorted(spans, key=lambda s: (s[0], s[1]))
    for first, second in zip(ordered, ordered[1:]):
        if second[0] < first[1]:
            return first, second
    return None


def token_boundaries(tokens: Iterable[TokenTuple]) -> tuple[dict[int, int], dict[int, int]]:
    """(start char -> token index, end char -> token index) of a token sequence."""
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for i, token in enumerate(tokens):
        starts[token[0]] = i
        ends[token[1]] = i
    return starts, ends


def aligned(span: Sequence[Any], starts: Mapping[int, int], ends: Mapping[int, int]) -> bool:
    """Whether a span starts and ends on token boundaries."""
    return span[0] in starts and span[1] in ends


def tokens_from_records(raw: Iterable[Mapping[str, Any]]) -> tuple[TokenTuple, ...]:
    """Token tuples from Prodigy token records that the harness wrote (already validated)."""
    return tuple((int(t["start"]), int(t["end"]), str(t["text"]), bool(t.get("ws", False))) for t in raw)


def tokens_to_records(tokens: Iterable[TokenTuple]) -> list[dict[str, Any]]:
    """Prodigy token records (``text``, ``start``, ``end``, ``id``, ``ws``)."""
    return [{"text": text, "start": start, "end": end, "id": i, "ws": ws} for i, (start, end, text, ws) in enumerate(tokens)]


def spans_to_records(spans: Iterable[SpanTuple], tokens: Sequence[TokenTuple] | None) -> list[dict[str, Any]]:
    """Prodigy span records, with ``token_start``/``token_end`` where the span aligns."""
    starts, ends = token_boundaries(tokens or ())
    out = []
    for start, end, label in spans:
        record: dict[str, Any] = {"start": start, "end": end, "label": label}
        if start in starts and end in ends:
            record.update(token_start=starts[start], token_end=ends[end])
        out.append(record)
    return out
