"""What produced a run's outputs, as a baseline records it: ``{"kind", "path", "sha256", "meta"}``.

Two runs with the same ``sha256`` ran the same bytes: the same model files (spaCy),
the same config and cassette (LLM), the same predictions file. A deterministic
pipeline then gives the same predictions, which the baseline comparison checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..io.hashing import file_sha256, tree_hashes
from ..io.model_meta import META_FILE

#: The training record fields that say which data, config and steps made a model.
_TRAINING_FIELDS = ("gold", "gold_version", "gold_sha256", "config_sha256", "inputs_sha256", "max_steps", "seed", "checkpoint", "environment")


def _digest(parts: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(sorted(parts.items())), separators=(",", ":")).encode()).hexdigest()


def spacy_identity(path: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    """A spaCy pipeline directory: sha256 over its files but ``meta.json`` (which holds
    timestamps and scores, not behaviour), plus what its meta says about it."""
    training: Mapping[str, Any] = meta["harness"] if isinstance(meta.get("harness"), dict) else {}
    return {
        "kind": "spacy",
        "path": str(path),
        "sha256": _digest(tree_hashes(path, exclude=[META_FILE])),
        "meta": {
            "name": meta.get("name"),
            "lang": meta.get("lang"),
            "version": meta.get("version"),
            "spacy_version": meta.get("spacy_version"),
            "pipeline": list(meta.get("pipeline") or []),
            "training": {k: training[k] for k in _TRAINING_FIELDS if k in training},
        },
    }


def _listing(directory: Path) -> str:
    """A cassette directory (10^5+ records, append-only shards): its shards' names and sizes,
    which change whenever a record is added, instead of hashing gigabytes on every run."""
    sizes = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}
    return "listing:" + _digest({k: str(v) for k, v in sizes.items()})


def files_identity(kind: str, path: str | Path, files: Iterable[Path], meta: Mapping[str, Any]) -> dict[str, Any]:
    """An LLM pipeline (its config and cassette) or a predictions file: sha256 over the files."""
    hashes = {f.name: _listing(f) if f.is_dir() else file_sha256(f) for f in files if f.exists()}
    return {"kind": kind, "path": str(path), "sha256": _digest(hashes), "meta": dict(meta)}
