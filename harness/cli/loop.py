"""``harness queue ...|distill|retrain|loop``: the correction queue and retraining."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from .. import api, options
from ..core.stats import format_interval
from ..core.text import printable
from .common import add_engine_options, console


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
    from ..loop.fill import PROBLEMS_SHOWN, fill

    summary = fill(
        api.parse_suite(args.suite),
        reports_dir=args.reports,
        limit=args.limit,
        llm_mode=args.llm_mode,
        pool=args.pool,
        engine=options.engine_choice(args.engine, args.workers, args.ray_address),
        rank=args.rank,
        folds=args.folds,
    )
    if summary.rank == "expected-error":
        console.print(f"pool of {summary.pool} new text(s): {summary.queued} queued (expected-error ranking) -> {summary.path}")
        console.print(f"{args.folds or options.DEFAULT_FOLDS} cross-fitted students; {summary.calibration}", style="dim")
    else:
        console.print(
            f"pool of {summary.pool} new text(s): {summary.disagreements} disagreement(s), {summary.queued} queued "
            f"({summary.rank} ranking) -> {summary.path}"
        )
    console.print(f"engine {summary.engine}: {summary.workers} worker(s), {summary.loads} model load(s), {summary.seconds:.1f} s", style="dim")
    if summary.problems:
        console.print(Text(f"{len(summary.problems)} pool line(s) could not be read (left out, the rest queued):", style="yellow"))
        for problem in summary.problems[:PROBLEMS_SHOWN]:
            console.print(Text(printable(f"  {problem.origin}: {problem.message}")), soft_wrap=True)
        return 1
    return 0


def _queue_apply_cli(args: argparse.Namespace) -> int:
    from ..loop.apply import apply, import_prodigy_answers, simulated_review

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
    from ..loop.review import review

    done = review(api.parse_suite(args.suite), reports_dir=args.reports, console=console)
    console.print(f"{done} decision(s) saved")
    return 0


def _distill_cli(args: argparse.Namespace) -> int:
    from ..loop.distill import distill

    version = distill(api.parse_suite(args.suite), llm_mode=args.llm_mode, keep_corrected=not args.silver_only)
    console.print(f"wrote training version {version.ref}: {version.manifest.get('notes', '')}")
    return 0


def _retrain_cli(args: argparse.Namespace) -> int:
    from ..reports.terminal import render_suite

    with console.status("retraining …"):
        summary, result, spec = api.retrain_and_compare(
            args.suite,
            pipeline=args.pipeline,
            output=args.output,
            promote=args.promote,
            max_steps=args.max_steps,
            force=args.force,
            reports_dir=args.reports,
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
    from ..loop.demo import LoopRound, backtest, loop

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
        if row.forecast is not None:
            console.print(f"  forecast: {row.forecast.text()}", soft_wrap=True)

    spec = api.parse_suite(args.suite)
    if args.llm_config:  # another (simulated) teacher for the same suite, e.g. SimulatedTeacher.v2
        llm = spec.require_llm()
        spec = dataclasses.replace(
            spec, pipelines={**spec.pipelines, llm.name: dataclasses.replace(llm, path=str(Path(args.llm_config).resolve()))}
        )
        console.print(f"LLM pipeline {llm.name}: {args.llm_config}")
    rows = loop(
        spec,
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
    for end, predicted, actual in backtest(rows, spec.seed):
        said = f"at {predicted:,.0f} corrections" if predicted is not None else "not reachable"
        happened = f"at {actual:,.0f}" if actual is not None else "not yet"
        error = f" (error {predicted - actual:+,.0f})" if predicted is not None and actual is not None else ""
        console.print(f"backtest: fitted on rounds 0-{end}, the crossing was predicted {said}; it happened {happened}{error}")
    return 0


def _add_queue(commands: Any) -> None:
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
    q.add_argument(
        "--pool",
        default=None,
        metavar="PATH",
        help="read the pool from files: a JSONL or Parquet file, a directory or a glob of them (default: the suite's pool)",
    )
    q.add_argument(
        "--rank",
        choices=options.RANKS,
        default=None,
        help=f"how pool texts are ranked: {', '.join(options.RANKS)} (default: the suite's rank, else {options.DEFAULT_RANK})",
    )
    q.add_argument(
        "--folds",
        type=options.positive_int,
        default=None,
        help=f"--rank expected-error: cross-fitted students, each trained without one fold of the texts (default: {options.DEFAULT_FOLDS})",
    )
    add_engine_options(q)
    q.set_defaults(func=_queue_fill_cli)
    queue_parser("review", "review records in the terminal (saved after every decision)").set_defaults(func=_queue_review_cli)
    q = queue_parser("apply", "reviewed records -> new gold / training versions")
    q.add_argument("--simulated-reviewer", action="store_true", help="demo only: answer open pool records with their real gold labels first")
    q.add_argument(
        "--prodigy", default=None, metavar="DB_OUT.jsonl", help="take decisions from a Prodigy export of the queue (prodigy db-out) first"
    )
    q.set_defaults(func=_queue_apply_cli)


def _add_distill(commands: Any) -> None:
    p = commands.add_parser("distill", help="a training version from the LLM's annotations of the pool (silver)")
    p.add_argument("suite", metavar="SUITE.toml", help="suite naming the pool and the LLM")
    options.LLM_MODE.add_to(p.add_argument, "--llm-mode")
    p.add_argument(
        "--silver-only",
        action="store_true",
        help="drop the corrected examples of the newest training version (default: keep them over their silver labels)",
    )
    p.set_defaults(func=_distill_cli)


def _add_retrain(commands: Any) -> None:
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
    p.add_argument(
        "--reports", default=options.DEFAULT_REPORTS_DIR, metavar="DIR", help="reports directory (learning curve under reports/learning/)"
    )
    p.set_defaults(func=_retrain_cli)


def _forecast_cli(args: argparse.Namespace) -> int:
    from ..reports.learning_view import render_learning

    curve = api.learning_forecast(args.suite, reports_dir=args.reports, target=args.target)
    if not curve.points:
        console.print(
            Text(
                printable(f"no learning curve for {curve.suite} in {args.reports}/learning: `harness retrain` adds a point per retrained model")
            )
        )
        return 1
    render_learning(console, curve)
    return 0


def _add_forecast(commands: Any) -> None:
    p = commands.add_parser("forecast", help="corrections still needed to reach the LLM's F, from the retrained models' learning curve")
    p.add_argument("suite", metavar="SUITE.toml", help="suite whose learning curve (reports/learning/<suite>.jsonl) is read")
    p.add_argument("--target", type=float, default=None, help="the F to reach (default: the LLM's F recorded with the curve)")
    p.add_argument("--reports", default=options.DEFAULT_REPORTS_DIR, metavar="DIR", help="reports directory")
    p.set_defaults(func=_forecast_cli)


def _add_loop(commands: Any) -> None:
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
        "--llm-config",
        default=None,
        metavar="CONFIG.cfg",
        help="the LLM pipeline's config instead of the suite's (e.g. suites/llm/restaurant-llm-v2.cfg, the SIMULATED teacher v2)",
    )
    p.add_argument(
        "--distill-fraction",
        type=float,
        default=options.DEFAULT_DISTILL_FRACTION,
        help=f"share of the pool distilled from the LLM; the queue fills from the rest (default: {options.DEFAULT_DISTILL_FRACTION})",
    )
    p.set_defaults(func=_loop_cli)


def add_commands(commands: Any) -> None:
    """The correction queue, distillation, retraining and the demo loop."""
    _add_queue(commands)
    _add_distill(commands)
    _add_retrain(commands)
    _add_forecast(commands)
    _add_loop(commands)
