"""One pytest run: loads suites, runs each pipeline once, collects verdicts, writes reports.

The pytest plugin keeps one of these in ``config.stash`` (made when the first suite
file is collected) and only hands off to it. Under pytest-xdist each worker has
its own session; workers ship what they measured to the controller as JSON
(:meth:`HarnessSession.export` / :meth:`HarnessSession.merge`), which writes the
reports and prints once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.compare import compare
from .core.gates import Gate
from .core.results import Comparison, PipelineResult, SuiteResult, Verdict
from .errors import HarnessError, InputError
from .evaluate import evaluate_pipeline, gold_info
from .gold.records import GoldExample
from .gold.store import GoldStore, GoldVersion
from .options import EvalSettings
from .suites import SuiteSpec, build_gates, parse_suite

PAYLOAD_SCHEMA = "distill-harness/xdist/v1"


@dataclass
class LoadedSuite:
    """A parsed suite whose gold was resolved (and verified) and whose gates were built."""

    spec: SuiteSpec
    gold: GoldVersion
    gates: tuple[Gate, ...]
    _eval: list[GoldExample] | None = field(default=None, repr=False)

    def eval_examples(self) -> list[GoldExample]:
        """The gold's eval split, read once per run (every pipeline and the queue use it)."""
        if self._eval is None:
            self._eval = list(self.gold.iter_examples("eval"))
        return self._eval


def load_suite(path: str | Path, *, verify: bool = True) -> LoadedSuite:
    """Parse a suite, resolve and *verify* its gold (a tampered gold fails here, before
    any pipeline runs) and build its gates against the gold's labels."""
    spec = parse_suite(path)
    try:
        gold = GoldStore(spec.gold_dir).resolve(spec.gold, verify=verify)
    except InputError as err:
        raise InputError(err.reason, path=spec.file, field="suite.gold") from err
    return LoadedSuite(spec, gold, build_gates(spec, gold.labels))


def _answered_outputs(result: PipelineResult) -> tuple[Any, ...]:
    """A pipeline's outputs with None where it gave no answer (an unparseable or empty LLM
    answer must not count as agreeing with anything in the queue)."""
    unanswered = set(result.unanswered)
    return tuple(None if i in unanswered else output for i, output in enumerate(result.outputs))


def _adapters() -> dict[str, Any]:
    """pydantic adapters for the result types (built on first use: pydantic is not
    imported by a run that never merges workers)."""
    from pydantic import TypeAdapter

    return {"result": TypeAdapter(PipelineResult), "verdict": TypeAdapter(Verdict), "comparison": TypeAdapter(Comparison)}


@dataclass
class HarnessSession:
    """State of one run: cached pipeline results, verdicts, errors per suite."""

    settings: EvalSettings = field(default_factory=EvalSettings)
    suites: dict[str, LoadedSuite] = field(default_factory=dict)
    results: dict[tuple[str, str], PipelineResult] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Verdict]] = field(default_factory=dict)
    comparisons: dict[tuple[str, str, str], Comparison] = field(default_factory=dict)
    report_problems: list[str] = field(default_factory=list)  # shown at the end of the run

    def add_suite(self, suite: LoadedSuite) -> None:
        existing = self.suites.get(suite.spec.name)
        if existing is not None and existing.spec.file != suite.spec.file:
            raise HarnessError(f"suite name {suite.spec.name!r} is used by both {existing.spec.file} and {suite.spec.file}")
        self.suites[suite.spec.name] = suite

    def _resamples_seed(self, suite_name: str) -> tuple[int, int]:
        spec = self.suites[suite_name].spec
        return self.settings.resamples_for(spec.resamples), self.settings.seed_for(spec.seed)

    def pipeline_result(self, suite_name: str, pipeline: str) -> PipelineResult:
        """Evaluate a pipeline on first use; later gates reuse the result (or the error)."""
        key = (suite_name, pipeline)
        if key in self.results:
            return self.results[key]
        if key in self.errors:
            raise HarnessError(self.errors[key])
        suite = self.suites[suite_name]
        resamples, seed = self._resamples_seed(suite_name)
        try:
            result = evaluate_pipeline(suite.gold, suite.spec.pipelines[pipeline], resamples=resamples, seed=seed,
                                       threshold=suite.spec.threshold, llm_mode=self.settings.llm_mode,
                                       examples=suite.eval_examples())
        except HarnessError as err:
            self.errors[key] = str(err)
            raise
        self.results[key] = result
        return result

    def comparison(self, suite_name: str, a: str, b: str) -> Comparison:
        """Paired comparison of pipeline ``a`` against ``b`` (both run if needed), cached."""
        key = (suite_name, a, b)
        if key not in self.comparisons:
            resamples, seed = self._resamples_seed(suite_name)
            self.comparisons[key] = compare(self.pipeline_result(suite_name, a), self.pipeline_result(suite_name, b),
                                            resamples=resamples, seed=seed)
        return self.comparisons[key]

    def check(self, suite_name: str, gate: Gate) -> Verdict:
        """Judge one gate (running its pipeline if needed) and remember the verdict."""
        reference = gate.reference
        comparison = self.comparison(suite_name, gate.pipeline, reference) if reference is not None else None
        verdict = gate.judge(self.pipeline_result(suite_name, gate.pipeline), comparison)
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
            comparisons = [self.comparison(name, a, b)
                           for a, a_spec in suite.spec.pipelines.items() for b, b_spec in suite.spec.pipelines.items()
                           if not a_spec.is_llm and b_spec.is_llm and a in pipelines and b in pipelines]
            out.append(SuiteResult(name, str(suite.spec.file), gold_info(suite.gold), ordered, errors,
                                   [v for _, v in ranked], comparisons))
        return out

    def export_queue(self, reports_dir: Path) -> list[Path]:
        """Write each suite's failing eval cases to ``reports/queue/<suite>.jsonl``.

        Only when the suite's distilled pipeline and (if it has one) its LLM both
        ran: with one missing the categories would be wrong, so nothing is written.
        """
        from .loop import queue
        from .loop.records import eval_records

        written = []
        for name, suite in sorted(self.suites.items()):
            distilled, llm = suite.spec.distilled, suite.spec.llm
            if distilled is None or (name, distilled.name) not in self.results:
                continue
            if llm is not None and (name, llm.name) not in self.results:
                continue
            outputs = {p: _answered_outputs(r) for p in suite.spec.pipelines if (r := self.results.get((name, p))) is not None}
            fresh = eval_records(suite=name, task=suite.gold.task, examples=suite.eval_examples(),
                                 outputs=outputs, distilled=distilled.name, llm=llm.name if llm else None,
                                 threshold=suite.spec.threshold)
            path = queue.queue_path(reports_dir, name)
            try:
                queue.update(path, fresh, scope="eval", dataset=suite.gold.name)
            except HarnessError as err:  # a bad queue file must not cost the run its other reports
                self.report_problems.append(f"correction queue not updated: {err}")
                continue
            written.append(path)
        return written

    def write_reports(self, reports_dir: Path) -> list[Path]:
        """The JSON results of every suite, then the correction queues; returns the paths."""
        from .reports.json_report import write_suite_json

        written = [write_suite_json(reports_dir, result) for result in self.suite_results()]
        return written + self.export_queue(reports_dir)

    # -- xdist: workers export, the controller merges -------------------------------

    def export(self) -> str:
        """What this worker measured, as a JSON string (execnet carries strings)."""
        adapters = _adapters()

        def dump(kind: str, value: Any) -> Any:
            return adapters[kind].dump_python(value, mode="python")

        payload = {
            "schema": PAYLOAD_SCHEMA,
            "suites": sorted(str(s.spec.file) for s in self.suites.values()),
            "results": [[s, p, dump("result", r)] for (s, p), r in self.results.items()],
            "errors": [[s, p, e] for (s, p), e in self.errors.items()],
            "verdicts": [[s, k, dump("verdict", v)] for s, items in self.verdicts.items() for k, v in items.items()],
            "comparisons": [[s, a, b, dump("comparison", c)] for (s, a, b), c in self.comparisons.items()],
        }
        # NaN (e.g. the CI of an empty split) survives as JSON's NaN token, which json.loads reads back.
        return json.dumps(payload)

    def merge(self, payload: str) -> None:
        """Fold a worker's exported state into this (controller) session."""
        data = json.loads(payload)
        if data.get("schema") != PAYLOAD_SCHEMA:
            raise HarnessError(f"xdist worker payload has schema {data.get('schema')!r}, expected {PAYLOAD_SCHEMA}")
        adapters = _adapters()
        for file in data["suites"]:
            suite = load_suite(file, verify=False)  # the worker verified it at collection
            self.suites.setdefault(suite.spec.name, suite)
        for s, p, value in data["results"]:
            self.results[(s, p)] = adapters["result"].validate_python(value)
        for s, p, error in data["errors"]:
            self.errors.setdefault((s, p), error)
        for s, key, value in data["verdicts"]:
            self.verdicts.setdefault(s, {})[key] = adapters["verdict"].validate_python(value)
        for s, a, b, value in data["comparisons"]:
            self.comparisons[(s, a, b)] = adapters["comparison"].validate_python(value)
