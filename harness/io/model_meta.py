"""A spaCy pipeline's ``meta.json`` and the harness's training record in it: read and
written here only, with one way of handling a missing or damaged file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import atomic

META_FILE = "meta.json"
RECORD_KEY = "harness"  # the training record: gold, config, steps, seed, files' hashes, eval scores


class DamagedMeta(ValueError):
    """A ``meta.json`` that is not a JSON object (truncated, hand-edited, not UTF-8)."""


def read_meta(directory: str | Path) -> dict[str, Any]:
    """The pipeline's ``meta.json``; {} when it has none. A damaged one raises
    :class:`DamagedMeta` naming the file."""
    path = Path(directory) / META_FILE
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise DamagedMeta(f"{path}: not valid JSON ({err}); the pipeline's meta.json is damaged") from None
    if not isinstance(meta, dict):
        raise DamagedMeta(f"{path}: expected a JSON object")
    return meta


def training_record(directory: str | Path) -> dict[str, Any] | None:
    """The harness's training record of the pipeline at ``directory``; None when it has
    none (not trained by the harness, or its meta is missing or damaged)."""
    try:
        record = read_meta(directory).get(RECORD_KEY)
    except (DamagedMeta, OSError):
        return None
    return record if isinstance(record, dict) else None


def write_meta(directory: str | Path, meta: dict[str, Any]) -> None:
    """Replace ``meta.json`` atomically."""
    atomic.write_json(Path(directory) / META_FILE, meta)
