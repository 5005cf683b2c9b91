"""Gates: pure verdicts over a :class:`~harness.core.results.PipelineResult`. No printing.

One class per metric. Each knows its suite key, its readable test id and how to
measure itself; :meth:`Gate.judge` turns a measurement into a :class:`Verdict`.
:mod:`.base` holds the base class, :mod:`.threshold` the gates on a run's own figures,
:mod:`.baseline` those against the blessed baseline.
"""

from __future__ import annotations

from ..results import Comparison, PipelineResult, Verdict
from .base import Gate, annotation_diff, describe_case, format_p
from .baseline import BaselineGate, NoRegressionGate, SizeRegressionGate, SpeedRegressionGate
from .threshold import (
    THRESHOLD_GATES,
    BehaviourGate,
    LabelFGate,
    MacroFGate,
    MicroFGate,
    MustPassGate,
    SizeGate,
    VsLLMGate,
    WordsPerSecondGate,
)

__all__ = [
    "THRESHOLD_GATES",
    "BaselineGate",
    "BehaviourGate",
    "Gate",
    "LabelFGate",
    "MacroFGate",
    "MicroFGate",
    "MustPassGate",
    "NoRegressionGate",
    "SizeGate",
    "SizeRegressionGate",
    "SpeedRegressionGate",
    "VsLLMGate",
    "WordsPerSecondGate",
    "annotation_diff",
    "describe_case",
    "format_p",
    "formats_for",
    "judge",
]


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
