"""sha256 of files and of directory trees (gold versions, trained models)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 of one file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_hashes(root: Path, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root`` but the ``exclude``d ones."""
    skipped = set(exclude)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).as_posix() not in skipped)
    return {p.relative_to(root).as_posix(): file_sha256(p) for p in files}


def changed_files(root: Path, recorded: dict[str, str], *, exclude: Iterable[str] = ()) -> list[str]:
    """What differs from ``recorded`` hashes: ``path (changed|missing|not recorded)``."""
    actual = tree_hashes(root, exclude=exclude)
    out = [f"{name} (missing)" for name in sorted(set(recorded) - set(actual))]
    out += [f"{name} (changed)" for name in sorted(set(recorded) & set(actual)) if recorded[name] != actual[name]]
    out += [f"{name} (not recorded)" for name in sorted(set(actual) - set(recorded))]
    return out
