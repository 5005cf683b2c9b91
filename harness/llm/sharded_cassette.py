"""A cassette for 10^5-10^7 calls: a directory of append-only JSONL shards.

The one-file cassette (:mod:`harness.llm.cassette`) is rewritten whole on every flush and
held in memory, which suits what a team reviews and commits (up to some 10^4 calls). For a
pool of millions of texts a cassette is a directory (a ``path`` ending in ``/``, or an
existing directory) of 256 shards named by the first two hex digits of the key::

    cassette/
      shard-00.jsonl ... shard-ff.jsonl     one record per line, the same record format
      pending.jsonl                          prompts sent out in a batch file (harness record --batch-file)

- Recording appends one line to one shard under an exclusive lock (``flock``): O(1) per
  call, and safe for parallel workers on one machine (the engines' processes or Ray
  actors), so a sharded cassette may be recorded by any engine.
- Loading builds an index of key -> (shard, byte offset) only, never the prompts, reading
  each line's key from its first characters (records are written with sorted keys, so
  ``"key"`` comes first): 10^6 records index in seconds, in well under a GiB.
- Replay reads the records it needs from the shards (read-only), checking each record's key
  against its prompt and model as the one-file cassette does on load.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .cassette import CassetteRecord, MissReport, cassette_key, identity_json, record_from_json

SHARD_DIGITS = 2  # 256 shards
KEY_PREFIX = b'{"key": "'  # how every record line starts (sorted keys)
PENDING = "pending.jsonl"


def shard_name(key: str) -> str:
    return f"shard-{key[:SHARD_DIGITS]}.jsonl"


@dataclass
class ShardedCassette:
    """A cassette directory; see the module docstring."""

    path: Path
    offsets: dict[bytes, tuple[str, int]] = field(default_factory=dict)  # raw key -> (shard, byte offset)
    dirty: bool = False
    shared_writes = True  # parallel workers may record into it (each append is locked)

    @classmethod
    def load(cls, path: str | Path) -> ShardedCassette:
        """The index of a cassette directory (a missing one is empty; it is made on the first record)."""
        cassette = cls(Path(path))
        if not cassette.path.exists():
            return cassette
        if not cassette.path.is_dir():
            raise InputError("expected a cassette directory (the path ends with '/')", path=cassette.path)
        for shard in sorted(cassette.path.glob("shard-*.jsonl")):
            cassette._index_shard(shard)
        return cassette

    def _index_shard(self, shard: Path) -> None:
        offset = 0
        with shard.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith(KEY_PREFIX) and line[len(KEY_PREFIX) + 64 : len(KEY_PREFIX) + 65] == b'"':
                    key = line[len(KEY_PREFIX) : len(KEY_PREFIX) + 64].decode("ascii")
                elif line.strip():  # written by something else: parse it (slower, still exact)
                    try:
                        key = str(json.loads(line)["key"])
                    except (ValueError, KeyError, TypeError):
                        raise InputError("not a cassette record (no 'key')", path=shard, line=number, field="key") from None
                else:
                    offset += len(line)
                    continue
                try:
                    raw = bytes.fromhex(key)
                except ValueError:
                    raise InputError(f"key {key[:16]!r}... is not a sha256 hex digest", path=shard, line=number, field="key") from None
                self.offsets.setdefault(raw, (shard.name, offset))  # the first record of a key wins
                offset += len(line)

    def __len__(self) -> int:
        return len(self.offsets)

    def _read(self, shard: str, offset: int) -> CassetteRecord:
        path = self.path / shard
        with path.open("rb") as handle:
            handle.seek(offset)
            line = handle.readline()
        try:
            obj = json.loads(line)
        except ValueError:
            raise InputError(f"not valid JSON at byte offset {offset}", path=path) from None
        record = record_from_json(obj, path, 0)
        if cassette_key(record.prompt, record.model) != record.key:
            raise InputError(
                f"record at byte offset {offset}: its key does not match its prompt and model (edited by hand?)", path=path, field="key"
            )
        return record

    def lookup(self, identity: Mapping[str, Any]) -> Callable[[str], CassetteRecord | None]:
        """``prompt -> record`` for one model identity (None: not recorded)."""
        ident = identity_json(identity)

        def find(prompt: str) -> CassetteRecord | None:
            key = cassette_key(prompt, ident)
            where = self.offsets.get(bytes.fromhex(key))
            return self._read(*where) if where is not None else None

        return find

    def has(self, key: str) -> bool:
        return bytes.fromhex(key) in self.offsets

    def add(
        self,
        prompt: str,
        identity: Mapping[str, Any],
        response: str,
        *,
        latency_s: float | None,
        usage: Mapping[str, int] | None,
        simulated: bool,
    ) -> CassetteRecord:
        """Append one record to its shard (locked: workers may append at once)."""
        record = CassetteRecord.made(prompt, identity, response, latency_s=latency_s, usage=usage, simulated=simulated)
        self.path.mkdir(parents=True, exist_ok=True)
        data = (record.to_json() + "\n").encode("utf-8")
        shard = shard_name(record.key)
        descriptor = os.open(self.path / shard, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            offset = os.lseek(descriptor, 0, os.SEEK_END)
            os.write(descriptor, data)
        finally:
            os.close(descriptor)  # closing releases the lock
        self.offsets.setdefault(bytes.fromhex(record.key), (shard, offset))
        return record

    def flush(self) -> None:
        """Nothing to do: every record is on disk once :meth:`add` returns."""

    def miss_report(self, missing_prompts: Iterable[str], identity: Mapping[str, Any]) -> MissReport:
        missing = list(missing_prompts)
        return MissReport(len(missing), 0, missing[0] if missing else "", None, "")


def open_cassette(path: str | Path) -> Any:
    """The cassette at ``path``: a directory (``.../`` or an existing one) is sharded, a file is one JSONL."""
    from .cassette import Cassette

    text = str(path)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return ShardedCassette.load(text)
    return Cassette.load(path)
