"""The importable functions behind every ``harness`` command. Each returns data (result
objects, dicts, paths) and prints nothing; :mod:`harness.cli` renders what they return.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import HarnessError
from .gold.store import GoldDiff, GoldStore, GoldVersion
from .options import (
    DEFAULT_BASELINES_DIRNAME,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHECKPOINT,
    DEFAULT_EVAL_FRACTION,
    DEFAULT_GOLD_DIR,
    DEFAULT_QUEUE_SHOWN,
    DEFAULT_REPORTS_DIR,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    DEFAULT_TRAIN_SEED,
)
from .runners import kind_for_path
from .specs import PipelineSpec, SuiteSpec

if TYPE_CHECKING:
    from .core.results import NoiseReport


def parse_suite(path: str) -> SuiteSpec:
    """Read and validate a suite file (pydantic is imported only when one is read)."""
    from .suites import parse_suite as parse

    return parse(path)


# --------------------------------------------------------------------------- gold


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
    from .gold.importer import import_examples
    from .runners.spacy_data import read_docbin, spacy_tokenizer

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


# --------------------------------------------------------------------------- train / eval


def train(
    gold: str,
    output: str,
    *,
    gold_dir: str = DEFAULT_GOLD_DIR,
    config: str | None = None,
    max_steps: int | None = None,
    seed: int = DEFAULT_TRAIN_SEED,
    checkpoint: str = DEFAULT_CHECKPOINT,
    force: bool = False,
    verbose: bool = False,
) -> Any:
    """Train a spaCy pipeline on a gold version's train split (reused if inputs are unchanged)."""
    from .training import train as train_pipeline

    version = GoldStore(gold_dir).resolve(gold)
    return train_pipeline(version, output, config=config, max_steps=max_steps, seed=seed, checkpoint=checkpoint, force=force, quiet=not verbose)


def suite_training_jobs(suite_path: str) -> list[dict[str, Any]]:
    """The :func:`train` keyword arguments for every pipeline of a suite that has a [train] table."""
    spec = parse_suite(suite_path)
    jobs = []
    for pipeline in spec.pipelines.values():
        if pipeline.train is None:
            continue
        jobs.append(
            {
                "gold": str(spec.gold),
                "output": pipeline.path,
                "gold_dir": str(spec.gold_dir),
                "config": str(pipeline.train.config) if pipeline.train.config else None,
                "max_steps": pipeline.train.max_steps,
                "seed": pipeline.train.seed,
                "checkpoint": pipeline.train.checkpoint,
            }
        )
    if not jobs:
        raise HarnessError(f"{suite_path}: no pipeline has a [pipelines.<name>.train] table")
    return jobs


def evaluate_on_gold(
    gold: str,
    pipeline: str,
    *,
    gold_dir: str = DEFAULT_GOLD_DIR,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = DEFAULT_BATCH_SIZE,
    llm_mode: str | None = None,
) -> Any:
    """Evaluate one pipeline on a gold eval split without a suite: returns a SuiteResult.

    ``pipeline`` is a spaCy pipeline (directory or package), a spacy-llm config
    (``.cfg``) or imported predictions (``.jsonl``, keyed by ``_input_hash``).
    """
    from .core.results import SuiteResult
    from .evaluate import eval_views, evaluate_pipeline, gold_info

    version = GoldStore(gold_dir).resolve(gold)
    spec = PipelineSpec(name=Path(pipeline).stem or pipeline, kind=kind_for_path(pipeline), path=pipeline, batch_size=batch_size)
    examples = list(version.iter_examples("eval"))
    result = evaluate_pipeline(version, spec, resamples=resamples, seed=seed, threshold=threshold, llm_mode=llm_mode, examples=examples)
    return SuiteResult(
        f"eval-{spec.name}",
        "",
        gold_info(version),
        {spec.name: result},
        {},
        [],
        examples=eval_views(version.task, examples),
        threshold=threshold,
        distilled=spec.name if spec.role == "distilled" else None,
        llm=spec.name if spec.role == "llm" else None,
    )


def extract_versions(gold: str, session: str, output: str, *, gold_dir: str = DEFAULT_GOLD_DIR) -> int:
    """Write the annotations one Prodigy session made (kept in a review dataset's
    ``versions`` field) as an imported-predictions JSONL; returns the count written.

    A record whose single version lists several sessions means they agreed.
    """
    from .io import atomic
    from .io.jsonl import canonical_json
    from .options import SPLITS

    version = GoldStore(gold_dir).resolve(gold)
    lines = []
    for split in SPLITS:
        for example in version.iter_examples(split):
            found = [v for v in example.extra.get("versions", []) if session in (v.get("sessions") or [v.get("_session_id")])]
            if not found:
                continue
            spans = [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in found[0].get("spans", [])]
            lines.append(
                canonical_json(
                    {
                        "text": example.text,
                        "_input_hash": example.input_hash,
                        "spans": spans,
                        "meta": {"source": f"{version.ref} versions, session {session}"},
                    }
                )
            )
    if not lines:
        raise HarnessError(f"no example of {version.ref} has a version from session {session!r}")
    atomic.write_jsonl(output, lines)
    return len(lines)


# --------------------------------------------------------------------------- record


@dataclass(frozen=True)
class RecordSummary:
    """What recording one LLM pipeline did."""

    pipeline: str
    cassette: str
    prompts: int
    calls_made: int
    cached: int
    failed: int
    first_failure: str | None
    seconds: float
    simulated: bool
    records: int


def record(
    suite_path: str,
    *,
    splits: Sequence[str] = ("eval",),
    pipeline: str | None = None,
    concurrency: int | None = None,
    mode: str = "record",
    progress: Callable[[str, int], Callable[[bool], None]] | None = None,
) -> list[RecordSummary]:
    """Fill the cassettes of a suite's LLM pipelines; one summary per pipeline.

    Only prompts missing from a cassette are sent (so an interrupted recording
    resumes without paying twice); backend failures are counted, never a crash.
    ``progress(pipeline, total)`` may return a callback called once per prompt with
    whether it failed, so failures show as they happen.
    """
    from .runners.llm_runner import build_llm_pipeline, cassette_of

    spec = parse_suite(suite_path)
    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    targets = [p for p in spec.pipelines.values() if p.is_llm and (pipeline is None or p.name == pipeline)]
    if not targets:
        raise HarnessError(f"{suite_path}: no llm pipeline{f' named {pipeline!r}' if pipeline else ''} to record")
    texts = [e.text for split in splits for e in gold.iter_examples(split)]
    summaries = []
    for target in targets:
        nlp = build_llm_pipeline(target.path, mode=mode)
        _, model = cassette_of(nlp)
        if concurrency is not None and hasattr(model.inner, "concurrency"):
            model.inner.concurrency = concurrency
        model.reset_log()
        model.progress = progress(target.name, len(texts)) if progress is not None else None
        started = time.perf_counter()
        try:
            for _ in nlp.pipe(texts):
                pass
        finally:
            model.progress = None
        log = model.log
        summaries.append(
            RecordSummary(
                pipeline=target.name,
                cassette=str(model.path),
                prompts=len(log.prompts),
                calls_made=log.calls_made,
                cached=log.cached,
                failed=len(log.failures),
                first_failure=log.failures[0] if log.failures else None,
                seconds=time.perf_counter() - started,
                simulated=model.simulated,
                records=len(model.cassette.records),
            )
        )
    return summaries


# --------------------------------------------------------------------------- queue, distill, retrain


def queue_records(suite: str, *, reports_dir: str = DEFAULT_REPORTS_DIR) -> tuple[Path, list[dict[str, Any]]]:
    """The suite's queue file and all its records, most useful first."""
    from .loop import queue

    spec = parse_suite(suite)
    path = queue.queue_path(reports_dir, spec.name)
    return path, queue.load(path)


def queue_show(
    suite: str, *, reports_dir: str = DEFAULT_REPORTS_DIR, limit: int = DEFAULT_QUEUE_SHOWN, show_all: bool = False
) -> list[dict[str, Any]]:
    """Queue records, most useful first (open ones only unless ``show_all``)."""
    _, records = queue_records(suite, reports_dir=reports_dir)
    if not show_all:
        records = [r for r in records if r["harness"].get("status") == "open"]
    return records[:limit] if limit else records


def queue_counts(records: Sequence[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """How many records per (status, category)."""
    return Counter((r["harness"]["status"], r["harness"]["category"]) for r in records)


def retrain_and_compare(
    suite: str,
    *,
    pipeline: str | None = None,
    output: str | None = None,
    promote: bool = False,
    max_steps: int | None = None,
    force: bool = False,
) -> tuple[Any, Any, SuiteSpec]:
    """Retrain the distilled model (``harness retrain``) and evaluate it beside the LLM:
    (retrain summary, suite result of the new model, the suite)."""
    from .core.compare import compare
    from .core.results import SuiteResult
    from .evaluate import gold_info
    from .loop.retrain import retrain

    spec = parse_suite(suite)
    summary = retrain(spec, pipeline=pipeline, output=output, promote=promote, max_steps=max_steps, force=force)
    pipelines = {summary.result.name: summary.result}
    comparisons = []
    if summary.llm is not None:
        pipelines[summary.llm.name] = summary.llm
        comparisons.append(compare(summary.result, summary.llm, resamples=spec.resamples, seed=spec.seed))
    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    from .evaluate import eval_views

    result = SuiteResult(
        f"{spec.name} (retrained)",
        str(spec.file),
        gold_info(gold),
        pipelines,
        {},
        [],
        comparisons,
        examples=eval_views(gold.task, list(gold.iter_examples("eval"))),
        threshold=spec.threshold,
        distilled=spec.roles(pipelines)[0],
        llm=spec.roles(pipelines)[1],
    )
    return summary, result, spec


# -- baselines and history ------------------------------------------------------------


@dataclass(frozen=True)
class BlessSummary:
    """What ``harness bless`` wrote: the file and, per blessed pipeline, its micro F and model
    sha256, and the replicates' micro F (empty: none trained, eval-sample noise only)."""

    path: Path
    pipelines: dict[str, tuple[float, str | None]]
    errors: dict[str, str]
    replicates: dict[str, list[float]] = field(default_factory=dict)


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
    from .baselines import Replicate, configuration
    from .core.gates import BaselineGate
    from .options import EvalSettings
    from .replicates import can_replicate, replicate_pipeline
    from .session import HarnessSession, load_suite
    from .writers import bless_baselines, failing_refusal

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
    failing = []
    for gate in suite.gates:  # the regression gates would judge against the baseline being replaced
        if isinstance(gate, BaselineGate) or gate.pipeline not in chosen or gate.pipeline in errors:
            continue
        try:
            verdict = session.check(suite.spec.name, gate)
        except HarnessError as err:
            failing.append(f"{gate.pipeline}::{gate.id} ({err})")
            continue
        if not verdict.passed and not verdict.skipped:
            failing.append(f"{gate.pipeline}::{gate.id}")
    if failing and not allow_failing:
        raise HarnessError(failing_refusal(suite_path, failing))
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
    from .baselines import example_digests
    from .core.gates import NoRegressionGate
    from .core.noise import configuration_rows
    from .core.results import NoiseReport, NoiseRow  # noqa: F811 (the annotation's import is for type checkers only)
    from .evaluate import count_outputs
    from .options import CONFIDENCE, EvalSettings
    from .session import load_suite

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
    from .baselines import baseline_path, load

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
    from .history import run_table
    from .options import DEFAULT_HISTORY_LAST, HISTORY_DIRNAME

    name, blessed = _suite_name_and_baseline(suite, baselines_dir)
    table = run_table(
        Path(reports_dir) / HISTORY_DIRNAME, name, pipeline=pipeline, label=label, last=last if last is not None else DEFAULT_HISTORY_LAST
    )
    for entry in table:
        entry["blessed"] = bool(entry.get("model_sha256")) and blessed.get(entry["pipeline"]) == entry["model_sha256"]
    return name, table


def history_notices() -> list[str]:
    """History files moved aside (damaged or not ours) since the last call: say them."""
    from .history import take_notices

    return take_notices()


def history_prune(*, keep: int, reports_dir: str = DEFAULT_REPORTS_DIR) -> tuple[int, int]:
    """Keep the last ``keep`` runs per suite in ``reports/history``: (kept, removed)."""
    from .history import prune
    from .options import HISTORY_DIRNAME

    return prune(Path(reports_dir) / HISTORY_DIRNAME, keep=keep)


def report(results: Sequence[str], output: str | None = None, *, history_dir: str | None = None) -> Path:
    """Rebuild the HTML report from JSON results (``reports/<suite>.json``) into ``output``
    (default: ``<first results>.html`` beside it, or ``report-<n>-suites.html`` for several:
    never a run's own ``report.html`` unless it is named).

    Trends come from ``history_dir`` (default: ``history/`` beside the first results
    file, when it exists)."""
    import json

    from .errors import InputError
    from .history import history_for
    from .io.clock import now_iso
    from .options import HISTORY_DIRNAME
    from .reports.html_report import write_html
    from .reports.json_report import RESULTS_SCHEMA

    documents = []
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
        # The page reads these shapes: a wrong one is named here, not a TypeError deep in the template.
        for key, kind in (("suite", dict), ("gold", dict), ("pipelines", dict), ("gates", list)):
            if key not in document:
                raise InputError("missing", path=path, field=key)
            if not isinstance(document[key], kind):
                raise InputError(
                    f"expected {'an object' if kind is dict else 'a list'}, got {type(document[key]).__name__}", path=path, field=key
                )
        for i, gate in enumerate(document["gates"]):
            if not isinstance(gate, dict) or not isinstance(gate.get("id"), str):
                raise InputError("expected an object with an 'id'", path=path, field=f"gates[{i}]")
        documents.append(document)
    if not documents:
        raise HarnessError("harness report needs at least one results file")
    history_path = Path(history_dir) if history_dir else Path(results[0]).parent / HISTORY_DIRNAME
    if output is None:
        first = Path(results[0])
        output = str(first.with_suffix(".html") if len(documents) == 1 else first.parent / f"report-{len(documents)}-suites.html")
    return write_html(output, documents, created=now_iso(), history=history_for(history_path, documents))
