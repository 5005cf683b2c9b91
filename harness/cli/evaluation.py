"""``harness train|eval|bless|noise|history|report|record|predictions``: models, their figures and baselines."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

from .. import api, options
from ..core.text import printable
from ..errors import HarnessError
from ..history import TABLE_COLUMNS
from .common import add_engine_options, console, with_gold_dir


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
    from ..reports.terminal import render_suite

    result = api.evaluate_on_gold(
        args.gold,
        args.pipeline,
        gold_dir=args.gold_dir,
        resamples=options.first_given(args.resamples, options.DEFAULT_RESAMPLES),
        seed=options.first_given(args.seed, options.DEFAULT_SEED),
        threshold=args.threshold,
        batch_size=args.batch_size,
        llm_mode=args.llm_mode,
        engine=options.engine_choice(args.engine, args.workers, args.ray_address),
    )
    render_suite(console, result)
    if args.json:
        from ..reports.json_report import write_suite_json

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
    from ..reports.command_tables import noise_tables

    report = api.noise(args.suite, resamples=args.resamples, seed=args.seed)
    wide = Console(width=max(console.width, 110), highlight=False)  # CI logs report 80 columns; rows need ~95
    for item in noise_tables(report):
        wide.print(item)
    return 0


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
        writer = csv.DictWriter(sys.stdout, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
        return 0
    if not table:
        console.print(Text(printable(f"no runs of {name} in {args.reports}/history (pytest writes one per run)")))
        return 0
    from ..reports.command_tables import history_tables

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


def _record_batch_cli(args: argparse.Namespace, splits: tuple[str, ...]) -> int:
    if args.batch_file:
        written = api.record_batch_file(args.suite, args.batch_file, splits=splits, pipeline=args.pipeline)
        console.print(
            f"{written.requests} request(s) -> {written.path} (OpenAI Batch API input; "
            f"{written.pending} prompt(s) waiting in {written.pending_path})"
        )
        return 0
    done = api.import_batch_results(args.suite, args.import_batch, pipeline=args.pipeline)
    console.print(
        f"{done.recorded} answer(s) recorded, {done.already} already in the cassette, "
        f"{len(done.failed)} failed; {done.still_pending} still pending"
    )
    for line, why in done.failed[:10]:
        console.print(Text(printable(f"  {args.import_batch}:{line}: {why} (left a miss)")), soft_wrap=True)
    return 1 if done.failed else 0


def _record_cli(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    splits = ("train", "eval") if args.split == "all" else (args.split,)
    if args.batch_file or args.import_batch:
        return _record_batch_cli(args, splits)
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

        summaries = api.record(
            args.suite,
            splits=splits,
            pipeline=args.pipeline,
            concurrency=args.concurrency,
            progress=progress,
            engine=options.engine_choice(args.engine, args.workers, args.ray_address),
        )
    for s in summaries:
        kind = " (simulated teacher)" if s.simulated else ""
        calls = f"{s.calls_made} calls made, {s.cached} cached, {s.failed} failed" if s.calls_made >= 0 else "answered by the engine's workers"
        console.print(f"{s.pipeline}{kind}: {s.prompts} prompts, {calls} in {s.seconds:.1f} s -> {s.cassette} ({s.records} records)")
        if s.first_failure:
            console.print(f"  first failure: {s.first_failure}")
    return 1 if any(s.failed for s in summaries) else 0


def _add_train(commands: Any) -> None:
    p = with_gold_dir(commands.add_parser("train", help="train a spaCy pipeline on a gold train split"))
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


def _add_eval(commands: Any) -> None:
    p = with_gold_dir(commands.add_parser("eval", help="evaluate one pipeline on a gold eval split"))
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
    add_engine_options(p)
    p.set_defaults(func=_eval_cli)


def _add_predictions(commands: Any) -> None:
    predictions = commands.add_parser("predictions", help="imported predictions").add_subparsers(dest="predictions_command", required=True)
    p = with_gold_dir(predictions.add_parser("extract", help="one Prodigy session's annotations from a review dataset's versions"))
    p.add_argument("--gold", required=True, metavar="NAME[@vN]", help="gold version holding the review dataset")
    p.add_argument("--session", required=True, help="e.g. ner_model")
    p.add_argument("--output", required=True, metavar="PATH.jsonl", help="predictions file to write")
    p.set_defaults(func=_predictions_cli)


def _add_bless(commands: Any) -> None:
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


def _add_noise(commands: Any) -> None:
    p = commands.add_parser("noise", help="training and eval-sample noise of a suite's blessed models (from its baseline)")
    p.add_argument("suite", metavar="SUITE.toml", help="suite whose baseline to read")
    options.RESAMPLES.add_to(p.add_argument, "--resamples")
    options.SEED.add_to(p.add_argument, "--seed")
    p.set_defaults(func=_noise_cli)


def _add_history(commands: Any) -> None:
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


def _add_report(commands: Any) -> None:
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


def _add_record(commands: Any) -> None:
    p = commands.add_parser("record", help="fill a suite's LLM cassettes (calls the model for missing prompts only)")
    p.add_argument("suite", metavar="SUITE.toml", help="suite whose llm pipelines are recorded")
    p.add_argument("--split", choices=["eval", "train", "all"], default="eval", help="gold split(s) to record (default: eval)")
    p.add_argument("--pipeline", default=None, help="only this llm pipeline")
    p.add_argument("--concurrency", type=options.positive_int, default=None, help="concurrent requests (OpenAI-compatible backends)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    batch = p.add_mutually_exclusive_group()
    batch.add_argument(
        "--batch-file",
        default=None,
        metavar="REQUESTS.jsonl",
        help="write the OpenAI Batch API input for every cassette miss instead of calling (custom_id = cassette key)",
    )
    batch.add_argument(
        "--import-batch", default=None, metavar="RESULTS.jsonl", help="put a batch's results into the cassette (failed lines stay misses)"
    )
    add_engine_options(p)
    p.set_defaults(func=_record_cli)


def add_commands(commands: Any) -> None:
    """Training, evaluation, baselines, history and reports."""
    _add_train(commands)
    _add_eval(commands)
    _add_predictions(commands)
    _add_bless(commands)
    _add_noise(commands)
    _add_history(commands)
    _add_report(commands)
    _add_record(commands)
