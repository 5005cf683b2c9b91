"""``harness.Cassette.v1``: record/replay around any spacy-llm model block."""

from __future__ import annotations

import os
import threading
import time
import typing  # spacy-llm validates model signatures against typing.Iterable specifically
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..options import DEFAULT_LLM_MODE, LLM_MODES
from .backend import BackendError, Completion
from .cassette import Cassette, CassetteRecord, model_identity
from .sharded_cassette import open_cassette

# Our own blocks know their identity (it includes e.g. the gold sha256 for the
# simulated teacher) and are cheap to build (no network at construction).
SIMULATED_TEACHERS = ("harness.SimulatedTeacher.v1", "harness.SimulatedTeacher.v2")
OWN_BLOCKS = (*SIMULATED_TEACHERS, "harness.OpenAICompatible.v1")


@dataclass
class CallLog:
    """What the cassette saw during one run, in call order (one entry per prompt)."""

    prompts: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)  # CassetteRecord or None (live / failed)
    missing: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    calls_made: int = 0
    cached: int = 0


class CassetteModel:
    """Record/replay wrapper around an inner spacy-llm model block.

    The inner block is named (``inner_model``) and configured (``inner_config``)
    instead of being a nested ``@llm_models`` block so that it is only *built*
    when it must be called: replaying needs no API key and no network.

    Modes: ``replay`` (default) answers from the cassette only. A missing entry
    raises at once (``strict_missing``, the default of the registered block, as
    vcrpy refuses an unrecorded request); the harness's runner sets it off to collect
    every miss of a run (``missing``, answered with "") and fail with one report. ``record`` calls the inner model for
    missing entries only and appends them, flushing every ``flush_every`` records so
    an interrupted recording resumes without paying twice. ``live`` bypasses the cassette.
    """

    registry_name = "harness.Cassette.v1"

    def __init__(
        self,
        *,
        path: str | Path,
        inner_model: str,
        inner_config: Mapping[str, Any] | None = None,
        mode: str = DEFAULT_LLM_MODE,
        strict_missing: bool = False,
        flush_every: int = 25,
        context_length: int | None = None,
        _inner: Any = None,
    ) -> None:
        if mode not in LLM_MODES:
            raise InputError(f"unknown cassette mode {mode!r}; expected one of {', '.join(LLM_MODES)}", field="mode")
        self.path = Path(path)
        self.sharded = str(path).endswith(("/", os.sep)) or self.path.is_dir()  # a cassette directory (10^5+ calls)
        self.inner_name = inner_model
        self.inner_config = dict(inner_config or {})
        self.mode = mode
        self.strict_missing = strict_missing
        self.flush_every = max(1, flush_every)
        self._context_length = context_length
        # A live logger never reads or writes a file.
        self.cassette: Any = Cassette(self.path) if _inner is not None else open_cassette(f"{self.path}/" if self.sharded else self.path)
        self._inner: Any = _inner
        self.identity = self._identity()
        # Replay looks prompts up through the cassette (a dict for one file, shard offsets for a
        # directory); what this run records is kept here too.
        self._lookup = self.cassette.lookup(self.identity)
        self._by_prompt: dict[str, CassetteRecord] = {}
        self.log = CallLog()
        # Called once per prompt as it is answered: progress(failed).
        self.progress: Callable[[bool], None] | None = None
        self._lock = threading.Lock()

    @classmethod
    def live_logger(cls, inner: Any) -> CassetteModel:
        """A file-less wrapper in ``live`` mode around an already built model block: it
        only logs the calls, so an LLM run without a cassette reports like one with."""
        # Named by its registry name when it has one: the harness's own blocks then report their
        # full identity (model, settings), as they do inside a cassette.
        name = getattr(inner, "registry_name", None) or type(inner).__name__
        model = cls(path=Path(".live-logger-never-written.jsonl"), inner_model=name, mode="live", _inner=inner)
        return model

    def miss_message(self) -> str:
        """Every prompt this run missed in replay, explained (count, stale records, nearest prompt)."""
        return self.cassette.miss_report(self.log.missing, self.identity).message(self.path)

    def _identity(self) -> dict[str, Any]:
        # Other blocks are identified by registry name + config.
        if self.inner_name in OWN_BLOCKS:
            return dict(self.inner.identity)
        return model_identity(self.inner_name, self.inner_config)

    @property
    def inner(self) -> Any:
        """The inner model, built on first use (never in pure replay of a full cassette)."""
        if self._inner is None:
            from spacy_llm.registry import registry

            try:
                factory = registry.llm_models.get(self.inner_name)
            except Exception as err:
                raise InputError(f"unknown spacy-llm model block {self.inner_name!r}: {err}", field="inner_model") from None
            self._inner = factory(**self.inner_config)
        return self._inner

    @property
    def context_length(self) -> int | None:
        if self._context_length is not None:
            return self._context_length
        if self.mode == "live" and self._inner is not None:  # a live logger: whatever the wrapped block says
            return getattr(self._inner, "context_length", None)
        if self.inner_name in OWN_BLOCKS:
            return self.inner.context_length  # ours are cheap to build (no network at construction)
        return None

    @property
    def simulated(self) -> bool:
        # A live logger wraps an already built block: ask the block itself.
        return self.inner_name in SIMULATED_TEACHERS or getattr(self._inner, "registry_name", None) in SIMULATED_TEACHERS

    def reset_log(self) -> None:
        self.log = CallLog()

    def _complete_missing(self, prompts: list[str]) -> dict[str, Any]:
        """Call the inner model for prompts not in the cassette (record mode).

        Each answer is added as it arrives and the file is flushed every
        ``flush_every`` answers and on the way out (also on Ctrl-C), so an
        interrupted recording resumes without paying again for what it got.
        """
        out: dict[str, Any] = {}

        def done(prompt: str, completion: Completion) -> None:
            with self._lock:
                self.log.calls_made += 1
                if completion.error:
                    self.log.failures.append(completion.error)
                    out[prompt] = None
                else:
                    out[prompt] = self._by_prompt[prompt] = self.cassette.add(
                        prompt,
                        self.identity,
                        completion.text,
                        latency_s=completion.latency_s,
                        usage=completion.usage,
                        simulated=completion.simulated or self.simulated,
                    )
                    if self.log.calls_made % self.flush_every == 0:
                        self.cassette.flush()
            if self.progress is not None:
                self.progress(completion.error is not None)

        inner = self.inner
        try:
            if hasattr(inner, "complete_many"):
                inner.complete_many(prompts, on_done=done)
            else:  # any spacy-llm model: one batch call, latency spread evenly, no usage
                started = time.perf_counter()
                try:
                    answers = [list(a) for a in inner([[p] for p in prompts])]
                except Exception as err:  # backend errors are counted, never a crash in record mode
                    for prompt in prompts:
                        done(prompt, Completion("", None, None, f"{type(err).__name__}: {err}"))
                else:
                    elapsed = (time.perf_counter() - started) / max(1, len(prompts))
                    for prompt, answer in zip(prompts, answers):
                        done(prompt, Completion(answer[0] if answer else "", elapsed, None))
        finally:
            with self._lock:
                self.cassette.flush()
        return out

    def __call__(self, prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        nested = [list(group) for group in prompts]
        flat = [p for group in nested for p in group]
        if self.mode == "live":
            inner = self.inner
            if hasattr(inner, "complete_many"):
                progress = self.progress
                completions = inner.complete_many(flat, on_done=(lambda p, c: progress(c.error is not None)) if progress else None)
                failed = [c.error for c in completions if c.error]
                if failed:
                    raise BackendError(f"{len(failed)} live call(s) failed; first: {failed[0]}")
                answers = [c.text for c in completions]
            else:
                answers = [a for group in inner(nested) for a in group]
            self.log.prompts += flat
            self.log.responses += answers
            self.log.records += [None] * len(flat)
            self.log.calls_made += len(flat)
            it = iter(answers)
            return [[next(it) for _ in group] for group in nested]
        found: dict[str, CassetteRecord | None] = {p: self._by_prompt.get(p) or self._lookup(p) for p in flat}
        misses = list(dict.fromkeys(p for p, r in found.items() if r is None))
        hits = [p for p in flat if found[p] is not None]
        self.log.cached += len(hits)
        if self.progress is not None:
            for _ in hits:
                self.progress(False)
        if misses and self.mode == "record":
            found.update(self._complete_missing(misses))
        elif misses:
            if self.strict_missing:
                raise BackendError(self.cassette.miss_report(misses, self.identity).message(self.path))
            self.log.missing += misses
        for prompt in flat:
            record = found.get(prompt)
            self.log.prompts.append(prompt)
            self.log.responses.append(record.response if record is not None else "")
            self.log.records.append(record)
        it = iter(self.log.responses[-len(flat) :] if flat else [])
        return [[next(it) for _ in group] for group in nested]
