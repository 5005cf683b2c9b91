"""``harness gold import``: Prodigy JSONL and spaCy DocBins in, the next gold version out."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from ..core.tasks import task_of
from ..errors import InputError
from ..options import DEFAULT_EVAL_FRACTION, DEFAULT_SEED, SPLITS
from .prodigy import ImportStats, Task, Tokenizer, infer_task, merge_duplicates, parse_prodigy_file
from .records import GoldExample
from .store import GoldStore, GoldVersion, assign_splits, file_sha256


def _recorded_path(path: Path) -> str:
    """A source path as recorded in the manifest: relative to the working directory when
    inside it, else the file name (never the importing machine's absolute path)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def _read(
    paths: Sequence[str | Path],
    *,
    tokenizer: Tokenizer | None,
    stats: ImportStats,
    task: Task | None,
    docbin_reader: Callable[[Path], Iterator[GoldExample]] | None,
) -> list[GoldExample]:
    parsed: list[GoldExample] = []
    for raw_path in paths:
        path = Path(raw_path)
        if path.suffix == ".spacy":
            if docbin_reader is None:
                raise InputError("a .spacy file needs a DocBin reader", path=path)
            parsed.extend(docbin_reader(path))
        else:
            parsed.extend(parse_prodigy_file(path, tokenizer=tokenizer, stats=stats, task=task))
    return parsed


def _given_eval_split(train: list[GoldExample], evals: list[GoldExample], inherited: dict[int, str]) -> dict[int, str]:
    """Splits from the user's own eval files: every eval text is ``eval``, and a text
    in both the train and the eval files (or in the parent's train split) is refused."""
    eval_hashes = {e.input_hash for e in evals}
    both = [e for e in train if e.input_hash in eval_hashes]
    moved = [e for e in evals if inherited.get(e.input_hash) == "train"]
    for clash, where in ((both, "the train files"), (moved, "the parent version's train split")):
        if clash:
            shown = "; ".join(f"{e.input_hash} {e.text[:40]!r} ({e.source})" for e in clash[:5])
            raise InputError(f"{len(clash)} eval text(s) also in {where} (train/eval leakage), e.g. {shown}", field="--eval")
    return {**inherited, **dict.fromkeys(eval_hashes, "eval"), **{e.input_hash: "train" for e in train if e.input_hash not in inherited}}


def _same_content(parent: GoldVersion, examples: Sequence[GoldExample]) -> bool:
    def key(e: GoldExample) -> tuple[int, str, str, str]:
        return (e.input_hash, e.text, e.annotation_key(), e.split)

    old = sorted(key(e) for split in SPLITS for e in parent.iter_examples(split))
    return old == sorted(key(e) for e in examples)


def import_examples(
    store: GoldStore,
    paths: Sequence[str | Path],
    *,
    name: str,
    task: Task | None = None,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    seed: int = DEFAULT_SEED,
    tokenizer: Tokenizer | None = None,
    docbin_reader: Callable[[Path], Iterator[GoldExample]] | None = None,
    notes: str = "",
    lang: str = "en",
    eval_paths: Sequence[str | Path] = (),
) -> GoldVersion:
    """Read Prodigy JSONL and/or spaCy DocBin files and write the next gold version.

    ``eval_paths`` keeps the user's own split: their examples form the eval split
    (new examples of ``paths`` go to train) instead of the hash-based split.
    Importing what the newest version already holds writes nothing and returns that
    version with ``unchanged`` set. ``docbin_reader`` converts a ``.spacy`` file (it
    lives in ``harness.runners`` so that the gold package never imports spaCy).
    """
    stats = ImportStats()
    train_part = _read(paths, tokenizer=tokenizer, stats=stats, task=task, docbin_reader=docbin_reader)
    eval_part = _read(eval_paths, tokenizer=tokenizer, stats=stats, task=task, docbin_reader=docbin_reader)
    examples = merge_duplicates(train_part + eval_part, stats)
    inferred = infer_task(examples)
    if task is None:
        task = inferred
    elif task_of(task).has_spans != task_of(inferred).has_spans:
        raise InputError(f"--task {task} does not match the data, which looks like {inferred}", field="task")
    if task_of(task).has_spans and any(e.tokens is None for e in examples):
        raise InputError("NER examples need tokens")
    parent = None
    inherited: dict[int, str] = {}
    if store.version_numbers(name):
        parent = store.resolve(name)
        if parent.task != task:
            raise InputError(f"dataset {name} has task {parent.task}; cannot add a {task} version", field="task")
        inherited = {e.input_hash: e.split for s in SPLITS for e in parent.iter_examples(s)}
    if eval_paths:
        inherited = _given_eval_split(train_part, eval_part, inherited)
    examples = assign_splits(examples, eval_fraction=eval_fraction, seed=seed, inherited=inherited)
    if parent is not None and _same_content(parent, examples):
        return replace(parent, unchanged=True)
    all_paths = [Path(p) for p in (*paths, *eval_paths)]
    source = {
        "paths": [_recorded_path(p) for p in all_paths],
        "eval_paths": [_recorded_path(Path(p)) for p in eval_paths],
        "sha256": {_recorded_path(p): file_sha256(p) for p in all_paths},
        "records": stats.records,
        "skipped_ignore": stats.skipped_ignore,
        "skipped_reject": stats.skipped_reject,
        "duplicates_merged": stats.duplicates_merged,
        "tokenized_by_harness": stats.tokenized,
        "ner_records_without_spans": stats.without_spans,
    }
    return store.write_version(
        name, examples, task=task, source=source, notes=notes, eval_fraction=eval_fraction, seed=seed, parent=parent, lang=lang
    )
