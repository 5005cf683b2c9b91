"""Atomic file and directory writes: temp file in the same directory + rename.

A crash or Ctrl-C at any point leaves either the old content or the new content,
never a half-written file, because ``os.replace`` is atomic on POSIX when source
and target are on the same file system (hence temp files live beside the target).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


def _read_umask() -> int:
    """The process umask (read by setting it and putting it back: there is no getter).
    Read once, at import: doing it per write would briefly change it under other threads."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _as_if_created(path: str | Path, *, directory: bool) -> None:
    """Give a temp file or directory the mode a plain ``open``/``mkdir`` would have:
    ``mkstemp``/``mkdtemp`` create them private (0600/0700), which would make reports,
    queues and gold unreadable to the user's group."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_UMASK)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success fsync and rename it over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        _as_if_created(tmp_name, directory=False)
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        # BaseException on purpose: KeyboardInterrupt must also clean the temp file.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Atomically write ``text`` to ``path``."""
    with atomic_open(path) as handle:
        handle.write(text)


def write_json(path: str | Path, data: Any) -> None:
    """Atomically write ``data`` as indented, key-sorted JSON."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_json_compact(path: str | Path, data: Any) -> None:
    """Atomically write ``data`` as key-sorted JSON on one line: the C encoder (``indent``
    forces the pure-Python one, ~5x slower on a results file with every eval example)."""
    write_text(path, json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_jsonl(path: str | Path, lines: Iterable[str]) -> None:
    """Atomically write already-serialised JSON lines (no trailing newline expected)."""
    with atomic_open(path) as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Build a directory in a temp sibling, then rename it into place.

    The target must not exist: gold versions are immutable, so we never replace one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _as_if_created(tmp, directory=True)
        yield tmp
        # os.rename refuses to replace a non-empty directory: a concurrent writer
        # that created the same version first makes us fail instead of overwrite.
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_directory(source: str | Path, target: str | Path) -> None:
    """Move directory ``source`` to ``target``, replacing ``target`` if it exists.

    The old directory is renamed aside first so that at every instant either the
    old or the new directory is complete at ``target`` (or, for one rename, absent).
    """
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        # A fresh name of our own for the old directory (rename(2) may replace an empty one):
        # a fixed name could be someone's directory, which must never be removed.
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rename(target, aside)
        os.rename(source, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(source, target)
