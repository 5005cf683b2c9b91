"""The fenced blocks of the README and the docs/ pages, and how each kind is checked.

Kinds (the fence's info string):

- ``sh``: commands a reader runs, executed in order in a scratch project by
  ``test_docs.py`` with the harness installed from a wheel. A trailing
  ``# exit N`` is the status the command must end with (else 0).
- ``text``: output. Right after an ``sh`` block it is what those commands must
  print: each line is looked for, in order, in their output (whitespace
  collapsed, so wrapping does not matter); ``…`` stands for anything that
  differs between runs and machines. Elsewhere it is an illustration (the
  shipped demo's output, formulas, the layout).
- ``synopsis``: command lines shown for reference, each parsed with the real
  argument parsers (every command and option must exist), not run.
- ``toml`` (suite files or fragments, validated with the suite schema),
  ``ini`` (spaCy configs, parsed), ``python`` and ``yaml`` (compared with the
  files ``harness init`` writes, or compiled), ``jsonc`` (the results schema).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
KINDS = ("sh", "text", "synopsis", "toml", "ini", "python", "yaml", "jsonc")
ANYTHING = "…"


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    kind: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a Markdown page, in order."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    opening: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            if opening is None:
                opening, body = (number, line[3:].strip()), []
            else:
                found.append(Block(page, opening[0], opening[1], "\n".join(body) + "\n"))
                opening = None
        elif opening is not None:
            body.append(line)
    assert opening is None, f"{page}:{opening[0]}: unclosed code fence"
    return found


def all_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks(page)]


@dataclass(frozen=True)
class Command:
    line: str  # as shown, without the trailing comment
    expected_status: int


def commands(block: Block) -> list[Command]:
    """The command lines of an ``sh`` or ``synopsis`` block (comments dropped)."""
    out = []
    for raw in block.text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        command, _, comment = raw.partition("  #")
        status = re.match(r"\s*exit (\d+)", comment)
        out.append(Command(command.strip(), int(status.group(1)) if status else 0))
    return out


def argv(command: Command) -> list[str]:
    return shlex.split(command.line)


def expected_output(block: Block, following: Block | None) -> list[str]:
    """The output lines an ``sh`` block must print: the ``text`` block right after it."""
    if following is None or following.kind != "text":
        return []
    return [line for line in following.text.splitlines() if line.strip()]


def output_pattern(line: str) -> re.Pattern[str]:
    """A shown output line as a pattern: whitespace-insensitive, ``…`` matching anything."""
    parts = [re.escape(" ".join(part.split())) for part in line.strip().strip(ANYTHING).split(ANYTHING)]
    return re.compile(r".*?".join(parts))


def missing_output(expected: list[str], output: str) -> list[str]:
    """The expected lines not found in ``output``, in order."""
    text = " ".join(output.split())
    position, missing = 0, []
    for line in expected:
        match = output_pattern(line).search(text, position)
        if match is None:
            missing.append(line)
        else:
            position = match.end()
    return missing
