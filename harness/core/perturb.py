"""Text perturbations for behavioural checks, as pure edits with offset bookkeeping.

A perturbation is a list of edits ``(start, end, replacement)`` on the original text.
:func:`apply_edits` returns the new text and maps every span of the original through
the edits, so the expected annotation follows the text. Edits never change the length
of text inside a span (a case change keeps it; whitespace, typos and clauses are placed
outside spans), so spans move but do not stretch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .spans import SpanTuple

Edit = tuple[int, int, str]
WORD = re.compile(r"\S+")
TRAILING_PUNCTUATION = ".!?"
#: Clauses that change nothing a NER or topic model should care about.
NEUTRAL_CLAUSES = ("to be honest", "if you know", "by the way", "thanks in advance", "just wondering")


def apply_edits(text: str, edits: Sequence[Edit], spans: Sequence[SpanTuple] = ()) -> tuple[str, tuple[SpanTuple, ...]]:
    """(new text, spans mapped onto it). Edits must not overlap each other, and an edit
    that changes length must lie outside every span (an insertion at a span's start goes
    before it, one at its end after it)."""
    ordered = sorted(edits)
    out, at = [], 0
    for start, end, replacement in ordered:
        if start < at:
            raise ValueError(f"overlapping edits at {start}")
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    mapped = []
    for s, e, label in spans:
        new_s, new_e = s, e
        for a, b, replacement in ordered:
            delta = len(replacement) - (b - a)
            if delta and s < b and a < e and not (a == b):
                raise ValueError(f"an edit changing length inside span [{s}:{e}]")
            if b <= s:
                new_s += delta
            if a < e and b <= e:
                new_e += delta
        mapped.append((new_s, new_e, label))
    return "".join(out), tuple(mapped)


def words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each whitespace-separated word."""
    return [(m.start(), m.end()) for m in WORD.finditer(text)]


def inside(position: int, spans: Sequence[SpanTuple]) -> bool:
    return any(s <= position < e for s, e, _ in spans)


def touches(start: int, end: int, spans: Sequence[SpanTuple]) -> bool:
    """Whether [start, end) overlaps any span."""
    return any(s < end and start < e for s, e, _ in spans)


def case_edits(text: str, chosen: Sequence[tuple[int, int]], how: str) -> list[Edit]:
    """Lower- or title-case the chosen words (only where the length stays the same)."""
    edits = []
    for start, end in chosen:
        word = text[start:end]
        new = word.lower() if how == "lower" else word[:1].upper() + word[1:]
        if new != word and len(new) == len(word):
            edits.append((start, end, new))
    return edits


def double_space_edits(text: str, spans: Sequence[SpanTuple], chosen: Sequence[int]) -> list[Edit]:
    """Double the single spaces at ``chosen`` positions (outside spans)."""
    return [(i, i + 1, "  ") for i in chosen if text[i] == " " and not inside(i, spans)]


def single_spaces(text: str, spans: Sequence[SpanTuple]) -> list[int]:
    return [
        i
        for i, c in enumerate(text)
        if c == " " and not inside(i, spans) and (i == 0 or text[i - 1] != " ") and (i + 1 >= len(text) or text[i + 1] != " ")
    ]


def trailing_punctuation_edit(text: str, spans: Sequence[SpanTuple], mark: str) -> Edit | None:
    """Remove the final punctuation mark, or append ``mark`` if there is none; None if the
    end of the text is inside a span."""
    stripped = text.rstrip()
    if not stripped:
        return None
    last = len(stripped) - 1
    if stripped[-1] in TRAILING_PUNCTUATION:
        return None if inside(last, spans) else (last, last + 1, "")
    return (len(stripped), len(stripped), mark)


def clause_edit(text: str, spans: Sequence[SpanTuple], clause: str, at_start: bool) -> Edit | None:
    """Insert a neutral clause at the start or the end, if the word there is no entity."""
    found = words(text)
    if not found:
        return None
    start, end = found[0] if at_start else found[-1]
    if touches(start, end, spans):
        return None
    if at_start:
        return (0, 0, clause[:1].upper() + clause[1:] + ", " if text[:1].isupper() else clause + ", ")
    stripped = len(text.rstrip())
    tail = text[stripped - 1] if stripped else ""
    if tail in TRAILING_PUNCTUATION:  # before the final mark: "..., by the way?"
        return (stripped - 1, stripped - 1, ", " + clause)
    return (stripped, stripped, ", " + clause)


def typo_candidates(text: str, spans: Sequence[SpanTuple]) -> list[tuple[int, int]]:
    """Words of 4+ letters outside spans, where two inner letters can be swapped."""
    return [(s, e) for s, e in words(text) if e - s >= 4 and text[s:e].isalpha() and not touches(s, e, spans)]


def swap_edit(text: str, word: tuple[int, int], position: int) -> Edit | None:
    """Swap the letters at ``position`` and ``position + 1`` inside ``word`` (not its first
    or last letter); None when they are the same letter."""
    start, end = word
    i = start + 1 + position % max(1, end - start - 3)
    if i + 1 >= end - 1 or text[i] == text[i + 1]:
        return None
    return (i, i + 2, text[i + 1] + text[i])


def substitution_edit(span: SpanTuple, replacement: str) -> Edit:
    """Replace an entity's text by another surface form of its label."""
    return (span[0], span[1], replacement)
