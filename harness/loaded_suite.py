"""A suite as a run holds it: the parsed file, its verified gold version, its gates,
and its blessed baseline (read once, checked to be this suite's)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .baselines import load
from .core.gates import Gate
from .errors import InputError
from .gold.records import GoldExample
from .gold.store import GoldStore, GoldVersion
from .specs import SuiteSpec
from .suites import build_behaviour_gates, build_gates, build_must_pass_gates, parse_suite

if TYPE_CHECKING:
    from .baselines import Baseline


@dataclass
class LoadedSuite:
    """A parsed suite whose gold was resolved (and verified) and whose gates were built."""

    spec: SuiteSpec
    gold: GoldVersion
    gates: tuple[Gate, ...]
    _eval: list[GoldExample] | None = field(default=None, repr=False)

    _baseline: tuple[Baseline | None, str | None] | None = field(default=None, repr=False)

    def eval_examples(self) -> list[GoldExample]:
        """The gold's eval split, read once per run (every pipeline and the queue use it)."""
        if self._eval is None:
            self._eval = list(self.gold.iter_examples("eval"))
        return self._eval

    @property
    def baseline_path(self) -> Path:
        return self.spec.baseline_file

    def baseline(self) -> tuple[Baseline | None, str | None]:
        """(the blessed baseline, None), or (None, why there is none), read once per run."""
        if self._baseline is None:
            path = self.baseline_path
            if not path.exists():
                self._baseline = (None, f"no baseline: run `harness bless {short_path(self.spec.file)}` (expected {short_path(path)})")
            else:
                try:
                    loaded = load(path)
                except InputError as err:
                    self._baseline = (None, str(err))
                else:
                    foreign = self._foreign(loaded)
                    self._baseline = (None, foreign) if foreign else (loaded, None)
        return self._baseline

    def _foreign(self, baseline: Baseline) -> str | None:
        """Why a readable baseline is not this suite's (copied from another suite, or made on
        another dataset), or None. Another version of the same gold is fine (compared per example)."""
        where = short_path(baseline.path)
        if baseline.suite != self.spec.name:
            return (
                f"{where} was blessed for suite {baseline.suite!r}, not {self.spec.name!r}: a baseline is compared "
                f"only with its own suite (run `harness bless {short_path(self.spec.file)}`)"
            )
        dataset = baseline.context.gold_ref.split("@", 1)[0]
        if dataset != self.gold.name:
            return (
                f"{where} was blessed on gold {baseline.context.gold_ref}, another dataset than the suite's "
                f"{self.gold.ref} (run `harness bless {short_path(self.spec.file)}`)"
            )
        return None


def short_path(path: Path) -> str:
    """A path relative to the working directory when it is below it (messages stay short)."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:
        return str(path)


def load_suite(path: str | Path, *, verify: bool = True) -> LoadedSuite:
    """Parse a suite, resolve and *verify* its gold (a tampered gold fails here, before
    any pipeline runs) and build its gates against the gold's labels."""
    spec = parse_suite(path)
    try:
        gold = GoldStore(spec.gold_dir).resolve(spec.gold, verify=verify)
    except InputError as err:
        raise InputError(err.reason, path=spec.file, field="suite.gold") from err
    suite = LoadedSuite(spec, gold, build_gates(spec, gold.labels) + build_behaviour_gates(spec, gold.task))
    if any(table.must_pass for table in spec.gate_tables.values()):
        examples = {e.input_hash: e for e in suite.eval_examples()}
        suite.gates = suite.gates + build_must_pass_gates(spec, examples, gold.task)
    return suite
