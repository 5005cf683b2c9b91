"""The Runner protocol: every pipeline kind returns the same :class:`RunOutput`. A leaf:
the concrete runners import this module, never the other way round."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..core.results import LLMStats, Output, SpeedStats
from ..core.spans import SpanTuple
from ..core.tasks import task_of

if TYPE_CHECKING:
    from ..gold.records import GoldExample
    from ..specs import PipelineSpec


@dataclass(frozen=True)
class Prediction:
    """What a pipeline said about one text."""

    spans: tuple[SpanTuple, ...] = ()
    cats: Mapping[str, float] | None = None
    n_words: int = 0

    def output(self, task: str) -> Output:
        """The annotation alone: spans for NER, label scores otherwise."""
        return self.spans if task_of(task).has_spans else dict(self.cats or {})


@dataclass(frozen=True)
class RunOutput:
    """What any runner returns: predictions (in input order) plus the figures about
    the pipeline that produced them."""

    predictions: tuple[Prediction, ...]
    speed: SpeedStats
    path: str
    size_bytes: int = 0
    size_source: str = "unknown"  # disk | declared | unknown
    n_params: int | None = None
    training: Mapping[str, Any] = field(default_factory=dict)  # the model's harness training record
    train_examples: int | None = None
    llm: LLMStats | None = None
    missing: int = 0  # imported predictions: examples without one
    unanswered: tuple[int, ...] = ()  # LLM: positions whose answer was empty or unparseable
    model_labels: tuple[str, ...] | None = None  # labels the model can predict, when it says
    identity: Mapping[str, Any] = field(default_factory=dict)  # see harness.runners.identity

    def outputs(self, task: str) -> list[Output]:
        return [p.output(task) for p in self.predictions]


# -- what lives until the process exits ---------------------------------------------------
# Loading spaCy builds a heap that lives until exit. Whether it is frozen out of the garbage
# collector is the process's decision (harness.heap: only the CLI's own processes do), not
# the runners': they mark the blocks, the process installs the policy.


class LoadPolicy(Protocol):
    def long_lived(self) -> AbstractContextManager[None]: ...

    def freeze_so_far(self) -> None: ...


class _LeaveAlone:
    """The default: a library user's process (pytest, a notebook) keeps its collector as is."""

    def long_lived(self) -> AbstractContextManager[None]:
        return nullcontext()

    def freeze_so_far(self) -> None:
        return None


_policy: list[LoadPolicy] = [_LeaveAlone()]


def set_load_policy(policy: LoadPolicy) -> None:
    """Install how this process treats what pipelines load (see :mod:`harness.heap`)."""
    _policy[0] = policy


def long_lived() -> AbstractContextManager[None]:
    """A block that builds objects living until exit (``import spacy``, ``spacy.load``)."""
    return _policy[0].long_lived()


def freeze_so_far() -> None:
    """Inside :func:`long_lived`: what exists now lives until exit (see :mod:`harness.heap`)."""
    _policy[0].freeze_so_far()


#: A loaded pipeline as a function of texts (behavioural checks predict many small batches).
Predict = Callable[[Sequence[str]], list[Output]]
#: The same with each answer's word count (an engine's worker: speed needs the words).
PredictRows = Callable[[Sequence[str]], list[Prediction]]


class Runner(Protocol):
    """Runs one kind of pipeline over gold examples (see :mod:`harness.runners.registry`).

    ``timed=False`` skips the one-by-one latency pass (e.g. predicting a pool);
    ``llm_mode`` overrides an LLM cassette's mode (other kinds ignore it).
    """

    kind: ClassVar[str]

    def run(
        self, spec: PipelineSpec, examples: Sequence[GoldExample], *, task: str, llm_mode: str | None = None, timed: bool = True
    ) -> RunOutput: ...

    def predictor(self, spec: PipelineSpec, task: str, *, llm_mode: str | None = None) -> Predict:
        """The pipeline loaded once, as ``texts -> outputs`` (an error for a kind without a model)."""
        ...


class RowRunner(Runner, Protocol):
    """A runner whose answers come with word counts (optional: engines count whitespace words
    for a runner without it)."""

    def row_predictor(self, spec: PipelineSpec, task: str, *, llm_mode: str | None = None) -> PredictRows:
        """The pipeline loaded once, as ``texts -> predictions``; an answer it cannot give is an error."""
        ...
