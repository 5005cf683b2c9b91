"""JSON Lines: streamed reading with ``file:line`` errors, one canonical serialisation."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError


def canonical_json(record: Mapping[str, Any]) -> str:
    """Key-sorted, compact JSON: the same record always gives the same bytes (and hash)."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream ``(line_number, object)`` from a JSONL file; blank lines are skipped.

    Raises:
        InputError: naming file and line for a line that is not a JSON object.
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"not valid JSON ({err.msg} at column {err.colno})", path=path, line=number) from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=number)
            yield number, obj
