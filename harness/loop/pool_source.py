"""Unlabelled pools as engine sources (:mod:`harness.engines`): a gold split held in memory,
or files of any size (JSONL or Parquet shards) streamed, never loaded whole.

A pool file holds one text per line (JSONL: ``{"text": ..., "_input_hash": ...}``, only
``text`` required; other fields are ignored) or per row (Parquet: a ``text`` column,
optionally ``_input_hash``). Texts already known (queued, in the newest training version) and texts
of the eval split are left out by input hash while reading, so the pool's size never
decides the memory used. A line that cannot be read is a :class:`Problem` naming the file
and line: counted and reported, the rest of the pool still read.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..engines import Item, Problem
from ..errors import InputError
from ..gold.records import stable_hash

POOL_SUFFIXES = (".jsonl", ".parquet")
PARQUET_ROWS = 20_000  # rows of a Parquet shard read at a time


def pool_files(given: str) -> tuple[str, ...]:
    """The shard files ``given`` names: a file, a directory (its ``*.jsonl`` and ``*.parquet``
    files) or a glob; sorted, so every engine sees the same pool."""
    path = Path(given)
    if path.is_dir():
        found = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix in POOL_SUFFIXES)
    elif path.is_file():
        found = [str(path)]
    else:
        found = sorted(p for p in glob.glob(given, recursive=True) if Path(p).is_file())
    if not found:
        raise InputError("no pool files here (expected a .jsonl or .parquet file, a directory of them, or a glob)", path=given)
    odd = [f for f in found if Path(f).suffix not in POOL_SUFFIXES]
    if odd:
        raise InputError(f"not a .jsonl or .parquet file: {odd[0]}", path=given)
    return tuple(found)


def _key(record_hash: object, text: str) -> int:
    return record_hash if isinstance(record_hash, int) and not isinstance(record_hash, bool) else stable_hash(text)


@dataclass(frozen=True)
class PoolFiles:
    """A pool in files. ``exclude``: input hashes (of records and of texts) never read back."""

    files: tuple[str, ...]
    exclude: frozenset[int] = frozenset()

    def shards(self) -> Sequence[str]:
        return self.files

    def items(self) -> Iterator[Item | Problem]:
        for shard in self.files:
            yield from self.read(shard)

    def read(self, shard: str) -> Iterator[Item | Problem]:
        if shard.endswith(".parquet"):
            yield from self._read_parquet(shard)
        else:
            yield from self._read_jsonl(shard)

    def _item(self, record_hash: object, text: object, origin: str) -> Item | Problem | None:
        if not isinstance(text, str) or not text.strip():
            return Problem(origin, "field 'text': expected a non-empty string")
        key = _key(record_hash, text)
        if key in self.exclude or stable_hash(text) in self.exclude:
            return None
        return Item(key, text, -1, origin)

    def _read_jsonl(self, shard: str) -> Iterator[Item | Problem]:
        try:
            handle = open(shard, "rb")  # noqa: SIM115  (closed below; bytes: a bad byte is one line's problem)
        except OSError as err:
            yield Problem(shard, f"cannot read: {err.strerror}")
            return
        with handle:
            for number, raw in enumerate(handle, start=1):
                origin = f"{shard}:{number}"
                try:
                    record = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    yield Problem(origin, "not UTF-8")
                    continue
                except json.JSONDecodeError as err:
                    if raw.strip():
                        yield Problem(origin, f"not valid JSON ({err.msg.removesuffix(' at')} at column {err.colno})")
                    continue
                if not isinstance(record, dict):
                    yield Problem(origin, f"expected a JSON object, got {type(record).__name__}")
                    continue
                item = self._item(record.get("_input_hash"), record.get("text"), origin)
                if item is not None:
                    yield item

    def _read_parquet(self, shard: str) -> Iterator[Item | Problem]:
        import polars as pl

        try:
            frame = pl.scan_parquet(shard)
            columns = frame.collect_schema().names()
        except (OSError, pl.exceptions.PolarsError) as err:
            yield Problem(shard, f"cannot read Parquet: {err}")
            return
        if "text" not in columns:
            yield Problem(shard, f"no 'text' column (columns: {', '.join(columns)})")
            return
        wanted = ["text", *(["_input_hash"] if "_input_hash" in columns else [])]
        offset = 0
        while True:
            chunk = frame.select(wanted).slice(offset, PARQUET_ROWS).collect()
            if chunk.height == 0:
                return
            hashes = chunk["_input_hash"].to_list() if "_input_hash" in wanted else [None] * chunk.height
            for i, (text, record_hash) in enumerate(zip(chunk["text"].to_list(), hashes, strict=True)):
                item = self._item(record_hash, text, f"{shard}:row {offset + i + 1}")
                if item is not None:
                    yield item
            offset += chunk.height
