"""The resolved versions a result depends on, recorded in model meta and JSON reports.

Two machines that train the same gold with the same config and seed can still get
different models when library versions differ; recording them makes that visible.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from . import __version__

#: Distributions whose versions change models or scores.
TRACKED = ("spacy", "spacy-llm", "thinc", "numpy", "blis", "pydantic")


@lru_cache(maxsize=1)
def environment() -> dict[str, str]:
    """Python, the harness and the tracked libraries' installed versions."""
    versions = {"python": platform.python_version(), "distill-harness": __version__}
    for name in TRACKED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


@lru_cache(maxsize=1)
def machine_fingerprint() -> str:
    """What makes speed figures comparable: CPU model, usable cores, OS, architecture and
    Python, as ``<12 hex digits>`` (the same machine type gives the same fingerprint;
    the host name is left out, since CI runners get a new one every job)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [_cpu_model(), str(cores), platform.system(), platform.machine(), platform.python_version()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def machine_description() -> str:
    """The fingerprint's parts in words (shown beside it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{_cpu_model()}, {cores} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def git_state(directory: str | Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git work tree holding ``directory``; (None, None) outside one
    or without git."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit.strip(), (bool(status.strip()) if status is not None else None)
