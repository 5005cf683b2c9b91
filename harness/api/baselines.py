"""Baselines (bless, noise), the run history and the HTML report.

Imports inside functions: this package loads with every command (see :mod:`harness.api`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import HarnessError
from ..options import (
    DEFAULT_BASELINES_DIRNAME,
    DEFAULT_REPORTS_DIR,
)
from .suite import parse_suite

if TYPE_CHECKING:
    from ..baselines import Replicate
    from ..core.results import NoiseReport
    from ..loaded_suite import LoadedSuite
    from ..session import HarnessSession


@dataclass(frozen=True)
class BlessSummary:
    """What ``harness bless`` wrote: the file and, per blessed pipeline, its micro F and model
    sha256, and the replicates' micro F (empty: none trained, eval-sample noise only)."""

    path: Path
    pipelines: dict[str, tuple[float, str | None]]
    errors: dict[str, str]
    replicates: dict[str, list[float]] = field(default_factory=dict)


def _failing_gates(session: HarnessSession, suite: LoadedSuite, chosen: Sequence[str], errors: Mapping[str, str]) -> list[str]:
    """The chosen pipelines' failing gates, other than the regression gates (which would judge
    against the baseline being replaced)."""
    from ..core.gates import BaselineGate

    failing = []
    for gate in suite.gates:
        if isinstance(gate, BaselineGate) or gate.pipeline not in chosen or gate.pipeline in errors:
            continue
        try:
            verdict = session.check(suite.spec.name, gate)
        except HarnessError as err:
            failing.append(f"{gate.pipeline}::{gate.id} ({err})")
            continue
        if not verdict.passed and not verdict.skipped:
            failing.append(f"{gate.pipeline}::{gate.id}")
    return failing


def _train_replicates(
    session: HarnessSession,
    suite: LoadedSuite,
    chosen: Sequence[str],
    suite_path: str,
    *,
    replicates: int | None,
    workers: int | None,
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, Sequence[Replicate]]:
    """The replicates of every chosen pipeline the harness can retrain."""
    from ..baselines import configuration
    from ..replicates import can_replicate, replicate_pipeline

    trained: dict[str, Sequence[Replicate]] = {}
    for name in chosen:
        spec, result = suite.spec.pipelines[name], session.results.get((suite.spec.name, name))
        if result is None or not can_replicate(spec):
            continue
        assert spec.train is not None
        trained[name] = replicate_pipeline(
            spec,
            configuration(result.identity),
            n=replicates if replicates is not None else spec.train.replicates,
            gold_dir=suite.spec.gold_dir,
            gold_ref=str(suite.spec.gold),
            gold_sha256=suite.gold.sha256,
            task=suite.gold.task,
            threshold=suite.spec.threshold,
            suite_file=suite_path,
            workers=workers,
            progress=progress,
        )
    return trained


def bless(
    suite_path: str,
    *,
    pipelines: Sequence[str] | None = None,
    llm_mode: str | None = None,
    resamples: int | None = None,
    seed: int | None = None,
    replicates: int | None = None,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    allow_failing: bool = False,
) -> BlessSummary:
    """Evaluate a suite's pipelines (or only ``pipelines``) and write ``baselines/<suite>.json``.

    A pipeline the harness can retrain (a spaCy pipeline with a ``train`` table) is
    retrained ``replicates`` more times with other seeds (default: the train table's
    ``replicates``, else 5), in parallel on ``workers`` processes; their predictions go
    into the baseline as the measure of training noise. ``progress(pipeline, done,
    total)`` is called as replicates finish. A pipeline that fails to run is not
    blessed (its error is returned); the others are. Blessing nothing is an error, and
    so is blessing a pipeline whose gates (other than the regression gates, judged
    against the old baseline) fail, unless ``allow_failing``: that is checked before
    any replicate is trained.
    """
    from ..loaded_suite import load_suite
    from ..options import EvalSettings
    from ..session import HarnessSession
    from ..writers import bless_baselines, failing_refusal

    suite = load_suite(suite_path)
    chosen = list(pipelines) if pipelines else list(suite.spec.pipelines)
    unknown = [p for p in chosen if p not in suite.spec.pipelines]
    if unknown:
        raise HarnessError(f"{suite_path}: no pipeline {', '.join(map(repr, unknown))} (pipelines: {', '.join(suite.spec.pipelines)})")
    session = HarnessSession(EvalSettings(resamples=resamples, seed=seed, llm_mode=llm_mode))
    session.add_suite(suite)
    errors = {}
    for name in chosen:
        try:
            session.pipeline_result(suite.spec.name, name)
        except HarnessError as err:
            errors[name] = str(err)
    failing = _failing_gates(session, suite, chosen, errors)
    if failing and not allow_failing:
        raise HarnessError(failing_refusal(suite_path, failing))
    trained = _train_replicates(session, suite, chosen, suite_path, replicates=replicates, workers=workers, progress=progress)
    written = [path for _, path in bless_baselines(session, replicates={suite.spec.name: trained})]
    if not written:
        raise HarnessError("; ".join([*session.report_problems, *(f"{k}: {v}" for k, v in errors.items())]) or "nothing blessed")
    results = {p: session.results[(suite.spec.name, p)] for p in chosen if (suite.spec.name, p) in session.results}
    return BlessSummary(
        written[0],
        {p: (r.scores.micro.f, r.identity.get("sha256")) for p, r in results.items()},
        errors,
        {p: [r.micro_f for r in made] for p, made in trained.items()},
    )


def noise(suite_path: str, *, resamples: int | None = None, seed: int | None = None) -> NoiseReport:
    """Training and eval-sample noise of each pipeline's blessed configuration, from its
    baseline alone (no model is run): mean, SD and range of F over the blessed model and
    its replicates, and each regression gate's minimum detectable drop."""
    from ..baselines import example_digests
    from ..core.gates import NoRegressionGate
    from ..core.noise import configuration_rows
    from ..core.results import NoiseReport, NoiseRow  # noqa: F811 (the annotation's import is for type checkers only)
    from ..evaluate import count_outputs
    from ..loaded_suite import load_suite
    from ..options import CONFIDENCE, EvalSettings

    suite = load_suite(suite_path)
    baseline, problem = suite.baseline()
    if baseline is None:
        raise HarnessError(problem or "no baseline")
    settings = EvalSettings(resamples=resamples, seed=seed)
    n_resamples, boot_seed = settings.resamples_for(suite.spec.resamples), settings.seed_for(suite.spec.seed)
    examples = suite.eval_examples()
    digests = example_digests(examples)
    task, labels, threshold = suite.gold.task, suite.gold.labels, suite.spec.threshold
    compared = [e for e in examples if baseline.context.gold_digests.get(e.input_hash) == digests[e.input_hash]]
    gates = {(g.pipeline, g.label or "micro"): g for g in suite.gates if isinstance(g, NoRegressionGate)}
    rows: dict[str, list[NoiseRow]] = {}
    models: dict[str, list[tuple[str, float]]] = {}
    machines: dict[str, str] = {}
    for name, entry in baseline.pipelines.items():
        predictions = [entry.predictions, *(p for _, p in sorted(entry.replicates.items()))]
        usable = [p for p in predictions if all(e.input_hash in p for e in compared)]
        if not compared or not usable:
            continue
        counts = [count_outputs(task, compared, [p[e.input_hash] for e in compared], labels, threshold=threshold) for p in usable]
        mine = {scope: g for (p, scope), g in gates.items() if p == name}
        rows[name], micro = configuration_rows(
            counts,
            labels,
            len(compared),
            family_size=max((len(g.family) for g in mine.values()), default=1),
            max_drops={scope: -g.threshold for scope, g in mine.items()},
            resamples=n_resamples,
            seed=boot_seed,
            confidence=CONFIDENCE,
        )
        seeds = ["blessed", *(str(s) for s, p in sorted(entry.replicates.items()) if p in usable)]
        models[name] = list(zip(seeds, micro, strict=True))
        replicate_block = baseline.document.get("pipelines", {}).get(name, {}).get("replicates") or {}
        machines[name] = str((replicate_block.get("machine") or {}).get("description", ""))
    return NoiseReport(suite.spec.name, str(baseline.path), CONFIDENCE, rows, models, machines)


def _suite_name_and_baseline(suite: str, baselines_dir: str | None) -> tuple[str, dict[str, str]]:
    """(suite name, pipeline -> blessed model sha256) for a suite file or a suite name."""
    from ..baselines import baseline_path, load

    if suite.endswith(".toml") or Path(suite).is_file():
        spec = parse_suite(suite)
        name = spec.name
        path = baseline_path(baselines_dir, name) if baselines_dir else spec.baseline_file
    else:
        name = suite
        path = baseline_path(baselines_dir or DEFAULT_BASELINES_DIRNAME, name)
    blessed: dict[str, str] = {}
    if path.exists():
        with_identity = load(path)
        blessed = {p: str(e.identity.get("sha256") or "") for p, e in with_identity.pipelines.items()}
    return name, blessed


def history(
    suite: str,
    *,
    reports_dir: str = DEFAULT_REPORTS_DIR,
    pipeline: str | None = None,
    label: str | None = None,
    last: int | None = None,
    baselines_dir: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """(suite name, one dict per run and pipeline, oldest first) from ``reports/history``.

    Each dict has the run's time, git commit, gold, model sha256, micro (or ``label``'s)
    P/R/F with F's CI, macro F, words/s, size, gate counts, and ``blessed``: whether its
    model is the one in the suite's baseline.
    """
    from ..history import run_table
    from ..options import DEFAULT_HISTORY_LAST, HISTORY_DIRNAME

    name, blessed = _suite_name_and_baseline(suite, baselines_dir)
    table = run_table(
        Path(reports_dir) / HISTORY_DIRNAME, name, pipeline=pipeline, label=label, last=last if last is not None else DEFAULT_HISTORY_LAST
    )
    for entry in table:
        entry["blessed"] = bool(entry.get("model_sha256")) and blessed.get(entry["pipeline"]) == entry["model_sha256"]
    return name, table


def history_notices() -> list[str]:
    """History files moved aside (damaged or not ours) since the last call: say them."""
    from ..history import take_notices

    return take_notices()


def history_prune(*, keep: int, reports_dir: str = DEFAULT_REPORTS_DIR) -> tuple[int, int]:
    """Keep the last ``keep`` runs per suite in ``reports/history``: (kept, removed)."""
    from ..history import prune
    from ..options import HISTORY_DIRNAME

    return prune(Path(reports_dir) / HISTORY_DIRNAME, keep=keep)


def report(results: Sequence[str], output: str | None = None, *, history_dir: str | None = None) -> Path:
    """Rebuild the HTML report from JSON results (``reports/<suite>.json``) into ``output``
    (default: ``<first results>.html`` beside it, or ``report-<n>-suites.html`` for several:
    never a run's own ``report.html`` unless it is named).

    Trends come from ``history_dir`` (default: ``history/`` beside the first results
    file, when it exists)."""
    import json

    from ..errors import InputError
    from ..history import history_for
    from ..io.clock import now_iso
    from ..options import HISTORY_DIRNAME
    from ..reports.html_report import write_html
    from ..reports.json_read import suite_from_dict
    from ..reports.json_report import RESULTS_SCHEMA

    documents, suites = [], []
    for name in results:
        path = Path(name)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("results file not found", path=path) from None
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read results: {err}", path=path) from None
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno) from None
        if not isinstance(document, dict) or document.get("schema") != RESULTS_SCHEMA:
            raise InputError(f"not a harness results file (expected schema {RESULTS_SCHEMA})", path=path, field="schema")
        # The page is drawn from result objects: a shape they cannot be read from is named here
        # (file and field), not a TypeError deep in the template.
        suites.append(suite_from_dict(document, path))
        documents.append(document)
    if not documents:
        raise HarnessError("harness report needs at least one results file")
    history_path = Path(history_dir) if history_dir else Path(results[0]).parent / HISTORY_DIRNAME
    if output is None:
        first = Path(results[0])
        output = str(first.with_suffix(".html") if len(documents) == 1 else first.parent / f"report-{len(documents)}-suites.html")
    return write_html(output, suites, documents, created=now_iso(), history=history_for(history_path, documents))
