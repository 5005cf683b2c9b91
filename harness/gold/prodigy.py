"""Reading Prodigy exports: spans, cats, choice and binary tasks, with file:line errors.

Parsing never touches spaCy: a tokenizer is passed in by the caller when a
record has no ``tokens``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.spans import SpanTuple, TokenTuple, first_overlap, token_boundaries
from ..core.tasks import CATEGORY_RULES
from ..core.text import control_characters, printable
from ..errors import InputError
from ..io.jsonl import read_jsonl
from .records import KNOWN_KEYS, GoldExample, Task, stable_hash

Tokenizer = Callable[[str], Sequence[TokenTuple]]


def _parse_tokens(raw: Any, text: str, where: dict[str, Any]) -> tuple[TokenTuple, ...]:
    if not isinstance(raw, list):
        raise InputError("'tokens' must be a list", field="tokens", **where)
    tokens = []
    for i, tok in enumerate(raw):
        try:
            start, end = int(tok["start"]), int(tok["end"])
        except (KeyError, TypeError, ValueError):
            raise InputError("each token needs integer 'start' and 'end'", field=f"tokens[{i}]", **where) from None
        if not 0 <= start <= end <= len(text):
            raise InputError(f"token offsets [{start}:{end}] outside the text", field=f"tokens[{i}]", **where)
        ws = bool(tok.get("ws", end < len(text) and text[end : end + 1].isspace()))
        tokens.append((start, end, text[start:end], ws))
    return tuple(tokens)


def _parse_spans(raw: Any, text: str, tokens: tuple[TokenTuple, ...], where: dict[str, Any]) -> tuple[SpanTuple, ...]:
    if not isinstance(raw, list):
        raise InputError("'spans' must be a list", field="spans", **where)
    token_starts, token_ends = token_boundaries(tokens)
    spans: list[SpanTuple] = []
    for i, span in enumerate(raw):
        fld = f"spans[{i}]"
        if not isinstance(span, dict):
            raise InputError("each span must be an object", field=fld, **where)
        try:
            start, end = int(span["start"]), int(span["end"])
        except (KeyError, TypeError, ValueError):
            raise InputError("span needs integer 'start' and 'end'", field=fld, **where) from None
        label = _label(span.get("label"), f"{fld}.label", where)
        if not 0 <= start < end <= len(text):
            raise InputError(f"span offsets [{start}:{end}] outside the text (length {len(text)})", field=fld, **where)
        if start not in token_starts or end not in token_ends:
            raise InputError(
                f"span {text[start:end]!r} [{start}:{end}] ({label}) does not fall on token boundaries",
                field=fld,
                **where,
            )
        for key, expected in (("token_start", token_starts[start]), ("token_end", token_ends[end])):
            given = span.get(key)
            if given is not None and given != expected:
                raise InputError(
                    f"{key} {given!r} contradicts the character offsets [{start}:{end}] of span "
                    f"{text[start:end]!r} (token {expected}); fix one of them",
                    field=f"{fld}.{key}",
                    **where,
                )
        spans.append((start, end, label))
    spans.sort()
    overlap = first_overlap(spans)
    if overlap is not None:
        (s1, e1, l1), (s2, e2, l2) = overlap
        raise InputError(
            f"overlapping spans {text[s1:e1]!r} ({l1}) and {text[s2:e2]!r} ({l2}); NER gold must not overlap",
            field="spans",
            **where,
        )
    return tuple(spans)


def _label(value: Any, field: str, where: dict[str, Any]) -> str:
    """A label: a non-empty string without control characters (it ends up in terminals and test ids)."""
    if not isinstance(value, str) or not value:
        raise InputError("a label must be a non-empty string", field=field, **where)
    bad = control_characters(value)
    if bad:
        raise InputError(f"label {printable(value)!r} contains control characters ({', '.join(bad)})", field=field, **where)
    return value


def _parse_cats(raw: Any, where: dict[str, Any]) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise InputError("'cats' must be an object of label -> 0/1", field="cats", **where)
    cats = {}
    for label, value in raw.items():
        _label(label, f"cats.{printable(str(label))}", where)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
            raise InputError(f"category value must be a number in [0, 1], got {value!r}", field=f"cats.{label}", **where)
        cats[str(label)] = float(value)
    return cats


@dataclass
class ImportStats:
    """What an import did besides producing examples (recorded in the manifest notes)."""

    records: int = 0
    skipped_ignore: int = 0
    skipped_reject: int = 0
    duplicates_merged: int = 0
    tokenized: int = 0
    without_spans: int = 0  # accepted NER records with tokens but no 'spans' key: no entities


def parse_prodigy_file(
    path: str | Path,
    *,
    tokenizer: Tokenizer | None = None,
    stats: ImportStats | None = None,
    task: Task | None = None,
) -> Iterator[GoldExample]:
    """Parse Prodigy JSONL into :class:`GoldExample` (one per accepted task, unmerged).

    Supported shapes: ``spans`` (NER), ``cats``, ``accept`` with ``options``
    (choice interface) and ``label`` + ``answer`` (binary classification).
    ``answer: ignore`` is skipped; ``answer: reject`` skips the task except for
    binary ``label`` tasks, where it means "not this label". An accepted record
    with ``tokens`` and none of those keys is an NER example without entities
    (Prodigy writes no ``spans`` when none were marked), unless ``task`` says
    text classification.
    """
    stats = stats if stats is not None else ImportStats()
    path = Path(path)
    for number, obj in read_jsonl(path):
        stats.records += 1
        where: dict[str, Any] = {"path": path, "line": number}
        text = obj.get("text")
        if not isinstance(text, str):
            raise InputError("missing or non-string 'text'", field="text", **where)
        answer = obj.get("answer", "accept")
        if answer not in ("accept", "reject", "ignore"):
            raise InputError(f"unknown answer {answer!r}", field="answer", **where)
        if answer == "ignore":
            stats.skipped_ignore += 1
            continue
        is_binary_label = "label" in obj and "spans" not in obj and "cats" not in obj and "accept" not in obj
        if answer == "reject" and not is_binary_label:
            stats.skipped_reject += 1
            continue
        if "tokens" in obj and not any(k in obj for k in ("spans", "cats", "accept", "label")):
            if task not in (None, "ner"):
                raise InputError(f"record has tokens but no 'cats' for task {task}", field="cats", **where)
            obj = {**obj, "spans": []}
            stats.without_spans += 1
        yield _example(obj, text, answer, is_binary_label, where, tokenizer, stats)


def _example(
    obj: dict[str, Any], text: str, answer: str, is_binary_label: bool, where: dict[str, Any], tokenizer: Tokenizer | None, stats: ImportStats
) -> GoldExample:
    """One accepted (or binary) task as a gold example, by its shape."""
    input_hash = obj.get("_input_hash")
    if input_hash is None:
        input_hash = stable_hash(text)
    elif not isinstance(input_hash, int) or isinstance(input_hash, bool):
        raise InputError("'_input_hash' must be an integer", field="_input_hash", **where)
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise InputError("'meta' must be an object", field="meta", **where)
    common: dict[str, Any] = {
        "meta": meta,
        "extra": {k: v for k, v in obj.items() if k not in KNOWN_KEYS},
        "source": f"{where['path']}:{where['line']}",
    }
    if "spans" in obj:
        if "tokens" in obj:
            tokens = _parse_tokens(obj["tokens"], text, where)
        elif tokenizer is not None:
            tokens = tuple(tokenizer(text))
            stats.tokenized += 1
        else:
            raise InputError("NER task without 'tokens' and no tokenizer given", field="tokens", **where)
        return GoldExample(input_hash, text, spans=_parse_spans(obj["spans"], text, tokens, where), tokens=tokens, **common)
    if "cats" in obj:
        return GoldExample(input_hash, text, cats=_parse_cats(obj["cats"], where), **common)
    if "accept" in obj:
        accepted = obj["accept"]
        if not isinstance(accepted, list):
            raise InputError("'accept' must be a list of option ids", field="accept", **where)
        options = [str(o.get("id")) for o in obj.get("options", []) if isinstance(o, dict)]
        labels = [_label(x, "accept", where) for x in (options or [str(a) for a in accepted])]
        return GoldExample(input_hash, text, cats={label: (1.0 if label in {str(a) for a in accepted} else 0.0) for label in labels}, **common)
    if is_binary_label:
        label = _label(obj["label"], "label", where)
        common["extra"] = common["extra"] | {"_binary": True}
        return GoldExample(input_hash, text, cats={label: 1.0 if answer == "accept" else 0.0}, **common)
    raise InputError("task has none of 'spans', 'cats', 'accept' or 'label'", **where)


def merge_duplicates(examples: Iterable[GoldExample], stats: ImportStats | None = None) -> list[GoldExample]:
    """Merge tasks that share an input hash.

    Identical annotations collapse to one; binary ``label`` answers on the same
    text merge into one ``cats``; anything else that disagrees is an error naming
    both source lines (never resolved silently).
    """
    stats = stats if stats is not None else ImportStats()
    merged: dict[int, GoldExample] = {}
    for example in examples:
        seen = merged.get(example.input_hash)
        if seen is None:
            merged[example.input_hash] = example
            continue
        stats.duplicates_merged += 1
        if seen.text != example.text:
            raise InputError(
                f"input hash {example.input_hash} is used by two different texts (first at {seen.source})",
                path=example.source.rsplit(":", 1)[0],
                line=int(example.source.rsplit(":", 1)[1]),
                field="_input_hash",
            )
        if seen.extra.get("_binary") and example.extra.get("_binary"):
            assert seen.cats is not None and example.cats is not None
            for label, value in example.cats.items():
                if label in seen.cats and seen.cats[label] != value:
                    raise _conflict(seen, example, f"label {label!r} both accepted and rejected")
            merged[example.input_hash] = GoldExample(
                seen.input_hash, seen.text, cats={**seen.cats, **example.cats}, meta=seen.meta, extra=seen.extra, source=seen.source
            )
        elif seen.annotation_key() != example.annotation_key():
            raise _conflict(seen, example, "conflicting annotations")
    result = []
    for example in merged.values():
        if example.extra.get("_binary"):
            extra = {k: v for k, v in example.extra.items() if k != "_binary"}
            example = GoldExample(example.input_hash, example.text, cats=example.cats, meta=example.meta, extra=extra, source=example.source)
        result.append(example)
    return result


def _conflict(first: GoldExample, second: GoldExample, what: str) -> InputError:
    path, line = second.source.rsplit(":", 1)
    return InputError(
        f"input hash {second.input_hash} ({_preview(second.text)}) appears twice with {what}; first at {first.source}",
        path=path,
        line=int(line),
    )


def _preview(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def infer_task(examples: Sequence[GoldExample]) -> Task:
    """``ner`` for spans; ``textcat`` when every example has exactly one positive category."""
    if not examples:
        raise InputError("no examples to import")
    if all(e.cats is None for e in examples):
        return "ner"
    if any(e.cats is None for e in examples):
        raise InputError("the input mixes span (NER) and category tasks; import them as separate datasets")
    exclusive = all(len(CATEGORY_RULES.positives(e.cats)) == 1 for e in examples)
    return "textcat" if exclusive else "textcat_multilabel"
