"""``harness gold import``: Prodigy JSONL and spaCy DocBins in, the next gold version out."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import InputError
from ..options import DEFAULT_EVAL_FRACTION, DEFAULT_SEED, SPLITS
from .prodigy import ImportStats, Task, Tokenizer, infer_task, merge_duplicates, parse_prodigy_file
from .records import GoldExample
from .store import GoldStore, GoldVersion, assign_splits, file_sha256


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
) -> GoldVersion:
    """Read Prodigy JSONL and/or spaCy DocBin files and write the next gold version.

    ``docbin_reader`` converts a ``.spacy`` file (it lives in ``harness.runners``
    so that the gold package never imports spaCy).
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
