"""The ``harness`` command. Thin: each ``x_cli`` parses arguments, calls ``x(...)``
(which returns data) and prints it."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import GoldIntegrityError, HarnessError
from .gold import GoldDiff, GoldStore, GoldVersion, import_examples
from .suites import CHECKPOINTS

console = Console(highlight=False)


# --------------------------------------------------------------------------- gold


def gold_import(paths: Sequence[str], *, name: str, gold_dir: str = "gold", task: str | None = None,
                eval_fraction: float = 0.3, seed: int = 0, lang: str = "en", notes: str = "") -> GoldVersion:
    """Import Prodigy JSONL / spaCy DocBin files as the next version of ``name``."""
    from .runners.spacy_pipeline import read_docbin, spacy_tokenizer

    needs_tokenizer = any(not p.endswith(".spacy") for p in paths)
    return import_examples(
        GoldStore(gold_dir), paths, name=name, task=task, eval_fraction=eval_fraction, seed=seed,  # type: ignore[arg-type]
        tokenizer=spacy_tokenizer(lang) if needs_tokenizer else None,
        docbin_reader=lambda path: read_docbin(path, lang), notes=notes, lang=lang,
    )


def gold_list(gold_dir: str = "gold") -> list[dict[str, Any]]:
    """One row per version: ref, task, split sizes, labels, sha256, created."""
    store = GoldStore(gold_dir)
    rows = []
    for dataset in store.datasets():
        for number in store.version_numbers(dataset):
            version = store.resolve(f"{dataset}@v{number}", verify=False)
            m = version.manifest
            rows.append({"ref": version.ref, "task": m["task"], "train": m["splits"]["train"]["examples"],
                         "eval": m["splits"]["eval"]["examples"], "labels": len(m["labels"]),
                         "sha256": m["sha256"], "parent": m.get("parent"), "created": m.get("created")})
    return rows


def _gold_import_cli(args: argparse.Namespace) -> int:
    version = gold_import(args.paths, name=args.name, gold_dir=args.gold_dir, task=args.task,
                          eval_fraction=args.eval_fraction, seed=args.seed, lang=args.lang, notes=args.notes)
    m = version.manifest
    console.print(f"wrote [bold]{version.ref}[/] at {version.path} ({m['task']}): "
                  f"{m['splits']['train']['examples']} train, {m['splits']['eval']['examples']} eval, "
                  f"sha256 {version.sha256[:12]}")
    return 0


def _gold_list_cli(args: argparse.Namespace) -> int:
    rows = gold_list(args.gold_dir)
    columns = ("ref", "task", "train", "eval", "labels", "sha256", "parent", "created")
    table = Table(title=f"gold in {args.gold_dir}")
    for column in columns:
        table.add_column(column, no_wrap=column in ("ref", "task"))
    for row in rows:
        table.add_row(*(str(row[c])[:12] if c in ("sha256", "created") else str(row[c]) for c in columns))
    console.print(table)
    return 0


def _gold_show_cli(args: argparse.Namespace) -> int:
    version = GoldStore(args.gold_dir).resolve(args.ref, verify=False)
    console.print_json(json.dumps(dict(version.manifest)))
    return 0


def gold_diff(old: str, new: str, gold_dir: str = "gold") -> GoldDiff:
    """Compare two versions by input hash."""
    return GoldStore(gold_dir).diff(old, new)


def _gold_diff_cli(args: argparse.Namespace) -> int:
    diff = gold_diff(args.old, args.new, args.gold_dir)
    console.print(f"{diff.old} -> {diff.new}: {len(diff.added)} added, {len(diff.removed)} removed, "
                  f"{len(diff.changed)} changed, {len(diff.moved_split)} moved between splits")
    table = Table(title="label counts")
    for column in ("label", diff.old, diff.new, "delta"):
        table.add_column(column, justify="right" if column != "label" else "left")
    for label, (a, b) in diff.label_deltas.items():
        table.add_row(label, str(a), str(b), f"{b - a:+d}")
    console.print(table)
    for title, hashes in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
        if hashes:
            shown = ", ".join(str(h) for h in hashes[:10])
            console.print(f"{title}: {shown}{' …' if len(hashes) > 10 else ''}")
    return 0


def _gold_verify_cli(args: argparse.Namespace) -> int:
    results = GoldStore(args.gold_dir).verify_all(args.name)
    if not results:
        console.print(f"no gold versions found in {args.gold_dir}")
        return 1
    failed = 0
    for ref, error in results:
        if error is None:
            console.print(f"[green]ok[/]      {ref}")
        else:
            failed += 1
            console.print(f"[red]FAILED[/]  {ref}: {error}")
    return 1 if failed else 0


# --------------------------------------------------------------------------- train / eval


def train(gold: str, output: str, *, gold_dir: str = "gold", config: str | None = None,
          max_steps: int | None = None, seed: int = 0, checkpoint: str = "best", force: bool = False,
          verbose: bool = False) -> Any:
    """Train a spaCy pipeline on a gold version's train split (reused if inputs are unchanged)."""
    from .runners.training import train as train_pipeline

    version = GoldStore(gold_dir).resolve(gold)
    return train_pipeline(version, output, config=config, max_steps=max_steps, seed=seed, checkpoint=checkpoint,
                          force=force, quiet=not verbose)


def suite_training_jobs(suite_path: str) -> list[dict[str, Any]]:
    """The ``train(...)`` keyword arguments for every pipeline of a suite that has a [train] table."""
    from .suites import parse_suite

    spec = parse_suite(suite_path)
    jobs = []
    for pipeline in spec.pipelines.values():
        if pipeline.train is None:
            continue
        jobs.append({"gold": str(spec.gold), "output": pipeline.path, "gold_dir": str(spec.gold_dir),
                     "config": str(pipeline.train.config) if pipeline.train.config else None,
                     "max_steps": pipeline.train.max_steps, "seed": pipeline.train.seed,
                     "checkpoint": pipeline.train.checkpoint})
    if not jobs:
        raise HarnessError(f"{suite_path}: no pipeline has a [pipelines.<name>.train] table")
    return jobs


def _train_cli(args: argparse.Namespace) -> int:
    if args.suite:
        if args.gold or args.output:
            raise HarnessError("use either --suite or --gold/--output")
        jobs = suite_training_jobs(args.suite)
    elif args.gold and args.output:
        jobs = [{"gold": args.gold, "output": args.output, "gold_dir": args.gold_dir, "config": args.config,
                 "max_steps": args.max_steps, "seed": args.seed, "checkpoint": args.checkpoint}]
    else:
        raise HarnessError("harness train needs --gold and --output, or --suite")
    for job in jobs:
        with console.status(f"training {job['output']} on {job['gold']} …"):
            result = train(**job, force=args.force, verbose=args.verbose)
        _print_train(result)
    return 0


def _print_train(result: Any) -> None:
    if result.reused:
        console.print(f"{result.output}: up to date (inputs sha256 {result.inputs_sha256[:12]}), not retrained")
    else:
        shown = ", ".join(f"{k}={v:.3f}" for k, v in result.scores.items() if not k.endswith("_loss"))
        dev = "carved from train" if result.checkpoint == "best" else "also trained on, so these scores are not held out"
        console.print(f"trained {result.output} on {result.train_examples} examples (dev {result.dev_examples}, {dev}): {shown}")


def evaluate(gold: str, pipeline: str, *, gold_dir: str = "gold", resamples: int = 1000, seed: int = 0,
             threshold: float = 0.5, batch_size: int = 128, llm_mode: str | None = None) -> Any:
    """Evaluate one pipeline on a gold eval split without a suite: returns a SuiteResult.

    ``pipeline`` is a spaCy pipeline (directory or package), a spacy-llm config
    (``.cfg``) or imported predictions (``.jsonl``, keyed by ``_input_hash``).
    """
    from .evaluate import evaluate_pipeline, gold_info
    from .results import SuiteResult
    from .suites import PipelineSpec

    version = GoldStore(gold_dir).resolve(gold)
    kind = "llm" if pipeline.endswith(".cfg") else "predictions" if pipeline.endswith(".jsonl") else "spacy"
    spec = PipelineSpec(name=Path(pipeline).stem or pipeline, kind=kind, path=pipeline, batch_size=batch_size)
    result = evaluate_pipeline(version, spec, resamples=resamples, seed=seed, threshold=threshold, llm_mode=llm_mode)
    return SuiteResult(f"eval-{spec.name}", "", gold_info(version), {spec.name: result}, {}, [])


def _eval_cli(args: argparse.Namespace) -> int:
    from .reports.terminal import render_suite

    result = evaluate(args.gold, args.pipeline, gold_dir=args.gold_dir, resamples=args.resamples, seed=args.seed,
                      threshold=args.threshold, batch_size=args.batch_size, llm_mode=args.llm_mode)
    render_suite(console, result)
    if args.json:
        import datetime as _dt

        from . import atomic
        from .results import suite_to_dict

        created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        atomic.write_json(args.json, suite_to_dict(result, created=created, harness_version=__version__))
        console.print(f"results: {args.json}")
    return 0


# --------------------------------------------------------------------------- predictions


def extract_versions(gold: str, session: str, output: str, *, gold_dir: str = "gold") -> int:
    """Write the annotations one Prodigy session made (kept in a review dataset's
    ``versions`` field) as an imported-predictions JSONL; returns the count written.

    A record whose single version lists several sessions means they agreed.
    """
    from . import atomic
    from .gold import SPLITS, canonical_json

    version = GoldStore(gold_dir).resolve(gold)
    lines, skipped = [], 0
    for split in SPLITS:
        for example in version.iter_examples(split):
            found = [v for v in example.extra.get("versions", []) if session in (v.get("sessions") or [v.get("_session_id")])]
            if not found:
                skipped += 1
                continue
            spans = [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in found[0].get("spans", [])]
            lines.append(canonical_json({"text": example.text, "_input_hash": example.input_hash, "spans": spans,
                                         "meta": {"source": f"{version.ref} versions, session {session}"}}))
    if not lines:
        raise HarnessError(f"no example of {version.ref} has a version from session {session!r}")
    atomic.write_jsonl(output, lines)
    return len(lines)


def _predictions_cli(args: argparse.Namespace) -> int:
    n = extract_versions(args.gold, args.session, args.output, gold_dir=args.gold_dir)
    console.print(f"wrote {n} predictions of session {args.session!r} to {args.output}")
    return 0


# --------------------------------------------------------------------------- record


def record(suite_path: str, *, splits: Sequence[str] = ("eval",), pipeline: str | None = None,
           concurrency: int | None = None, mode: str = "record", progress: bool = True) -> list[dict[str, Any]]:
    """Fill the cassettes of a suite's LLM pipelines; one summary dict per pipeline.

    Only prompts missing from a cassette are sent (so an interrupted recording
    resumes without paying twice); backend failures are counted, never a crash.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .gold import GoldStore
    from .runners.llm_models import CassetteModel
    from .runners.llm_pipeline import build_llm_pipeline, find_llm_component
    from .suites import parse_suite

    spec = parse_suite(suite_path)
    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    targets = [p for p in spec.pipelines.values() if p.is_llm and (pipeline is None or p.name == pipeline)]
    if not targets:
        raise HarnessError(f"{suite_path}: no llm pipeline{f' named {pipeline!r}' if pipeline else ''} to record")
    texts = [e.text for split in splits for e in gold.iter_examples(split)]
    summaries = []
    for target in targets:
        nlp = build_llm_pipeline(target.path, mode=mode)
        _, component = find_llm_component(nlp)
        model = component._model
        if not isinstance(model, CassetteModel):
            raise HarnessError(f"{target.path}: the llm model is not wrapped in harness.Cassette.v1; nothing to record")
        if concurrency is not None and hasattr(model.inner, "concurrency"):
            model.inner.concurrency = concurrency
        model.reset_log()
        with Progress(TextColumn(f"{target.name} [{mode}]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, disable=not progress) as bar:
            task_id = bar.add_task("record", total=len(texts))
            model.progress = functools.partial(bar.advance, task_id)
            started = time.perf_counter()
            for _ in nlp.pipe(texts):
                pass
            elapsed = time.perf_counter() - started
        model.progress = None
        log = model.log
        summaries.append({
            "pipeline": target.name, "cassette": str(model.path), "prompts": len(log.prompts),
            "calls_made": log.calls_made, "cached": log.cached, "failed": len(log.failures),
            "first_failure": log.failures[0] if log.failures else None, "seconds": elapsed,
            "simulated": model.simulated, "records": len(model.cassette.records),
        })
    return summaries


def _record_cli(args: argparse.Namespace) -> int:
    splits = ("train", "eval") if args.split == "all" else (args.split,)
    summaries = record(args.suite, splits=splits, pipeline=args.pipeline, concurrency=args.concurrency,
                       progress=not args.no_progress)
    failed = 0
    for s in summaries:
        kind = " (simulated teacher)" if s["simulated"] else ""
        console.print(f"{s['pipeline']}{kind}: {s['prompts']} prompts, {s['calls_made']} calls made, {s['cached']} cached, "
                      f"{s['failed']} failed in {s['seconds']:.1f} s -> {s['cassette']} ({s['records']} records)")
        if s["first_failure"]:
            console.print(f"  first failure: {s['first_failure']}")
        failed += s["failed"]
    return 1 if failed else 0


# --------------------------------------------------------------------------- queue, distill, retrain, loop


def _suite(path: str) -> Any:
    from .suites import parse_suite

    return parse_suite(path)


def queue_show(suite: str, *, reports_dir: str = "reports", limit: int = 20, show_all: bool = False) -> list[dict[str, Any]]:
    """Queue records, most useful first (open ones only unless ``show_all``)."""
    from . import queue

    spec = _suite(suite)
    records = queue.load(queue.queue_path(reports_dir, spec.name))
    if not show_all:
        records = [r for r in records if r["harness"].get("status") == "open"]
    return records[:limit] if limit else records


def _queue_show_cli(args: argparse.Namespace) -> int:
    from collections import Counter

    from . import queue

    spec = _suite(args.suite)
    everything = queue.load(queue.queue_path(args.reports, spec.name))
    counts = Counter((r["harness"]["status"], r["harness"]["category"]) for r in everything)
    console.print(f"queue {queue.queue_path(args.reports, spec.name)}: " +
                  (", ".join(f"{n} {cat} ({status})" for (status, cat), n in sorted(counts.items())) or "empty"))
    table = Table(title="most useful first")
    for column in ("#", "category", "score", "decision", "text", "gold", "predictions"):
        table.add_column(column, overflow="fold")
    def shown(value: Any, text: str) -> str:
        if value is None:
            return "-"
        if isinstance(value, dict):  # categories: the positive labels
            return ", ".join(k for k, v in sorted(value.items()) if v >= 0.5) or "(none)"
        return ", ".join(f"{text[s:e]!r} {label}" for s, e, label in value) or "(no spans)"

    for i, r in enumerate(queue_show(args.suite, reports_dir=args.reports, limit=args.limit, show_all=args.all), start=1):
        meta = r["harness"]
        preds = "\n".join(f"{k}: {shown(v, r['text'])}" for k, v in meta["predictions"].items())
        table.add_row(str(i), meta["category"], f"{meta.get('informativeness', 0):.2f}", str(meta.get("decision") or "-"),
                      r["text"][:120], shown(meta.get("gold"), r["text"]), preds)
    console.print(table)
    return 0


def _queue_fill_cli(args: argparse.Namespace) -> int:
    from .workflow import fill

    summary = fill(_suite(args.suite), reports_dir=args.reports, limit=args.limit, llm_mode=args.llm_mode)
    console.print(f"pool of {summary.pool}: {summary.disagreements} new disagreement(s), {summary.queued} queued "
                  f"(most informative first) -> {summary.path}")
    return 0


def _queue_apply_cli(args: argparse.Namespace) -> int:
    from .workflow import apply, simulated_review

    spec = _suite(args.suite)
    if args.prodigy:
        from .workflow import import_prodigy_answers

        n = import_prodigy_answers(spec, args.prodigy, reports_dir=args.reports)
        console.print(f"took {n} decision(s) from the Prodigy export {args.prodigy}")
    if args.simulated_reviewer:
        decided = simulated_review(spec, reports_dir=args.reports)
        console.print(f"simulated reviewer decided {decided} record(s) with the pool's real gold labels")
    summary = apply(spec, reports_dir=args.reports)
    if summary.nothing_to_do:
        console.print("nothing to apply: no reviewed record that is not applied already")
        return 0
    if summary.gold_version:
        console.print(f"new gold version {summary.gold_version} ({summary.gold_fixes} suspected gold error(s) fixed); "
                      f"point the suite's gold at it to evaluate on it")
    if summary.training_version:
        console.print(f"new training version {summary.training_version} ({summary.training_records} reviewed record(s))")
    for refused in summary.refused:
        console.print(f"[yellow]refused[/] (in the eval split: train/eval leakage): {refused}")
    return 0


def _queue_review_cli(args: argparse.Namespace) -> int:
    from .review import review

    done = review(_suite(args.suite), reports_dir=args.reports, console=console)
    console.print(f"{done} decision(s) saved")
    return 0


def _distill_cli(args: argparse.Namespace) -> int:
    from .workflow import distill

    version = distill(_suite(args.suite), llm_mode=args.llm_mode, keep_corrected=not args.silver_only)
    console.print(f"wrote training version {version.ref}: {version.manifest.get('notes', '')}")
    return 0


def _retrain_cli(args: argparse.Namespace) -> int:
    from .reports.terminal import render_suite
    from .results import SuiteResult
    from .workflow import retrain

    spec = _suite(args.suite)
    with console.status("retraining …"):
        summary = retrain(spec, pipeline=args.pipeline, output=args.output, promote=args.promote,
                          max_steps=args.max_steps)
    from .compare import compare
    from .evaluate import gold_info
    from .gold import GoldStore

    pipelines = {summary.result.name: summary.result}
    comparisons = []
    if summary.llm is not None:
        pipelines[summary.llm.name] = summary.llm
        comparisons.append(compare(summary.result, summary.llm, resamples=spec.resamples, seed=spec.seed))
    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    render_suite(console, SuiteResult(f"{spec.name} (retrained)", str(spec.file), gold_info(gold), pipelines, {}, [],
                                      comparisons))
    console.print(f"model {summary.model} trained on {summary.training}"
                  + (f"; promoted to {spec.pipelines[args.pipeline or summary.result.name].path}" if summary.promoted else
                     "; run with --promote to make it the suite's distilled model"))
    return 0


def _loop_cli(args: argparse.Namespace) -> int:
    from .workflow import loop

    table = Table(title=f"demo loop on {args.suite} (corrections by a SIMULATED reviewer: the pool's real gold labels)",
                  caption="sim. LLM F: the simulated teacher; data: version of the training dataset")
    # Short headers: the table must fit an 80-column CI log without truncating figures.
    for column in ("round", "corrected", "distilled F", "95% CI", "sim. LLM F", "words/s", "data"):
        table.add_column(column, justify="left" if column == "data" else "right", no_wrap=True)

    def show(row: Any) -> None:
        console.print(f"round {row.round}: corrected {row.corrected}, distilled F {row.distilled_f:.3f} "
                      f"[{row.distilled_f_ci[0]:.3f}-{row.distilled_f_ci[1]:.3f}], LLM F {row.llm_f:.3f}, "
                      f"{row.words_per_second:,.0f} words/s ({row.training})")

    rows = loop(_suite(args.suite), rounds=args.rounds, per_round=args.per_round, workdir=args.workdir,
                max_steps=args.max_steps, on_round=show, distill_fraction=args.distill_fraction)
    for row in rows:
        table.add_row(str(row.round), str(row.corrected), f"{row.distilled_f:.3f}",
                      f"{row.distilled_f_ci[0]:.3f}-{row.distilled_f_ci[1]:.3f}",
                      f"{row.llm_f:.3f}", f"{row.words_per_second:,.0f}", "@" + row.training.rpartition("@")[2])
    console.print(table)
    last = rows[-1]
    verdict = "at or above" if last.distilled_f >= last.llm_f else "below"
    console.print(f"after {last.round} round(s) and {last.corrected} corrected examples the distilled F is {verdict} "
                  f"the (simulated) LLM's: {last.distilled_f:.3f} vs {last.llm_f:.3f}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    parser.add_argument("--version", action="version", version=f"distill-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_gold_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--gold-dir", default="gold", help="gold store directory (default: gold)")
        return p

    gold = commands.add_parser("gold", help="versioned gold fixtures").add_subparsers(dest="gold_command", required=True)
    p = with_gold_dir(gold.add_parser("import", help="import Prodigy JSONL or spaCy .spacy as a new version"))
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--name", required=True, help="dataset name")
    p.add_argument("--task", choices=["ner", "textcat", "textcat_multilabel"], default=None,
                   help="default: inferred from the data")
    p.add_argument("--eval-fraction", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lang", default="en", help="spaCy language for tokenizing records without tokens")
    p.add_argument("--notes", default="")
    p.set_defaults(func=_gold_import_cli)
    with_gold_dir(gold.add_parser("list", help="list versions")).set_defaults(func=_gold_list_cli)
    p = with_gold_dir(gold.add_parser("show", help="show a version's manifest"))
    p.add_argument("ref", metavar="NAME[@vN]")
    p.set_defaults(func=_gold_show_cli)
    p = with_gold_dir(gold.add_parser("diff", help="compare two versions"))
    p.add_argument("old", metavar="NAME@vA")
    p.add_argument("new", metavar="NAME@vB")
    p.set_defaults(func=_gold_diff_cli)
    p = with_gold_dir(gold.add_parser("verify", help="check every version against its manifest (exit 1 if not)"))
    p.add_argument("name", nargs="?", default=None)
    p.set_defaults(func=_gold_verify_cli)

    p = with_gold_dir(commands.add_parser("train", help="train a spaCy pipeline on a gold train split"))
    p.add_argument("--gold", default=None, metavar="NAME[@vN]")
    p.add_argument("--output", default=None, metavar="DIR")
    p.add_argument("--suite", default=None, metavar="SUITE.toml",
                   help="train every pipeline of a suite that has a [pipelines.<name>.train] table")
    p.add_argument("--config", default=None, help="spaCy training config (default: shipped CPU config for the task)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", choices=CHECKPOINTS, default="best",
                   help="best: spaCy's model-best on a held-out 10%% of the train split; last: model-last trained on all of it")
    p.add_argument("--force", action="store_true", help="retrain even if the inputs did not change")
    p.add_argument("--verbose", action="store_true", help="show spaCy's training log")
    p.set_defaults(func=_train_cli)

    p = with_gold_dir(commands.add_parser("eval", help="evaluate one pipeline on a gold eval split"))
    p.add_argument("--gold", required=True, metavar="NAME[@vN]")
    p.add_argument("--pipeline", required=True, metavar="PATH")
    p.add_argument("--json", default=None, metavar="OUT")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--llm-mode", choices=["replay", "record", "live"], default=None)
    p.set_defaults(func=_eval_cli)

    predictions = commands.add_parser("predictions", help="imported predictions").add_subparsers(
        dest="predictions_command", required=True)
    p = with_gold_dir(predictions.add_parser("extract", help="one Prodigy session's annotations from a review dataset's versions"))
    p.add_argument("--gold", required=True, metavar="NAME[@vN]")
    p.add_argument("--session", required=True, help="e.g. ner_model")
    p.add_argument("--output", required=True, metavar="PATH.jsonl")
    p.set_defaults(func=_predictions_cli)

    queue_cmd = commands.add_parser("queue", help="the correction queue").add_subparsers(dest="queue_command", required=True)

    def queue_parser(name: str, help_text: str) -> argparse.ArgumentParser:
        q = queue_cmd.add_parser(name, help=help_text)
        q.add_argument("suite", metavar="SUITE.toml")
        q.add_argument("--reports", default="reports", help="reports directory (queue under reports/queue/)")
        return q

    q = queue_parser("show", "what to look at, most useful first")
    q.add_argument("--limit", type=int, default=20)
    q.add_argument("--all", action="store_true", help="include resolved records")
    q.set_defaults(func=_queue_show_cli)
    q = queue_parser("fill", "queue LLM/distilled disagreements on the suite's unlabelled pool")
    q.add_argument("--limit", type=int, default=100)
    q.add_argument("--llm-mode", choices=["replay", "record", "live"], default=None)
    q.set_defaults(func=_queue_fill_cli)
    q = queue_parser("review", "review records in the terminal (saved after every decision)")
    q.set_defaults(func=_queue_review_cli)
    q = queue_parser("apply", "reviewed records -> new gold / training versions")
    q.add_argument("--simulated-reviewer", action="store_true",
                   help="demo only: answer open pool records with their real gold labels first")
    q.add_argument("--prodigy", default=None, metavar="DB_OUT.jsonl",
                   help="take decisions from a Prodigy export of the queue (prodigy db-out) first")
    q.set_defaults(func=_queue_apply_cli)

    p = commands.add_parser("distill", help="a training version from the LLM's annotations of the pool (silver)")
    p.add_argument("suite", metavar="SUITE.toml")
    p.add_argument("--llm-mode", choices=["replay", "record", "live"], default=None)
    p.add_argument("--silver-only", action="store_true",
                   help="drop the corrected examples of the newest training version (default: keep them over their silver labels)")
    p.set_defaults(func=_distill_cli)

    p = commands.add_parser("retrain", help="train the distilled model on the newest training version and evaluate it")
    p.add_argument("suite", metavar="SUITE.toml")
    p.add_argument("--pipeline", default=None)
    p.add_argument("--output", default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--promote", action="store_true", help="make the new model the suite's distilled model")
    p.set_defaults(func=_retrain_cli)

    p = commands.add_parser("loop", help="demo: distil -> evaluate -> queue -> simulated corrections -> retrain, N rounds")
    p.add_argument("suite", metavar="SUITE.toml")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--per-round", type=int, default=150)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--workdir", default="build/loop")
    p.add_argument("--distill-fraction", type=float, default=0.5,
                   help="share of the pool distilled from the LLM; the queue fills from the rest")
    p.set_defaults(func=_loop_cli)

    p = commands.add_parser("record", help="fill a suite's LLM cassettes (calls the model for missing prompts only)")
    p.add_argument("suite", metavar="SUITE.toml")
    p.add_argument("--split", choices=["eval", "train", "all"], default="eval", help="gold split(s) to record (default: eval)")
    p.add_argument("--pipeline", default=None, help="only this llm pipeline")
    p.add_argument("--concurrency", type=int, default=None, help="concurrent requests (OpenAI-compatible backends)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_record_cli)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except GoldIntegrityError as err:
        console.print(f"[red]error:[/] {err}")
        return 1
    except HarnessError as err:
        console.print(f"[red]error:[/] {err}")
        return 2
    except KeyboardInterrupt:
        console.print("interrupted; nothing was half-written (all writes are atomic)")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
