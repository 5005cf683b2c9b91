"""What every command group shares: the console and the ``--gold-dir`` option."""

from __future__ import annotations

import argparse

from rich.console import Console

from .. import options

console = Console(highlight=False)


def with_gold_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--gold-dir`` (the gold store) to a command."""
    p.add_argument("--gold-dir", default=options.DEFAULT_GOLD_DIR, help=f"gold store directory (default: {options.DEFAULT_GOLD_DIR})")
    return p
