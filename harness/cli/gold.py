"""``harness init`` and ``harness gold ...``: a new project and its versioned gold."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import api, options
from ..core.text import printable
from .common import console, with_gold_dir


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


def _gold_audit_cli(args: argparse.Namespace) -> int:
    result, path = api.gold_audit(
        args.ref,
        gold_dir=args.gold_dir,
        suite=args.suite,
        folds=args.folds,
        max_steps=args.max_steps,
        confident=args.confident,
        limit=args.limit,
        reports_dir=args.reports,
    )
    console.print(
        f"{result.version}: {result.examples} examples judged by {result.folds} out-of-fold students; "
        f"{len(result.suspects)} suspect(s) at confidence >= {args.confident}",
        markup=False,
    )
    table = Table(title=f"most suspect {min(args.limit, len(result.suspects))}")
    for column in ("suspicion", "split", "text", "findings"):
        table.add_column(column, overflow="fold")
    for item in result.suspects[: args.limit]:
        findings = "; ".join(f.describe() for f in item.suspect.findings)
        table.add_row(f"{item.suspect.suspicion:.2f}", item.example.split, Text(printable(item.example.text[:100])), Text(printable(findings)))
    console.print(table)
    if path is not None:
        console.print(Text(printable(f"queued the {min(args.limit, len(result.suspects))} most suspect as gold_suspect records -> {path}")))
        console.print("review with `harness queue review SUITE`; `harness queue apply SUITE` writes corrections as a new gold version")
    return 0


def _init_cli(args: argparse.Namespace) -> int:
    from ..scaffold import init

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


def add_init_command(commands: Any) -> None:
    p = commands.add_parser("init", help="scaffold a new project: ini file, gold/, a suite, tests, CI workflows")
    p.add_argument("directory", nargs="?", default=".", help="project directory (default: the current one)")
    p.add_argument(
        "--ini",
        choices=("pyproject.toml", "pytest.ini"),
        default="pyproject.toml",
        help="where pytest's settings go (pytest.ini beside an existing pyproject.toml)",
    )
    p.set_defaults(func=_init_cli)


def _add_audit(gold: Any) -> None:
    p = with_gold_dir(gold.add_parser("audit", help="likely annotation errors, from out-of-fold students (optionally queued for review)"))
    p.add_argument("ref", metavar="NAME[@vN]", help="dataset and version (default: the latest)")
    p.add_argument(
        "--folds",
        type=options.positive_int,
        default=options.DEFAULT_AUDIT_FOLDS,
        help=f"students, each trained without one fold (default: {options.DEFAULT_AUDIT_FOLDS})",
    )
    p.add_argument(
        "--suite", default=None, metavar="SUITE.toml", help="train students with its distilled settings and queue the suspects for review"
    )
    p.add_argument(
        "--max-steps", type=options.positive_int, default=None, help="training steps per student (default: the suite's, else the config's)"
    )
    p.add_argument(
        "--confident",
        type=float,
        default=options.DEFAULT_AUDIT_CONFIDENT,
        help=f"how sure a student must be to doubt the gold (default: {options.DEFAULT_AUDIT_CONFIDENT})",
    )
    p.add_argument(
        "--limit",
        type=options.positive_int,
        default=options.DEFAULT_QUEUE_FILL,
        help=f"suspects shown and queued (default: {options.DEFAULT_QUEUE_FILL})",
    )
    p.add_argument("--reports", default=options.DEFAULT_REPORTS_DIR, metavar="DIR", help="reports directory (queue under reports/queue/)")
    p.set_defaults(func=_gold_audit_cli)


def add_commands(commands: Any) -> None:
    """``harness gold import|list|show|diff|audit|verify``."""
    gold = commands.add_parser("gold", help="versioned gold fixtures").add_subparsers(dest="gold_command", required=True)
    p = with_gold_dir(gold.add_parser("import", help="import Prodigy JSONL or spaCy .spacy as a new version"))
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
    with_gold_dir(gold.add_parser("list", help="list versions")).set_defaults(func=_gold_list_cli)
    p = with_gold_dir(gold.add_parser("show", help="show a version's manifest"))
    p.add_argument("ref", metavar="NAME[@vN]", help="dataset and version (default: the latest)")
    p.set_defaults(func=_gold_show_cli)
    p = with_gold_dir(gold.add_parser("diff", help="compare two versions"))
    p.add_argument("old", metavar="NAME@vA", help="the older version")
    p.add_argument("new", metavar="NAME@vB", help="the newer version")
    p.set_defaults(func=_gold_diff_cli)
    _add_audit(gold)
    p = with_gold_dir(gold.add_parser("verify", help="check every version against its manifest (exit 1 if not)"))
    p.add_argument("name", nargs="?", default=None, help="only this dataset (default: all)")
    p.set_defaults(func=_gold_verify_cli)
