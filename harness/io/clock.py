"""The one place a "now" timestamp is made (UTC, ISO 8601, whole seconds)."""

from __future__ import annotations

import datetime as _dt


def now_iso() -> str:
    """The current UTC time as ``2026-11-26T14:28:32+00:00``: sortable and unambiguous."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def now_utc() -> _dt.datetime:
    """The current UTC time to the microsecond (orders runs made within one second)."""
    return _dt.datetime.now(_dt.UTC)
