"""One pytest run: loads suites, runs each pipeline once, collects verdicts.

The pytest plugin keeps one of these in ``config.stash`` (made when the first suite
file is collected) and only hands off to it. Under pytest-xdist each worker has
its own session; workers ship what they measured to the controller as JSON
(:meth:`HarnessSession.export` / :meth:`HarnessSession.merge`), which writes the
run's files (:mod:`harness.writers`) and prints once.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .baselines import example_digests
from .behaviour import run_check, surface_pool
from .behaviour_checks import CHECKS, Subject, custom_check
from .core.compare import compare
from .core.gates import BaselineGate, BehaviourGate, Gate
from .core.regression import compare_with_baseline
from .core.results import BaselineComparison, BehaviourResult, Comparison, PipelineResult, SuiteResult, Verdict
from .core.results import BehaviourResult as Result
from .core.tasks import task_of
from .environment import machine_fingerprint
from .errors import HarnessError
from .evaluate import count_outputs, eval_views, evaluate_pipeline, gold_info
from .gold.records import GoldExample
from .gold.store import GoldRef, GoldStore, GoldVersion
from .loaded_suite import LoadedSuite, load_suite, short_path
from .options import EvalSettings
from .runners import get_runner
from .specs import PipelineSpec, SuiteSpec

if TYPE_CHECKING:
    pass

PAYLOAD_SCHEMA = "distill-harness/xdist/v1"


def _adapters() -> dict[str, Any]:
    """pydantic adapters for the result types (built on first use: pydantic is not
    imported by a run that never merges workers)."""
    from pydantic import TypeAdapter

    return {
        "result": TypeAdapter(PipelineResult),
        "verdict": TypeAdapter(Verdict),
        "comparison": TypeAdapter(Comparison),
        "baseline": TypeAdapter(BaselineComparison),
        "behaviour": TypeAdapter(BehaviourResult),
    }


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
    # suite -> its learning curve and effort forecast (reports/learning/, read when the reports are written)
    learning_curves: dict[str, Any] = field(default_factory=dict)
    # pipeline -> its comparison with the blessed baseline (None: no usable baseline)
    baseline_comparisons: dict[tuple[str, str], BaselineComparison | None] = field(default_factory=dict)
    blessing: bool = False  # --harness-bless: regression gates report but do not fail; baselines rewritten
    behaviour: dict[tuple[str, str, str], BehaviourResult] = field(default_factory=dict)  # (suite, pipeline, check)
    _predictors: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    # Evaluations made in users' tests (harness_evaluate): suite name -> (gold dir, gold ref, split)
    test_suites: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # The test running now (node id), and which tests-suites each test used: a test's outcome
    # is that suite's verdict (a failed assert_example fails the suite it evaluated).
    current_test: str | None = None
    test_uses: dict[str, set[str]] = field(default_factory=dict)
    # harness_examples tests by definition node id -> (gold version, split, examples)
    example_tests: dict[str, tuple[Any, str, list[GoldExample]]] = field(default_factory=dict)
    interrupted: str | None = None  # why the run stopped early (Ctrl-C, -x); no verdict claims completeness then

    def add_suite(self, suite: LoadedSuite) -> None:
        existing = self.suites.get(suite.spec.name)
        if existing is not None and existing.spec.file != suite.spec.file:
            raise HarnessError(f"suite name {suite.spec.name!r} is used by both {existing.spec.file} and {suite.spec.file}")
        self.suites[suite.spec.name] = suite

    def add_test_suite(self, gold: GoldVersion, split: str, examples: list[GoldExample]) -> str:
        """The suite ``tests:<gold ref>`` (``tests:<gold ref>:<split>`` off the eval split)
        that Python tests on this gold join; its name. The running test is noted as one of
        its verdicts."""

        name = f"tests:{gold.ref}" + ("" if split == "eval" else f":{split}")
        if name not in self.suites:
            spec_suite = SuiteSpec(
                file=Path(f"<{name}>"),
                name=name,
                gold=GoldRef(gold.name, gold.version),
                gold_dir=gold.path.parent.parent,
                pipelines={},
                description="evaluations and examples checked in Python tests",
            )
            self.suites[name] = LoadedSuite(spec_suite, gold, (), _eval=list(examples))
        self.test_suites[name] = (str(self.suites[name].spec.gold_dir), gold.ref, split)
        if self.current_test is not None:
            self.test_uses.setdefault(self.current_test, set()).add(name)
        return name

    def add_test_result(self, gold: GoldVersion, split: str, examples: list[GoldExample], spec: Any, result: PipelineResult | None) -> None:
        """An evaluation made by a user's test joins the run's reports in its tests-suite."""
        from dataclasses import replace as replaced

        name = self.add_test_suite(gold, split, examples)
        suite = self.suites[name]
        if spec.name not in suite.spec.pipelines:
            suite.spec = replaced(suite.spec, pipelines={**suite.spec.pipelines, spec.name: spec})
        if result is not None:  # None: a worker's suite rebuilt on the controller, results merged separately
            self.results[(name, spec.name)] = result

    def add_test_outcome(self, nodeid: str, outcome: str, message: str) -> None:
        """A finished Python test that used a tests-suite: its outcome ("passed", "failed",
        "skipped") becomes one verdict of each suite it used."""
        for name in sorted(self.test_uses.pop(nodeid, ())):
            passed = outcome == "passed"
            skipped = message if outcome == "skipped" else None
            decision = "test passed: pass" if passed else "skipped" if skipped else "test failed: FAIL"
            self.verdicts.setdefault(name, {})[nodeid] = Verdict(
                nodeid, "test", passed, 1.0 if passed else 0.0, 1.0, ">=", None, message or f"test {outcome}", skipped=skipped, decision=decision
            )

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
            result = evaluate_pipeline(
                suite.gold,
                suite.spec.pipelines[pipeline],
                resamples=resamples,
                seed=seed,
                threshold=suite.spec.threshold,
                llm_mode=self.settings.llm_mode,
                examples=suite.eval_examples(),
                engine=self.settings.engine.resolved(suite.spec.engine),
            )
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
            self.comparisons[key] = compare(
                self.pipeline_result(suite_name, a), self.pipeline_result(suite_name, b), resamples=resamples, seed=seed
            )
        return self.comparisons[key]

    def baseline_comparison(self, suite_name: str, pipeline: str) -> tuple[BaselineComparison | None, str | None]:
        """(current vs blessed baseline, None) for a pipeline that ran, or (None, why not)."""
        suite = self.suites[suite_name]
        baseline, problem = suite.baseline()
        if baseline is None:
            return None, problem
        if pipeline not in baseline.pipelines:
            return None, (
                f"the baseline {short_path(baseline.path)} has no entry for pipeline {pipeline!r}: run "
                f"`harness bless {short_path(suite.spec.file)} --pipeline {pipeline}`"
            )
        key = (suite_name, pipeline)
        if key not in self.baseline_comparisons:
            result = self.pipeline_result(suite_name, pipeline)
            examples = suite.eval_examples()
            task, labels, threshold = suite.gold.task, suite.gold.labels, suite.spec.threshold
            digests = example_digests(examples)
            resamples, seed = self._resamples_seed(suite_name)

            def count(positions: Any, outputs: Any) -> Any:
                return count_outputs(task, [examples[i] for i in positions], outputs, labels, threshold=threshold)

            self.baseline_comparisons[key] = compare_with_baseline(
                result,
                baseline.pipelines[pipeline],
                baseline.context,
                texts=[e.text for e in examples],
                gold=[task_of(task).gold_output(e) for e in examples],
                gold_digests=[digests[e.input_hash] for e in examples],
                count=count,
                machine=machine_fingerprint(),
                min_coverage=suite.spec.min_baseline_coverage(pipeline),
                resamples=resamples,
                seed=seed,
            )
        return self.baseline_comparisons[key], None

    def behaviour_result(self, suite_name: str, pipeline: str, check: str) -> BehaviourResult:
        """Run one behavioural check of a pipeline (once per run)."""
        key = (suite_name, pipeline, check)
        if key in self.behaviour:
            return self.behaviour[key]

        suite = self.suites[suite_name]
        spec = suite.spec.pipelines[pipeline]
        table = suite.spec.behaviour[pipeline][check]
        mode = self.settings.llm_mode
        if spec.is_llm and (mode or "replay") == "replay":
            self.behaviour[key] = Result(
                pipeline,
                check,
                0,
                0,
                float("nan"),
                (float("nan"), float("nan")),
                float(table.min_pass_rate),
                (),
                (),
                0.0,
                skipped="replay mode: a cassette cannot answer new prompts (use --llm-mode live or record)",
            )
            return self.behaviour[key]
        result = self.pipeline_result(suite_name, pipeline)  # the reference answers on the originals
        predictor_key = (suite_name, pipeline)
        if predictor_key not in self._predictors:
            self._predictors[predictor_key] = get_runner(spec.kind).predictor(spec, suite.gold.task, llm_mode=mode)
        pool = surface_pool(list(suite.gold.iter_examples("train"))) if check == "substitution" else {}
        unanswered = set(result.unanswered)
        subjects = [Subject(i, e, result.outputs[i], pool) for i, e in enumerate(suite.eval_examples()) if i not in unanswered]
        chosen = custom_check(table.function, beside=suite.spec.file.parent) if table.function else CHECKS[check]
        made = run_check(
            check,
            chosen,
            pipeline=pipeline,
            task=suite.gold.task,
            subjects=subjects,
            predict=self._predictors[predictor_key],
            min_pass_rate=float(table.min_pass_rate),
            max_examples=int(table.max_examples),
            max_seconds=float(table.max_seconds),
            needs_answer=table.function is None,
            threshold=suite.spec.threshold,
        )
        self.behaviour[key] = made
        return made

    def check(self, suite_name: str, gate: Gate) -> Verdict:
        """Judge one gate (running its pipeline if needed) and remember the verdict."""
        if isinstance(gate, BehaviourGate):
            verdict = gate.judge_behaviour(self.behaviour_result(suite_name, gate.pipeline, gate.check))
        elif isinstance(gate, BaselineGate):
            result = self.pipeline_result(suite_name, gate.pipeline)
            baseline, problem = self.baseline_comparison(suite_name, gate.pipeline)
            verdict = gate.judge_baseline(result, baseline, problem)
            if self.blessing and not verdict.passed and verdict.skipped is None:
                # Blessing shows what is being blessed, but judging against the old baseline is moot.
                verdict = replace(verdict, skipped=f"blessing (--harness-bless): {verdict.message}")
        else:
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
            if not pipelines and not errors and not self.verdicts.get(name) and (suite.gates or name in self.test_suites):
                continue  # not run here (another worker's, or deselected); a suite without gates is still reported
            ordered = {p: pipelines[p] for p in suite.spec.pipelines if p in pipelines}
            distilled, llm = suite.spec.roles(ordered)
            # Suite order, not run order (which differs between workers under xdist).
            order = {f"{g.pipeline}::{g.id}": i for i, g in enumerate(suite.gates)}
            ranked = sorted(self.verdicts.get(name, {}).items(), key=lambda kv: order.get(kv[0], len(order)))
            comparisons = [
                self.comparison(name, a, b)
                for a, a_spec in suite.spec.pipelines.items()
                for b, b_spec in suite.spec.pipelines.items()
                if not a_spec.is_llm and b_spec.is_llm and a in pipelines and b in pipelines
            ]
            baselines, problem = self._suite_baselines(name, ordered)
            out.append(
                SuiteResult(
                    name,
                    short_path(suite.spec.file),
                    gold_info(suite.gold),
                    ordered,
                    errors,
                    [v for _, v in ranked],
                    comparisons,
                    baselines,
                    problem,
                    examples=eval_views(suite.gold.task, suite.eval_examples()),
                    threshold=suite.spec.threshold,
                    behaviour=[b for (s, _, _), b in sorted(self.behaviour.items()) if s == name],
                    incomplete=self._incomplete(name, len(ranked)),
                    gates_total=len(suite.gates),
                    distilled=distilled,
                    llm=llm,
                )
            )
        return out

    def _incomplete(self, name: str, judged: int) -> str | None:
        """Why suite ``name``'s verdicts are not a whole verdict, or None."""
        if name in self.test_suites:
            return None  # evaluations made in Python tests: their own tests are the verdicts
        total = len(self.suites[name].gates)
        if self.interrupted:
            return f"{self.interrupted}: {judged} of {total} gates judged"
        if total == 0:
            return "no gates: the suite judges nothing (add a [gates.<pipeline>] table)"
        if judged < total:
            return f"{judged} of {total} gates judged (the others were deselected or not reached)"
        return None

    def _suite_baselines(self, name: str, ran: dict[str, PipelineResult]) -> tuple[dict[str, BaselineComparison], str | None]:
        """Every pipeline that ran against the baseline (gated or not: reports show it)."""
        out: dict[str, BaselineComparison] = {}
        problem = None
        for pipeline in ran:
            key = (name, pipeline)
            if key in self.baseline_comparisons:  # computed here, or merged from a worker
                found = self.baseline_comparisons[key]
            else:
                try:
                    found, problem = self.baseline_comparison(name, pipeline)
                except HarnessError as err:
                    found, problem = None, str(err)
            if found is not None:
                out[pipeline] = found
        return out, (problem if not out else None)

    # -- xdist: workers export, the controller merges -------------------------------

    def export(self) -> str:
        """What this worker measured, as a JSON string (execnet carries strings)."""
        adapters = _adapters()

        def dump(kind: str, value: Any) -> Any:
            return adapters[kind].dump_python(value, mode="python")

        payload = {
            "schema": PAYLOAD_SCHEMA,
            "suites": sorted(str(s.spec.file) for name, s in self.suites.items() if name not in self.test_suites),
            "test_suites": [
                [name, *where, [dataclasses.asdict(p) for p in self.suites[name].spec.pipelines.values()]]
                for name, where in self.test_suites.items()
            ],
            "results": [[s, p, dump("result", r)] for (s, p), r in self.results.items()],
            "errors": [[s, p, e] for (s, p), e in self.errors.items()],
            "verdicts": [[s, k, dump("verdict", v)] for s, items in self.verdicts.items() for k, v in items.items()],
            "comparisons": [[s, a, b, dump("comparison", c)] for (s, a, b), c in self.comparisons.items()],
            "baselines": [[s, p, dump("baseline", c)] for (s, p), c in self.baseline_comparisons.items() if c is not None],
            "behaviour": [[s, p, c, dump("behaviour", b)] for (s, p, c), b in self.behaviour.items()],
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
        for _name, gold_dir, ref, split, pipelines in data.get("test_suites", []):
            gold = GoldStore(gold_dir).resolve(ref, verify=False)
            examples = list(gold.iter_examples(split))
            self.add_test_suite(gold, split, examples)  # also one with example tests only
            for fields in pipelines:
                spec = PipelineSpec(**{k: v for k, v in fields.items() if k != "train"})
                self.add_test_result(gold, split, examples, spec, None)
        for s, p, value in data["results"]:
            self.results[(s, p)] = adapters["result"].validate_python(value)
        for s, p, error in data["errors"]:
            self.errors.setdefault((s, p), error)
        for s, key, value in data["verdicts"]:
            self.verdicts.setdefault(s, {})[key] = adapters["verdict"].validate_python(value)
        for s, a, b, value in data["comparisons"]:
            self.comparisons[(s, a, b)] = adapters["comparison"].validate_python(value)
        for s, p, value in data.get("baselines", []):
            self.baseline_comparisons[(s, p)] = adapters["baseline"].validate_python(value)
        for s, p, c, value in data.get("behaviour", []):
            self.behaviour[(s, p, c)] = adapters["behaviour"].validate_python(value)
