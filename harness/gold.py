"""The gold store: versioned, content-hashed, immutable gold fixtures.

This is the only module that reads or writes ``gold/``. Layout::

    gold/<dataset>/v<N>/train.jsonl     Prodigy tasks, one per line (canonical JSON)
    gold/<dataset>/v<N>/eval.jsonl
    gold/<dataset>/v<N>/manifest.json   dataset, version, task, labels, splits, sha256, ...

A version is immutable. Its ``sha256`` is computed over the canonical bytes of its
example files, so any edit (even whitespace) is detected by :meth:`GoldVersion.verify`.
Imports never touch spaCy: a tokenizer is passed in by the caller when a record has
no ``tokens``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import atomic
from .errors import GoldIntegrityError, InputError

Task = Literal["ner", "textcat", "textcat_multilabel"]
TASKS: tuple[str, ...] = ("ner", "textcat", "textcat_multilabel")
SPLITS: tuple[str, ...] = ("train", "eval")
MANIFEST_SCHEMA = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REF_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*?)(?:@v?(?P<version>\d+|latest))?$")

#: A span as (start_char, end_char, label): tuples keep metrics fast on 100k docs.
SpanTuple = tuple[int, int, str]
#: A token as (start_char, end_char, text, trailing_whitespace).
TokenTuple = tuple[int, int, str, bool]
Tokenizer = Callable[[str], Sequence[TokenTuple]]


@dataclass(frozen=True)
class GoldExample:
    """One gold task. ``spans`` for NER, ``cats`` for text classification."""

    input_hash: int
    text: str
    spans: tuple[SpanTuple, ...] = ()
    cats: Mapping[str, float] | None = None
    tokens: tuple[TokenTuple, ...] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    split: str = "train"
    source: str = ""  # "file:line" the example came from, for error messages

    def annotation_key(self) -> str:
        """A canonical string of the annotation, to compare duplicates and versions."""
        if self.cats is not None:
            return json.dumps(sorted(self.cats.items()))
        return json.dumps(sorted(self.spans))

    def to_record(self) -> dict[str, Any]:
        """The Prodigy task written to gold (``_split`` is implied by the file)."""
        record: dict[str, Any] = dict(self.extra)
        record["text"] = self.text
        record["_input_hash"] = self.input_hash
        record["answer"] = "accept"
        record["meta"] = dict(self.meta)
        if self.tokens is not None:
            record["tokens"] = [
                {"text": t, "start": s, "end": e, "id": i, "ws": ws}
                for i, (s, e, t, ws) in enumerate(self.tokens)
            ]
        if self.cats is not None:
            record["cats"] = dict(self.cats)
        else:
            starts = {tok[0]: i for i, tok in enumerate(self.tokens or ())}
            ends = {tok[1]: i for i, tok in enumerate(self.tokens or ())}
            record["spans"] = [
                {"start": s, "end": e, "label": label, "token_start": starts[s], "token_end": ends[e]}
                for s, e, label in self.spans
            ]
        record["_task_hash"] = stable_hash(f"{self.input_hash}|{self.annotation_key()}")
        return record


def stable_hash(text: str) -> int:
    """A signed 32-bit hash (Prodigy's ``_input_hash`` range) that is stable across runs."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big", signed=True)


def canonical_json(record: Mapping[str, Any]) -> str:
    """The one serialisation used for gold files, so hashes do not depend on key order."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream ``(line_number, object)`` from a JSONL file; blank lines are skipped.

    Raises:
        InputError: naming file and line for a line that is not a JSON object.
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"not valid JSON ({err.msg} at column {err.colno})", path=path, line=number) from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=number)
            yield number, obj


# --------------------------------------------------------------------------- parsing


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


def _parse_spans(
    raw: Any, text: str, tokens: tuple[TokenTuple, ...], where: dict[str, Any]
) -> tuple[SpanTuple, ...]:
    if not isinstance(raw, list):
        raise InputError("'spans' must be a list", field="spans", **where)
    token_starts = {t[0] for t in tokens}
    token_ends = {t[1] for t in tokens}
    spans: list[SpanTuple] = []
    for i, span in enumerate(raw):
        fld = f"spans[{i}]"
        if not isinstance(span, dict):
            raise InputError("each span must be an object", field=fld, **where)
        try:
            start, end = int(span["start"]), int(span["end"])
        except (KeyError, TypeError, ValueError):
            raise InputError("span needs integer 'start' and 'end'", field=fld, **where) from None
        label = span.get("label")
        if not isinstance(label, str) or not label:
            raise InputError("span needs a non-empty string 'label'", field=f"{fld}.label", **where)
        if not 0 <= start < end <= len(text):
            raise InputError(f"span offsets [{start}:{end}] outside the text (length {len(text)})", field=fld, **where)
        if start not in token_starts or end not in token_ends:
            raise InputError(
                f"span {text[start:end]!r} [{start}:{end}] ({label}) does not fall on token boundaries",
                field=fld,
                **where,
            )
        spans.append((start, end, label))
    spans.sort()
    for (s1, e1, l1), (s2, e2, l2) in zip(spans, spans[1:]):
        if s2 < e1:
            raise InputError(
                f"overlapping spans {text[s1:e1]!r} ({l1}) and {text[s2:e2]!r} ({l2}); NER gold must not overlap",
                field="spans",
                **where,
            )
    return tuple(spans)


def _parse_cats(raw: Any, where: dict[str, Any]) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise InputError("'cats' must be an object of label -> 0/1", field="cats", **where)
    cats = {}
    for label, value in raw.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
            raise InputError(f"category value must be a number in [0, 1], got {value!r}", field=f"cats.{label}", **where)
        cats[str(label)] = float(value)
    return cats


_KNOWN_KEYS = {"text", "spans", "cats", "tokens", "meta", "_input_hash", "_task_hash", "answer", "accept", "label", "options"}


@dataclass
class ImportStats:
    """What an import did besides producing examples (recorded in the manifest notes)."""

    records: int = 0
    skipped_ignore: int = 0
    skipped_reject: int = 0
    duplicates_merged: int = 0
    tokenized: int = 0


def parse_prodigy_file(
    path: str | Path,
    *,
    tokenizer: Tokenizer | None = None,
    stats: ImportStats | None = None,
) -> Iterator[GoldExample]:
    """Parse Prodigy JSONL into :class:`GoldExample` (one per accepted task, unmerged).

    Supported shapes: ``spans`` (NER), ``cats``, ``accept`` with ``options``
    (choice interface) and ``label`` + ``answer`` (binary classification).
    ``answer: ignore`` is skipped; ``answer: reject`` skips the task except for
    binary ``label`` tasks, where it means "not this label".
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
        input_hash = obj.get("_input_hash")
        if input_hash is None:
            input_hash = stable_hash(text)
        elif not isinstance(input_hash, int) or isinstance(input_hash, bool):
            raise InputError("'_input_hash' must be an integer", field="_input_hash", **where)
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise InputError("'meta' must be an object", field="meta", **where)
        extra = {k: v for k, v in obj.items() if k not in _KNOWN_KEYS}
        source = f"{path}:{number}"
        if "spans" in obj:
            if "tokens" in obj:
                tokens = _parse_tokens(obj["tokens"], text, where)
            elif tokenizer is not None:
                tokens = tuple(tokenizer(text))
                stats.tokenized += 1
            else:
                raise InputError("NER task without 'tokens' and no tokenizer given", field="tokens", **where)
            spans = _parse_spans(obj["spans"], text, tokens, where)
            yield GoldExample(input_hash, text, spans=spans, tokens=tokens, meta=meta, extra=extra, source=source)
        elif "cats" in obj:
            yield GoldExample(input_hash, text, cats=_parse_cats(obj["cats"], where), meta=meta, extra=extra, source=source)
        elif "accept" in obj:
            accepted = obj["accept"]
            if not isinstance(accepted, list):
                raise InputError("'accept' must be a list of option ids", field="accept", **where)
            options = [str(o.get("id")) for o in obj.get("options", []) if isinstance(o, dict)]
            labels = options or [str(a) for a in accepted]
            cats = {label: (1.0 if label in {str(a) for a in accepted} else 0.0) for label in labels}
            yield GoldExample(input_hash, text, cats=cats, meta=meta, extra=extra, source=source)
        elif is_binary_label:
            label = obj["label"]
            if not isinstance(label, str) or not label:
                raise InputError("'label' must be a non-empty string", field="label", **where)
            cats = {label: 1.0 if answer == "accept" else 0.0}
            yield GoldExample(input_hash, text, cats=cats, meta=meta, extra=extra | {"_binary": True}, source=source)
        else:
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
    exclusive = all(sum(1 for v in (e.cats or {}).values() if v > 0.5) == 1 for e in examples)
    return "textcat" if exclusive else "textcat_multilabel"


def split_key(seed: int, input_hash: int) -> float:
    """A uniform number in [0, 1) per example: the split depends on nothing else."""
    digest = hashlib.sha256(f"{seed}:{input_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(
    examples: Sequence[GoldExample],
    *,
    eval_fraction: float,
    seed: int,
    inherited: Mapping[int, str] | None = None,
) -> list[GoldExample]:
    """Assign ``train``/``eval`` deterministically by a hash of (seed, input hash).

    Examples already in a parent version keep their split (``inherited``), so a
    new version never moves an eval example into training (leakage).
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise InputError(f"eval fraction must be in [0, 1), got {eval_fraction}", field="eval_fraction")
    inherited = inherited or {}
    out = []
    for example in examples:
        split = inherited.get(example.input_hash)
        if split is None:
            split = "eval" if split_key(seed, example.input_hash) < eval_fraction else "train"
        out.append(_with_split(example, split))
    return out


def _with_split(example: GoldExample, split: str) -> GoldExample:
    return GoldExample(
        example.input_hash, example.text, example.spans, example.cats, example.tokens, example.meta, example.extra, split, example.source
    )


def label_counts(examples: Iterable[GoldExample]) -> Counter[str]:
    """Spans per label (NER) or positive examples per label (textcat)."""
    counts: Counter[str] = Counter()
    for example in examples:
        if example.cats is not None:
            for label, value in example.cats.items():
                counts[label] += 1 if value > 0.5 else 0
        else:
            counts.update(label for _, _, label in example.spans)
    return counts


def example_from_record(record: Mapping[str, Any], split: str, source: str) -> GoldExample:
    """Rebuild a :class:`GoldExample` from a record the store wrote (already validated)."""
    tokens = None
    if "tokens" in record:
        tokens = tuple((t["start"], t["end"], t["text"], bool(t.get("ws", False))) for t in record["tokens"])
    cats = record.get("cats")
    spans = tuple((s["start"], s["end"], s["label"]) for s in record.get("spans", ()))
    extra = {k: v for k, v in record.items() if k not in _KNOWN_KEYS}
    return GoldExample(
        record["_input_hash"], record["text"], spans, cats, tokens, record.get("meta") or {}, extra, split, source
    )


# --------------------------------------------------------------------------- store


@dataclass(frozen=True)
class GoldRef:
    """``dataset@vN``; ``version`` None means the latest."""

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> GoldRef:
        match = _REF_RE.match(text.strip())
        if not match:
            raise InputError(f"invalid gold reference {text!r}; expected NAME or NAME@vN")
        version = match.group("version")
        return cls(match.group("name"), None if version in (None, "latest") else int(version))

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class GoldVersion:
    """One immutable version on disk, described by its manifest."""

    path: Path
    manifest: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["dataset"])

    @property
    def version(self) -> int:
        return int(self.manifest["version"])

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def task(self) -> Task:
        return self.manifest["task"]

    @property
    def sha256(self) -> str:
        return str(self.manifest["sha256"])

    @property
    def labels(self) -> list[str]:
        return sorted(self.manifest["labels"])

    def split_size(self, split: str) -> int:
        return int(self.manifest["splits"][split]["examples"])

    def iter_examples(self, split: str) -> Iterator[GoldExample]:
        """Stream one split's examples (bounded memory for large gold sets)."""
        if split not in SPLITS:
            raise InputError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        path = self.path / f"{split}.jsonl"
        for number, record in read_jsonl(path):
            try:
                yield example_from_record(record, split, f"{path}:{number}")
            except (KeyError, TypeError) as err:
                raise InputError(f"gold record is missing {err}", path=path, line=number) from None

    def verify(self) -> None:
        """Raise :class:`GoldIntegrityError` naming the file whose content changed."""
        files = self.manifest.get("files", {})
        problems = []
        for filename, expected in sorted(files.items()):
            path = self.path / filename
            if not path.exists():
                problems.append(f"{path}: missing")
                continue
            actual = file_sha256(path)
            if actual != expected:
                problems.append(f"{path}: sha256 {actual[:12]}… does not match manifest {expected[:12]}…")
        extra = sorted(p.name for p in self.path.glob("*.jsonl") if p.name not in files)
        problems += [f"{self.path / name}: not listed in the manifest" for name in extra]
        if not problems and content_sha256(files) != self.sha256:
            problems.append(f"{self.path / 'manifest.json'}: content sha256 does not match its file hashes")
        if problems:
            raise GoldIntegrityError(
                f"gold {self.ref} was modified after it was written (versions are immutable; "
                "import a new version instead):\n  " + "\n  ".join(problems)
            )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_sha256(file_hashes: Mapping[str, str]) -> str:
    """The version's content hash: over its example files' hashes, in name order."""
    text = "".join(f"{name} {digest}\n" for name, digest in sorted(file_hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class GoldDiff:
    """What changed between two versions, by input hash."""

    old: str
    new: str
    added: tuple[int, ...]
    removed: tuple[int, ...]
    changed: tuple[int, ...]
    moved_split: tuple[int, ...]
    label_deltas: Mapping[str, tuple[int, int]]  # label -> (old count, new count)


class GoldStore:
    """The ``gold/`` directory: lists, resolves, writes and verifies versions."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def datasets(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.version_numbers(p.name))

    def version_numbers(self, name: str) -> list[int]:
        directory = self.root / name
        if not directory.is_dir():
            return []
        return sorted(int(p.name[1:]) for p in directory.iterdir() if re.fullmatch(r"v\d+", p.name) and (p / "manifest.json").exists())

    def resolve(self, ref: str | GoldRef, *, verify: bool = True) -> GoldVersion:
        """Load a version's manifest (latest when no version is given) and verify it."""
        ref = GoldRef.parse(ref) if isinstance(ref, str) else ref
        numbers = self.version_numbers(ref.name)
        if not numbers:
            known = ", ".join(self.datasets()) or "none"
            raise InputError(f"unknown gold dataset {ref.name!r} in {self.root} (known: {known})")
        number = ref.version if ref.version is not None else numbers[-1]
        if number not in numbers:
            raise InputError(
                f"unknown gold version {ref.name}@v{number} in {self.root}; available: "
                + ", ".join(f"v{n}" for n in numbers)
            )
        path = self.root / ref.name / f"v{number}"
        manifest_path = path / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InputError(f"manifest is not valid JSON ({err.msg})", path=manifest_path, line=err.lineno) from None
        for key in ("dataset", "version", "task", "labels", "splits", "files", "sha256"):
            if key not in manifest:
                raise InputError("manifest is missing a required key", path=manifest_path, field=key)
        version = GoldVersion(path, manifest)
        if verify:
            version.verify()
        return version

    def write_version(
        self,
        name: str,
        examples: Sequence[GoldExample],
        *,
        task: Task,
        source: Mapping[str, Any],
        notes: str = "",
        eval_fraction: float,
        seed: int,
        parent: GoldVersion | None = None,
        lang: str = "en",
    ) -> GoldVersion:
        """Write the next version of ``name`` atomically and return it.

        Never overwrites: the version directory is built aside and renamed into
        place, and the rename fails if that version appeared meanwhile.
        """
        if not _NAME_RE.match(name):
            raise InputError(f"invalid dataset name {name!r}: use letters, digits, '.', '_' or '-'", field="name")
        if task not in TASKS:
            raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}", field="task")
        for example in examples:
            if task == "ner" and example.cats is not None:
                raise InputError(f"task is ner but {example.source} has 'cats'")
            if task != "ner" and example.cats is None:
                raise InputError(f"task is {task} but {example.source} has no 'cats'")
        numbers = self.version_numbers(name)
        number = (numbers[-1] + 1) if numbers else 1
        by_split: dict[str, list[GoldExample]] = {s: [] for s in SPLITS}
        for example in sorted(examples, key=lambda e: (e.split, split_key(seed, e.input_hash), e.input_hash)):
            by_split[example.split].append(example)
        file_hashes: dict[str, str] = {}
        target = self.root / name / f"v{number}"
        with atomic.atomic_directory(target) as tmp:
            for split, items in by_split.items():
                filename = f"{split}.jsonl"
                atomic.write_jsonl(tmp / filename, (canonical_json(e.to_record()) for e in items))
                file_hashes[filename] = file_sha256(tmp / filename)
            manifest = {
                "schema": MANIFEST_SCHEMA,
                "dataset": name,
                "version": number,
                "task": task,
                "lang": lang,
                "labels": dict(sorted(label_counts(examples).items())),
                "splits": {
                    split: {"examples": len(items), "labels": dict(sorted(label_counts(items).items()))}
                    for split, items in by_split.items()
                },
                "eval_fraction": eval_fraction,
                "seed": seed,
                "files": file_hashes,
                "sha256": content_sha256(file_hashes),
                "parent": f"v{parent.version}" if parent is not None else None,
                "source": dict(source),
                "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "notes": notes,
            }
            atomic.write_json(tmp / "manifest.json", manifest)
        return GoldVersion(target, manifest)

    def verify_all(self, name: str | None = None) -> list[tuple[str, str | None]]:
        """Verify every version (or those of ``name``): ``[(ref, error or None)]``."""
        results: list[tuple[str, str | None]] = []
        for dataset in [name] if name else self.datasets():
            for number in self.version_numbers(dataset):
                ref = f"{dataset}@v{number}"
                try:
                    self.resolve(ref, verify=True)
                    results.append((ref, None))
                except (GoldIntegrityError, InputError) as err:
                    results.append((ref, str(err)))
        return results

    def diff(self, old_ref: str, new_ref: str) -> GoldDiff:
        """Added, removed and changed examples (by input hash) and label count deltas."""
        old, new = self.resolve(old_ref), self.resolve(new_ref)
        old_ex = {e.input_hash: e for s in SPLITS for e in old.iter_examples(s)}
        new_ex = {e.input_hash: e for s in SPLITS for e in new.iter_examples(s)}
        added = tuple(sorted(set(new_ex) - set(old_ex)))
        removed = tuple(sorted(set(old_ex) - set(new_ex)))
        common = set(old_ex) & set(new_ex)
        changed = tuple(sorted(h for h in common if old_ex[h].annotation_key() != new_ex[h].annotation_key()))
        moved = tuple(sorted(h for h in common if old_ex[h].split != new_ex[h].split))
        labels = sorted(set(old.manifest["labels"]) | set(new.manifest["labels"]))
        deltas = {
            label: (int(old.manifest["labels"].get(label, 0)), int(new.manifest["labels"].get(label, 0)))
            for label in labels
        }
        return GoldDiff(old.ref, new.ref, added, removed, changed, moved, deltas)


def import_examples(
    store: GoldStore,
    paths: Sequence[str | Path],
    *,
    name: str,
    task: Task | None = None,
    eval_fraction: float = 0.3,
    seed: int = 0,
    tokenizer: Tokenizer | None = None,
    docbin_reader: Callable[[Path], Iterator[GoldExample]] | None = None,
    notes: str = "",
    lang: str = "en",
) -> GoldVersion:
    """Read Prodigy JSONL and/or spaCy DocBin files and write the next gold version.

    ``docbin_reader`` converts a ``.spacy`` file (it lives in ``harness.runners``
    so that this module never imports spaCy).
    """
    stats = ImportStats()
    parsed: list[GoldExample] = []
    for raw_path in paths:
        path = Path(raw_path)
        if path.suffix == ".spacy":
            if docbin_reader is None:
                raise InputError("a .spacy file needs a DocBin reader", path=path)
            parsed.extend(docbin_reader(path))
        else:
            parsed.extend(parse_prodigy_file(path, tokenizer=tokenizer, stats=stats))
    examples = merge_duplicates(parsed, stats)
    inferred = infer_task(examples)
    if task is None:
        task = inferred
    elif (task == "ner") != (inferred == "ner"):
        raise InputError(f"--task {task} does not match the data, which looks like {inferred}", field="task")
    if task == "ner" and any(e.tokens is None for e in examples):
        raise InputError("NER examples need tokens")
    parent = None
    inherited: dict[int, str] = {}
    if store.version_numbers(name):
        parent = store.resolve(name)
        if parent.task != task:
            raise InputError(f"dataset {name} has task {parent.task}; cannot add a {task} version", field="task")
        inherited = {e.input_hash: e.split for s in SPLITS for e in parent.iter_examples(s)}
    examples = assign_splits(examples, eval_fraction=eval_fraction, seed=seed, inherited=inherited)
    source = {
        "paths": [str(p) for p in paths],
        "sha256": {str(p): file_sha256(Path(p)) for p in paths},
        "records": stats.records,
        "skipped_ignore": stats.skipped_ignore,
        "skipped_reject": stats.skipped_reject,
        "duplicates_merged": stats.duplicates_merged,
        "tokenized_by_harness": stats.tokenized,
    }
    return store.write_version(
        name, examples, task=task, source=source, notes=notes, eval_fraction=eval_fraction, seed=seed, parent=parent, lang=lang
    )
