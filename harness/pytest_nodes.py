"""The pytest collection tree of a suite file, and the run's session in ``config.stash``.

    suites/restaurant.toml                      SuiteFile
      restaurant-ner                            SuiteNode
        distilled                               PipelineNode
          evaluate                              EvaluateItem
          label_f>=0.80[Location]              GateItem
          behaviour                             BehaviourNode
            pass>=0.90[lowercase]               GateItem

Nothing heavy at import (the plugin imports this module for every pytest run): the
session, the suite loader and the gates are imported when a suite file is collected.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import options

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .core.gates import Gate
    from .loaded_suite import LoadedSuite
    from .session import HarnessSession

SESSION_KEY: pytest.StashKey[HarnessSession] = pytest.StashKey()


class GateFailure(AssertionError):
    """A gate's measured value did not meet its threshold."""


def session_of(config: pytest.Config) -> HarnessSession:
    """The run's session, made on first use (the first suite collected, or a worker's results)."""
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        from .session import HarnessSession

        session = HarnessSession(
            options.EvalSettings(
                resamples=config.getoption("harness_resamples"),
                seed=config.getoption("harness_seed"),
                llm_mode=config.getoption("llm_mode"),
                engine=options.engine_choice(
                    config.getoption("harness_engine"), config.getoption("harness_workers"), config.getoption("harness_ray_address")
                ),
            )
        )
        session.blessing = bool(config.getoption("harness_bless"))
        config.stash[SESSION_KEY] = session
    return session


class MessageRepr:
    """Harness errors (bad input, failed gates) are shown as their message, not a traceback."""

    shown_as_message: tuple[type[BaseException], ...] = ()
    collection_error = False  # a file that fails to collect: "InputError: <message>"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from .core.text import printable
        from .errors import HarnessError

        if isinstance(excinfo.value, (HarnessError, *self.shown_as_message)):
            message = printable(str(excinfo.value))  # gold text in a message must not drive the terminal
            if self.collection_error:
                return f"{type(excinfo.value).__name__}: {message}"
            return f"{self.nodeid}\n  {message}"  # type: ignore[attr-defined]  # a mixin: the pytest node has nodeid
        return str(super().repr_failure(excinfo))  # type: ignore[misc]  # a mixin: the pytest node's repr_failure

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # An empty domain makes pytest show the node id verbatim; a dotted domain
        # would be rewritten ("f>=0.80" -> "f>=0::80") by the terminal reporter.
        return self.path, None, ""  # type: ignore[attr-defined]  # a mixin: the pytest node has path


class SuiteFile(MessageRepr, pytest.File):
    """A ``suites/*.toml`` file: parsing and gold verification happen at collection,
    so a bad suite or a tampered gold stops the run before any pipeline runs."""

    collection_error = True

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        from .loaded_suite import load_suite

        suite = load_suite(self.path)
        session_of(self.config).add_suite(suite)
        if not suite.gates:
            # Nothing to judge: the run must not read as a pass. Said here, and as INCOMPLETE in every report.
            self.warn(
                pytest.PytestWarning(
                    f"{self.path.name}: suite {suite.spec.name!r} has no gates: it judges nothing (add a [gates.<pipeline>] table)"
                )
            )
        yield SuiteNode.from_parent(self, name=suite.spec.name, suite=suite)


class SuiteNode(pytest.Collector):
    def __init__(self, *, suite: LoadedSuite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        for pipeline in self.suite.spec.pipelines:
            gates = [g for g in self.suite.gates if g.pipeline == pipeline]
            yield PipelineNode.from_parent(self, name=pipeline, suite=self.suite, gates=gates)


class PipelineNode(pytest.Collector):
    def __init__(self, *, suite: LoadedSuite, gates: list[Gate], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.gates = gates

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        from .core.gates import BehaviourGate

        # Every pipeline gets an "evaluate" item, gates or not: it fails when the
        # pipeline cannot run (missing model, stale cassette), and it puts the
        # pipeline in the side-by-side report.
        yield EvaluateItem.from_parent(self, name="evaluate", suite=self.suite)
        behaviour = [g for g in self.gates if isinstance(g, BehaviourGate)]
        for gate in self.gates:
            if gate not in behaviour:
                yield GateItem.from_parent(self, name=gate.id, suite=self.suite, gate=gate)
        if behaviour:  # ...::distilled::behaviour::pass>=0.90[lowercase] (`-k behaviour` selects them)
            yield BehaviourNode.from_parent(self, name="behaviour", suite=self.suite, gates=behaviour)


class BehaviourNode(pytest.Collector):
    """A pipeline's behavioural checks, one item each."""

    def __init__(self, *, suite: LoadedSuite, gates: list[Gate], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.gates = gates

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        for gate in self.gates:
            yield GateItem.from_parent(self, name=gate.id, suite=self.suite, gate=gate)


class EvaluateItem(MessageRepr, pytest.Item):
    """Runs one pipeline on the gold eval split (once per session, shared with its gates)."""

    def __init__(self, *, suite: LoadedSuite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite

    def runtest(self) -> None:
        assert self.parent is not None  # always a PipelineNode
        result = session_of(self.config).pipeline_result(self.suite.spec.name, self.parent.name)
        self.user_properties.append(("micro_f", result.scores.micro.f))
        self.user_properties.append(("gold", str(self.suite.gold.ref)))


class GateItem(MessageRepr, pytest.Item):
    """One gate of one pipeline. The pipeline runs once, on the first gate that needs it."""

    shown_as_message = (GateFailure,)

    def __init__(self, *, suite: LoadedSuite, gate: Gate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.gate = gate

    def runtest(self) -> None:
        verdict = session_of(self.config).check(self.suite.spec.name, self.gate)
        for key in ("measured", "threshold", "op"):
            self.user_properties.append((key, getattr(verdict, key)))
        if verdict.ci is not None:
            self.user_properties.append(("ci_low", verdict.ci[0]))
            self.user_properties.append(("ci_high", verdict.ci[1]))
        self.user_properties.append(("gold", str(self.suite.gold.ref)))
        if verdict.baseline is not None:
            self.user_properties.append(("baseline", verdict.baseline))
            self.user_properties.append(("delta", verdict.delta))
        for key in ("p_value", "p_adjusted", "noise", "min_detectable", "warning", "decision"):
            if getattr(verdict, key) is not None:
                self.user_properties.append((key, getattr(verdict, key)))
        if verdict.skipped:
            pytest.skip(verdict.skipped)
        if not verdict.passed:
            raise GateFailure(verdict.message)
