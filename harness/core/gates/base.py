"""The gate base class and what every gate uses to word and print its verdict."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ...options import DEFAULT_THRESHOLD
from ..results import BehaviourCase, Comparison, PipelineResult, Verdict
from ..stats import format_interval
from ..tasks import CATEGORY_RULES
from ..text import annotation_text

#: The number format of figures that are counts (words/second, bytes): whole numbers, and so are their ids.
WHOLE_NUMBERS = ",.0f"


def outcome(passed: bool) -> str:
    return "pass" if passed else "FAIL"


def decided(verdict: Verdict, decision: str) -> Verdict:
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
    value_format: ClassVar[str] = ".3f"  # how measured and threshold print (carried on the verdict)
    delta_format: ClassVar[str] = ".3f"  # how baseline and delta print

    @property
    def id(self) -> str:
        """Readable test id, e.g. ``f>=0.70``, ``words_per_second>=2000``, ``label_f>=0.40[Dish]``."""
        if self.value_format == WHOLE_NUMBERS:
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
        shown, limit = format(measured, self.value_format), format(self.threshold, self.value_format)
        message = f"{result.name}: {what} = {shown}{ci_text} {'meets' if passed else 'fails'} {self.op} {limit}"
        # The rule compares the point estimate; the CI is shown beside it, not used.
        failed_op = "<" if self.op == ">=" else ">"
        decision = f"{shown} {self.op if passed else failed_op} {limit}: {outcome(passed)}"
        return self.verdict(passed, measured, ci, message, decision=decision)


def format_p(p: float) -> str:
    """A p-value for people: 3 significant digits, and "< 1e-15" where a double cannot say more."""
    return "< 1e-15" if p < 1e-15 else f"{p:.3g}"


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


def describe_case(case: BehaviourCase) -> str:
    """A failing behavioural case, as the gate message and reports show it."""
    return (
        f"original {case.original!r}; perturbed ({case.change}) {case.text!r}; expected "
        f"[{annotation_text(case.expected, case.text)}], predicted [{annotation_text(case.predicted, case.text)}]"
    )
