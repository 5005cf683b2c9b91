"""The pipeline kinds a suite may name, each with its runner, in one place.

A kind is a :class:`Kind`: its name, where its runner class lives (imported on first
use, so spaCy loads only when a pipeline runs) and the facts the rest of the harness
asks about it: its role in a suite, where its pipeline comes from, the file suffixes
that mean it, whether it has a model to run new texts through and whether the
harness trains it. The built-in kinds are listed here; another package adds one by
exposing a :class:`Kind` under the entry point group ``distill_harness.runners``
(a transformers pipeline, an ONNX model, ...), without editing the harness.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from ..errors import InputError
from .base import Runner

ENTRY_POINT_GROUP = "distill_harness.runners"
Role = Literal["distilled", "llm", "reference"]
Source = Literal["pipeline", "config", "file"]


@dataclass(frozen=True)
class Kind:
    """One pipeline kind.

    ``role``: "distilled" (the small model a suite releases; the first such pipeline
    is the suite's distilled one), "llm" (the teacher, compared against) or
    "reference" (other figures to compare with, e.g. imported predictions).
    ``source``: "pipeline" (``path`` is a directory or an installed package),
    "config" (``config`` is a file) or "file" (``path`` is a file).
    """

    name: str
    runner: str  # "module:Class", imported on first use
    role: Role = "reference"
    source: Source = "file"
    suffixes: tuple[str, ...] = ()  # `harness eval --pipeline FILE` picks the kind by suffix
    has_model: bool = True  # can run new texts (behavioural checks, pools)
    trainable: bool = False  # `harness train` trains it from a [train] table (and bless retrains replicates)

    def load(self) -> Runner:
        module, _, attribute = self.runner.partition(":")
        runner: Runner = getattr(importlib.import_module(module), attribute)()
        return runner


BUILT_IN = (
    Kind("spacy", "harness.runners.spacy_runner:SpacyRunner", role="distilled", source="pipeline", trainable=True),
    Kind("llm", "harness.runners.llm_runner:LLMRunner", role="llm", source="config", suffixes=(".cfg",)),
    Kind("predictions", "harness.runners.predictions_runner:PredictionsRunner", suffixes=(".jsonl",), has_model=False),
)


@functools.cache
def kinds() -> dict[str, Kind]:
    """Every kind: the built-in ones, then those of installed packages (entry points)."""
    found = {k.name: k for k in BUILT_IN}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        kind = entry.load()
        if not isinstance(kind, Kind):
            raise InputError(f"entry point {entry.name} = {entry.value} ({ENTRY_POINT_GROUP}) is not a harness Kind")
        if kind.name in found and found[kind.name] != kind:
            raise InputError(f"pipeline kind {kind.name!r} is registered twice ({entry.value})")
        found[kind.name] = kind
    return found


def kind_of(name: str) -> Kind:
    """The kind called ``name``; an unknown one is an error naming the known ones."""
    known = kinds()
    if name not in known:
        raise InputError(f"unknown pipeline kind {name!r} (supported: {', '.join(known)})", field="kind")
    return known[name]


def get_runner(name: str) -> Runner:
    """The runner of a pipeline kind."""
    return kind_of(name).load()


def kind_for_path(path: str | Path) -> str:
    """The kind a pipeline path means: by file suffix, else the kind whose pipelines are directories or packages."""
    suffix = Path(str(path)).suffix
    by_suffix = next((k.name for k in kinds().values() if suffix and suffix in k.suffixes), None)
    return by_suffix or next(k.name for k in kinds().values() if k.source == "pipeline")
