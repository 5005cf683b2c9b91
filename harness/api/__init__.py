"""The importable functions behind every ``harness`` command. Each returns data (result
objects, dicts, paths) and prints nothing; :mod:`harness.cli` renders what they return.
One module per group of commands: :mod:`.gold`, :mod:`.models` (train, eval, predictions,
record), :mod:`.baselines` (bless, noise, history, report), :mod:`.loop` (queue, retrain).

Every ``harness`` command imports this package at startup, so its functions import what
they need inside themselves: ``harness --help`` or ``harness gold list`` loads neither
spaCy nor pydantic nor polars. (Elsewhere imports sit at the top of the module.)
"""

from .baselines import BlessSummary, bless, history, history_notices, history_prune, noise, report
from .gold import gold_audit, gold_diff, gold_import, gold_list, gold_show, gold_verify
from .loop import learning_forecast, queue_counts, queue_records, queue_show, retrain_and_compare
from .models import (
    RecordSummary,
    evaluate_on_gold,
    extract_versions,
    import_batch_results,
    record,
    record_batch_file,
    suite_training_jobs,
    train,
)
from .suite import parse_suite

__all__ = [
    "BlessSummary",
    "RecordSummary",
    "bless",
    "evaluate_on_gold",
    "extract_versions",
    "gold_diff",
    "gold_audit",
    "gold_import",
    "gold_list",
    "gold_show",
    "gold_verify",
    "history",
    "history_notices",
    "history_prune",
    "import_batch_results",
    "record_batch_file",
    "noise",
    "parse_suite",
    "learning_forecast",
    "queue_counts",
    "queue_records",
    "queue_show",
    "record",
    "report",
    "retrain_and_compare",
    "suite_training_jobs",
    "train",
]
