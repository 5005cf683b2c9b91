"""Gates: pure verdicts over a :class:`~harness.core.results.PipelineResult`. No printing.

One class per metric. Each knows its suite key, its readable test id and how to
measure itself; :meth:`Gate.judge` turns a measurement into a :class:`Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .results import Comparison, PipelineResult, Verdict
from .stats import format_interval


def _fmt(value: float, big: bool) -> str:
    return f"{value:,.0f}" if big else f"{value:.3f}"


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

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        """(measured value, its CI or None, what it is in words)."""
        raise NotImplementedError

    def judge(self, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
        """Compare the measured point estimate with the threshold; report the CI beside it."""
        measured, ci, what = self.measure(result)
        passed = measured >= self.threshold if self.op == ">=" else measured <= self.threshold
        ci_text = f" (95% CI {format_interval(ci)})" if ci is not None else ""
        message = (f"{result.name}: {what} = {_fmt(measured, self.big_numbers)}{ci_text} "
                   f"{'meets' if passed else 'fails'} {self.op} {_fmt(self.threshold, self.big_numbers)}")
        return Verdict(self.id, self.pipeline, passed, measured, self.threshold, self.op, ci, message)


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

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
        return result.words_per_second, None, "words/second"


@dataclass(frozen=True)
class SizeGate(Gate):
    key: ClassVar[str] = "size_bytes_max"
    metric: ClassVar[str] = "size_bytes"
    op: ClassVar[str] = "<="
    big_numbers: ClassVar[bool] = True

    def measure(self, result: PipelineResult) -> tuple[float, tuple[float, float] | None, str]:
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
        scope = f"{self.llm}-{self.label}" if self.label else self.llm
        return f"vs_llm_drop<={-self.threshold:.2f}[{scope}]"

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
        return Verdict(self.id, self.pipeline, passed, ci[0], self.threshold, ">", ci, message)


#: Threshold gates by their suite key (``label_f_min`` expands per gold label).
THRESHOLD_GATES: dict[str, type[Gate]] = {
    cls.key: cls for cls in (MicroFGate, MacroFGate, LabelFGate, WordsPerSecondGate, SizeGate)
}


def judge(gate: Gate, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
    """Functional form of :meth:`Gate.judge`."""
    return gate.judge(result, comparison)
