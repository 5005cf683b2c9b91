"""Gold data: the only package that reads or writes ``gold/``.

- :mod:`.records`: a gold example and its Prodigy record form;
- :mod:`.prodigy`: parsing Prodigy exports (spans, cats, choice, binary) and merging duplicates;
- :mod:`.store`: versions on disk, manifests, verification, diffs, splits;
- :mod:`.importer`: files in, the next version out.

Names are re-exported lazily (PEP 562), so ``from harness.gold import GoldStore``
does not import the Prodigy parser or the importer.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "import_examples": "importer",
    **dict.fromkeys(("ImportStats", "Task", "Tokenizer", "infer_task", "merge_duplicates", "parse_prodigy_file"), "prodigy"),
    **dict.fromkeys(("GoldExample", "example_from_record", "label_counts", "stable_hash"), "records"),
    **dict.fromkeys(("GoldDiff", "GoldRef", "GoldStore", "GoldVersion", "assign_splits", "content_sha256", "file_sha256", "split_key"), "store"),
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'harness.gold' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
