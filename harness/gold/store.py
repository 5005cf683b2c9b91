"""The gold store: versioned, content-hashed, immutable gold fixtures.

Layout::

    gold/<dataset>/v<N>/train.jsonl     Prodigy tasks, one per line (canonical JSON)
    gold/<dataset>/v<N>/eval.jsonl
    gold/<dataset>/v<N>/manifest.json   dataset, version, task, labels, splits, sha256, ...

A version is immutable. Its ``sha256`` is computed over the canonical bytes of its
example files, so any edit (even whitespace) is detected by :meth:`GoldVersion.verify`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.tasks import CATEGORY_RULES, task_of
from ..errors import GoldIntegrityError, InputError
from ..io import atomic
from ..io.clock import now_iso
from ..io.hashing import file_sha256
from ..io.jsonl import canonical_json, read_jsonl
from ..options import SPLITS, TASKS
from .records import GoldExample, Task, example_from_record, label_counts, with_split

MANIFEST_SCHEMA = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REF_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*?)(?:@v?(?P<version>\d+|latest))?$")


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
        out.append(with_split(example, split))
    return out


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
    unchanged: bool = False  # an import that found nothing new returns its parent with this set

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

    def verify(self, *, thorough: bool = False) -> None:
        """Raise :class:`GoldIntegrityError` naming the file whose content changed.

        The data files are checked against their sha256, and the manifest against its
        own (``manifest_sha256``, over every other key). ``thorough`` (``gold verify``),
        or a manifest written before it carried that hash, also recomputes the
        manifest's task, labels and counts from the data.
        """
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
        recorded = self.manifest.get("manifest_sha256")
        if not problems and recorded is not None and recorded != manifest_sha256(self.manifest):
            problems.append(
                f"{self.path / 'manifest.json'}: edited after it was written (its content no longer "
                "matches its manifest_sha256); labels or counts there would add or drop gates"
            )
        if not problems and (thorough or recorded is None):
            problems += self._manifest_problems()
        if problems:
            raise GoldIntegrityError(
                f"gold {self.ref} was modified after it was written (versions are immutable; "
                "import a new version instead):\n  " + "\n  ".join(problems)
            )

    def _manifest_problems(self) -> list[str]:
        """The manifest's own claims (task, labels, counts, split sizes) recomputed from the
        data: a label added to or removed from the manifest would add or drop gates.

        Reads only the keys it needs from each record (no tokens): this runs whenever
        a suite is collected, so it has to stay a small fraction of a run.
        """
        where = self.path / "manifest.json"
        problems: list[str] = []
        total: Counter[str] = Counter()
        for split in SPLITS:
            counts: Counter[str] = Counter()
            n = 0
            for _, record in read_jsonl(self.path / f"{split}.jsonl"):
                n += 1
                cats = record.get("cats")
                if (cats is None) != task_of(self.task).has_spans:
                    problems.append(f"{where}: task {self.task!r} does not match the examples of split {split!r}")
                    return problems
                if cats is not None:
                    counts.update(CATEGORY_RULES.positives(cats))
                else:
                    counts.update(span["label"] for span in record.get("spans", ()))
            claimed = self.manifest["splits"].get(split, {})
            if claimed.get("examples") != n or dict(claimed.get("labels", {})) != _with_zeros(counts, claimed.get("labels", {})):
                problems.append(f"{where}: split {split!r} sizes or label counts do not match the data")
            total.update(counts)
        if dict(self.manifest["labels"]) != _with_zeros(total, self.manifest["labels"]):
            problems.append(
                f"{where}: labels {sorted(self.manifest['labels'])} with their counts do not match the data {dict(sorted(total.items()))}"
            )
        return problems


def _with_zeros(counts: Counter[str], claimed: Mapping[str, Any]) -> dict[str, int]:
    """``counts`` plus the zero counts the manifest lists (a textcat label no example has)."""
    out = {label: 0 for label, value in claimed.items() if value == 0}
    out.update(counts)
    return out


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    """sha256 of a manifest's canonical JSON without its own ``manifest_sha256`` key."""
    own = {key: value for key, value in manifest.items() if key != "manifest_sha256"}
    return hashlib.sha256(canonical_json(own).encode("utf-8")).hexdigest()


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


def _check_writable(name: str, task: Task, examples: Sequence[GoldExample]) -> None:
    """A dataset name and examples that fit the task, or an error saying what does not."""
    if not _NAME_RE.match(name):
        raise InputError(f"invalid dataset name {name!r}: use letters, digits, '.', '_' or '-'", field="name")
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}", field="task")
    for example in examples:
        if task_of(task).has_spans and example.cats is not None:
            raise InputError(f"task is ner but {example.source} has 'cats'")
        if not task_of(task).has_spans and example.cats is None:
            raise InputError(f"task is {task} but {example.source} has no 'cats'")


class GoldStore:
    """The ``gold/`` directory: lists, resolves, writes and verifies versions."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def datasets(self) -> list[str]:
        """Datasets with at least one version directory (broken ones included: verify names them)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.version_dirs(p.name))

    def version_dirs(self, name: str) -> list[int]:
        """Every ``v<N>`` directory of a dataset, with or without a manifest."""
        directory = self.root / name
        if not directory.is_dir():
            return []
        return sorted(int(p.name[1:]) for p in directory.iterdir() if re.fullmatch(r"v\d+", p.name) and p.is_dir())

    def version_numbers(self, name: str) -> list[int]:
        """The versions of a dataset that have a manifest."""
        return [n for n in self.version_dirs(name) if (self.root / name / f"v{n}" / "manifest.json").exists()]

    def leftovers(self, name: str) -> list[Path]:
        """Temp directories an interrupted write left behind (``.vN.*.tmp``)."""
        directory = self.root / name
        return sorted(directory.glob(".v*.tmp")) if directory.is_dir() else []

    def resolve(self, ref: str | GoldRef, *, verify: bool = True) -> GoldVersion:
        """Load a version's manifest (latest when no version is given) and verify it."""
        ref = GoldRef.parse(ref) if isinstance(ref, str) else ref
        numbers = self.version_numbers(ref.name)
        wanted = ref.version if ref.version is not None else max(self.version_dirs(ref.name), default=None)
        if wanted is not None and wanted in self.version_dirs(ref.name) and wanted not in numbers:
            raise InputError(
                f"gold version {ref.name}@v{wanted} has no manifest.json (deleted?); it cannot be used "
                "or verified, and its data must not be trusted",
                path=self.root / ref.name / f"v{wanted}",
            )
        if not numbers:
            known = ", ".join(self.datasets()) or "none"
            raise InputError(f"unknown gold dataset {ref.name!r} in {self.root} (known: {known})")
        number = ref.version if ref.version is not None else numbers[-1]
        if number not in numbers:
            raise InputError(f"unknown gold version {ref.name}@v{number} in {self.root}; available: " + ", ".join(f"v{n}" for n in numbers))
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
        _check_writable(name, task, examples)
        # After every directory, broken ones included: a new version never lands on an old one.
        number = max(self.version_dirs(name), default=0) + 1
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
                    split: {"examples": len(items), "labels": dict(sorted(label_counts(items).items()))} for split, items in by_split.items()
                },
                "eval_fraction": eval_fraction,
                "seed": seed,
                "files": file_hashes,
                "sha256": content_sha256(file_hashes),
                "parent": f"v{parent.version}" if parent is not None else None,
                "source": dict(source),
                "created": now_iso(),
                "notes": notes,
            }
            manifest["manifest_sha256"] = manifest_sha256(manifest)
            atomic.write_json(tmp / "manifest.json", manifest)
        return GoldVersion(target, manifest)

    def verify_all(self, name: str | None = None) -> list[tuple[str, str | None]]:
        """Verify every version (or those of ``name``): ``[(ref, error or None)]``."""
        results: list[tuple[str, str | None]] = []
        for dataset in [name] if name else self.datasets():
            for leftover in self.leftovers(dataset):
                results.append(
                    (
                        f"{dataset}/{leftover.name}",
                        f"{leftover}: left by an interrupted write (not a version; safe to delete once no import is running)",
                    )
                )
            for number in self.version_dirs(dataset):
                ref = f"{dataset}@v{number}"
                try:
                    self.resolve(ref, verify=False).verify(thorough=True)
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
        deltas = {label: (int(old.manifest["labels"].get(label, 0)), int(new.manifest["labels"].get(label, 0))) for label in labels}
        return GoldDiff(old.ref, new.ref, added, removed, changed, moved, deltas)
