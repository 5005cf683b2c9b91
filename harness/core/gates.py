"""Gates: pure verdicts over a :class:`~harness.core.results.PipelineResult`. No printing.

One class per metric. Each knows its suite key, its readable test id and how to
measure itself; :meth:`Gate.judge` turns a measurement into a :class:`Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..options import CONFIDENCE, DEFAULT_THRESHOLD
from .noise import holm, min_detectable_drop
from .results import BaselineComparison, BehaviourCase, BehaviourResult, Comparison, Difference, PipelineResult, Verdict
from .stats import format_interval
from .tasks import CATEGORY_RULES
from .text import annotation_text


def _fmt(value: float, big: bool) -> str:
    return f"{value:,.0f}" if big else f"{value:.3f}"


def _outcome(passed: bool) -> str:
    return "pass" if passed else "FAIL"


def _decided(verdict: Verdict, decision: str) -> Verdict:
    return replace(verdict, decision=decision)


@dataclass(frozen=True)
class Gate:
    """One release criterion for one pipeline; becomes one pytest item."""

    pipeline: str
    threshold: float

    key: ClassVar[str] = ""  # the key in a suite's [gates.<pipeline>] table
    metric: ClassVar[str] = ""
    op: ClassVar[str] = ">="
    what: ClassVar[str] = ""
    big_numbers: ClassVar[bool] = False  # words/second and bytes print as integers
    value_format: ClassVar[str] = ".3f"  # how measured and threshold print (carried on the verdict)
    delta_format: ClassVar[str] = ".3f"  # how baseline and delta print

    @property
    def id(self) -> str:
        """Readable test id, e.g. ``f>=0.70``, ``words_per_second>=2000``, ``label_f>=0.40[Dish]``."""
        if self.big_numbers:
            value = int(self.threshold) if float(self.threshold).is_integer() else self.threshold
            return f"{self.metric}{self.op}{value}"
        return f"{self.metric}{self.op}{self.threshold:.2f}"

    @property
    def reference(self) -> str | None:
        """The pipeline this gate compares against, if any."""
        return None

    def verdict(self, passed: bool, measured: float, ci: tuple[float, float] | None, message: str, **details: Any) -> Verdict:
        """A verdict of this gate: its id, pipeline, threshold and rule, and how its figures print."""
        return Verdict(
            self.id,
            self.pipeline,
            passed,
            measured,
            self.threshold,
            self.op,
            ci,
            message,
            value_format=self.value_format,
            delta_format=self.delta_format,
            **details,
        )

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        """(measured value, its CI or None, what it is in words)."""
        raise NotImplementedError

    def judge(self, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
        """Compare the measured point estimate with the threshold; report the CI beside it.
        A figure that was not measured (NaN) fails: a gate never passes on missing data."""
        measured, ci, what = self.measure(result)
        if measured != measured:
            message = (
                f"{result.name}: {what} was not measured for this pipeline (kind {result.kind}): a gate never "
                f"passes on a figure it did not measure; remove the gate for this pipeline"
            )
            return self.verdict(False, measured, None, message, decision=f"{what} not measured: FAIL")
        passed = measured >= self.threshold if self.op == ">=" else measured <= self.threshold
        ci_text = f" (95% CI {format_interval(ci)})" if ci is not None else ""
        shown, limit = _fmt(measured, self.big_numbers), _fmt(self.threshold, self.big_numbers)
        message = f"{result.name}: {what} = {shown}{ci_text} {'meets' if passed else 'fails'} {self.op} {limit}"
        # The rule compares the point estimate; the CI is shown beside it, not used.
        failed_op = "<" if self.op == ">=" else ">"
        decision = f"{shown} {self.op if passed else failed_op} {limit}: {_outcome(passed)}"
        return self.verdict(passed, measured, ci, message, decision=decision)


@dataclass(frozen=True)
class MicroFGate(Gate):
    key: ClassVar[str] = "f_min"
    metric: ClassVar[str] = "f"

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        return result.scores.micro.f, result.scores.micro.f_ci, "micro F"


@dataclass(frozen=True)
class MacroFGate(Gate):
    key: ClassVar[str] = "macro_f_min"
    metric: ClassVar[str] = "macro_f"

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        return result.scores.macro_f, result.scores.macro_f_ci, "macro F"


@dataclass(frozen=True)
class LabelFGate(Gate):
    """F of one gold label. A label the pipeline never scored measures 0."""

    label: str = ""
    key: ClassVar[str] = "label_f_min"
    metric: ClassVar[str] = "label_f"

    @property
    def id(self) -> str:
        # The label in a trailing bracket, as pytest writes parameters: pytest reads the
        # first "[" of a node id as the start of one, so only a trailing bracket round-trips.
        return f"label_f{self.op}{self.threshold:.2f}[{self.label}]"

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        try:
            score = result.scores.label(self.label)
        except KeyError:
            return 0.0, None, f"F of label {self.label}"
        return score.f, score.f_ci, f"F of label {self.label}"


@dataclass(frozen=True)
class WordsPerSecondGate(Gate):
    key: ClassVar[str] = "words_per_second_min"
    metric: ClassVar[str] = "words_per_second"
    big_numbers: ClassVar[bool] = True
    value_format: ClassVar[str] = ",.0f"
    delta_format: ClassVar[str] = ",.0f"

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        return result.words_per_second, None, "words/second"


@dataclass(frozen=True)
class SizeGate(Gate):
    key: ClassVar[str] = "size_bytes_max"
    metric: ClassVar[str] = "size_bytes"
    op: ClassVar[str] = "<="
    big_numbers: ClassVar[bool] = True
    value_format: ClassVar[str] = ",.0f"
    delta_format: ClassVar[str] = ",.0f"

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        if result.size_source == "unknown" or not result.size_bytes:
            return float("nan"), None, "size on disk (bytes)"  # not measured: 0 bytes would pass any maximum
        return float(result.size_bytes), None, "size on disk (bytes)"


@dataclass(frozen=True)
class VsLLMGate(Gate):
    """Not worse than an LLM pipeline by more than ``max_drop`` (``threshold = -max_drop``),
    judged on the *lower bound* of the paired 95% CI of (this F - the LLM's F): the
    pipeline passes only if we are 95% confident it is not worse by more than that."""

    llm: str = ""
    label: str | None = None
    key: ClassVar[str] = "distilled_vs_llm"
    metric: ClassVar[str] = "vs_llm"
    op: ClassVar[str] = ">"

    @property
    def id(self) -> str:
        # Named after its suite key, so that `-k distilled_vs_llm` selects what the suite file set.
        scope = f"{self.llm}-{self.label}" if self.label else self.llm
        return f"distilled_vs_llm<={-self.threshold:.2f}[{scope}]"

    @property
    def reference(self) -> str | None:
        return self.llm

    def judge(self, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
        if comparison is None:
            raise ValueError("a distilled_vs_llm gate needs the paired comparison")
        difference = comparison.micro if self.label is None else comparison.label(self.label)
        ci = difference.ci
        passed = ci[0] > self.threshold
        scope = "micro F" if self.label is None else f"F of label {self.label}"
        message = (
            f"{result.name} - {self.llm}: {scope} difference = {difference.diff:+.3f} "
            f"(paired 95% CI {format_interval(ci, signed=True)}); lower bound {'above' if passed else 'not above'} "
            f"{self.threshold:+.3f} (max_drop {-self.threshold:.3f})"
        )
        # measured is the difference itself; the rule compares the CI's lower bound, which the
        # decision names (a row showing the bound as "measured" read as a drop that was not there).
        decision = (
            f"lower 95% bound {ci[0]:+.3f} {'>' if passed else '<='} {self.threshold:+.3f} "
            f"(difference {difference.diff:+.3f}): {_outcome(passed)}"
        )
        return self.verdict(passed, difference.diff, ci, message, decision=decision)


@dataclass(frozen=True)
class BaselineGate(Gate):
    """A gate against the suite's blessed baseline (``no_regression`` in a suite file).

    Judged by :meth:`judge_baseline`; without a usable baseline it fails, saying why
    (a missing baseline must not pass by default)."""

    def judge(self, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
        raise ValueError(f"{self.id} is judged against a baseline: use judge_baseline")

    def judge_baseline(self, result: PipelineResult, baseline: BaselineComparison | None, problem: str | None) -> Verdict:
        """The verdict; ``problem`` (no baseline file, a damaged one, too few comparable
        examples) fails the gate with that reason."""
        problem = problem or (baseline.problem if baseline is not None else "no baseline")
        if baseline is None or baseline.comparison is None:
            return _decided(self._verdict(False, float("nan"), None, f"{result.name}: {problem}"), "no usable baseline: FAIL")
        return self._judge(result, baseline)

    def _verdict(
        self,
        passed: bool,
        measured: float,
        ci: tuple[float, float] | None,
        message: str,
        *,
        baseline: float | None = None,
        delta: float | None = None,
        skipped: str | None = None,
    ) -> Verdict:
        return self.verdict(passed, measured, ci, message, skipped=skipped, baseline=baseline, delta=delta)

    def _judge(self, result: PipelineResult, baseline: BaselineComparison) -> Verdict:
        raise NotImplementedError

    def _relative_verdict(
        self,
        result: PipelineResult,
        measured: float,
        shown_change: float,
        now: str,
        then: str,
        allowed: str,
        *,
        baseline: float,
        delta: float,
        skipped: str | None = None,
    ) -> Verdict:
        """Speed and size: a relative change against the baseline's figure, passing up to the threshold."""
        within = measured <= self.threshold
        message = (
            f"{result.name}: {now} vs baseline {then} ({shown_change:+.1%}); "
            f"{'within' if within else 'beyond'} the allowed {allowed} of {self.threshold:.0%}"
        )
        decision = f"{allowed} {measured:.1%} {'<=' if within else '>'} {self.threshold:.0%}: " + (
            "skipped (another machine)" if skipped else _outcome(within)
        )
        return _decided(
            self._verdict(within and skipped is None, measured, None, message, baseline=baseline, delta=delta, skipped=skipped), decision
        )


def _coverage_note(baseline: BaselineComparison) -> str:
    if baseline.compared == baseline.eval_examples:
        return ""
    parts = [f"{baseline.changed} with changed gold"] if baseline.changed else []
    if baseline.unseen:
        parts.append(f"{baseline.unseen} not in the baseline")
    return f"; compared on {baseline.compared} of {baseline.eval_examples} examples ({', '.join(parts)}; baseline gold {baseline.baseline_gold})"


@dataclass(frozen=True)
class NoRegressionGate(BaselineGate):
    """Not worse than the blessed configuration: fails only when F dropped by more than
    ``max_drop`` (``threshold = -max_drop``) *and* the drop is significant.

    The reference is the mean F of the blessed model and its replicates (models of
    the same data and config with other seeds), and the drop is judged against
    eval-sample noise plus, where the baseline has replicates, training noise
    (:mod:`harness.core.noise`). The F gates of one pipeline (``family``: "micro" and
    the gated labels) are one family: their p-values are Holm-adjusted, so that a
    retrain that changes nothing fails any of them at most at 1 - CONFIDENCE."""

    label: str | None = None
    family: tuple[str, ...] = ()  # the scopes of this pipeline's no_regression F gates
    key: ClassVar[str] = "no_regression"
    metric: ClassVar[str] = "no_regression"

    @property
    def id(self) -> str:
        base = f"no_regression<={-self.threshold:.2f}"
        return f"{base}[{self.label}]" if self.label else base

    def _judge(self, result: PipelineResult, baseline: BaselineComparison) -> Verdict:
        assert baseline.comparison is not None
        if baseline.identical_model and not baseline.identical_predictions:
            return _decided(
                self._verdict(
                    False,
                    float("nan"),
                    None,
                    (
                        f"{result.name}: the model is byte-identical to the baseline's (sha256 "
                        f"{str(result.identity.get('sha256', ''))[:12]}) but {baseline.differing_predictions} of "
                        f"{baseline.compared} predictions differ: the pipeline is not deterministic"
                    ),
                ),
                "same model, other predictions (not deterministic): FAIL",
            )
        scope = self.label or "micro"
        what = "micro F" if self.label is None else f"F of label {self.label}"
        if baseline.identical_predictions and not baseline.tests:
            difference = baseline.comparison.micro if self.label is None else _difference(baseline, self.label)
            if difference is None:
                return _decided(
                    self._verdict(False, float("nan"), None, f"{result.name}: label {self.label} is not in the comparison"),
                    "label not compared: FAIL",
                )
            return _decided(
                self._verdict(
                    True,
                    0.0,
                    (0.0, 0.0),
                    f"{result.name}: {what} {difference.a_f:.3f}: identical to baseline{_coverage_note(baseline)}",
                    baseline=difference.b_f,
                    delta=0.0,
                ),
                "identical predictions to the baseline: pass",
            )
        try:
            test = baseline.test(scope)
        except KeyError:
            return _decided(
                self._verdict(False, float("nan"), None, f"{result.name}: label {self.label} is not in the comparison"),
                "label not compared: FAIL",
            )
        available = {t.scope: t.p_value for t in baseline.tests}
        family = {s: available[s] for s in (self.family or (scope,)) if s in available}
        family.setdefault(scope, test.p_value)
        adjusted = holm(family)[scope]
        max_drop = -self.threshold
        dropped = test.diff < self.threshold
        significant = adjusted < 1.0 - CONFIDENCE
        passed = baseline.identical_predictions or not (dropped and significant)
        detectable = min_detectable_drop(test.se, len(family), CONFIDENCE)
        warning = None
        if detectable > max_drop:
            warning = (
                f"{result.name}: {scope} (support {test.support}): drops under {detectable:.3f} cannot be told "
                f"from noise (max_drop {max_drop:.3f}; {test.sources})"
            )
        if baseline.identical_predictions:
            why = "identical to baseline"
        elif passed:
            why = "no drop beyond max_drop" if not dropped else "drop not significant"
        else:
            why = f"dropped by more than {max_drop:.3f} and significant"
        reference = (
            f"baseline {test.reference_f:.3f}"
            if test.models == 1
            else f"blessed configuration {test.reference_f:.3f} (mean of {test.models} models, "
            f"{test.reference_range[0]:.3f}-{test.reference_range[1]:.3f})"
        )
        message = (
            f"{result.name}: {what} {test.current_f:.3f} vs {reference} "
            f"({test.diff:+.3f}, {CONFIDENCE:.0%} CI {format_interval(test.ci, signed=True)}; p {format_p(test.p_value)}, "
            f"Holm-adjusted {format_p(adjusted)} over {len(family)} gate{'s' if len(family) != 1 else ''}; noise: "
            f"{test.sources}): {why}{_coverage_note(baseline)}"
        )
        verdict = self._verdict(passed, test.diff, test.ci, message, baseline=test.reference_f, delta=test.diff)
        # Two parts decide: the size of the drop against max_drop, and its significance.
        drop, holm_p = -test.diff, f"Holm p {format_p(adjusted)}"
        if baseline.identical_predictions:
            decision = "identical predictions to the baseline: pass"
        elif not dropped:
            decision = f"no drop ({test.diff:+.3f}): pass" if drop <= 0 else f"drop {drop:.3f} <= {max_drop:.3f}: pass"
        elif not significant:
            decision = f"drop {drop:.3f} > {max_drop:.3f} but not significant ({holm_p}): pass"
        else:
            decision = f"drop {drop:.3f} > {max_drop:.3f} and significant ({holm_p}): FAIL"
        return replace(
            verdict, p_value=test.p_value, p_adjusted=adjusted, noise=test.sources, min_detectable=detectable, warning=warning, decision=decision
        )


def format_p(p: float) -> str:
    """A p-value for people: 3 significant digits, and "< 1e-15" where a double cannot say more."""
    return "< 1e-15" if p < 1e-15 else f"{p:.3g}"


def _difference(baseline: BaselineComparison, label: str) -> Difference | None:
    assert baseline.comparison is not None
    try:
        return baseline.comparison.label(label)
    except KeyError:
        return None


@dataclass(frozen=True)
class SpeedRegressionGate(BaselineGate):
    """words/second not below the baseline's by more than ``max_drop`` (a fraction).
    Speed from another machine is not comparable: the gate is skipped, not failed."""

    key: ClassVar[str] = "words_per_second_max_drop"
    metric: ClassVar[str] = "speed_drop"
    op: ClassVar[str] = "<="
    value_format: ClassVar[str] = ".1%"
    delta_format: ClassVar[str] = ",.0f"

    @property
    def id(self) -> str:
        return f"speed_drop<={self.threshold:.2f}[baseline]"

    def _judge(self, result: PipelineResult, baseline: BaselineComparison) -> Verdict:
        now, then = result.words_per_second, baseline.baseline_words_per_second
        if not then or then != then or now != now:
            return _decided(
                self._verdict(
                    False,
                    float("nan"),
                    None,
                    f"{result.name}: no speed to compare",
                    skipped=f"{result.name}: no measured speed in this run or the baseline",
                ),
                "no speed to compare: skipped",
            )
        skipped = (
            None
            if baseline.same_machine
            else (f"{result.name}: the baseline's speed was measured on another machine; speed is only compared on the same machine fingerprint")
        )
        drop = 1.0 - now / then
        return self._relative_verdict(
            result, drop, -drop, f"{now:,.0f} words/s", f"{then:,.0f}", "drop", baseline=then, delta=now - then, skipped=skipped
        )


@dataclass(frozen=True)
class SizeRegressionGate(BaselineGate):
    """Size not above the baseline's by more than ``max_growth`` (a fraction)."""

    key: ClassVar[str] = "size_max_growth"
    metric: ClassVar[str] = "size_growth"
    op: ClassVar[str] = "<="
    value_format: ClassVar[str] = ".1%"
    delta_format: ClassVar[str] = ",.0f"

    @property
    def id(self) -> str:
        return f"size_growth<={self.threshold:.2f}[baseline]"

    def _judge(self, result: PipelineResult, baseline: BaselineComparison) -> Verdict:
        now, then = result.size_bytes, baseline.baseline_size_bytes
        if not now or not then:
            return _decided(
                self._verdict(
                    False,
                    float("nan"),
                    None,
                    f"{result.name}: no size to compare",
                    skipped=f"{result.name}: no known size in this run or the baseline",
                ),
                "no size to compare: skipped",
            )
        growth = now / then - 1.0
        return self._relative_verdict(
            result, growth, growth, f"{now:,} bytes", f"{then:,}", "growth", baseline=float(then), delta=float(now - then)
        )


def annotation_diff(gold: Any, predicted: Any, text: str, threshold: float = DEFAULT_THRESHOLD) -> str:
    """Gold vs predicted as a diff: ``- 'sushi' Dish`` (missed), ``+ 'in town.' Location`` (extra)."""
    if isinstance(gold, dict) or isinstance(predicted, dict):
        g = CATEGORY_RULES.positives(dict(gold or {}))
        p = CATEGORY_RULES.positives(dict(predicted or {}), threshold)
        lines = [f"- {k}" for k in sorted(g - p)] + [f"+ {k}" for k in sorted(p - g)]
    else:
        g2, p2 = set(map(tuple, gold or ())), set(map(tuple, predicted or ()))
        lines = [f"- {text[s:e]!r} {label} [{s}:{e}]" for s, e, label in sorted(g2 - p2)] + [
            f"+ {text[s:e]!r} {label} [{s}:{e}]" for s, e, label in sorted(p2 - g2)
        ]
    return "\n".join(lines) if lines else "(no difference)"


@dataclass(frozen=True)
class MustPassGate(Gate):
    """One eval example the pipeline must get exactly right (``must_pass = [<input hash>, ...]``)."""

    input_hash: int = 0
    text: str = ""
    gold: object = None
    key: ClassVar[str] = "must_pass"
    metric: ClassVar[str] = "must_pass"

    @property
    def id(self) -> str:
        return f"must_pass[{self.input_hash}]"

    def judge(self, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
        predicted = result.output_for(self.input_hash)
        diff = annotation_diff(self.gold, predicted, self.text)
        passed = diff == "(no difference)"
        message = f"{result.name}: must-pass example {self.input_hash} {self.text!r} " + (
            "is right" if passed else f"is wrong (- gold only, + predicted only):\n{diff}"
        )
        return self.verdict(
            passed, 1.0 if passed else 0.0, None, message, decision="exactly right: pass" if passed else "differs from gold: FAIL"
        )


def describe_case(case: BehaviourCase) -> str:
    """A failing behavioural case, as the gate message and reports show it."""
    return (
        f"original {case.original!r}; perturbed ({case.change}) {case.text!r}; expected "
        f"[{annotation_text(case.expected, case.text)}], predicted [{annotation_text(case.predicted, case.text)}]"
    )


@dataclass(frozen=True)
class BehaviourGate(Gate):
    """A behavioural check's pass rate over its generated cases, ``>= min_pass_rate``;
    a failure shows the shrunk case."""

    check: str = ""
    min_cases: int = 1  # judged on fewer cases, the check fails (a pass rate of one case means nothing)
    key: ClassVar[str] = "min_pass_rate"
    metric: ClassVar[str] = "pass"

    @property
    def id(self) -> str:
        return f"pass>={self.threshold:.2f}[{self.check}]"

    def judge_behaviour(self, result: BehaviourResult) -> Verdict:
        if result.skipped:
            reason = f"{result.pipeline}: behaviour check {self.check} skipped: {result.skipped}"
            return self.verdict(False, float("nan"), None, reason, skipped=reason, decision="not run: skipped")
        if result.cases < self.min_cases:
            why = f" ({result.note})" if result.note else ""
            message = (
                f"{result.pipeline}: {self.check} was judged on {result.cases} case(s), fewer than its "
                f"min_cases ({self.min_cases}){why}: too few to say the model passes"
            )
            return self.verdict(False, result.pass_rate, None, message, decision=f"{result.cases} case(s) < min_cases {self.min_cases}: FAIL")
        passed = result.pass_rate >= self.threshold
        message = (
            f"{result.pipeline}: {self.check} pass rate = {result.pass_rate:.3f} "
            f"({result.passed}/{result.cases} cases, 95% CI {format_interval(result.ci)}) "
            f"{'meets' if passed else 'fails'} >= {self.threshold:.3f}"
        )
        if result.shrunk:
            message += f"; shrunk failing case: {describe_case(result.shrunk[0])}"
        decision = f"pass rate {result.pass_rate:.3f} {'>=' if passed else '<'} {self.threshold:.3f}: {_outcome(passed)}"
        return self.verdict(passed, result.pass_rate, result.ci, message, decision=decision)


#: Threshold gates by their suite key (``label_f_min`` expands per gold label).
THRESHOLD_GATES: dict[str, type[Gate]] = {cls.key: cls for cls in (MicroFGate, MacroFGate, LabelFGate, WordsPerSecondGate, SizeGate)}


def judge(gate: Gate, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
    """Functional form of :meth:`Gate.judge`."""
    return gate.judge(result, comparison)


def _gate_classes() -> list[type[Gate]]:
    found: list[type[Gate]] = []
    pending: list[type[Gate]] = [Gate]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def formats_for(gate_id: str) -> tuple[str, str]:
    """(measured/threshold format, baseline/delta format) of the gate a verdict's id names,
    for verdicts read back from JSON (a :class:`Verdict` in memory carries them itself)."""
    named = [(len(name), cls) for cls in _gate_classes() for name in (cls.metric, cls.key) if name and gate_id.startswith(name)]
    if not named:
        return Gate.value_format, Gate.delta_format
    cls = max(named, key=lambda pair: pair[0])[1]
    return cls.value_format, cls.delta_format
