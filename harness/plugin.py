"""pytest plugin (entry point ``pytest11: harness``): suite files become test items.

Hooks only: each hands off to the :class:`harness.session.HarnessSession` kept in
``config.stash``. The session is made when the first suite file is collected, so
a run that collects no suite does no harness work at all, and nothing heavy is
imported at module level (no spaCy, no numpy): installing the harness does not
slow down ``pytest`` on unrelated projects.

The collection tree of a suite file is in :mod:`harness.pytest_nodes`.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

import pytest

from . import options
from .pytest_nodes import SESSION_KEY, SuiteFile, session_of

__all__ = ["SESSION_KEY"]  # tests and other plugins reach the run's session through it

WRITTEN_KEY: pytest.StashKey[list[tuple[str, Path]]] = pytest.StashKey()
RESULTS_KEY: pytest.StashKey[list[Any]] = pytest.StashKey()
WORKER_OUTPUT_KEY = "harness_session"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "distill-harness evaluation suites")
    group.addoption(
        "--harness-reports",
        metavar="DIR",
        default=None,
        help=f"directory for JSON results and queues (default: ini harness_reports, '{options.DEFAULT_REPORTS_DIR}')",
    )
    group.addoption("--harness-no-reports", action="store_true", default=False, help="do not write result files (JSON, queues, history)")
    group.addoption(
        "--harness-bless",
        action="store_true",
        default=False,
        help="write baselines/<suite>.json from this run (regression gates report but do not fail)",
    )
    group.addoption(
        "--harness-allow-failing",
        action="store_true",
        default=False,
        help="with --harness-bless: bless even when some of the suite's other gates fail",
    )
    group.addoption(
        "--harness-markdown",
        metavar="FILE",
        default=None,
        help="write a GitHub-flavoured Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)",
    )
    options.RESAMPLES.add_to(group.addoption, "--harness-resamples")
    options.SEED.add_to(group.addoption, "--harness-seed")
    options.LLM_MODE.add_to(group.addoption, "--llm-mode")
    options.ENGINE.add_to(group.addoption, "--harness-engine")
    options.WORKERS.add_to(group.addoption, "--harness-workers")
    options.RAY_ADDRESS.add_to(group.addoption, "--harness-ray-address")
    parser.addini("harness_reports", "directory for JSON results", default=options.DEFAULT_REPORTS_DIR)
    parser.addini(
        "harness_gold_dir",
        "gold store for the harness_gold fixture and harness_examples marker (relative to rootdir)",
        default=options.DEFAULT_GOLD_DIR,
    )
    parser.addini("harness_suites", "glob patterns (relative to rootdir) of suite files", type="args", default=list(options.DEFAULT_SUITE_GLOBS))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness_examples(gold, split='eval', limit=None, gold_dir=None): one test per gold example, as the `harness_example` argument",
    )
    # Where the run will write: said now, in one line, rather than as a traceback after every gate ran.
    reports = _reports_dir(config)
    if reports is not None and reports.exists() and not reports.is_dir():
        raise pytest.UsageError(f"--harness-reports {reports}: exists and is not a directory (results, queues and history go in a directory)")
    markdown = config.getoption("harness_markdown")
    if markdown and Path(markdown).is_dir():
        raise pytest.UsageError(f"--harness-markdown {markdown}: is a directory; give the summary file's path (e.g. reports/summary.md)")


MARKER_KEYWORDS = ("gold", "split", "limit", "gold_dir")


def _gold_dir(config: pytest.Config, given: str | Path | None = None) -> Path:
    path = Path(given or config.getini("harness_gold_dir"))
    return path if path.is_absolute() else config.rootpath / path


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``@pytest.mark.harness_examples("restaurant-reviews@v1")``: one test per gold example."""
    marker = metafunc.definition.get_closest_marker("harness_examples")
    if marker is None:
        return
    if "harness_example" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: harness_examples needs a `harness_example` argument")
    from .testing import example_id, resolve_gold

    where = f"{metafunc.definition.nodeid}: @pytest.mark.harness_examples"
    unknown = sorted(set(marker.kwargs) - set(MARKER_KEYWORDS))
    if unknown:
        raise pytest.UsageError(f"{where}: unknown keyword(s) {', '.join(unknown)} (expected: {', '.join(MARKER_KEYWORDS)})")
    if not marker.args and "gold" not in marker.kwargs:
        raise pytest.UsageError(f'{where}: name the gold version, e.g. harness_examples("restaurant-reviews@v1")')
    limit = marker.kwargs.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise pytest.UsageError(f"{where}: limit must be a whole number >= 1 (or None for every example), got {limit!r}")
    ref = marker.args[0] if marker.args else marker.kwargs["gold"]
    split = marker.kwargs.get("split", "eval")
    gold = resolve_gold(_gold_dir(metafunc.config, marker.kwargs.get("gold_dir")), ref, split)
    examples = list(gold.examples)[:limit]
    # Each example test is a verdict of the suite tests:<gold ref> (see pytest_runtest_makereport).
    session_of(metafunc.config).example_tests[metafunc.definition.nodeid] = (gold.version, gold.split, list(gold.examples))
    metafunc.parametrize("harness_example", examples, ids=[example_id(i, e) for i, e in enumerate(examples)])


@pytest.fixture(scope="session")
def harness_gold(pytestconfig: pytest.Config) -> Any:
    """``harness_gold("restaurant-reviews@v1", split="eval")``: a verified gold version's split
    (``.examples``, ``.labels``, ``.sha256``, ``.ref``), read once per session."""
    from .testing import resolve_gold

    cache: dict[tuple[str, str, str], Any] = {}

    def get(ref: str, split: str = "eval", gold_dir: str | Path | None = None) -> Any:
        where = _gold_dir(pytestconfig, gold_dir)
        key = (str(where), ref, split)
        if key not in cache:
            cache[key] = resolve_gold(where, ref, split)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def harness_pipeline(pytestconfig: pytest.Config) -> Any:
    """``harness_pipeline("models/restaurant-ner")`` (or a spacy-llm ``.cfg``, or predictions
    ``.jsonl``): loaded once per session; LLM pipelines honour ``--llm-mode``."""
    from .testing import Pipeline, pipeline_spec

    cache: dict[tuple[str, str | None, str | None], Any] = {}

    def get(path: str | Path, kind: str | None = None, name: str | None = None) -> Any:
        key = (str(path), kind, name)
        if key not in cache:
            cache[key] = Pipeline(
                pipeline_spec(path, kind=kind, name=name, root=pytestconfig.rootpath), llm_mode=pytestconfig.getoption("llm_mode")
            )
        return cache[key]

    return get


@pytest.fixture(scope="session")
def harness_evaluate(pytestconfig: pytest.Config) -> Any:
    """``harness_evaluate(pipeline, gold)``: the :class:`~harness.core.results.PipelineResult`
    the suites use (``.micro.f``, ``.label("Dish").f_ci``, ``.failing("Dish")``), computed once
    per pair and added to the run's reports as suite ``tests:<gold ref>``."""
    from .testing import evaluate_split

    cache: dict[tuple[str, str, str], Any] = {}

    def get(pipeline: Any, gold: Any, threshold: float = options.DEFAULT_THRESHOLD) -> Any:
        key = (pipeline.spec.path, gold.sha256, gold.split)
        if key not in cache:
            session = session_of(pytestconfig)
            settings = session.settings
            result = evaluate_split(pipeline, gold, resamples=settings.resamples_for(None), seed=settings.seed_for(None), threshold=threshold)
            session.add_test_result(gold.version, gold.split, list(gold.examples), pipeline.spec, result)
            cache[key] = result
        else:
            session_of(pytestconfig).add_test_suite(gold.version, gold.split, list(gold.examples))  # notes this test
        return cache[key]

    return get


def _is_suite(file_path: Path, config: pytest.Config) -> bool:
    if file_path.suffix != ".toml":
        return False
    try:
        relative = file_path.relative_to(config.rootpath).as_posix()
    except ValueError:
        relative = file_path.as_posix()
    return any(fnmatch.fnmatch(relative, pattern) for pattern in config.getini("harness_suites"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_suite(file_path, parent.config):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


def _reports_dir(config: pytest.Config) -> Path | None:
    if config.getoption("harness_no_reports"):
        return None
    value = config.getoption("harness_reports") or config.getini("harness_reports")
    path = Path(value)
    return path if path.is_absolute() else config.rootpath / path


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    harness = config.stash.get(SESSION_KEY, None)
    if harness is None:
        return
    if hasattr(config, "workerinput"):  # xdist worker: ship results to the controller
        config.workeroutput[WORKER_OUTPUT_KEY] = harness.export()  # type: ignore[attr-defined]  # set by xdist on workers
        return
    from . import writers

    if exitstatus == pytest.ExitCode.INTERRUPTED:
        harness.interrupted = "interrupted"
    elif session.shouldstop or session.shouldfail:
        harness.interrupted = f"stopped early ({session.shouldstop or session.shouldfail})"
    results = harness.suite_results()  # once: every writer and the terminal summary share them
    config.stash[RESULTS_KEY] = results
    reports = _reports_dir(config)
    written = writers.write_reports(harness, results, reports, config.rootpath) if reports is not None else []
    markdown = config.getoption("harness_markdown")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if markdown or summary:
        written += writers.write_markdown(harness, results, Path(markdown) if markdown else None, Path(summary) if summary else None)
    if harness.blessing:
        written += writers.bless_baselines(harness, results=results, allow_failing=bool(config.getoption("harness_allow_failing")))
    config.stash[WRITTEN_KEY] = written


HARNESS_TEST_FIXTURES = ("harness_evaluate", "harness_example")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Note the running test, so that the tests-suites it uses get its outcome as a verdict."""
    if not set(getattr(item, "fixturenames", ())) & set(HARNESS_TEST_FIXTURES):
        yield
        return
    harness = session_of(item.config)
    harness.current_test = item.nodeid
    where = harness.example_tests.get(item.nodeid.split("[", 1)[0])  # a harness_examples test's definition
    if where is not None:
        harness.add_test_suite(*where)
    try:
        yield
    finally:
        harness.current_test = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    harness = item.config.stash.get(SESSION_KEY, None)
    if harness is None or item.nodeid not in harness.test_uses:
        return
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None:
            message = str(crash.message)
        elif isinstance(report.longrepr, tuple):  # a skip: (file, line, reason)
            message = str(report.longrepr[2])
        else:
            message = str(report.longrepr or "")[-500:]
        harness.add_test_outcome(item.nodeid, report.outcome, message)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: merge a finished worker's results."""
    payload = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if payload:
        session_of(node.config).merge(payload)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Keep each suite file on one worker so its pipelines run once; other tests
    are distributed exactly as with ``--dist load``."""
    if config.getoption("dist", "no") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SuiteAwareScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path.endswith(".toml") else nodeid

    return SuiteAwareScheduling(config, log)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    harness = config.stash.get(SESSION_KEY, None)
    if harness is None or hasattr(config, "workerinput"):
        return
    results = config.stash.get(RESULTS_KEY, None)
    if results is None:
        results = harness.suite_results()
    if not results:
        return
    from .reports.terminal import render_to_string

    terminalreporter.section("distill-harness")
    # CI logs are not terminals (80 columns); tables need a little more to stay readable.
    width = max(120, min(terminalreporter._tw.fullwidth, 160))
    terminalreporter.write(render_to_string(results, width=width, color=terminalreporter.hasmarkup, curves=harness.learning_curves))
    from .core.text import printable

    for problem in harness.report_problems:
        terminalreporter.write_line(printable(f"warning: {problem}"), yellow=True)
    for kind, path in config.stash.get(WRITTEN_KEY, []):
        try:
            shown = os.path.relpath(path)
        except ValueError:
            shown = str(path)
        terminalreporter.write_line(f"{kind}: {shown}")
