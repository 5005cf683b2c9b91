"""The evaluation session: loads suites, runs each pipeline once, collects verdicts.

The pytest plugin keeps one of these in ``config.stash`` and only hands off to it.
Under pytest-xdist each worker has its own session; workers ship their state to
the controller (:meth:`export` / :meth:`merge`), which writes reports and prints once.
"""

from __future__ import annotations

import base64
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from .compare import compare
from .errors import HarnessError, InputError
from .evaluate import evaluate_pipeline, gold_info
from .gates import Gate, judge
from .gold import GoldStore, GoldVersion
from .results import Comparison, PipelineResult, SuiteResult, Verdict
from .suites import SuiteSpec, expand_label_gates, parse_suite


@dataclass
class LoadedSuite:
    """A parsed suite whose gold was resolved and verified."""

    spec: SuiteSpec
    gold: GoldVersion
    gates: tuple[Gate, ...]


def load_suite(path: str | Path) -> LoadedSuite:
    """Parse a suite, resolve and *verify* its gold (a tampered gold fails here, before
    any pipeline runs) and expand per-label gates against the gold's labels."""
    spec = parse_suite(path)
    try:
        gold = GoldStore(spec.gold_dir).resolve(spec.gold, verify=True)
    except InputError as err:
        raise InputError(err.reason, path=spec.file, field="suite.gold") from err
    return LoadedSuite(spec, gold, expand_label_gates(spec, gold.labels))


@dataclass
class HarnessSession:
    """State of one run: cached pipeline results, verdicts, errors per suite."""

    resamples: int | None = None  # None: each suite's own setting
    seed: int | None = None
    llm_mode: str | None = None  # None: each cassette's configured mode (replay by default)
    suites: dict[str, LoadedSuite] = field(default_factory=dict)
    results: dict[tuple[str, str], PipelineResult] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Verdict]] = field(default_factory=dict)
    comparisons: dict[tuple[str, str, str], Comparison] = field(default_factory=dict)

    def add_suite(self, suite: LoadedSuite) -> None:
        existing = self.suites.get(suite.spec.name)
        if existing is not None and existing.spec.file != suite.spec.file:
            raise HarnessError(f"suite name {suite.spec.name!r} is used by both {existing.spec.file} and {suite.spec.file}")
        self.suites[suite.spec.name] = suite

    def pipeline_result(self, suite_name: str, pipeline: str) -> PipelineResult:
        """Evaluate a pipeline on first use; later gates reuse the result (or the error)."""
        key = (suite_name, pipeline)
        if key in self.results:
            return self.results[key]
        if key in self.errors:
            raise HarnessError(self.errors[key])
        suite = self.suites[suite_name]
        spec = suite.spec
        try:
            result = evaluate_pipeline(
                suite.gold, spec.pipelines[pipeline],
                resamples=self.resamples if self.resamples is not None else spec.resamples,
                seed=self.seed if self.seed is not None else spec.seed,
                threshold=spec.threshold, llm_mode=self.llm_mode,
            )
        except HarnessError as err:
            self.errors[key] = str(err)
            raise
        self.results[key] = result
        return result

    def _settings(self, suite_name: str) -> tuple[int, int]:
        spec = self.suites[suite_name].spec
        return (self.resamples if self.resamples is not None else spec.resamples,
                self.seed if self.seed is not None else spec.seed)

    def comparison(self, suite_name: str, a: str, b: str) -> Comparison:
        """Paired comparison of pipeline ``a`` against ``b`` (both run if needed), cached."""
        key = (suite_name, a, b)
        if key not in self.comparisons:
            resamples, seed = self._settings(suite_name)
            self.comparisons[key] = compare(self.pipeline_result(suite_name, a), self.pipeline_result(suite_name, b),
                                            resamples=resamples, seed=seed)
        return self.comparisons[key]

    def check(self, suite_name: str, gate: Gate) -> Verdict:
        """Judge one gate (running its pipeline if needed) and remember the verdict."""
        comparison = None
        if gate.metric == "vs_llm":
            assert gate.reference is not None
            comparison = self.comparison(suite_name, gate.pipeline, gate.reference)
        verdict = judge(gate, self.pipeline_result(suite_name, gate.pipeline), comparison)
        self.verdicts.setdefault(suite_name, {})[f"{gate.pipeline}::{gate.id}"] = verdict
        return verdict

    def suite_results(self) -> list[SuiteResult]:
        """One result per suite that ran at least one pipeline (or failed to)."""
        out = []
        for name, suite in sorted(self.suites.items()):
            pipelines = {p: r for (s, p), r in self.results.items() if s == name}
            errors = {p: e for (s, p), e in self.errors.items() if s == name}
            if not pipelines and not errors:
                continue
            ordered = {p: pipelines[p] for p in suite.spec.pipelines if p in pipelines}
            # Suite order, not run order (which differs between workers under xdist).
            order = {f"{g.pipeline}::{g.id}": i for i, g in enumerate(suite.gates)}
            ranked = sorted(self.verdicts.get(name, {}).items(), key=lambda kv: order.get(kv[0], len(order)))
            verdicts = [v for _, v in ranked]
            comparisons = []
            for a, a_spec in suite.spec.pipelines.items():
                for b, b_spec in suite.spec.pipelines.items():
                    if not a_spec.is_llm and b_spec.is_llm and a in pipelines and b in pipelines:
                        comparisons.append(self.comparison(name, a, b))
            out.append(SuiteResult(name, str(suite.spec.file), gold_info(suite.gold), ordered, errors, verdicts,
                                   comparisons))
        return out

    def export_queue(self, reports_dir: Path) -> list[Path]:
        """Write each suite's failing eval cases to ``reports/queue/<suite>.jsonl``.

        Only when the suite's distilled pipeline and (if it has one) its LLM both
        ran: with one missing the categories would be wrong, so nothing is written.
        """
        from . import queue

        written = []
        for name, suite in sorted(self.suites.items()):
            specs = suite.spec.pipelines
            distilled = next((p for p in specs if specs[p].kind == "spacy"), None)
            llm = next((p for p in specs if specs[p].is_llm), None)
            if distilled is None or (name, distilled) not in self.results or (llm and (name, llm) not in self.results):
                continue
            outputs = {p: self.results[(name, p)].outputs for p in specs if (name, p) in self.results}
            examples = list(suite.gold.iter_examples("eval"))
            fresh = queue.eval_records(suite=name, task=suite.gold.task, examples=examples, outputs=outputs,
                                       distilled=distilled, llm=llm, threshold=suite.spec.threshold)
            path = queue.queue_path(reports_dir, name)
            queue.update(path, fresh, scope="eval")
            written.append(path)
        return written

    # -- xdist: workers export, the controller merges -------------------------------

    def export(self) -> str:
        """Serialise what this worker measured (an execnet-safe string)."""
        state = (self.suites, self.results, self.errors, self.verdicts, self.comparisons)
        return base64.b64encode(pickle.dumps(state)).decode("ascii")

    def merge(self, payload: str) -> None:
        """Fold a worker's exported state into this (controller) session."""
        suites, results, errors, verdicts, comparisons = pickle.loads(base64.b64decode(payload))
        self.comparisons.update(comparisons)
        for name, suite in suites.items():
            self.suites.setdefault(name, suite)
        self.results.update(results)
        for key, error in errors.items():
            self.errors.setdefault(key, error)
        for name, items in verdicts.items():
            self.verdicts.setdefault(name, {}).update(items)
