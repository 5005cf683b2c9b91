"""User text shown in a terminal or stored as a label: control characters are data, never commands.

A gold text, a label or a model's answer may contain terminal escape sequences
(``\\x1b[2J`` clears the screen, OSC sequences set the window title). Everything
the harness prints goes through :func:`printable`, and labels with control
characters are refused at import (:func:`control_characters`).
"""

from __future__ import annotations

import re
from typing import Any

from ..options import GOLD_POSITIVE

# C0 and C1 control characters and DEL; newlines and tabs are layout, not commands.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character (but newline and tab) shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def control_characters(text: str) -> list[str]:
    """The control characters in ``text`` (newline and tab included), as ``\\xNN``."""
    return [f"\\x{ord(c):02x}" for c in _ANY_CONTROL.findall(text)]


def _picture(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": U+241B shows ESC as ␛
    return "\u2421" if code == 0x7F else "\ufffd"


def visible(text: str) -> str:
    """Like :func:`printable` but one character per character (control pictures), so
    span offsets into ``text`` still point at the same characters when highlighting."""
    return _CONTROL.sub(lambda m: _picture(m.group()), text)


def human_bytes(size: float | None, missing: str = "-") -> str:
    """``6.6 MB``, ``12.0 GB``, ``5.0 TB``; ``missing`` for no size."""
    if not size or size != size:
        return missing
    return f"{size / 1e12:,.1f} TB" if size >= 1e12 else (f"{size / 1e9:,.1f} GB" if size >= 1e9 else f"{size / 1e6:,.1f} MB")


def annotation_text(value: Any, text: str, *, labels: bool = True, scores: bool = False) -> str:
    """An annotation in a few words. Spans: their texts, with their labels when ``labels``
    (``'sushi' Dish, 'in town' Location``; ``none``). Label scores: the labels that are on
    (``{OTHER, baking}``), or every score with ``scores`` (``{OTHER: 0.99, baking: 0.01}``)."""
    if isinstance(value, dict):
        if scores:
            return "{" + ", ".join(f"{k}: {float(v):.2f}" for k, v in sorted(value.items())) + "}"
        return "{" + ", ".join(k for k, v in sorted(value.items()) if float(v) >= GOLD_POSITIVE) + "}"
    spans = list(value or ())
    if not spans:
        return "none"
    return ", ".join(f"{text[s[0] : s[1]]!r} {s[2]}" if labels else repr(text[s[0] : s[1]]) for s in spans)
