"""``harness queue review``: work through the queue in the terminal (rich).

One record at a time: the text with each version's spans highlighted (gold, every
pipeline's prediction) and numbered tokens. Commands::

    a N          accept version N (as listed)
    e 3-4 Dish, 7 Location    edit: spans by token range (NER)
    e baking, bread           edit: the positive labels (text classification)
    r / s / f    reject / skip / flag
    q            quit (everything decided so far is saved)

Every decision is saved at once (locked, atomic rewrite), so Ctrl-C loses nothing
and the next session resumes at the first undecided record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from ..core.spans import first_overlap
from ..core.tasks import CATEGORY_RULES
from ..core.text import printable, visible
from ..errors import InputError
from ..gold.store import GoldStore
from ..options import DEFAULT_REPORTS_DIR
from ..specs import SuiteSpec
from . import queue

COLOURS = ("bold green", "bold cyan", "bold magenta", "bold yellow", "bold blue")

#: Review order by scope: records whose answers become training data first (pool texts,
#: behavioural cases), then eval-split records and gold-audit suspects, which can only check the gold.
SCOPE_ORDER = {"pool": 0, "behaviour": 1, "eval": 2, "gold": 3}

#: What a decision on a record of each scope turns into (shown with the record).
SCOPE_OUTCOME = {
    "pool": "training data: your answer goes into the next training version",
    "behaviour": "training data: your answer goes into the next training version",
    "eval": ("gold check (eval split): an answer other than the gold corrects the gold in a new gold version; it never becomes training data"),
    "gold": (
        "gold check (harness gold audit): an answer other than the gold corrects the gold in a new gold version; it never becomes training data"
    ),
}


def review_order(records: Iterable[dict[str, Any]]) -> list[int]:
    """Input hashes of the open, undecided records in the order they are worth reviewing:
    those that can become training data first, eval-split gold checks last (queue order
    within a scope, which is most informative first)."""
    pending = [r for r in records if r["harness"].get("status") == "open" and r["harness"].get("decision") is None]
    pending.sort(key=lambda r: SCOPE_ORDER.get(str(r["harness"].get("scope")), len(SCOPE_ORDER)))
    return [r["_input_hash"] for r in pending]


def versions_of(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, annotation) of every version shown: gold first, then each pipeline."""
    meta = record["harness"]
    out: list[tuple[str, Any]] = []
    if meta.get("gold") is not None:
        out.append(("gold", meta["gold"]))
    out += [(name, value) for name, value in meta.get("predictions", {}).items() if value is not None]  # None: no answer
    return out


def highlighted(text: str, spans: Any, style: str) -> Text:
    """The text with the spans styled (control characters shown as symbols: same offsets)."""
    rendered = Text(visible(text))
    for start, end, _label in spans or ():
        rendered.stylize(style, start, end)
        rendered.stylize("underline", start, end)
    return rendered


def render(console: Console, record: dict[str, Any], position: int, total: int) -> None:
    meta = record["harness"]
    console.rule(Text(f"[{position}/{total}] {meta['category']} ({meta['scope']}), score {meta.get('informativeness', 0):.2f}"))
    outcome = SCOPE_OUTCOME.get(str(meta.get("scope")))
    if outcome:
        console.print(Text(outcome, style="dim"))
    task_is_ner = "spans" in record
    if task_is_ner and record.get("tokens"):
        numbered = Text()
        for i, token in enumerate(record["tokens"]):
            numbered += Text(visible(str(token["text"]))) + Text(str(i), style="dim") + Text(" ")
        console.print(numbered)
    for number, (name, value) in enumerate(versions_of(record), start=1):
        style = COLOURS[(number - 1) % len(COLOURS)]
        if task_is_ner:
            labels = ", ".join(f"{record['text'][s:e]!r} {label}" for s, e, label in value) or "(no spans)"
            console.print(Text(printable(f"{number}. {name}: "), style=style) + highlighted(record["text"], value, style))
            console.print(Text(printable(f"   {labels}")))
        else:
            positive = ", ".join(sorted(CATEGORY_RULES.positives(value))) or "(none)"
            console.print(Text(printable(f"{number}. {name}: {positive}"), style=style))
    if not task_is_ner:
        console.print(Text(printable(record["text"][:1500])))


def parse_edit(argument: str, record: dict[str, Any], labels: Iterable[str] = ()) -> Any:
    """``3-4 Dish, 7 Location`` (token ranges, NER) or ``baking, bread`` (labels).

    A label must be one of ``labels`` (the gold's) or one a version of the record
    uses: a typo would otherwise become a new label in the next gold version. A label
    with spaces is quoted: ``2-3 "Restaurant Name"``.
    """
    known = set(labels)
    for _, value in versions_of(record):
        known |= {span[2] for span in value} if isinstance(value, list) else set(value)
    if "spans" in record:
        return _parse_span_edit(argument, record.get("tokens") or [], known)
    chosen = {p.strip().strip('"') for p in argument.split(",") if p.strip()}
    unknown = chosen - known
    if unknown:
        raise InputError(f"unknown label(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    return {label: 1.0 if label in chosen else 0.0 for label in sorted(known)}


def _parse_span_edit(argument: str, tokens: list[dict[str, Any]], known: set[str]) -> list[list[Any]]:
    spans = []
    for part in filter(None, (p.strip() for p in argument.split(","))):
        match = re.fullmatch(r'(\d+)(?:-(\d+))?\s+(?:"([^"]+)"|(\S+))', part)
        if not match:
            raise InputError(f"cannot read {part!r}: expected 'START[-END] LABEL' token indices (quote a label with spaces)")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        label = match.group(3) or match.group(4)
        if not 0 <= first <= last < len(tokens):
            raise InputError(f"token range {first}-{last} outside 0-{len(tokens) - 1}")
        if label not in known:
            raise InputError(f"unknown label {label!r} (known: {', '.join(sorted(known))})")
        spans.append([tokens[first]["start"], tokens[last]["end"], label])
    spans.sort()
    if first_overlap(spans) is not None:
        raise InputError("edited spans overlap")
    return spans


def review(spec: SuiteSpec, *, reports_dir: str | Path = DEFAULT_REPORTS_DIR, console: Console | None = None) -> int:
    """Review open, undecided records; returns how many decisions were saved."""
    console = console or Console()
    path = queue.queue_path(reports_dir, spec.name)
    pending = review_order(queue.load(path))
    if not pending:
        console.print(Text(f"nothing to review in {path}"))
        return 0

    labels = GoldStore(spec.gold_dir).resolve(spec.gold).labels
    saved = 0
    for position, input_hash in enumerate(pending, start=1):
        record = next(r for r in queue.load(path) if r["_input_hash"] == input_hash)
        render(console, record, position, len(pending))
        versions = versions_of(record)
        while True:
            try:
                line = console.input("[bold]a N[/] accept | [bold]e ...[/] edit | r reject | s skip | f flag | q quit > ")
            except EOFError:
                return saved
            command, _, argument = line.strip().partition(" ")
            try:
                if command == "q":
                    return saved
                if command == "a":
                    name, value = versions[int(argument) - 1]
                    decision, answer = ("gold" if name == "gold" else "llm" if "llm" in name else "distilled"), value
                elif command == "e":
                    decision, answer = "edited", parse_edit(argument, record, labels)
                elif command in ("r", "s", "f"):
                    decision, answer = {"r": "reject", "s": "skip", "f": "flag"}[command], None
                else:
                    console.print("unknown command")
                    continue
            except (ValueError, IndexError, InputError) as err:
                console.print(Text(printable(str(err)), style="red"))
                continue
            _save_decision(path, input_hash, decision, answer)
            saved += 1
            break
    return saved


def _save_decision(path: Path, input_hash: int, decision: str, answer: Any) -> None:
    with queue.locked(path):
        records = queue.load(path)
        for record in records:
            if record["_input_hash"] == input_hash:
                queue.decide(record, decision, answer, reviewer="harness queue review", task="ner" if "spans" in record else "textcat")
        queue.save(path, records)
