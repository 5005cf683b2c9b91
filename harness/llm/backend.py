"""What every harness model block returns per prompt, and how a backend fails."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import HarnessError


@dataclass(frozen=True)
class Completion:
    """One model answer plus what we know about producing it."""

    text: str
    latency_s: float | None = None
    usage: Mapping[str, int] | None = None
    error: str | None = None
    simulated: bool = False


#: Called as each prompt finishes: ``on_done(prompt, completion)``.
OnDone = Callable[[str, Completion], None]


class BackendError(HarnessError):
    """The backend failed after all retries (or answered with something unusable)."""
