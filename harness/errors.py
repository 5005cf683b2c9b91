"""Errors that name where bad input came from (file, line, field)."""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """Base class: every user-facing error of the harness."""


class InputError(HarnessError):
    """Bad user input, located as precisely as we know: file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if self.path is not None:
            where.append(self.path if line is None else f"{self.path}:{line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class GoldIntegrityError(HarnessError):
    """A gold version's files do not match the sha256 recorded in its manifest."""


class PipelineError(HarnessError):
    """A pipeline could not be loaded or run."""


class CheckError(HarnessError):
    """A behavioural check's own code raised or returned something that is not a case: an
    error of that check's item (with the check's traceback), never a skip or a pass."""
