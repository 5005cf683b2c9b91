"""spacy-llm model blocks registered by the harness (``@llm_models``).

- ``harness.Cassette.v1``: record/replay wrapper around any spacy-llm model block.
- ``harness.OpenAICompatible.v1``: chat-completions over HTTP for OpenAI-compatible
  servers (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, ...).
- ``harness.SimulatedTeacher.v1``: the offline *simulated* teacher (see harness.simulated).

They are also exposed through the ``spacy_llm_models`` entry point group, so a
config using them loads with plain ``spacy_llm.util.assemble`` once the harness
is installed.
"""

from __future__ import annotations

import os
import threading
import time
import typing  # spacy-llm validates model signatures against typing.Iterable specifically
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy_llm.registry import registry

from ..cassette import MODES, Cassette, identity_json, model_identity
from ..errors import HarnessError, InputError
from ..gold import GoldExample, GoldStore
from ..simulated import ErrorRates, simulate_ner_answer, simulate_textcat_answer, text_from_prompt


@dataclass(frozen=True)
class Completion:
    """One model answer plus what we know about producing it."""

    text: str
    latency_s: float | None = None
    usage: Mapping[str, int] | None = None
    error: str | None = None
    simulated: bool = False


OnDone = Callable[[str, Completion], None]


class BackendError(HarnessError):
    """The backend failed after all retries (or answered with something unusable)."""


# --------------------------------------------------------------------------- OpenAI-compatible


class OpenAICompatibleModel:
    """POST ``{base_url}/chat/completions`` with one user message per prompt.

    Retries 429, 5xx, timeouts and connection errors with exponential backoff
    (``backoff * 2**attempt`` seconds, honouring ``Retry-After``); a malformed body
    fails that prompt. Unlike spacy-llm's OpenAI model it never calls the public
    API to check the key, so local servers work; the key is optional and read from
    the environment variable named by ``api_key_env`` (never stored anywhere).
    """

    registry_name = "harness.OpenAICompatible.v1"

    def __init__(self, *, base_url: str, name: str, api_key_env: str | None = None, config: Mapping[str, Any] | None = None,
                 timeout: float = 60.0, max_tries: int = 5, backoff: float = 1.0, concurrency: int = 4,
                 context_length: int | None = None) -> None:
        if max_tries < 1 or timeout <= 0 or concurrency < 1:
            raise InputError("max_tries and concurrency must be >= 1 and timeout > 0", field="harness.OpenAICompatible.v1")
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.api_key_env = api_key_env
        self.config = dict(config or {})
        self.timeout = timeout
        self.max_tries = max_tries
        self.backoff = backoff
        self.concurrency = concurrency
        self._context_length = context_length
        self.identity = model_identity(self.registry_name, {"name": name, "config": self.config})

    @property
    def context_length(self) -> int | None:
        return self._context_length

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise BackendError(f"environment variable {self.api_key_env} (api_key_env) is not set")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def complete(self, prompt: str) -> Completion:
        """One chat completion with retries; failures come back as ``Completion.error``."""
        import requests

        body = {"model": self.name, "messages": [{"role": "user", "content": prompt}], **self.config}
        url = f"{self.base_url}/chat/completions"
        last_error = "no attempt made"
        for attempt in range(self.max_tries):
            started = time.perf_counter()
            retry_after: float | None = None
            try:
                response = requests.post(url, json=body, headers=self._headers(), timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as err:
                last_error = f"{type(err).__name__}: {err}"
            else:
                latency = time.perf_counter() - started
                if response.status_code == 200:
                    try:
                        data = response.json()
                        text = data["choices"][0]["message"]["content"]
                        if not isinstance(text, str):
                            raise TypeError("content is not a string")
                    except (ValueError, KeyError, IndexError, TypeError) as err:
                        return Completion("", latency, None, f"malformed response body ({type(err).__name__}: {err})")
                    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
                    if usage is not None:
                        usage = {k: int(v) for k, v in usage.items() if k in ("prompt_tokens", "completion_tokens", "total_tokens")}
                    return Completion(text, latency, usage)
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code != 429 and response.status_code < 500:
                    return Completion("", latency, None, last_error)  # 4xx other than 429: retrying will not help
                header = response.headers.get("Retry-After")
                if header:
                    try:
                        retry_after = float(header)
                    except ValueError:
                        retry_after = None
            if attempt + 1 < self.max_tries:
                time.sleep(retry_after if retry_after is not None else self.backoff * 2**attempt)
        return Completion("", None, None, f"failed after {self.max_tries} tries: {last_error}")

    def complete_many(self, prompts: Sequence[str], on_done: OnDone | None = None) -> list[Completion]:
        """Complete prompts concurrently (``concurrency`` threads), in order.

        ``on_done(prompt, completion)`` runs as each one finishes, so a caller can
        save results before the batch ends (an interrupted recording keeps them).
        """
        def one(prompt: str) -> Completion:
            result = self.complete(prompt)
            if on_done is not None:
                on_done(prompt, result)
            return result

        if self.concurrency == 1 or len(prompts) <= 1:
            return [one(p) for p in prompts]
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            return list(pool.map(one, prompts))
        finally:
            # On Ctrl-C, drop queued prompts instead of sending them after we stopped.
            pool.shutdown(wait=True, cancel_futures=True)

    def __call__(self, prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        """spacy-llm model protocol (live use): raises if any prompt failed."""
        nested = [list(p) for p in prompts]
        flat = [p for group in nested for p in group]
        results = self.complete_many(flat)
        failed = [r.error for r in results if r.error]
        if failed:
            raise BackendError(f"{len(failed)} of {len(flat)} request(s) to {self.base_url} failed; first: {failed[0]}")
        answers = iter(r.text for r in results)
        return [[next(answers) for _ in group] for group in nested]


# --------------------------------------------------------------------------- simulated teacher


class SimulatedTeacherModel:
    """The offline *simulated* teacher: answers from the gold with seeded errors."""

    registry_name = "harness.SimulatedTeacher.v1"

    def __init__(self, *, gold: str, gold_dir: str | Path, task: str = "ner", rates: Mapping[str, Any] | None = None,
                 seed: int = 0, exclusive_classes: bool = False, base_latency_s: float = 0.5,
                 latency_s_per_token: float = 0.004) -> None:
        if task not in ("ner", "textcat"):
            raise InputError(f"simulated teacher task must be 'ner' or 'textcat', got {task!r}", field="task")
        rates = dict(rates or {})
        per_label = rates.pop("per_label", {})
        defaults = ErrorRates() if task == "ner" else ErrorRates.textcat_defaults()
        unknown = set(rates) - {"miss", "boundary", "wrong_label", "spurious", "unparseable"}
        if unknown:
            raise InputError(f"unknown simulated error rate(s): {', '.join(sorted(unknown))}", field="rates")
        self.rates = ErrorRates(**{**{k: getattr(defaults, k) for k in ("miss", "boundary", "wrong_label", "spurious",
                                                                        "unparseable")}, **rates}, per_label=per_label)
        self.task = task
        self.seed = seed
        self.exclusive = exclusive_classes
        self.base_latency_s = base_latency_s
        self.latency_s_per_token = latency_s_per_token
        version = GoldStore(gold_dir).resolve(gold)
        self.labels = version.labels
        self._by_text: dict[str, GoldExample] = {e.text: e for s in ("train", "eval") for e in version.iter_examples(s)}
        self.identity = model_identity(self.registry_name, {
            "gold": version.ref, "gold_sha256": version.sha256, "task": task, "seed": seed,
            "rates": {"miss": self.rates.miss, "boundary": self.rates.boundary, "wrong_label": self.rates.wrong_label,
                      "spurious": self.rates.spurious, "unparseable": self.rates.unparseable,
                      "per_label": {k: dict(v) for k, v in per_label.items()}},
            "exclusive_classes": exclusive_classes,
        })

    # The simulated teacher has no context limit; saying so keeps spacy-llm from
    # warning that it cannot shard (nothing needs sharding).
    context_length: int | None = 10**9

    def complete(self, prompt: str) -> Completion:
        text = text_from_prompt(prompt, self.task)
        example = self._by_text.get(text)
        if example is None:
            return Completion("", None, None, f"simulated teacher has no gold for text {text[:60]!r}", simulated=True)
        if self.task == "ner":
            answer = simulate_ner_answer(example, self.labels, self.rates, self.seed)
        else:
            answer = simulate_textcat_answer(example, self.labels, self.rates, self.seed, exclusive=self.exclusive)
        # Simulated latency (nothing sleeps): a fixed cost plus a cost per (estimated) token.
        tokens = (len(prompt) + len(answer)) / 4
        return Completion(answer, self.base_latency_s + self.latency_s_per_token * tokens, None, simulated=True)

    def complete_many(self, prompts: Sequence[str], on_done: OnDone | None = None) -> list[Completion]:
        results = []
        for prompt in prompts:
            results.append(self.complete(prompt))
            if on_done is not None:
                on_done(prompt, results[-1])
        return results

    def __call__(self, prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        out = []
        for group in prompts:
            answers = []
            for prompt in group:
                completion = self.complete(prompt)
                if completion.error:
                    raise BackendError(completion.error)
                answers.append(completion.text)
            out.append(answers)
        return out


# --------------------------------------------------------------------------- cassette


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

    Modes: ``replay`` (default) answers from the cassette only; a missing entry is
    collected (``missing``) and answered with "" so the whole run can report every
    miss at once, then the runner fails it (``strict_missing = true`` raises at
    once instead, for use outside the harness). ``record`` calls the inner model for
    missing entries only and appends them, flushing every ``flush_every`` records so
    an interrupted recording resumes without paying twice. ``live`` bypasses the cassette.
    """

    registry_name = "harness.Cassette.v1"

    def __init__(self, *, path: str | Path, inner_model: str, inner_config: Mapping[str, Any] | None = None,
                 mode: str = "replay", strict_missing: bool = False, flush_every: int = 25,
                 context_length: int | None = None) -> None:
        if mode not in MODES:
            raise InputError(f"unknown cassette mode {mode!r}; expected one of {', '.join(MODES)}", field="mode")
        self.path = Path(path)
        self.inner_name = inner_model
        self.inner_config = dict(inner_config or {})
        self.mode = mode
        self.strict_missing = strict_missing
        self.flush_every = max(1, flush_every)
        self._context_length = context_length
        self.cassette = Cassette.load(self.path)
        self._inner: Any = None
        self.identity = self._identity()
        self._identity_json = identity_json(self.identity)  # serialised once: keys are hashed per prompt
        self.log = CallLog()
        self.progress: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def _identity(self) -> dict[str, Any]:
        # Our own blocks know their identity (it includes e.g. the gold sha256 for
        # the simulated teacher); others are identified by registry name + config.
        if self.inner_name in (SimulatedTeacherModel.registry_name, OpenAICompatibleModel.registry_name):
            return self.inner.identity
        return model_identity(self.inner_name, self.inner_config)

    @property
    def inner(self) -> Any:
        """The inner model, built on first use (never in pure replay of a full cassette)."""
        if self._inner is None:
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
        if self.inner_name in (SimulatedTeacherModel.registry_name, OpenAICompatibleModel.registry_name):
            return self.inner.context_length  # ours are cheap to build (no network at construction)
        return None

    @property
    def simulated(self) -> bool:
        return self.inner_name == SimulatedTeacherModel.registry_name

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
                    out[prompt] = self.cassette.add(
                        prompt, self.identity, completion.text, latency_s=completion.latency_s, usage=completion.usage,
                        simulated=completion.simulated or self.simulated)
                    if self.log.calls_made % self.flush_every == 0:
                        self.cassette.flush()
            if self.progress is not None:
                self.progress()

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
                completions = inner.complete_many(flat, on_done=(lambda p, c: progress()) if progress else None)
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
        found = {p: self.cassette.get(p, self._identity_json) for p in flat}
        misses = list(dict.fromkeys(p for p, r in found.items() if r is None))
        hits = [p for p in flat if found[p] is not None]
        self.log.cached += len(hits)
        if self.progress is not None:
            for _ in hits:
                self.progress()
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
        it = iter(self.log.responses[-len(flat):] if flat else [])
        return [[next(it) for _ in group] for group in nested]


# --------------------------------------------------------------------------- registry


@registry.llm_models(CassetteModel.registry_name)
def make_cassette(path: str, inner_model: str, inner_config: dict[str, Any] | None = None, mode: str = "replay",
                  strict_missing: bool = False, flush_every: int = 25, context_length: int | None = None) -> CassetteModel:
    """``harness.Cassette.v1``: record/replay any spacy-llm model block."""
    return CassetteModel(path=path, inner_model=inner_model, inner_config=inner_config, mode=mode,
                         strict_missing=strict_missing, flush_every=flush_every, context_length=context_length)


@registry.llm_models(OpenAICompatibleModel.registry_name)
def make_openai_compatible(base_url: str, name: str, api_key_env: str | None = None, config: dict[str, Any] | None = None,
                           timeout: float = 60.0, max_tries: int = 5, backoff: float = 1.0, concurrency: int = 4,
                           context_length: int | None = None) -> OpenAICompatibleModel:
    """``harness.OpenAICompatible.v1``: any OpenAI-compatible chat-completions endpoint."""
    return OpenAICompatibleModel(base_url=base_url, name=name, api_key_env=api_key_env, config=config, timeout=timeout,
                                 max_tries=max_tries, backoff=backoff, concurrency=concurrency,
                                 context_length=context_length)


@registry.llm_models(SimulatedTeacherModel.registry_name)
def make_simulated_teacher(gold: str, gold_dir: str = "gold", task: str = "ner", rates: dict[str, Any] | None = None,
                           seed: int = 0, exclusive_classes: bool = False, base_latency_s: float = 0.5,
                           latency_s_per_token: float = 0.004) -> SimulatedTeacherModel:
    """``harness.SimulatedTeacher.v1``: the offline simulated teacher (answers derived from gold)."""
    return SimulatedTeacherModel(gold=gold, gold_dir=gold_dir, task=task, rates=rates, seed=seed,
                                 exclusive_classes=exclusive_classes, base_latency_s=base_latency_s,
                                 latency_s_per_token=latency_s_per_token)

