"""What a run writes, from one session's results: JSON per suite, the correction queues,
the run history, the HTML page, the Markdown summary and (when blessing) the baselines.

Each writer takes the results computed once by the caller and returns ``(kind, path)``
pairs, so the end of the run can say what it wrote. A writer that fails records a
problem on the session instead of costing the run its other files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .baselines import bless
from .core.categories import answered_outputs, suite_categories
from .errors import HarnessError
from .evaluate import gold_info
from .history import append_run, history_for, new_context, run_rows, take_notices
from .io import atomic
from .io.clock import now_iso
from .loop import queue
from .loop.learning import load_points, suite_forecast
from .loop.records import behaviour_records, eval_records
from .options import HISTORY_DIRNAME, HTML_REPORT_NAME
from .reports.html_report import write_html as write_page
from .reports.json_report import report_path, suite_to_dict
from .reports.markdown import render_markdown

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .baselines import Replicate
    from .core.results import SuiteResult
    from .session import HarnessSession

Written = tuple[str, Path]


def export_queue(session: HarnessSession, reports_dir: Path, categories: Mapping[str, Mapping[int, str]]) -> list[Written]:
    """Write each suite's failing eval cases (and failing behavioural cases) to
    ``reports/queue/<suite>.jsonl``.

    Only when the suite's distilled pipeline and (if it has one) its LLM both ran:
    with one missing the categories would be wrong, so nothing is written. ``categories``
    (suite -> input hash -> category) are the ones the JSON report shows.
    """

    written: list[Written] = []
    for name, suite in sorted(session.suites.items()):
        distilled, llm = suite.spec.distilled, suite.spec.llm
        if distilled is None or (name, distilled.name) not in session.results:
            continue
        if llm is not None and (name, llm.name) not in session.results:
            continue
        outputs = {p: answered_outputs(r) for p in suite.spec.pipelines if (r := session.results.get((name, p))) is not None}
        if name not in categories:
            continue  # not run here
        fresh = eval_records(
            suite=name,
            task=suite.gold.task,
            examples=suite.eval_examples(),
            outputs=outputs,
            distilled=distilled.name,
            llm=llm.name if llm else None,
            categories=categories[name],
        )
        path = queue.queue_path(reports_dir, name)
        try:
            queue.update(path, fresh, scope="eval", dataset=suite.gold.name)
            ran = [b for (s, _, _), b in session.behaviour.items() if s == name and not b.skipped]
            if ran:  # also when nothing failed: cases that pass now are resolved
                queue.update(path, behaviour_records(name, suite.gold.task, ran), scope="behaviour", dataset=suite.gold.name)
        except HarnessError as err:  # a bad queue file must not cost the run its other reports
            session.report_problems.append(f"correction queue not updated: {err}")
            continue
        written.append(("queue", path))
    return written


def write_reports(session: HarnessSession, results: list[SuiteResult], reports_dir: Path, root: Path | None = None) -> list[Written]:
    """The JSON results of every suite, the correction queues, the run history (when
    ``root`` is given: the git work tree to record) and the HTML page.

    The HTML page embeds the very documents written as JSON (built once here)."""

    created = now_iso()
    categories = {result.name: suite_categories(result) for result in results}  # once, for the report and the queue
    documents = [suite_to_dict(r, created=created, harness_version=__version__, categories=categories[r.name]) for r in results]
    written: list[Written] = []
    for result, document in zip(results, documents, strict=True):
        path = report_path(reports_dir, result.name)
        atomic.write_json_compact(path, document)
        written.append(("results", path))
    written += export_queue(session, reports_dir, categories)
    if root is not None:
        written += write_history(session, results, reports_dir, root)
    read_learning_curves(session, results, reports_dir)
    if documents:
        written += write_html(session, reports_dir, results, documents, created)
    return written


def write_html(
    session: HarnessSession, reports_dir: Path, results: list[SuiteResult], documents: list[dict[str, Any]], created: str
) -> list[Written]:
    """``reports/report.html``: one page for every suite of the run, trends from the history."""

    try:
        history = history_for(reports_dir / HISTORY_DIRNAME, documents)
    except (OSError, HarnessError) as err:  # trends are a nicety; the page is not
        session.report_problems.append(f"run history not read for the HTML trends: {err}")
        history = {}
    finally:
        session.report_problems.extend(take_notices())
    page = write_page(reports_dir / HTML_REPORT_NAME, results, documents, created=created, history=history, curves=session.learning_curves)
    return [("report (open in a browser)", page)]


def read_learning_curves(session: HarnessSession, results: list[SuiteResult], reports_dir: Path) -> None:
    """Each suite's learning curve and effort forecast, from the points ``harness retrain``
    left in ``reports/learning/`` (none: nothing shown); kept on the session for the page
    and the terminal summary."""
    for result in results:
        try:
            points = load_points(reports_dir, result.name)
            if points:
                session.learning_curves[result.name] = suite_forecast(result.name, points)
        except (OSError, HarnessError) as err:  # a nicety: it must not cost the run its reports
            session.report_problems.append(f"learning curve of {result.name} not read: {err}")


def write_history(session: HarnessSession, results: list[SuiteResult], reports_dir: Path, root: Path) -> list[Written]:
    """Append this run's figures to ``reports/history/`` (one Parquet file)."""

    if not results:
        return []

    context = new_context(root)
    try:
        path = append_run(reports_dir / HISTORY_DIRNAME, run_rows(results, context), context)
    except (OSError, HarnessError) as err:  # history must not cost the run its verdicts
        session.report_problems.append(f"run history not written: {err}")
        return []
    finally:
        session.report_problems.extend(take_notices())  # damaged or foreign files moved aside
    return [("history", path)] if path is not None else []


def write_markdown(session: HarnessSession, results: list[SuiteResult], path: Path | None, step_summary: Path | None) -> list[Written]:
    """The Markdown summary to ``path`` (atomically) and appended to GitHub's step summary."""

    if not results:
        return []
    text = render_markdown(results)
    written: list[Written] = []
    if path is not None:
        atomic.write_text(path, text)
        written.append(("summary", path))
    if step_summary is not None:
        try:
            with step_summary.open("a", encoding="utf-8") as handle:  # GitHub's file: appended, as it asks
                handle.write(text + "\n")
        except OSError as err:
            session.report_problems.append(f"GITHUB_STEP_SUMMARY not written: {err}")
    return written


def unblessable(result: SuiteResult, *, allow_failing: bool) -> str | None:
    """Why a suite's run must not become its baseline, or None: an incomplete run (interrupted,
    gates deselected or not reached) never does; one whose gates fail only with ``allow_failing``.
    During a blessing the regression gates are skipped (judging against the old baseline is moot)."""
    if result.incomplete:
        return f"{result.name}: not blessed: the run is incomplete ({result.incomplete})"
    if result.errors:
        return f"{result.name}: not blessed: pipeline(s) failed to run: {', '.join(result.errors)}"
    failing = [f"{v.pipeline}::{v.gate_id}" for v in result.verdicts if not v.passed and not v.skipped]
    if failing and not allow_failing:
        return failing_refusal(result.name, failing)
    return None


def failing_refusal(suite: str, failing: Sequence[str]) -> str:
    """Why a suite whose gates fail is not blessed (pytest --harness-bless and harness bless)."""
    shown = ", ".join(failing[:8]) + (f" and {len(failing) - 8} more" if len(failing) > 8 else "")
    return (
        f"{suite}: not blessed: {len(failing)} gate(s) fail ({shown}); a baseline is what releases are compared "
        "with: bless a failing suite only on purpose (harness bless --allow-failing, pytest --harness-bless "
        "--harness-allow-failing)"
    )


def bless_baselines(
    session: HarnessSession,
    replicates: Mapping[str, Mapping[str, Sequence[Replicate]]] | None = None,
    *,
    results: Sequence[SuiteResult] | None = None,
    allow_failing: bool = False,
) -> list[Written]:
    """Write each suite's baseline from the pipelines that ran (``--harness-bless``, ``harness bless``).

    ``replicates``: suite -> pipeline -> models retrained with other seeds (``harness bless``);
    without them a pipeline keeps the replicates of an unchanged configuration. With
    ``results`` (a pytest run), a suite whose run is incomplete or whose gates fail is not
    blessed (see :func:`unblessable`); the reason becomes a problem of the run."""

    by_name = {r.name: r for r in results or ()}
    written: list[Written] = []
    for name, suite in sorted(session.suites.items()):
        if name in session.test_suites:  # evaluations made in Python tests have no suite file to bless
            continue
        if results is not None:
            refused = (
                unblessable(by_name[name], allow_failing=allow_failing)
                if name in by_name
                else (f"{name}: not blessed: no pipeline of the suite ran")
            )
            if refused:
                session.report_problems.append(refused)
                continue
        ran = {p: r for p in suite.spec.pipelines if (r := session.results.get((name, p))) is not None}
        if not ran:
            continue
        info = gold_info(suite.gold)
        gold = {"ref": info.ref, "name": info.name, "version": info.version, "sha256": info.sha256, "task": info.task}
        try:
            written.append(
                (
                    "blessed",
                    bless(
                        suite.baseline_path,
                        suite=name,
                        gold=gold,
                        task=info.task,
                        examples=suite.eval_examples(),
                        results=ran,
                        all_pipelines=list(suite.spec.pipelines),
                        replicates=(replicates or {}).get(name),
                    ),
                )
            )
        except HarnessError as err:
            session.report_problems.append(f"baseline not blessed: {err}")
    return written
