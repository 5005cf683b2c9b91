"""The gold store: import, list, show, diff, verify.

Imports inside functions: this package loads with every command (see :mod:`harness.api`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..gold.store import GoldDiff, GoldStore, GoldVersion
from ..options import (
    DEFAULT_AUDIT_CONFIDENT,
    DEFAULT_AUDIT_FOLDS,
    DEFAULT_EVAL_FRACTION,
    DEFAULT_GOLD_DIR,
    DEFAULT_QUEUE_FILL,
    DEFAULT_REPORTS_DIR,
    DEFAULT_SEED,
)

if TYPE_CHECKING:
    from ..loop.audit import AuditResult


def gold_import(
    paths: Sequence[str],
    *,
    name: str,
    gold_dir: str = DEFAULT_GOLD_DIR,
    task: str | None = None,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    seed: int = DEFAULT_SEED,
    lang: str = "en",
    notes: str = "",
    eval_paths: Sequence[str] = (),
) -> GoldVersion:
    """Import Prodigy JSONL / spaCy DocBin files as the next version of ``name``
    (``eval_paths``: the user's own eval split, kept as it is)."""
    from ..gold.importer import import_examples
    from ..runners.spacy_data import read_docbin, spacy_tokenizer

    needs_tokenizer = any(not p.endswith(".spacy") for p in (*paths, *eval_paths))
    return import_examples(
        GoldStore(gold_dir),
        paths,
        name=name,
        task=task,
        eval_fraction=eval_fraction,
        seed=seed,
        tokenizer=spacy_tokenizer(lang) if needs_tokenizer else None,
        docbin_reader=lambda path: read_docbin(path, lang),
        notes=notes,
        lang=lang,
        eval_paths=eval_paths,
    )


def gold_list(gold_dir: str = DEFAULT_GOLD_DIR) -> list[dict[str, Any]]:
    """One row per version: ref, task, split sizes, labels, sha256, parent, created."""
    store = GoldStore(gold_dir)
    rows: list[dict[str, Any]] = []
    for dataset in store.datasets():
        for number in store.version_dirs(dataset):
            if number not in store.version_numbers(dataset):  # listed, not hidden: verify says what is wrong
                rows.append(
                    {
                        "ref": f"{dataset}@v{number}",
                        "task": "(no manifest)",
                        "train": "-",
                        "eval": "-",
                        "labels": "-",
                        "sha256": "-",
                        "parent": "-",
                        "created": "-",
                    }
                )
                continue
            version = store.resolve(f"{dataset}@v{number}", verify=False)
            m = version.manifest
            rows.append(
                {
                    "ref": version.ref,
                    "task": m["task"],
                    "train": m["splits"]["train"]["examples"],
                    "eval": m["splits"]["eval"]["examples"],
                    "labels": len(m["labels"]),
                    "sha256": m["sha256"],
                    "parent": m.get("parent"),
                    "created": m.get("created"),
                }
            )
    return rows


def gold_show(ref: str, gold_dir: str = DEFAULT_GOLD_DIR) -> dict[str, Any]:
    """A version's manifest."""
    return dict(GoldStore(gold_dir).resolve(ref, verify=False).manifest)


def gold_diff(old: str, new: str, gold_dir: str = DEFAULT_GOLD_DIR) -> GoldDiff:
    """Compare two versions by input hash."""
    return GoldStore(gold_dir).diff(old, new)


def gold_verify(name: str | None = None, gold_dir: str = DEFAULT_GOLD_DIR) -> list[tuple[str, str | None]]:
    """``[(ref, error or None)]`` for every version (or those of ``name``)."""
    return GoldStore(gold_dir).verify_all(name)


def gold_audit(
    ref: str,
    *,
    gold_dir: str = DEFAULT_GOLD_DIR,
    suite: str | None = None,
    folds: int = DEFAULT_AUDIT_FOLDS,
    max_steps: int | None = None,
    confident: float = DEFAULT_AUDIT_CONFIDENT,
    limit: int = DEFAULT_QUEUE_FILL,
    reports_dir: str = DEFAULT_REPORTS_DIR,
) -> tuple[AuditResult, Path | None]:
    """Audit a gold version with out-of-fold students (``harness gold audit``). With a suite,
    its distilled pipeline's training settings train the students, its gold dir holds the
    version, and the ``limit`` most suspect examples go to its queue (the path is returned);
    without one, students use the task's default config and nothing is written."""
    from ..loop.audit import audit, queue_suspects
    from ..specs import PipelineSpec
    from ..suites import parse_suite

    spec = parse_suite(suite) if suite else None
    store = GoldStore(spec.gold_dir if spec else gold_dir)
    version = store.resolve(ref)
    if spec is not None and version.name != spec.gold.name:
        raise InputError(f"{ref} is not the suite's gold dataset ({spec.gold.name}): its queue can only check that one", field="ref")
    student = spec.require_distilled() if spec else PipelineSpec(name="student", kind="spacy", path="")
    result = audit(version, student, folds=folds, max_steps=max_steps, confident=confident, seed=spec.seed if spec else DEFAULT_SEED)
    if spec is None:
        return result, None
    return result, queue_suspects(spec, result, version.task, limit=limit, reports_dir=reports_dir)
