"""What every command group shares: the console, the ``--gold-dir`` and the engine options."""

from __future__ import annotations

import argparse

from rich.console import Console

from .. import options

console = Console(highlight=False)


def with_gold_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--gold-dir`` (the gold store) to a command."""
    p.add_argument("--gold-dir", default=options.DEFAULT_GOLD_DIR, help=f"gold store directory (default: {options.DEFAULT_GOLD_DIR})")
    return p


def add_engine_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--engine``, ``--workers`` and ``--ray-address`` (see :mod:`harness.engines`)."""
    options.ENGINE.add_to(p.add_argument, "--engine")
    options.WORKERS.add_to(p.add_argument, "--workers")
    options.RAY_ADDRESS.add_to(p.add_argument, "--ray-address")
    return p
