"""Gold data: the only package that reads or writes ``gold/``.

- :mod:`.records`: a gold example and its Prodigy record form;
- :mod:`.prodigy`: parsing Prodigy exports (spans, cats, choice, binary) and merging duplicates;
- :mod:`.store`: versions on disk, manifests, verification, diffs, splits;
- :mod:`.importer`: files in, the next version out.
"""

from .importer import import_examples
from .prodigy import ImportStats, Task, Tokenizer, infer_task, merge_duplicates, parse_prodigy_file
from .records import GoldExample, example_from_record, label_counts, stable_hash
from .store import GoldDiff, GoldRef, GoldStore, GoldVersion, assign_splits, content_sha256, file_sha256, split_key

__all__ = [
    "GoldDiff", "GoldExample", "GoldRef", "GoldStore", "GoldVersion", "ImportStats", "Task", "Tokenizer",
    "assign_splits", "content_sha256", "example_from_record", "file_sha256", "import_examples", "infer_task",
    "label_counts", "merge_duplicates", "parse_prodigy_file", "split_key", "stable_hash",
]
