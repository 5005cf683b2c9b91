"""Gold examples found by their text, read from disk when asked for: an index of byte
offsets, not the examples, so a simulated teacher over 10^5-10^6 examples loads in seconds
and holds megabytes, not gigabytes, in each worker."""

from __future__ import annotations

import json
from pathlib import Path

from ..options import SPLITS
from .records import GoldExample, example_from_record


class ExamplesByText:
    """``text -> GoldExample`` over every split of one version (a text in several splits: the
    last split's example, eval over train, as a dict of all examples would keep)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._where: dict[str, tuple[str, int, int, int]] = {}  # text -> (split, byte offset, line length, line number)
        for split in SPLITS:
            path = root / f"{split}.jsonl"
            if not path.exists():
                continue
            offset = 0
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        self._where[json.loads(line)["text"]] = (split, offset, len(line), number)
                    offset += len(line)

    def __len__(self) -> int:
        return len(self._where)

    def get(self, text: str) -> GoldExample | None:
        where = self._where.get(text)
        if where is None:
            return None
        split, offset, length, number = where
        path = self.root / f"{split}.jsonl"
        with path.open("rb") as handle:
            handle.seek(offset)
            raw = handle.read(length)
        return example_from_record(json.loads(raw), split, f"{path}:{number}")
