"""Recording through a batch API: the OpenAI Batch API input for every cassette miss, and
its results back into the cassette.

``harness record SUITE --batch-file requests.jsonl`` writes one request per prompt the
cassette lacks (``custom_id`` = the cassette key; the format ``vllm run-batch`` reads too)
and keeps those prompts beside the cassette (``<cassette>.pending.jsonl``, or
``pending.jsonl`` in a cassette directory), since a results file carries ids, not prompts.
``harness record SUITE --import-batch results.jsonl`` puts each answer into the cassette:

- idempotent and resumable: an answer already recorded is counted, not added again; a
  results file can be imported in parts, or twice;
- a failed line (an ``error``, a status other than 200, a body without a message, an id
  that was never requested) is reported with its line and left a miss: never recorded as
  an answer, so replay still says it is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import atomic
from ..io.jsonl import canonical_json, read_jsonl
from .cassette import cassette_key

BATCH_URL = "/v1/chat/completions"


def pending_path(cassette: Path, sharded: bool) -> Path:
    """Where the prompts of a batch file wait for their answers."""
    return cassette / "pending.jsonl" if sharded else cassette.with_name(cassette.name + ".pending.jsonl")


def request_body(inner_name: str, inner_config: Mapping[str, Any], inner: Any) -> dict[str, Any]:
    """The chat completion body every request shares: the model's name and generation settings
    (an OpenAI-compatible block's own; another block's ``name`` or registry name)."""
    name = getattr(inner, "name", None) or inner_config.get("name") or inner_name
    config = dict(getattr(inner, "config", None) or inner_config.get("config") or {})
    return {"model": name, **config}


def read_pending(path: Path) -> dict[str, dict[str, Any]]:
    """key -> {"prompt", "model"} of the prompts waiting for answers."""
    if not path.exists():
        return {}
    return {str(obj["key"]): obj for _, obj in read_jsonl(path)}


@dataclass(frozen=True)
class BatchWritten:
    requests: int  # lines in the batch file (prompts missing from the cassette)
    pending: int  # prompts now waiting beside the cassette (earlier batch files included)
    path: Path
    pending_path: Path


def write_batch(prompts: Sequence[str], identity: Mapping[str, Any], body: Mapping[str, Any], out: Path, pending_file: Path) -> BatchWritten:
    """The Batch API input for ``prompts`` (the cassette's misses, in order, once each)."""
    unique = list(dict.fromkeys(prompts))
    pending = read_pending(pending_file)
    lines = []
    for prompt in unique:
        key = cassette_key(prompt, identity)
        lines.append(
            canonical_json(
                {"custom_id": key, "method": "POST", "url": BATCH_URL, "body": {**body, "messages": [{"role": "user", "content": prompt}]}}
            )
        )
        pending.setdefault(key, {"key": key, "prompt": prompt, "model": dict(identity)})
    atomic.write_jsonl(out, lines)
    atomic.write_jsonl(pending_file, (canonical_json(v) for _, v in sorted(pending.items())))
    return BatchWritten(len(lines), len(pending), out, pending_file)


@dataclass(frozen=True)
class BatchImported:
    recorded: int
    already: int  # answers the cassette had (an import run twice, or overlapping files)
    failed: tuple[tuple[int, str], ...]  # (line, why): left as misses
    still_pending: int


def _answer(obj: Mapping[str, Any]) -> tuple[str | None, Mapping[str, int] | None, str | None]:
    """(content, usage, why not) of one results line."""
    if obj.get("error"):
        return None, None, f"error: {json.dumps(obj['error'])[:200]}"
    response = obj.get("response")
    if not isinstance(response, Mapping):
        return None, None, "no 'response' object"
    status = response.get("status_code")
    if status != 200:
        return None, None, f"status_code {status}"
    body = response.get("body")
    try:
        content = body["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None, None, "body has no choices[0].message.content"
    if not isinstance(content, str):
        return None, None, "message content is not a string"
    usage = body.get("usage") if isinstance(body.get("usage"), Mapping) else None  # type: ignore[union-attr]
    usage = {k: int(v) for k, v in usage.items() if k in ("prompt_tokens", "completion_tokens", "total_tokens")} if usage else None
    return content, usage, None


def _results(path: Path, failed: list[tuple[int, str]]) -> Iterable[tuple[int, dict[str, Any]]]:
    """The results file's objects; a line that is not one is a failure, not the end of the import."""
    try:
        handle = path.open("rb")
    except OSError as err:
        raise InputError(f"cannot read batch results: {err.strerror}", path=path) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as err:
                failed.append((number, f"not a JSON line ({type(err).__name__})"))
                continue
            if not isinstance(obj, dict):
                failed.append((number, "not a JSON object"))
                continue
            yield number, obj


def import_batch(results: Path, cassette: Any, pending_file: Path, *, simulated: bool = False) -> BatchImported:
    """Record every answered line of ``results`` whose ``custom_id`` is a pending prompt."""
    pending = read_pending(pending_file)
    recorded = already = 0
    failed: list[tuple[int, str]] = []
    done: set[str] = set()
    for number, obj in _results(results, failed):
        key = obj.get("custom_id")
        if not isinstance(key, str):
            failed.append((number, "no 'custom_id'"))
            continue
        if cassette.has(key):
            already += 1
            done.add(key)
            continue
        waiting = pending.get(key)
        if waiting is None:
            failed.append((number, f"custom_id {key[:12]}... was not requested by a batch file of this cassette"))
            continue
        content, usage, why = _answer(obj)
        if why is not None:
            failed.append((number, why))
            continue
        cassette.add(waiting["prompt"], waiting["model"], content, latency_s=None, usage=usage, simulated=simulated)
        recorded += 1
        done.add(key)
    cassette.flush()
    left = {k: v for k, v in pending.items() if k not in done}
    atomic.write_jsonl(pending_file, (canonical_json(v) for _, v in sorted(left.items())))
    return BatchImported(recorded, already, tuple(failed), len(left))
