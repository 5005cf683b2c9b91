"""Record/replay cassettes for LLM calls (pure: no spaCy, no network).

A cassette is a JSONL file committed beside the gold, one record per prompt::

    {"key": sha256, "model": {...identity...}, "prompt": "...", "response": "...",
     "latency_s": 0.81, "usage": {"prompt_tokens": 412, "completion_tokens": 37} | null,
     "recorded_at": "2026-11-24T23:59:00+00:00", "simulated": false}

The key is the sha256 of the exact prompt plus the model identity (registry name,
model name, generation config), so changing the model, its settings or the prompt
template makes old entries *stale* instead of silently reused. (spacy-llm's own
``BatchCache`` keys on the bag of token hashes and ignores the model.)

Identities never contain secrets: keys that look like credentials are dropped
before hashing and writing. Writes rewrite the whole file through a temp file and
a rename, so an interrupted recording leaves the last complete flush.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import atomic
from ..io.clock import now_iso
from ..io.jsonl import read_jsonl

_SECRET_MARKERS = ("key", "token", "secret", "password", "authorization", "auth", "header")


def scrub(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` without anything that could be a credential (recursively)."""
    clean: dict[str, Any] = {}
    for name, value in config.items():
        if any(marker in str(name).lower() for marker in _SECRET_MARKERS):
            continue
        clean[str(name)] = scrub(value) if isinstance(value, Mapping) else value
    return clean


def model_identity(registry_name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """What a response depends on besides the prompt: the model block and its settings.

    Transport settings (base URL, timeouts, retries, concurrency) do not change a
    response and are left out, so a cassette recorded against one server replays
    for the same model served elsewhere.
    """
    transport = {
        "base_url",
        "endpoint",
        "timeout",
        "max_tries",
        "backoff",
        "concurrency",
        "api_key_env",
        "context_length",
        "max_request_time",
        "interval",
        "strict",
    }
    settings = {k: v for k, v in scrub(config).items() if k not in transport}
    return {"registry": registry_name, **settings}


def identity_json(identity: Mapping[str, Any]) -> str:
    """Canonical JSON of a model identity (key order does not matter)."""
    return json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cassette_key(prompt: str, identity: Mapping[str, Any] | str) -> str:
    """sha256 over the canonical identity JSON, a NUL byte, and the exact prompt.

    ``identity`` may be given pre-serialised (:func:`identity_json`): replaying
    thousands of prompts then costs one hash each and nothing else.
    """
    ident = identity if isinstance(identity, str) else identity_json(identity)
    digest = hashlib.sha256(ident.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(prompt.encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class CassetteRecord:
    """One recorded call."""

    key: str
    model: Mapping[str, Any]
    prompt: str
    response: str
    latency_s: float | None
    usage: Mapping[str, int] | None
    recorded_at: str
    simulated: bool = False

    @classmethod
    def made(
        cls,
        prompt: str,
        identity: Mapping[str, Any],
        response: str,
        *,
        latency_s: float | None,
        usage: Mapping[str, int] | None,
        simulated: bool,
    ) -> CassetteRecord:
        """A record of a call made now (keyed on its prompt and model identity)."""
        return cls(
            cassette_key(prompt, identity), dict(identity), prompt, response, latency_s, dict(usage) if usage else None, now_iso(), simulated
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "model": dict(self.model),
                "prompt": self.prompt,
                "response": self.response,
                "latency_s": self.latency_s,
                "usage": dict(self.usage) if self.usage is not None else None,
                "recorded_at": self.recorded_at,
                "simulated": self.simulated,
            },
            sort_keys=True,
            ensure_ascii=False,
        )


def _typed(obj: Mapping[str, Any], name: str, types: tuple[type, ...], path: Path, line: int, *, required: bool = True) -> Any:
    """``obj[name]`` if it has one of ``types`` (bool is never a number), else an error naming the field."""
    if name not in obj:
        if required:
            raise InputError("cassette record is missing this field", path=path, line=line, field=name)
        return None
    value = obj[name]
    if value is None and not required:
        return None
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in types)
        raise InputError(f"expected {expected}, got {type(value).__name__} {value!r:.60}", path=path, line=line, field=name)
    return value


def record_from_json(obj: Mapping[str, Any], path: Path, line: int) -> CassetteRecord:
    usage = _typed(obj, "usage", (dict,), path, line, required=False)
    if usage is not None and not all(isinstance(v, int) and not isinstance(v, bool) for v in usage.values()):
        raise InputError("token counts must be integers", path=path, line=line, field="usage")
    latency = _typed(obj, "latency_s", (int, float), path, line, required=False)
    return CassetteRecord(
        key=_typed(obj, "key", (str,), path, line),
        model=dict(_typed(obj, "model", (dict,), path, line)),
        prompt=_typed(obj, "prompt", (str,), path, line),
        response=_typed(obj, "response", (str,), path, line),
        latency_s=float(latency) if latency is not None else None,
        usage=usage,
        recorded_at=_typed(obj, "recorded_at", (str,), path, line, required=False) or "",
        simulated=bool(_typed(obj, "simulated", (bool,), path, line, required=False)),
    )


@dataclass
class MissReport:
    """Why prompts were not found: how many, and what the first one looks like."""

    missing: int
    other_model: int  # records in the cassette made with a different model identity
    first_prompt: str
    nearest_prompt: str | None
    diff: str

    def message(self, path: Path) -> str:
        lines = [f"cassette {path}: {self.missing} prompt(s) not recorded for this model (mode 'replay')."]
        if self.other_model:
            lines.append(
                f"  {self.other_model} record(s) in the cassette were made with another model identity "
                "(stale: the model or its settings changed)."
            )
        if self.nearest_prompt is not None:
            lines.append("  first missing prompt vs the nearest recorded prompt (prompt template or input changed?):")
            lines.append(self.diff)
        else:
            lines.append(f"  first missing prompt:\n{self.first_prompt[:2000]}")
        lines.append("  run `harness record SUITE` (or --llm-mode record) to fill it.")
        return "\n".join(lines)


@dataclass
class Cassette:
    """An in-memory cassette bound to a file; see the module docstring for the format."""

    path: Path
    records: dict[str, CassetteRecord] = field(default_factory=dict)
    dirty: bool = False
    shared_writes = False  # rewritten whole on flush: one writer at a time

    def __len__(self) -> int:
        return len(self.records)

    def lookup(self, identity: Mapping[str, Any]) -> Callable[[str], CassetteRecord | None]:
        """``prompt -> record`` for one model identity (None: not recorded)."""
        return self.index(identity).get

    def has(self, key: str) -> bool:
        return key in self.records

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        """Read a cassette (a missing file is an empty cassette). Bad lines name file, line and field."""
        path = Path(path)
        cassette = cls(path)
        if not path.exists():
            return cassette
        for number, obj in read_jsonl(path):
            record = record_from_json(obj, path, number)
            if cassette_key(record.prompt, record.model) != record.key:
                raise InputError(
                    "cassette record's key does not match its prompt and model (edited by hand?)", path=path, line=number, field="key"
                )
            cassette.records[record.key] = record
        return cassette

    def index(self, identity: Mapping[str, Any]) -> dict[str, CassetteRecord]:
        """Prompt -> record for one model identity: replay looks prompts up here, a
        plain dict lookup, instead of hashing each prompt again."""
        wanted = identity_json(identity)  # canonical JSON: tuples and lists compare alike, as in the key
        return {r.prompt: r for r in self.records.values() if identity_json(r.model) == wanted}

    def get(self, prompt: str, identity: Mapping[str, Any] | str) -> CassetteRecord | None:
        return self.records.get(cassette_key(prompt, identity))

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
        record = CassetteRecord.made(prompt, identity, response, latency_s=latency_s, usage=usage, simulated=simulated)
        self.records[record.key] = record
        self.dirty = True
        return record

    def flush(self) -> None:
        """Atomically rewrite the file (sorted by key: stable, diff-friendly)."""
        if not self.dirty:
            return
        atomic.write_jsonl(self.path, (r.to_json() for r in sorted(self.records.values(), key=lambda r: r.key)))
        self.dirty = False

    def miss_report(self, missing_prompts: Iterable[str], identity: Mapping[str, Any]) -> MissReport:
        """Explain misses: count, records of other models, nearest recorded prompt with a diff."""
        missing = list(missing_prompts)
        other = sum(1 for r in self.records.values() if dict(r.model) != dict(identity))
        first = missing[0] if missing else ""
        same_model = [r.prompt for r in self.records.values() if dict(r.model) == dict(identity)]
        candidates = same_model or [r.prompt for r in self.records.values()]
        nearest = None
        if candidates and first:
            # quick_ratio first: a cheap upper bound keeps this fast on large cassettes.
            scored = sorted(candidates, key=lambda p: difflib.SequenceMatcher(None, first, p).quick_ratio(), reverse=True)
            nearest = max(scored[:20], key=lambda p: difflib.SequenceMatcher(None, first, p).ratio())
        diff = ""
        if nearest is not None:
            diff = "\n".join(
                "    " + line for line in difflib.unified_diff(nearest.splitlines(), first.splitlines(), "recorded", "missing", lineterm="", n=1)
            )[:4000]
        return MissReport(len(missing), other, first, nearest, diff)
