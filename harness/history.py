"""Run history: every pytest run's figures, one Parquet file per run, read with polars.

``reports/history/`` holds ``run-*.parquet`` files (one per run, written atomically:
temp file + rename, so concurrent runs and xdist controllers never corrupt one) and
``segment-*.parquet`` files (many runs merged). polars scans the directory as one
table. Readers drop duplicate rows by key, so a compaction caught half-way (the
segment written, the run files not yet removed) reads the same as before it.

One row per figure: ``suite, pipeline, kind, label ("" = the whole pipeline), metric,
value, ci_low, ci_high`` plus the run's context (time, gold, model sha256, git commit
and dirty flag, machine fingerprint, harness version) and, for gate rows
(``metric = "gate"``, ``label`` = the gate id), the threshold and verdict.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .environment import git_state, machine_fingerprint
from .io import atomic
from .io.clock import now_utc
from .io.locks import directory_lock
from .options import DEFAULT_HISTORY_LAST

if TYPE_CHECKING:
    import datetime

    import polars as pl

    from .core.results import PipelineResult, SuiteResult

#: Run files merged into one segment once there are this many (keeps a scan of 10,000 runs fast).
COMPACT_RUNS_AT = 64
#: Segments merged into one once there are this many.
COMPACT_SEGMENTS_AT = 16
KEY = ("run_id", "suite", "pipeline", "label", "metric")

SCHEMA: dict[str, str] = {
    "run_id": "str",
    "time": "datetime",
    "suite": "str",
    "pipeline": "str",
    "kind": "str",
    "label": "str",
    "metric": "str",
    "value": "f64",
    "ci_low": "f64",
    "ci_high": "f64",
    "threshold": "f64",
    "passed": "bool",
    "gold_ref": "str",
    "gold_sha256": "str",
    "model_sha256": "str",
    "git_commit": "str",
    "git_dirty": "bool",
    "machine": "str",
    "harness_version": "str",
    "suite_passed": "bool",
}


def _polars_schema() -> dict[str, Any]:
    import polars as pl

    types = {"str": pl.Utf8, "f64": pl.Float64, "bool": pl.Boolean, "datetime": pl.Datetime("us", "UTC")}
    return {name: types[kind] for name, kind in SCHEMA.items()}


@dataclass(frozen=True)
class RunContext:
    """What is the same for every row of one run."""

    run_id: str
    time: datetime.datetime
    git_commit: str | None
    git_dirty: bool | None
    machine: str
    harness_version: str = __version__


def new_context(root: str | Path) -> RunContext:
    """This run's id, time, git state of ``root`` and machine fingerprint."""

    commit, dirty = git_state(root)
    when = now_utc()
    return RunContext(f"{when:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}", when, commit, dirty, machine_fingerprint())


def _nan_none(value: float | None) -> float | None:
    return None if value is None or value != value else float(value)


def _row(
    base: Mapping[str, Any],
    pipeline: str,
    kind: str,
    model: str | None,
    label: str,
    metric: str,
    value: float | None,
    ci: tuple[float, float] | None = None,
    threshold: float | None = None,
    passed: bool | None = None,
) -> dict[str, Any]:
    return {
        **base,
        "pipeline": pipeline,
        "kind": kind,
        "model_sha256": model,
        "label": label,
        "metric": metric,
        "value": _nan_none(value),
        "ci_low": _nan_none(ci[0]) if ci else None,
        "ci_high": _nan_none(ci[1]) if ci else None,
        "threshold": threshold,
        "passed": passed,
    }


def _pipeline_rows(base: Mapping[str, Any], name: str, result: PipelineResult) -> list[dict[str, Any]]:
    """A pipeline's figures: micro and macro scores, each label's, speed, latency and size."""
    model, kind, scores = result.identity.get("sha256"), result.kind, result.scores
    rows = [
        _row(base, name, kind, model, "", metric, value, ci)
        for metric, value, ci in (
            ("p", scores.micro.p, scores.micro.p_ci),
            ("r", scores.micro.r, scores.micro.r_ci),
            ("f", scores.micro.f, scores.micro.f_ci),
            ("macro_f", scores.macro_f, scores.macro_f_ci),
        )
    ]
    for score in scores.labels:
        for metric, value, ci in (("p", score.p, score.p_ci), ("r", score.r, score.r_ci), ("f", score.f, score.f_ci)):
            rows.append(_row(base, name, kind, model, score.label, metric, value, ci))
        rows.append(_row(base, name, kind, model, score.label, "support", float(score.support)))
    rows.append(_row(base, name, kind, model, "", "words_per_second", result.words_per_second))
    rows.append(_row(base, name, kind, model, "", "latency_p50_ms", result.speed.latency_p50_ms))
    rows.append(_row(base, name, kind, model, "", "latency_p95_ms", result.speed.latency_p95_ms))
    rows.append(_row(base, name, kind, model, "", "size_bytes", float(result.size_bytes) if result.size_bytes else None))
    return rows


def run_rows(results: Sequence[SuiteResult], context: RunContext) -> list[dict[str, Any]]:
    """The history rows of one run (pure)."""
    rows: list[dict[str, Any]] = []
    for suite in results:
        base = {
            "run_id": context.run_id,
            "time": context.time,
            "suite": suite.name,
            "gold_ref": suite.gold.ref,
            "gold_sha256": suite.gold.sha256,
            "git_commit": context.git_commit,
            "git_dirty": context.git_dirty,
            "machine": context.machine,
            "harness_version": context.harness_version,
            "suite_passed": suite.passed,
        }
        for name, result in suite.pipelines.items():
            rows += _pipeline_rows(base, name, result)
        for verdict in suite.verdicts:
            judged = suite.pipelines.get(verdict.pipeline)
            kind, model = (judged.kind, judged.identity.get("sha256")) if judged else ("", None)
            passed = None if verdict.skipped else verdict.passed
            rows.append(
                _row(base, verdict.pipeline, kind, model, verdict.gate_id, "gate", verdict.measured, verdict.ci, verdict.threshold, passed)
            )
    return rows


def _frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame([dict(r) for r in rows], schema=_polars_schema())


def _write_atomic(frame: pl.DataFrame, path: Path) -> None:
    """One Parquet file, written to a temp file beside ``path`` and renamed over it."""
    with atomic.atomic_open(path, "wb") as handle:
        frame.write_parquet(handle)


def append_run(history_dir: str | Path, rows: Sequence[Mapping[str, Any]], context: RunContext) -> Path | None:
    """Write one run's rows as ``run-<time>-<id>.parquet``; then compact if due. Returns the file."""
    if not rows:
        return None
    directory = Path(history_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"run-{context.run_id}.parquet"
    _write_atomic(_frame(rows), path)
    compact(directory)
    return path


#: Where history files that cannot be read as ours are moved (never deleted), under the history dir.
MOVED_ASIDE_DIRNAME = "unreadable"
_notices: list[str] = []


def take_notices() -> list[str]:
    """What the history moved aside since the last call (for the run's warnings and the CLI)."""
    taken = list(_notices)
    _notices.clear()
    return taken


def _readable(path: Path) -> str | None:
    """Why ``path`` is not a history file of ours (corrupt, foreign columns or types), or None.
    Reads the Parquet footer only."""
    import polars as pl

    try:
        schema = pl.read_parquet_schema(path)
    except Exception as err:  # polars raises several kinds for a damaged file; all mean "not readable"
        return f"not a readable Parquet file ({type(err).__name__}: {str(err).splitlines()[0][:120]})"
    expected = _polars_schema()
    # Compared as text: a process can hold two polars module objects (pytester's in-process
    # runs re-import modules), whose dtype classes are not equal to each other.
    wrong = sorted(name for name, dtype in expected.items() if str(schema.get(name)) != str(dtype))
    extra = sorted(set(schema) - set(expected))
    if wrong or extra:
        return f"not a history file of this harness (columns {', '.join(wrong + extra)} differ)"
    return None


def _move_aside(path: Path, why: str) -> None:
    target_dir = path.parent / MOVED_ASIDE_DIRNAME
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():  # never overwrite what is already there
        target, n = target_dir / f"{path.name}.{n}", n + 1
    try:
        path.replace(target)
    except FileNotFoundError:  # another process moved or compacted it meanwhile
        return
    _notices.append(f"history file {path} skipped: {why}; moved to {target} (nothing deleted)")


def _files(directory: Path, prefix: str) -> list[Path]:
    """The history's ``run-*`` or ``segment-*`` files, each checked: one that is damaged or
    not ours is moved aside (and said) instead of failing every later run."""
    found = []
    for path in sorted(directory.glob(f"{prefix}-*.parquet")):
        why = _readable(path)
        if why is None:
            found.append(path)
        else:
            _move_aside(path, why)
    return found


def compact(history_dir: str | Path, *, force: bool = False) -> bool:
    """Merge run files into a segment (and segments into one) when there are many.

    Another process compacting already: skipped (its result is the same). The
    merged files are removed only after the segment is in place; readers
    de-duplicate, so the moment between is harmless.
    """
    import polars as pl

    directory = Path(history_dir)
    if not directory.is_dir():
        return False
    runs, segments = _files(directory, "run"), _files(directory, "segment")
    if not force and len(runs) < COMPACT_RUNS_AT and len(segments) < COMPACT_SEGMENTS_AT:
        return False
    with directory_lock(directory, wait=force) as held:
        if not held:
            return False
        runs, segments = _files(directory, "run"), _files(directory, "segment")
        merged = runs + (segments if force or len(segments) >= COMPACT_SEGMENTS_AT else [])
        if len(merged) < 2 and not force:
            return False
        frame = pl.concat([pl.read_parquet(f) for f in merged], how="vertical_relaxed") if merged else _frame([])
        frame = frame.unique(subset=list(KEY), keep="first", maintain_order=True)
        _write_atomic(frame, directory / f"segment-{now_utc():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet")
        for path in merged:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return True


def scan(history_dir: str | Path) -> pl.LazyFrame:
    """All rows of the history as a lazy frame (empty when there is none). Not yet
    de-duplicated: callers narrow it first, then drop duplicates (cheaper)."""
    import polars as pl

    directory = Path(history_dir)
    files = _files(directory, "segment") + _files(directory, "run") if directory.is_dir() else []
    if not files:
        return _frame([]).lazy()
    return pl.scan_parquet(files)


def _narrow(history_dir: str | Path, suite: str, pipeline: str | None, last: int | None) -> pl.LazyFrame:
    """The suite's rows (one pipeline's), of its last ``last`` runs when given."""
    import polars as pl

    frame = scan(history_dir).filter(pl.col("suite") == suite)
    if pipeline is not None:
        frame = frame.filter(pl.col("pipeline") == pipeline)
    if last is not None:
        # Only two columns are read to find the runs (Parquet projection), then only their rows.
        recent = frame.select("run_id", "time").unique().sort("time").tail(last).collect()["run_id"]
        frame = frame.filter(pl.col("run_id").is_in(recent.implode()))
    return frame


def runs(history_dir: str | Path, suite: str, *, pipeline: str | None = None, last: int | None = None) -> pl.DataFrame:
    """Every row of the last ``last`` runs of ``suite`` (optionally one pipeline), oldest first."""
    frame = _narrow(history_dir, suite, pipeline, last).unique(subset=list(KEY), keep="first")
    return frame.sort(["time", "pipeline", "label", "metric"]).collect()


def prune(history_dir: str | Path, *, keep: int) -> tuple[int, int]:
    """Keep the last ``keep`` runs of every suite; returns (runs kept, runs removed)."""
    import polars as pl

    directory = Path(history_dir)
    if not directory.is_dir():
        return 0, 0
    with directory_lock(directory):
        files = _files(directory, "segment") + _files(directory, "run")
        if not files:
            return 0, 0
        frame = pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed").unique(subset=list(KEY), keep="first")
        run_times = frame.select("suite", "run_id", "time").unique()
        kept_ids = run_times.sort("time").group_by("suite", maintain_order=True).tail(keep)
        kept = frame.join(kept_ids.select("suite", "run_id"), on=["suite", "run_id"], how="semi")
        _write_atomic(kept, directory / f"segment-{now_utc():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet")
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    total = run_times.select("suite", "run_id").height
    return kept_ids.height, total - kept_ids.height


RUN_COLUMNS = ("run_id", "time", "pipeline", "kind", "gold_ref", "model_sha256", "git_commit", "git_dirty", "machine", "suite_passed")


#: The columns of :func:`run_table`, in the order `harness history --csv` writes them (``blessed``
#: is added by the API, which knows the baseline).
TABLE_COLUMNS = tuple(
    "time pipeline git_commit git_dirty gold model_sha256 blessed p r f f_ci_low f_ci_high macro_f support words_per_second "
    "size_bytes gates_passed gates_failed gates_skipped suite_passed run_id".split()
)


def run_table(
    history_dir: str | Path, suite: str, *, pipeline: str | None = None, label: str | None = None, last: int | None = None
) -> list[dict[str, Any]]:
    """One dict per (run, pipeline), oldest first: the figures ``harness history`` shows.

    Without ``label``: micro P/R/F (with F's CI), macro F, words/s, latency, size and the
    gate counts; with it, that label's P/R/F and support. Computed in polars (one pivot),
    so 10,000 runs read in well under a second.
    """
    import polars as pl

    frame = _narrow(history_dir, suite, pipeline, last)
    figures = frame.filter((pl.col("label") == (label or "")) & (pl.col("metric") != "gate")).unique(subset=list(KEY), keep="first").collect()
    if figures.height == 0:
        return []
    wide = figures.pivot(on="metric", index=list(RUN_COLUMNS), values="value", aggregate_function="first")
    ci = figures.filter(pl.col("metric") == "f").select("run_id", "pipeline", f_ci_low="ci_low", f_ci_high="ci_high")
    gates = (
        frame.filter(pl.col("metric") == "gate")
        .unique(subset=list(KEY), keep="first")
        .group_by("run_id", "pipeline")
        .agg(
            gates_passed=(pl.col("passed") == True).sum(),  # noqa: E712 - polars expression, not a Python bool
            gates_failed=(pl.col("passed") == False).sum(),  # noqa: E712
            gates_skipped=pl.col("passed").is_null().sum(),
        )
        .collect()
    )
    table = (
        wide.join(ci, on=["run_id", "pipeline"], how="left")
        .join(gates, on=["run_id", "pipeline"], how="left")
        .with_columns(
            pl.col("gates_passed", "gates_failed", "gates_skipped").fill_null(0), pl.col("time").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        )
        .rename({"gold_ref": "gold"})
        .sort(["time", "run_id", "pipeline"])
    )
    return table.to_dicts()


def history_for(history_dir: Path, suites: Sequence[Mapping[str, Any]], last: int = DEFAULT_HISTORY_LAST) -> dict[str, list[dict[str, Any]]]:
    """The last runs of each suite from ``reports/history`` (for the trends), or nothing."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not history_dir.is_dir():
        return out
    for doc in suites:
        name = doc["suite"]["name"]
        out[name] = run_table(history_dir, name, last=last)
    return out
