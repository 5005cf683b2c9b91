"""Gates against the blessed baseline: no regression in F (noise-aware, Holm-adjusted over a
pipeline's family), speed and size."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from ...options import CONFIDENCE
from ..noise import holm, min_detectable_drop
from ..results import BaselineComparison, Comparison, Difference, PipelineResult, RegressionTest, Verdict
from ..stats import format_interval
from .base import Gate, decided, format_p, outcome


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
            return decided(self._verdict(False, float("nan"), None, f"{result.name}: {problem}"), "no usable baseline: FAIL")
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

    def _nothing_to_compare(self, result: PipelineResult, what: str, why: str) -> Verdict:
        """Skipped, saying why: a figure missing on either side cannot be compared."""
        verdict = self._verdict(False, float("nan"), None, f"{result.name}: no {what} to compare", skipped=f"{result.name}: {why}")
        return decided(verdict, f"no {what} to compare: skipped")

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
            "skipped (another machine)" if skipped else outcome(within)
        )
        return decided(
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
            message = (
                f"{result.name}: the model is byte-identical to the baseline's (sha256 "
                f"{str(result.identity.get('sha256', ''))[:12]}) but {baseline.differing_predictions} of "
                f"{baseline.compared} predictions differ: the pipeline is not deterministic"
            )
            return decided(self._verdict(False, float("nan"), None, message), "same model, other predictions (not deterministic): FAIL")
        if baseline.identical_predictions and not baseline.tests:
            return self._identical(result, baseline)
        try:
            test = baseline.test(self.label or "micro")
        except KeyError:
            return self._not_compared(result)
        return self._tested(result, baseline, test)

    @property
    def _what(self) -> str:
        return "micro F" if self.label is None else f"F of label {self.label}"

    def _not_compared(self, result: PipelineResult) -> Verdict:
        message = f"{result.name}: label {self.label} is not in the comparison"
        return decided(self._verdict(False, float("nan"), None, message), "label not compared: FAIL")

    def _identical(self, result: PipelineResult, baseline: BaselineComparison) -> Verdict:
        """The fast path: the same predictions as the blessed model, and no replicates to weigh."""
        assert baseline.comparison is not None
        difference = baseline.comparison.micro if self.label is None else _difference(baseline, self.label)
        if difference is None:
            return self._not_compared(result)
        message = f"{result.name}: {self._what} {difference.a_f:.3f}: identical to baseline{_coverage_note(baseline)}"
        verdict = self._verdict(True, 0.0, (0.0, 0.0), message, baseline=difference.b_f, delta=0.0)
        return decided(verdict, "identical predictions to the baseline: pass")

    def _tested(self, result: PipelineResult, baseline: BaselineComparison, test: RegressionTest) -> Verdict:
        """Against the blessed configuration: fails on a drop beyond max_drop that is significant after Holm."""
        scope = self.label or "micro"
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
            f"{result.name}: {self._what} {test.current_f:.3f} vs {reference} "
            f"({test.diff:+.3f}, {CONFIDENCE:.0%} CI {format_interval(test.ci, signed=True)}; p {format_p(test.p_value)}, "
            f"Holm-adjusted {format_p(adjusted)} over {len(family)} gate{'s' if len(family) != 1 else ''}; noise: "
            f"{test.sources}): {why}{_coverage_note(baseline)}"
        )
        verdict = self._verdict(passed, test.diff, test.ci, message, baseline=test.reference_f, delta=test.diff)
        decision = _two_part_decision(baseline.identical_predictions, dropped, significant, -test.diff, max_drop, format_p(adjusted))
        return replace(
            verdict, p_value=test.p_value, p_adjusted=adjusted, noise=test.sources, min_detectable=detectable, warning=warning, decision=decision
        )


def _two_part_decision(identical: bool, dropped: bool, significant: bool, drop: float, max_drop: float, holm_p: str) -> str:
    """Which part of the rule decided: the size of the drop against max_drop, and its significance."""
    if identical:
        return "identical predictions to the baseline: pass"
    if not dropped:
        return f"no drop ({-drop:+.3f}): pass" if drop <= 0 else f"drop {drop:.3f} <= {max_drop:.3f}: pass"
    if not significant:
        return f"drop {drop:.3f} > {max_drop:.3f} but not significant (Holm p {holm_p}): pass"
    return f"drop {drop:.3f} > {max_drop:.3f} and significant (Holm p {holm_p}): FAIL"


def _difference(baseline: BaselineComparison, label: str) -> Difference | None:
    assert baseline.comparison is not None
    try:
        return baseline.comparison.label(label)
    except KeyError:
        return None


@dataclass(frozen=True)
class RelativeBaselineGate(BaselineGate):
    """A relative change of a figure against the baseline's (a fraction), passing up to the threshold."""

    op: ClassVar[str] = "<="
    value_format: ClassVar[str] = ".1%"
    delta_format: ClassVar[str] = ",.0f"

    @property
    def id(self) -> str:
        return f"{self.metric}<={self.threshold:.2f}[baseline]"


@dataclass(frozen=True)
class SpeedRegressionGate(RelativeBaselineGate):
    """words/second not below the baseline's by more than ``max_drop`` (a fraction).
    Speed from another machine is not comparable: the gate is skipped, not failed."""

    key: ClassVar[str] = "words_per_second_max_drop"
    metric: ClassVar[str] = "speed_drop"

    def _judge(self, result: PipelineResult, baseline: BaselineComparison) -> Verdict:
        now, then = result.words_per_second, baseline.baseline_words_per_second
        if not then or then != then or now != now:
            return self._nothing_to_compare(result, "speed", "no measured speed in this run or the baseline")
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
class SizeRegressionGate(RelativeBaselineGate):
    """Size not above the baseline's by more than ``max_growth`` (a fraction)."""

    key: ClassVar[str] = "size_max_growth"
    metric: ClassVar[str] = "size_growth"

    def _judge(self, result: PipelineResult, baseline: BaselineComparison) -> Verdict:
        now, then = result.size_bytes, baseline.baseline_size_bytes
        if not now or not then:
            return self._nothing_to_compare(result, "size", "no known size in this run or the baseline")
        growth = now / then - 1.0
        return self._relative_verdict(
            result, growth, growth, f"{now:,} bytes", f"{then:,}", "growth", baseline=float(then), delta=float(now - then)
        )
