"""``harness.OpenAICompatible.v1``: chat completions over HTTP for OpenAI-compatible
servers (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, ...).

It exists because spacy-llm's own OpenAI block checks the key against the public
API even when pointed elsewhere, so local servers cannot be used with it.
"""

from __future__ import annotations

import os
import threading
import time
import typing  # spacy-llm validates model signatures against typing.Iterable specifically
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import InputError
from .backend import BackendError, Completion, OnDone
from .cassette import model_identity

RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Refused connections (or unknown hosts) in a row, before any answer, after which the
#: backend counts as unreachable and the remaining prompts are not sent.
UNREACHABLE_AFTER = 3


class OpenAICompatibleModel:
    """POST ``{base_url}/chat/completions`` with one user message per prompt.

    Transport is a ``requests.Session`` whose urllib3 ``Retry`` retries 429, 5xx
    and read timeouts on POST with exponential backoff, honouring ``Retry-After``,
    and keeps connections alive across calls. A refused connection is not retried
    (nothing is listening; retrying only hides that). A malformed body fails that
    prompt. The key is optional and read at call time from the environment
    variable named by ``api_key_env``; it is never stored anywhere.
    """

    registry_name = "harness.OpenAICompatible.v1"

    def __init__(
        self,
        *,
        base_url: str,
        name: str,
        api_key_env: str | None = None,
        config: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
        max_tries: int = 5,
        backoff: float = 1.0,
        concurrency: int = 4,
        context_length: int | None = None,
    ) -> None:
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
        self._session: Any = None
        self._session_lock = threading.Lock()
        self._refused = 0  # refused connections before the first answer
        self._answered = False
        self.unreachable: str | None = None  # set once the backend is judged unreachable

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

    def session(self) -> Any:
        """The shared ``requests.Session`` (built on first use; sized for ``concurrency``)."""
        with self._session_lock:
            if self._session is None:
                import requests
                from requests.adapters import HTTPAdapter
                from urllib3.util.retry import Retry

                retries = self.max_tries - 1
                retry = Retry(
                    total=retries,
                    connect=0,
                    read=retries,
                    status=retries,
                    other=0,
                    status_forcelist=RETRY_STATUSES,
                    allowed_methods=frozenset({"POST"}),
                    backoff_factor=self.backoff,
                    respect_retry_after_header=True,
                    raise_on_status=False,
                )
                adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=max(1, self.concurrency))
                session = requests.Session()
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                self._session = session
            return self._session

    def complete(self, prompt: str) -> Completion:
        """One chat completion (retried by the session); failures come back as ``Completion.error``."""
        import requests

        if self.unreachable is not None:
            return Completion("", None, None, f"not sent: {self.unreachable}")
        body = {"model": self.name, "messages": [{"role": "user", "content": prompt}], **self.config}
        started = time.perf_counter()
        try:
            response = self.session().post(f"{self.base_url}/chat/completions", json=body, headers=self._headers(), timeout=self.timeout)
        except requests.RequestException as err:
            if _refused(err):
                self._note_refused(err)
                return Completion("", None, None, f"connection failed (not retried): {type(err).__name__}: {err}")
            return Completion("", None, None, f"failed after {self.max_tries} tries: {type(err).__name__}: {err}")
        self._answered = True
        latency = time.perf_counter() - started
        if response.status_code != 200:
            tries = f"failed after {self.max_tries} tries: " if response.status_code in RETRY_STATUSES else ""
            return Completion("", latency, None, f"{tries}HTTP {response.status_code}: {response.text[:200]}")
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

    def _note_refused(self, err: Exception) -> None:
        """Count a refused connection; a few in a row with no answer yet means nothing is
        listening (or the host does not exist): stop sending instead of retrying for minutes."""
        with self._session_lock:
            self._refused += 1
            if not self._answered and self._refused >= UNREACHABLE_AFTER and self.unreachable is None:
                self.unreachable = (
                    f"{self.base_url} is unreachable ({UNREACHABLE_AFTER} connections failed before any "
                    f"answer; first cause: {type(err).__name__}: {str(err)[:200]})"
                )

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


def _refused(err: Exception) -> bool:
    """A connection that was never made: refused, unknown host, connect timeout. Retrying
    those only hides that nothing is listening at the URL."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(err, requests.ConnectTimeout):
        return True
    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(reason, NewConnectionError) or isinstance(err.args[0] if err.args else None, NewConnectionError)
