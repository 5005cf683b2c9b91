"""Gates on a run's own figures: F, speed, size, the LLM comparison, must-pass examples and
behavioural checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..results import BehaviourResult, Comparison, PipelineResult, Verdict
from ..stats import format_interval
from .base import WHOLE_NUMBERS, Gate, annotation_diff, describe_case, outcome


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
    value_format: ClassVar[str] = WHOLE_NUMBERS
    delta_format: ClassVar[str] = WHOLE_NUMBERS

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        return result.words_per_second, None, "words/second"


@dataclass(frozen=True)
class SizeGate(Gate):
    key: ClassVar[str] = "size_bytes_max"
    metric: ClassVar[str] = "size_bytes"
    op: ClassVar[str] = "<="
    value_format: ClassVar[str] = WHOLE_NUMBERS
    delta_format: ClassVar[str] = WHOLE_NUMBERS

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
            f"(difference {difference.diff:+.3f}): {outcome(passed)}"
        )
        return self.verdict(passed, difference.diff, ci, message, decision=decision)


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
        decision = f"pass rate {result.pass_rate:.3f} {'>=' if passed else '<'} {self.threshold:.3f}: {outcome(passed)}"
        return self.verdict(passed, result.pass_rate, result.ci, message, decision=decision)


#: Threshold gates by their suite key (``label_f_min`` expands per gold label).
THRESHOLD_GATES: dict[str, type[Gate]] = {cls.key: cls for cls in (MicroFGate, MacroFGate, LabelFGate, WordsPerSecondGate, SizeGate)}
