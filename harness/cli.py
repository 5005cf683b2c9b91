"""The ``harness`` command. Thin: each ``_x_cli`` parses arguments, calls one function
of :mod:`harness.api` (or the loop), and renders what it returns."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__, api, heap, options
from .core.stats import format_interval
from .core.text import printable
from .errors import GoldIntegrityError, HarnessError

console = Console(highlight=False)

USAGE_EXAMPLE = """\
examples:
  harness init my-project             # a new project: ini file, gold/, a suite, tests, CI workflows
  harness gold import data.jsonl --name restaurant-reviews
  harness train --suite suites/restaurant.toml
  harness eval --gold restaurant-reviews@v1 --pipeline models/restaurant-ner
  pytest suites/                      # run the suites and their gates (reports/report.html)
  harness bless suites/restaurant.toml   # accept this run as the baseline to compare releases with
  harness noise suites/restaurant.toml   # training noise of the blessed models, detectable drops per label
  harness history suites/restaurant.toml
"""

# --------------------------------------------------------------------------- gold


def _gold_import_cli(args: argparse.Namespace) -> int:
    version = api.gold_import(
        args.paths,
        name=args.name,
        gold_dir=args.gold_dir,
        task=args.task,
        eval_fraction=args.eval_fraction,
        seed=args.seed,
        lang=args.lang,
        notes=args.notes,
        eval_paths=args.eval or (),
    )
    if version.unchanged:
        console.print(f"unchanged: {version.ref} already holds exactly these examples; nothing written", markup=False)
        return 0
    m = version.manifest
    console.print(
        f"wrote [bold]{version.ref}[/] at {version.path} ({m['task']}): "
        f"{m['splits']['train']['examples']} train, {m['splits']['eval']['examples']} eval, "
        f"sha256 {version.sha256[:12]}"
    )
    return 0


def _gold_list_cli(args: argparse.Namespace) -> int:
    columns = ("ref", "task", "train", "eval", "labels", "sha256", "parent", "created")
    table = Table(title=f"gold in {args.gold_dir}")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in api.gold_list(args.gold_dir):
        table.add_row(
            *(
                str(row[c])[: 12 if c == "sha256" else 16] if c in ("sha256", "created") else str(row[c] if row[c] is not None else "-")
                for c in columns
            )
        )
    # Every cell stays whole: at 80 columns (CI logs) rich would squeeze the headers to "tr…".
    Console(width=max(console.width, 120), highlight=False).print(table)
    return 0


def _gold_show_cli(args: argparse.Namespace) -> int:
    console.print_json(json.dumps(api.gold_show(args.ref, args.gold_dir)))
    return 0


def _gold_diff_cli(args: argparse.Namespace) -> int:
    diff = api.gold_diff(args.old, args.new, args.gold_dir)
    console.print(
        f"{diff.old} -> {diff.new}: {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.changed)} changed, {len(diff.moved_split)} moved between splits"
    )
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
    results = api.gold_verify(args.name, args.gold_dir)
    if not results:
        console.print(f"no gold versions found in {args.gold_dir}")
        return 1
    for ref, error in results:
        console.print(f"[green]ok[/]      {ref}" if error is None else f"[red]FAILED[/]  {ref}: {error}")
    return 1 if any(error for _, error in results) else 0


# --------------------------------------------------------------------------- train / eval / predictions


def _train_cli(args: argparse.Namespace) -> int:
    if args.suite:
        if args.gold or args.output:
            raise HarnessError("use either --suite or --gold/--output")
        # Flags given on the command line win over the suite's [train] table (e.g. a deliberately
        # short --max-steps); the suite fills in the rest.
        given = {"config": args.config, "max_steps": args.max_steps, "seed": args.seed, "checkpoint": args.checkpoint}
        jobs = [{**job, **{k: v for k, v in given.items() if v is not None}} for job in api.suite_training_jobs(args.suite)]
    elif args.gold and args.output:
        jobs = [
            {
                "gold": args.gold,
                "output": args.output,
                "gold_dir": args.gold_dir,
                "config": args.config,
                "max_steps": args.max_steps,
                "seed": options.first_given(args.seed, options.DEFAULT_TRAIN_SEED),
                "checkpoint": options.first_given(args.checkpoint, options.DEFAULT_CHECKPOINT),
            }
        ]
    else:
        raise HarnessError("harness train needs --gold and --output, or --suite")
    for job in jobs:
        with console.status(f"training {job['output']} on {job['gold']} …"):
            result = api.train(**job, force=args.force, verbose=args.verbose)
        if result.reused:
            console.print(f"{result.output}: up to date (inputs sha256 {result.inputs_sha256[:12]}), not retrained")
            continue
        shown = ", ".join(f"{k}={v:.3f}" for k, v in result.scores.items() if not k.endswith("_loss"))
        dev = "carved from train" if result.checkpoint == "best" else "also trained on, so these scores are not held out"
        console.print(f"trained {result.output} on {result.train_examples} examples (dev {result.dev_examples}, {dev}): {shown}")
    return 0


def _eval_cli(args: argparse.Namespace) -> int:
    from .reports.terminal import render_suite

    result = api.evaluate(
        args.gold,
        args.pipeline,
        gold_dir=args.gold_dir,
        resamples=options.first_given(args.resamples, options.DEFAULT_RESAMPLES),
        seed=options.first_given(args.seed, options.DEFAULT_SEED),
        threshold=args.threshold,
        batch_size=args.batch_size,
        llm_mode=args.llm_mode,
    )
    render_suite(console, result)
    if args.json:
        from .reports.json_report import write_suite_json

        console.print(f"results: {write_suite_json('.', result, path=args.json)}")
    return 0


def _bless_cli(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(pipeline: str, done: int, total: int) -> None:
            if pipeline not in tasks:
                tasks[pipeline] = bar.add_task(printable(f"replicates of {pipeline} (training + eval)"), total=total)
            bar.update(tasks[pipeline], completed=done)

        summary = api.bless(
            args.suite,
            pipelines=args.pipeline,
            llm_mode=args.llm_mode,
            replicates=args.replicates,
            workers=args.workers,
            progress=progress,
            allow_failing=args.allow_failing,
        )
    for name, (f, sha) in summary.pipelines.items():
        console.print(Text(printable(f"blessed {name}: micro F {f:.3f}, model sha256 {(sha or '-')[:12]}")))
        fs = summary.replicates.get(name)
        if fs:
            console.print(
                Text(
                    printable(
                        f"  {len(fs)} replicates (other seeds): micro F {min(fs):.3f}-{max(fs):.3f}; "
                        "their predictions are in the baseline (training noise)"
                    )
                )
            )
        else:
            console.print(Text(printable("  no replicates: its regression gates account for eval-sample noise only")))
    for name, error in summary.errors.items():
        console.print(Text("not blessed: ", "red") + Text(printable(f"{name}: {error}")))
    console.print(f"baseline: {summary.path} (commit it; review the diff)")
    return 1 if summary.errors else 0


def _noise_cli(args: argparse.Namespace) -> int:
    from .reports.terminal import noise_tables

    report = api.noise(args.suite, resamples=args.resamples, seed=args.seed)
    wide = Console(width=max(console.width, 110), highlight=False)  # CI logs report 80 columns; rows need ~95
    for item in noise_tables(report):
        wide.print(item)
    return 0


HISTORY_COLUMNS = (
    "time",
    "pipeline",
    "git_commit",
    "git_dirty",
    "gold",
    "model_sha256",
    "blessed",
    "p",
    "r",
    "f",
    "f_ci_low",
    "f_ci_high",
    "macro_f",
    "support",
    "words_per_second",
    "size_bytes",
    "gates_passed",
    "gates_failed",
    "gates_skipped",
    "suite_passed",
    "run_id",
)


def _history_cli(args: argparse.Namespace) -> int:
    try:
        return _history_command(args)
    finally:
        for notice in api.history_notices():  # stderr: --json / --csv output stays parseable
            Console(stderr=True, highlight=False).print(Text("warning: ", "yellow") + Text(printable(notice)))


def _history_command(args: argparse.Namespace) -> int:
    if args.suite == "prune":
        if args.keep is None:
            raise HarnessError("harness history prune needs --keep N")
        kept, removed = api.history_prune(keep=args.keep, reports_dir=args.reports)
        console.print(f"history: kept {kept} run(s), removed {removed}")
        return 0
    name, table = api.history(args.suite, reports_dir=args.reports, pipeline=args.pipeline, label=args.label, last=args.last)
    if args.json:
        print(json.dumps(table, indent=2, default=str))
        return 0
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
        return 0
    if not table:
        console.print(Text(printable(f"no runs of {name} in {args.reports}/history (pytest writes one per run)")))
        return 0
    from .reports.terminal import history_tables

    wide = Console(width=max(console.width, 140), highlight=False)  # CI logs report 80 columns; rows need ~125
    for rendered in history_tables(name, table, label=args.label):
        wide.print(rendered)
    return 0


def _report_cli(args: argparse.Namespace) -> int:
    path = api.report(args.results, args.output, history_dir=args.history)
    console.print(f"report: {path} (open it in a browser; it fetches nothing)")
    return 0


def _predictions_cli(args: argparse.Namespace) -> int:
    n = api.extract_versions(args.gold, args.session, args.output, gold_dir=args.gold_dir)
    console.print(f"wrote {n} predictions of session {args.session!r} to {args.output}")
    return 0


def _record_cli(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    splits = ("train", "eval") if args.split == "all" else (args.split,)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, disable=args.no_progress
    ) as bar:

        def progress(name: str, total: int) -> Callable[[bool], None]:
            task_id = bar.add_task(f"{name} [record]", total=total)
            failed = [0]

            def step(failure: bool) -> None:
                failed[0] += failure
                description = f"{name} [record]" + (f" ({failed[0]} failed)" if failed[0] else "")
                bar.update(task_id, advance=1, description=printable(description))

            return step

        summaries = api.record(args.suite, splits=splits, pipeline=args.pipeline, concurrency=args.concurrency, progress=progress)
    for s in summaries:
        kind = " (simulated teacher)" if s.simulated else ""
        console.print(
            f"{s.pipeline}{kind}: {s.prompts} prompts, {s.calls_made} calls made, {s.cached} cached, "
            f"{s.failed} failed in {s.seconds:.1f} s -> {s.cassette} ({s.records} records)"
        )
        if s.first_failure:
            console.print(f"  first failure: {s.first_failure}")
    return 1 if any(s.failed for s in summaries) else 0


# --------------------------------------------------------------------------- queue, distill, retrain, loop


def _shown_annotation(value: Any, text: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):  # categories: the positive labels
        return ", ".join(k for k, v in sorted(value.items()) if v >= options.DEFAULT_THRESHOLD) or "(none)"
    return ", ".join(f"{text[s:e]!r} {label}" for s, e, label in value) or "(no spans)"


def _queue_show_cli(args: argparse.Namespace) -> int:
    path, everything = api.queue_records(args.suite, reports_dir=args.reports)
    counts = api.queue_counts(everything)
    console.print(f"queue {path}: " + (", ".join(f"{n} {cat} ({status})" for (status, cat), n in sorted(counts.items())) or "empty"))
    table = Table(title="most useful first")
    for column in ("#", "category", "score", "decision", "text", "gold", "predictions"):
        table.add_column(column, overflow="fold")
    for i, r in enumerate(api.queue_show(args.suite, reports_dir=args.reports, limit=args.limit, show_all=args.all), 1):
        meta = r["harness"]
        preds = "\n".join(f"{k}: {_shown_annotation(v, r['text'])}" for k, v in meta["predictions"].items())
        table.add_row(
            str(i),
            meta["category"],
            f"{meta.get('informativeness', 0):.2f}",
            str(meta.get("decision") or "-"),
            Text(printable(r["text"][:120])),
            Text(printable(_shown_annotation(meta.get("gold"), r["text"]))),
            Text(printable(preds)),
        )
    console.print(table)
    return 0


def _queue_fill_cli(args: argparse.Namespace) -> int:
    from .loop.fill import fill

    summary = fill(api.parse_suite(args.suite), reports_dir=args.reports, limit=args.limit, llm_mode=args.llm_mode)
    console.print(
        f"pool of {summary.pool}: {summary.disagreements} new disagreement(s), {summary.queued} queued "
        f"(most informative first) -> {summary.path}"
    )
    return 0


def _queue_apply_cli(args: argparse.Namespace) -> int:
    from .loop.apply import apply, import_prodigy_answers, simulated_review

    spec = api.parse_suite(args.suite)
    if args.prodigy:
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
        console.print(
            f"new gold version {summary.gold_version} ({summary.gold_fixes} gold answer(s) corrected by "
            f"reviewed eval-split records); point the suite's gold at it to evaluate on it"
        )
    if summary.gold_confirmed:
        console.print(f"{summary.gold_confirmed} eval-split record(s) confirmed the gold (no change)")
    if summary.training_version:
        console.print(f"new training version {summary.training_version} ({summary.training_records} reviewed record(s))")
    for refused in summary.refused:
        console.print(f"[yellow]refused[/] (in the eval split: train/eval leakage): {refused}")
    return 0


def _queue_review_cli(args: argparse.Namespace) -> int:
    from .loop.review import review

    done = review(api.parse_suite(args.suite), reports_dir=args.reports, console=console)
    console.print(f"{done} decision(s) saved")
    return 0


def _distill_cli(args: argparse.Namespace) -> int:
    from .loop.distill import distill

    version = distill(api.parse_suite(args.suite), llm_mode=args.llm_mode, keep_corrected=not args.silver_only)
    console.print(f"wrote training version {version.ref}: {version.manifest.get('notes', '')}")
    return 0


def _retrain_cli(args: argparse.Namespace) -> int:
    from .reports.terminal import render_suite

    with console.status("retraining …"):
        summary, result, spec = api.retrain_and_compare(
            args.suite, pipeline=args.pipeline, output=args.output, promote=args.promote, max_steps=args.max_steps, force=args.force
        )
    render_suite(console, result)
    if summary.refused:
        console.print(
            Text("not promoted: ", "red") + Text(printable(f"{summary.refused} (the current model stays; --force promotes it all the same)"))
        )
        console.print(f"model {summary.model} trained on {summary.training}")
        return 1
    promoted = (
        f"; promoted to {spec.pipelines[args.pipeline or summary.result.name].path}"
        if summary.promoted
        else "; run with --promote to make it the suite's distilled model"
    )
    console.print(f"model {summary.model} trained on {summary.training}{promoted}")
    return 0


def _loop_cli(args: argparse.Namespace) -> int:
    from .loop.demo import LoopRound, loop

    table = Table(
        title=f"demo loop on {args.suite} (corrections by a SIMULATED reviewer: the pool's real gold labels)",
        caption="dist. F: the distilled model's micro F; sim. LLM F: the simulated teacher; data: version of the training dataset",
    )
    # Short headers: the table must fit an 80-column CI log without truncating figures.
    for column in ("round", "corrected", "dist. F", "95% CI", "sim. LLM F", "words/s", "data"):
        table.add_column(column, justify="left" if column == "data" else "right", no_wrap=True)

    def show(row: LoopRound) -> None:
        console.print(
            f"round {row.round}: corrected {row.corrected}, distilled F {row.distilled_f:.3f} "
            f"{format_interval(row.distilled_f_ci)}, LLM F {row.llm_f:.3f}, "
            f"{row.words_per_second:,.0f} words/s ({row.training})"
        )

    rows = loop(
        api.parse_suite(args.suite),
        rounds=args.rounds,
        per_round=args.per_round,
        workdir=args.workdir,
        max_steps=args.max_steps,
        on_round=show,
        distill_fraction=args.distill_fraction,
    )
    for row in rows:
        table.add_row(
            str(row.round),
            str(row.corrected),
            f"{row.distilled_f:.3f}",
            format_interval(row.distilled_f_ci),
            f"{row.llm_f:.3f}",
            f"{row.words_per_second:,.0f}",
            "@" + row.training.rpartition("@")[2],
        )
    console.print(table)
    last = rows[-1]
    verdict = "at or above" if last.distilled_f >= last.llm_f else "below"
    console.print(
        f"after {last.round} round(s) and {last.corrected} corrected examples the distilled F is {verdict} "
        f"the (simulated) LLM's: {last.distilled_f:.3f} vs {last.llm_f:.3f}"
    )
    return 0


# --------------------------------------------------------------------------- parser


def _with_gold_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--gold-dir", default=options.DEFAULT_GOLD_DIR, help=f"gold store directory (default: {options.DEFAULT_GOLD_DIR})")
    return p


def _add_gold_commands(commands: Any) -> None:
    gold = commands.add_parser("gold", help="versioned gold fixtures").add_subparsers(dest="gold_command", required=True)
    p = _with_gold_dir(gold.add_parser("import", help="import Prodigy JSONL or spaCy .spacy as a new version"))
    p.add_argument("paths", nargs="+", metavar="PATH", help="Prodigy JSONL or spaCy .spacy files (duplicates merged)")
    p.add_argument("--name", required=True, help="dataset name (letters, digits, '.', '_', '-')")
    p.add_argument("--task", choices=options.TASKS, default=None, help="default: inferred from the data")
    p.add_argument(
        "--eval",
        nargs="+",
        default=None,
        metavar="EVAL_PATH",
        help="your own eval split (e.g. eval.jsonl): kept exactly; PATHs become the train split",
    )
    p.add_argument(
        "--eval-fraction",
        type=float,
        default=options.DEFAULT_EVAL_FRACTION,
        help=f"share of new examples put in the eval split (default: {options.DEFAULT_EVAL_FRACTION})",
    )
    p.add_argument("--seed", type=int, default=options.DEFAULT_SEED, help="seed of the hash-based split")
    p.add_argument("--lang", default="en", help="spaCy language for tokenizing records without tokens")
    p.add_argument("--notes", default="", help="free text kept in the manifest")
    p.set_defaults(func=_gold_import_cli)
    _with_gold_dir(gold.add_parser("list", help="list versions")).set_defaults(func=_gold_list_cli)
    p = _with_gold_dir(gold.add_parser("show", help="show a version's manifest"))
    p.add_argument("ref", metavar="NAME[@vN]", help="dataset and version (default: the latest)")
    p.set_defaults(func=_gold_show_cli)
    p = _with_gold_dir(gold.add_parser("diff", help="compare two versions"))
    p.add_argument("old", metavar="NAME@vA", help="the older version")
    p.add_argument("new", metavar="NAME@vB", help="the newer version")
    p.set_defaults(func=_gold_diff_cli)
    p = _with_gold_dir(gold.add_parser("verify", help="check every version against its manifest (exit 1 if not)"))
    p.add_argument("name", nargs="?", default=None, help="only this dataset (default: all)")
    p.set_defaults(func=_gold_verify_cli)


def _add_train_eval_commands(commands: Any) -> None:
    p = _with_gold_dir(commands.add_parser("train", help="train a spaCy pipeline on a gold train split"))
    p.add_argument("--gold", default=None, metavar="NAME[@vN]", help="gold version to train on")
    p.add_argument("--output", default=None, metavar="DIR", help="where the trained pipeline goes")
    p.add_argument(
        "--suite", default=None, metavar="SUITE.toml", help="train every pipeline of a suite that has a [pipelines.<name>.train] table"
    )
    p.add_argument("--config", default=None, help="spaCy training config (default: shipped CPU config for the task)")
    p.add_argument("--max-steps", type=options.positive_int, default=None, help="training steps (default: the suite's, else the config's)")
    p.add_argument("--seed", type=int, default=None, help=f"training seed (default: the suite's, else {options.DEFAULT_TRAIN_SEED})")
    p.add_argument(
        "--checkpoint",
        choices=options.CHECKPOINTS,
        default=None,
        help="best: spaCy's model-best on a held-out 10%% of the train split; last: model-last trained on all of it",
    )
    p.add_argument("--force", action="store_true", help="retrain even if the inputs did not change")
    p.add_argument("--verbose", action="store_true", help="show spaCy's training log")
    p.set_defaults(func=_train_cli)

    p = _with_gold_dir(commands.add_parser("eval", help="evaluate one pipeline on a gold eval split"))
    p.add_argument("--gold", required=True, metavar="NAME[@vN]", help="gold version whose eval split is used")
    p.add_argument(
        "--pipeline",
        required=True,
        metavar="PATH",
        help="spaCy pipeline (directory or package), spacy-llm config (.cfg) or predictions (.jsonl)",
    )
    p.add_argument("--json", default=None, metavar="OUT", help="also write the JSON results here")
    options.RESAMPLES.add_to(p.add_argument, "--resamples")
    options.SEED.add_to(p.add_argument, "--seed")
    p.add_argument("--threshold", type=float, default=options.DEFAULT_THRESHOLD, help="textcat decision threshold")
    p.add_argument("--batch-size", type=options.positive_int, default=options.DEFAULT_BATCH_SIZE, help="nlp.pipe batch size")
    options.LLM_MODE.add_to(p.add_argument, "--llm-mode")
    p.set_defaults(func=_eval_cli)

    predictions = commands.add_parser("predictions", help="imported predictions").add_subparsers(dest="predictions_command", required=True)
    p = _with_gold_dir(predictions.add_parser("extract", help="one Prodigy session's annotations from a review dataset's versions"))
    p.add_argument("--gold", required=True, metavar="NAME[@vN]", help="gold version holding the review dataset")
    p.add_argument("--session", required=True, help="e.g. ner_model")
    p.add_argument("--output", required=True, metavar="PATH.jsonl", help="predictions file to write")
    p.set_defaults(func=_predictions_cli)

    p = commands.add_parser("bless", help="evaluate a suite and write its baseline (baselines/<suite>.json)")
    p.add_argument("suite", metavar="SUITE.toml", help="suite to bless")
    p.add_argument(
        "--pipeline",
        action="append",
        default=None,
        metavar="NAME",
        help="bless only this pipeline (repeatable); the others keep their blessed entry",
    )
    p.add_argument(
        "--replicates",
        type=options.non_negative_int,
        default=None,
        metavar="N",
        help="retrain each pipeline that has a [train] table N more times with other seeds and keep their "
        f"predictions as its training noise (default: the train table's replicates, "
        f"{options.DEFAULT_REPLICATES}; 0: none)",
    )
    p.add_argument(
        "--workers",
        type=options.positive_int,
        default=None,
        metavar="N",
        help="replicates trained side by side (default: one per available core)",
    )
    p.add_argument(
        "--allow-failing", action="store_true", help="bless even when some of the suite's gates (other than its regression gates) fail"
    )
    options.LLM_MODE.add_to(p.add_argument, "--llm-mode")
    p.set_defaults(func=_bless_cli)

    p = commands.add_parser("noise", help="training and eval-sample noise of a suite's blessed models (from its baseline)")
    p.add_argument("suite", metavar="SUITE.toml", help="suite whose baseline to read")
    options.RESAMPLES.add_to(p.add_argument, "--resamples")
    options.SEED.add_to(p.add_argument, "--seed")
    p.set_defaults(func=_noise_cli)

    p = commands.add_parser("history", help="a suite's past runs (reports/history), or `history prune --keep N`")
    p.add_argument("suite", metavar="SUITE", help="suite file or suite name; or `prune`")
    p.add_argument("--pipeline", default=None, help="only this pipeline")
    p.add_argument("--label", default=None, help="this label's P/R/F instead of the micro average")
    p.add_argument("--last", type=options.positive_int, default=None, help=f"the last N runs (default {options.DEFAULT_HISTORY_LAST})")
    p.add_argument("--reports", default=options.DEFAULT_REPORTS_DIR, metavar="DIR", help="reports directory")
    p.add_argument("--keep", type=options.positive_int, default=None, help="prune: runs to keep per suite")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="JSON for scripts")
    form.add_argument("--csv", action="store_true", help="CSV for scripts")
    p.set_defaults(func=_history_cli)

    p = commands.add_parser("report", help="rebuild the HTML report from JSON results")
    p.add_argument("results", nargs="+", metavar="RESULTS.json", help="reports/<suite>.json files")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help="where the page goes (default: beside the first results file, named after it, e.g. "
        "reports/restaurant-ner.html; a run's own reports/report.html is replaced only when named here)",
    )
    p.add_argument("--history", default=None, metavar="DIR", help="run history for the trends (default: history/ beside the results)")
    p.set_defaults(func=_report_cli)

    p = commands.add_parser("record", help="fill a suite's LLM cassettes (calls the model for missing prompts only)")
    p.add_argument("suite", metavar="SUITE.toml", help="suite whose llm pipelines are recorded")
    p.add_argument("--split", choices=["eval", "train", "all"], default="eval", help="gold split(s) to record (default: eval)")
    p.add_argument("--pipeline", default=None, help="only this llm pipeline")
    p.add_argument("--concurrency", type=options.positive_int, default=None, help="concurrent requests (OpenAI-compatible backends)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_record_cli)


def _add_loop_commands(commands: Any) -> None:
    queue_cmd = commands.add_parser("queue", help="the correction queue").add_subparsers(dest="queue_command", required=True)

    def queue_parser(name: str, help_text: str) -> argparse.ArgumentParser:
        q = queue_cmd.add_parser(name, help=help_text)
        q.add_argument("suite", metavar="SUITE.toml", help="the suite whose queue this is")
        q.add_argument("--reports", default=options.DEFAULT_REPORTS_DIR, help="reports directory (queue under reports/queue/)")
        return q

    q = queue_parser("show", "what to look at, most useful first")
    q.add_argument(
        "--limit", type=options.positive_int, default=options.DEFAULT_QUEUE_SHOWN, help=f"records shown (default: {options.DEFAULT_QUEUE_SHOWN})"
    )
    q.add_argument("--all", action="store_true", help="include resolved records")
    q.set_defaults(func=_queue_show_cli)
    q = queue_parser("fill", "queue LLM/distilled disagreements on the suite's unlabelled pool")
    q.add_argument(
        "--limit",
        type=options.positive_int,
        default=options.DEFAULT_QUEUE_FILL,
        help=f"records queued at most (default: {options.DEFAULT_QUEUE_FILL})",
    )
    options.LLM_MODE.add_to(q.add_argument, "--llm-mode")
    q.set_defaults(func=_queue_fill_cli)
    queue_parser("review", "review records in the terminal (saved after every decision)").set_defaults(func=_queue_review_cli)
    q = queue_parser("apply", "reviewed records -> new gold / training versions")
    q.add_argument("--simulated-reviewer", action="store_true", help="demo only: answer open pool records with their real gold labels first")
    q.add_argument(
        "--prodigy", default=None, metavar="DB_OUT.jsonl", help="take decisions from a Prodigy export of the queue (prodigy db-out) first"
    )
    q.set_defaults(func=_queue_apply_cli)

    p = commands.add_parser("distill", help="a training version from the LLM's annotations of the pool (silver)")
    p.add_argument("suite", metavar="SUITE.toml", help="suite naming the pool and the LLM")
    options.LLM_MODE.add_to(p.add_argument, "--llm-mode")
    p.add_argument(
        "--silver-only",
        action="store_true",
        help="drop the corrected examples of the newest training version (default: keep them over their silver labels)",
    )
    p.set_defaults(func=_distill_cli)

    p = commands.add_parser("retrain", help="train the distilled model on the newest training version and evaluate it")
    p.add_argument("suite", metavar="SUITE.toml", help="suite whose distilled pipeline is retrained")
    p.add_argument("--pipeline", default=None, help="pipeline to retrain (default: the distilled one)")
    p.add_argument("--output", default=None, help="where the new model goes (default: beside the current one)")
    p.add_argument("--max-steps", type=options.positive_int, default=None, help="training steps (default: the suite's)")
    p.add_argument(
        "--promote",
        action="store_true",
        help="make the new model the suite's distilled model (refused, exit 1, when it fails the suite's "
        "threshold gates or is significantly worse than the current one)",
    )
    p.add_argument("--force", action="store_true", help="with --promote: promote even a model that is worse")
    p.set_defaults(func=_retrain_cli)

    p = commands.add_parser("loop", help="demo: distil -> evaluate -> queue -> simulated corrections -> retrain, N rounds")
    p.add_argument("suite", metavar="SUITE.toml", help="suite with a pool and an LLM pipeline")
    p.add_argument(
        "--rounds",
        type=options.positive_int,
        default=options.DEFAULT_LOOP_ROUNDS,
        help=f"correction rounds (default: {options.DEFAULT_LOOP_ROUNDS})",
    )
    p.add_argument(
        "--per-round",
        type=options.positive_int,
        default=options.DEFAULT_LOOP_PER_ROUND,
        help=f"corrections per round (default: {options.DEFAULT_LOOP_PER_ROUND})",
    )
    p.add_argument(
        "--max-steps",
        type=options.positive_int,
        default=options.DEFAULT_LOOP_STEPS,
        help=f"training steps of each round's model (default: {options.DEFAULT_LOOP_STEPS})",
    )
    p.add_argument("--workdir", default="build/loop", help="scratch directory (default: build/loop)")
    p.add_argument(
        "--distill-fraction",
        type=float,
        default=options.DEFAULT_DISTILL_FRACTION,
        help=f"share of the pool distilled from the LLM; the queue fills from the rest (default: {options.DEFAULT_DISTILL_FRACTION})",
    )
    p.set_defaults(func=_loop_cli)


def _init_cli(args: argparse.Namespace) -> int:
    from .scaffold import init

    made = init(args.directory, ini=args.ini)
    # soft_wrap: commands stay on one line each (copied from a narrow terminal, a wrapped one breaks)
    console.print(Text(printable(f"wrote {len(made.written)} files in {made.directory}:")))
    for written in made.written:
        console.print(Text(printable(f"  {written}")), soft_wrap=True)
    console.print("next:")
    if made.directory.resolve() != Path.cwd().resolve():
        console.print(Text(printable(f"  cd {made.directory}")), soft_wrap=True)
    for command in made.next_commands:
        console.print(Text(printable(f"  {command}")), soft_wrap=True)
    console.print("then `harness bless suites/example.toml` makes this model the baseline that later runs are gated against", soft_wrap=True)
    return 0


def _add_init_command(commands: Any) -> None:
    p = commands.add_parser("init", help="scaffold a new project: ini file, gold/, a suite, tests, CI workflows")
    p.add_argument("directory", nargs="?", default=".", help="project directory (default: the current one)")
    p.add_argument(
        "--ini",
        choices=("pyproject.toml", "pytest.ini"),
        default="pyproject.toml",
        help="where pytest's settings go (pytest.ini beside an existing pyproject.toml)",
    )
    p.set_defaults(func=_init_cli)


def build_parser() -> argparse.ArgumentParser:
    """The ``harness`` argument parser: one sub-command per workflow step."""
    parser = argparse.ArgumentParser(
        prog="harness",
        epilog=USAGE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Evaluate distilled spaCy pipelines against versioned gold and the LLM they replace.",
    )
    parser.add_argument("--version", action="version", version=f"distill-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_init_command(commands)
    _add_gold_commands(commands)
    _add_train_eval_commands(commands)
    _add_loop_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    args = build_parser().parse_args(argv)
    heap.own_process()  # a short-lived process of ours: freeze spaCy's heap once loaded (see harness/heap.py)
    try:
        return int(args.func(args))
    except GoldIntegrityError as err:
        console.print(Text("error: ", "red") + Text(printable(str(err))))
        return 1
    except HarnessError as err:
        # Text, not markup: "[suite]" in a message is a section name, not a style.
        console.print(Text("error: ", "red") + Text(printable(str(err))))
        return 2
    except KeyboardInterrupt:
        console.print("interrupted; nothing was half-written (all writes are atomic)")
        return 130
    except BrokenPipeError:  # `harness history --csv | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush from raising again
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
