"""Synthetic gold for scale tests and benchmarks: copies of real examples, each with a
numbered suffix (``" #17"``), so a pool or eval split of any size has real texts, real
gold spans or categories, and a simulated teacher that can answer every one of them.

The suffix leaves every span's character offsets as they were. Only the annotation is
copied (text, spans or categories, answer, meta): tokens are dropped so the importer
tokenises the new texts itself, and Prodigy's history (``versions``, sessions, hashes)
describes the original text, not the copy. Nothing here is a real annotation of a new text:
a gold version built from it says so in its notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .records import stable_hash

SYNTHETIC_NOTE = "synthetic: copies of real examples with a numbered suffix (harness.gold.synthetic), for scale tests"
KEPT = ("text", "spans", "cats", "answer", "meta", "label", "accept", "options")  # the annotation; not Prodigy's history


def synthetic_copies(records: Iterable[Mapping[str, Any]], total: int) -> Iterator[dict[str, Any]]:
    """``total`` Prodigy records cycling over ``records``: copy ``k`` of a text is the text
    plus ``" #k"`` (copy 0 included, so every text is new and unique). A copy whose input
    hash (32 bits, Prodigy's range) collides with an earlier one is skipped: past ~10^5
    texts some do, and a gold version refuses two texts with one hash."""
    source = list(records)
    if not source:
        return
    seen: set[int] = set()
    made, i = 0, 0
    while made < total:
        record = source[i % len(source)]
        text = f"{record['text']} #{i // len(source)}"
        i += 1
        key = stable_hash(text)
        if key in seen:
            continue
        seen.add(key)
        copy = {k: v for k, v in record.items() if k in KEPT}
        copy["text"] = text
        if "spans" in record:
            copy["spans"] = [{k: v for k, v in span.items() if k not in ("token_start", "token_end")} for span in record["spans"]]
        made += 1
        yield copy
