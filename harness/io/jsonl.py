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
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory; expected a JSONL file", path=path) from None
    offset = 0
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise InputError(
                    f"not UTF-8: byte {raw[err.start : err.start + 1]!r} at byte offset {offset + err.start} "
                    f"(column {err.start + 1}); re-save the file as UTF-8",
                    path=path,
                    line=number,
                ) from None
            offset += len(raw)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"not valid JSON ({err.msg} at column {err.colno})", path=path, line=number) from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=number)
            yield number, obj
