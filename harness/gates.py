"""Gates: pure verdicts over a :class:`~harness.results.PipelineResult`. No printing."""

from __future__ import annotations

from dataclasses import dataclass

from .results import Comparison, PipelineResult, Verdict

#: gate keys accepted in a suite's ``[gates.<pipeline>]`` table -> (metric, operator)
GATE_KEYS: dict[str, tuple[str, str]] = {
    "f_min": ("f", ">="),
    "macro_f_min": ("macro_f", ">="),
    "label_f_min": ("label_f", ">="),
    "words_per_second_min": ("words_per_second", ">="),
    "size_bytes_max": ("size_bytes", "<="),
}


@dataclass(frozen=True)
class Gate:
    """One release criterion for one pipeline; becomes one pytest item."""

    pipeline: str
    metric: str  # f | macro_f | label_f | words_per_second | size_bytes
    op: str  # ">=" or "<="
    threshold: float
    label: str | None = None
    reference: str | None = None  # vs_llm: the LLM pipeline compared against

    @property
    def id(self) -> str:
        """Readable test id, e.g. ``label[Location]::f>=0.80``."""
        if self.metric in ("f", "macro_f"):
            return f"{self.metric}{self.op}{self.threshold:.2f}"
        if self.metric == "label_f":
            return f"label[{self.label}]::f{self.op}{self.threshold:.2f}"
        if self.metric == "vs_llm":
            scope = f"label[{self.label}]::" if self.label else ""
            return f"distilled_vs_llm[{self.reference}]::{scope}drop<={-self.threshold:.2f}"
        value = int(self.threshold) if float(self.threshold).is_integer() else self.threshold
        return f"{self.metric}{self.op}{value}"


def _fmt(metric: str, value: float) -> str:
    if metric in ("words_per_second", "size_bytes"):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def judge(gate: Gate, result: PipelineResult, comparison: Comparison | None = None) -> Verdict:
    """Compare the measured point estimate with the threshold; report the CI beside it.

    ``vs_llm`` gates (which need ``comparison``) judge the *lower CI bound* of the
    paired difference instead: the distilled model passes only if we are 95%
    confident it is not worse than the LLM by more than ``max_drop``.
    """
    ci: tuple[float, float] | None = None
    scores = result.scores
    if gate.metric == "vs_llm":
        if comparison is None:
            raise ValueError("a distilled_vs_llm gate needs the comparison")
        difference = comparison.micro if gate.label is None else comparison.label(gate.label)
        ci = difference.ci
        passed = ci[0] > gate.threshold
        scope = "micro F" if gate.label is None else f"F of label {gate.label}"
        message = (
            f"{result.name} - {gate.reference}: {scope} difference = {difference.diff:+.3f} "
            f"(paired 95% CI {ci[0]:+.3f} to {ci[1]:+.3f}); lower bound {'above' if passed else 'not above'} "
            f"{gate.threshold:+.3f} (max_drop {-gate.threshold:.3f})"
        )
        return Verdict(gate.id, gate.pipeline, passed, ci[0], gate.threshold, ">", ci, message)
    if gate.metric == "f":
        measured, ci, what = scores.micro.f, scores.micro.f_ci, "micro F"
    elif gate.metric == "macro_f":
        measured, ci, what = scores.macro_f, scores.macro_f_ci, "macro F"
    elif gate.metric == "label_f":
        assert gate.label is not None
        try:
            label = scores.label(gate.label)
        except KeyError:
            measured, ci = 0.0, None
        else:
            measured, ci = label.f, label.f_ci
        what = f"F of label {gate.label}"
    elif gate.metric == "words_per_second":
        measured, what = result.words_per_second, "words/second"
    elif gate.metric == "size_bytes":
        measured, what = float(result.size_bytes), "size on disk (bytes)"
    else:  # pragma: no cover - suites reject unknown metrics
        raise ValueError(gate.metric)
    passed = measured >= gate.threshold if gate.op == ">=" else measured <= gate.threshold
    ci_text = f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci is not None else ""
    relation = "meets" if passed else "fails"
    message = (
        f"{result.name}: {what} = {_fmt(gate.metric, measured)}{ci_text} {relation} "
        f"{gate.op} {_fmt(gate.metric, gate.threshold)}"
    )
    return Verdict(gate.id, gate.pipeline, passed, measured, gate.threshold, gate.op, ci, message)
