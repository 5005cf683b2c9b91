"""Synthetic gold for scale tests and benchmarks: copies of real examples, each with a
numbered suffix (``" #17"``), so a pool or eval split of any size has real texts, real
gold spans or categories, and a simulated teacher that can answer every one of them.

The suffix leaves every span's character offsets as they were; tokens are dropped so the
importer tokenises the new texts itself. Nothing here is a real annotation of a new text:
a gold version built from it says so in its notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

SYNTHETIC_NOTE = "synthetic: copies of real examples with a numbered suffix (harness.gold.synthetic), for scale tests"
DROPPED = ("tokens", "_input_hash", "_task_hash")


def synthetic_copies(records: Iterable[Mapping[str, Any]], total: int) -> Iterator[dict[str, Any]]:
    """``total`` Prodigy records cycling over ``records``: copy ``k`` of a text is the text
    plus ``" #k"`` (copy 0 included, so every text is new and unique)."""
    source = list(records)
    if not source:
        return
    for i in range(total):
        record = source[i % len(source)]
        copy = {k: v for k, v in record.items() if k not in DROPPED}
        copy["text"] = f"{record['text']} #{i // len(source)}"
        if "spans" in record:
            copy["spans"] = [{k: v for k, v in span.items() if k not in ("token_start", "token_end")} for span in record["spans"]]
        yield copy
