"""The ``harness`` command. Thin: each ``_x_cli`` parses arguments, calls one function
of :mod:`harness.api` (or the loop), and renders what it returns. One module per command
group: :mod:`.gold` (init, gold), :mod:`.evaluation` (train, eval, bless, noise, history,
report, record, predictions), :mod:`.loop` (queue, distill, retrain, loop). Handlers import
the reports and the loop inside themselves: the command starts without loading what another
command needs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rich.text import Text

from .. import __version__, heap
from ..core.text import printable
from ..errors import GoldIntegrityError, HarnessError
from . import evaluation, gold, loop
from .common import console

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
    gold.add_init_command(commands)
    gold.add_commands(commands)
    evaluation.add_commands(commands)
    loop.add_commands(commands)
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


__all__ = ["USAGE_EXAMPLE", "build_parser", "console", "main"]
