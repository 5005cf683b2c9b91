"""JSON results per suite, schema in docs/results-schema.md, written atomically."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from .. import __version__, atomic
from ..results import SuiteResult, suite_to_dict


def report_path(reports_dir: Path, suite_name: str) -> Path:
    """``reports/<suite>.json`` with the suite name made file-safe."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", suite_name)
    return reports_dir / f"{safe}.json"


def write_suite_json(reports_dir: str | Path, result: SuiteResult) -> Path:
    """Write one suite's results; returns the path written."""
    path = report_path(Path(reports_dir), result.name)
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    atomic.write_json(path, suite_to_dict(result, created=created, harness_version=__version__))
    return path
