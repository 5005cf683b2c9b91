"""Frozen result types: what one run measured. Their JSON form is in :mod:`harness.reports.json_report`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..options import DEFAULT_THRESHOLD
from .metrics import Counts, ScoreTable
from .spans import SpanTuple

#: One pipeline's answer for one example: spans (NER) or label scores (textcat).
Output = tuple[SpanTuple, ...] | dict[str, float]


@dataclass(frozen=True)
class SpeedStats:
    """Throughput and latency, measured during the prediction pass itself.

    The first ``latency_docs`` texts go through ``nlp(text)`` one at a time: they
    warm the pipeline up and give per-document latency. The rest go through
    ``nlp.pipe`` in batches, each timed on its own; ``words_per_second`` is the
    median over those timed batches (words = tokens, as ``spacy benchmark speed``
    counts them). No text is processed twice, so evaluation costs one pass.
    """

    words_per_second: float
    words: int
    docs: int
    seconds: float
    latency_p50_ms: float
    latency_p95_ms: float
    timed_batches: int
    batch_size: int
    method: str = "median words/s over timed nlp.pipe batches after per-doc warm-up"


@dataclass(frozen=True)
class LLMStats:
    """What is particular to an LLM pipeline (figures from the run and its cassette)."""

    mode: str  # replay | record | live
    simulated: bool
    model: Mapping[str, Any]
    responses: int
    unparseable: int  # empty answers or answers the task's parser takes nothing from
    unparseable_examples: tuple[tuple[str, str], ...]  # (text, response) of the first few
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool  # True when the backend reported no usage (chars / 4)
    cost_usd: float | None
    recorded_latency_p50_ms: float | None
    recorded_latency_p95_ms: float | None
    record_words_per_second: float | None  # words / sum of recorded latencies (sequential)
    calls_made: int
    cached: int
    failures: int

    @property
    def unparseable_share(self) -> float:
        return self.unparseable / self.responses if self.responses else 0.0


@dataclass(frozen=True)
class GoldInfo:
    """Which gold a result was computed on: results only compare on the same sha256."""

    name: str
    version: int
    sha256: str
    task: str
    train_examples: int
    eval_examples: int

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class PipelineResult:
    """Everything measured about one pipeline on one gold eval split."""

    name: str
    kind: str
    path: str
    task: str
    scores: ScoreTable
    overlap: ScoreTable | None
    macro_auc: float | None
    speed: SpeedStats
    size_bytes: int
    n_params: int | None
    train_examples: int | None
    eval_examples: int
    example_ids: tuple[int, ...]  # position -> gold input hash
    training: Mapping[str, Any] = field(default_factory=dict)
    size_source: str = "disk"  # disk | declared | unknown
    llm: LLMStats | None = None
    missing_predictions: int = 0  # imported predictions: eval examples without one
    counts: Mapping[str, Counts] = field(default_factory=dict)  # per label, for paired comparisons
    # Per example (same order as example_ids): spans tuples (NER) or cats dicts, for the queue.
    outputs: tuple[Output, ...] = ()
    unanswered: tuple[int, ...] = ()  # LLM: positions whose answer was empty or unparseable
    warnings: tuple[str, ...] = ()  # things a reader must know to trust the figures
    # What produced the outputs: kind, path, sha256 (model files / config + cassette /
    # predictions file) and the model's meta; baselines compare it with the blessed one.
    identity: Mapping[str, Any] = field(default_factory=dict)

    @property
    def micro(self) -> Any:
        """The micro-averaged :class:`~harness.core.metrics.LabelScore` (``.f``, ``.f_ci``, ...)."""
        return self.scores.micro

    def label(self, name: str) -> Any:
        """One label's :class:`~harness.core.metrics.LabelScore`; KeyError for a label not scored."""
        return self.scores.label(name)

    def failing(self, label: str | None = None) -> tuple[int, ...]:
        """Input hashes of the eval examples with a false positive or negative (of ``label``)."""
        counts = [self.counts[label]] if label is not None else list(self.counts.values())
        positions = sorted({i for c in counts for i in (*c.fp, *c.fn)})
        return tuple(self.example_ids[i] for i in positions)

    def output_for(self, input_hash: int) -> Output:
        """This pipeline's answer for one eval example."""
        return self.outputs[self.example_ids.index(input_hash)]

    @property
    def words_per_second(self) -> float:
        """The speed a user gets: for an LLM, the recorded calls' (replaying a cassette
        is not running the model); for anything else, the measured speed."""
        if self.llm is not None and self.llm.record_words_per_second is not None:
            return self.llm.record_words_per_second
        return self.speed.words_per_second


@dataclass(frozen=True)
class Verdict:
    """The outcome of one gate: pure data, no printing."""

    gate_id: str
    pipeline: str
    passed: bool
    measured: float
    threshold: float
    op: str
    ci: tuple[float, float] | None
    message: str
    skipped: str | None = None  # why the gate could not be judged (e.g. speed on another machine)
    baseline: float | None = None  # regression gates: the blessed value ...
    delta: float | None = None  # ... and current minus it
    # no_regression gates (see harness.core.noise): one-sided p of the drop, Holm-adjusted
    # over the pipeline's family of F gates, which noise the test includes, the smallest
    # drop it can tell from that noise, and a warning when max_drop is below it.
    p_value: float | None = None
    p_adjusted: float | None = None
    noise: str | None = None
    min_detectable: float | None = None
    warning: str | None = None
    # Why it passed or failed, in one short phrase naming the figure the rule compared and
    # which part of a two-part rule decided, e.g. "drop 0.058 > 0.020 but not significant
    # (Holm p 0.453): pass". Every surface shows it beside the measured value.
    decision: str = ""
    # How its figures print: measured and threshold, and baseline and delta (format specs).
    value_format: str = ".3f"
    delta_format: str = ".3f"


@dataclass(frozen=True)
class Difference:
    """F of a, F of b, a - b and its paired 95% CI."""

    label: str
    a_f: float
    b_f: float
    diff: float
    ci: tuple[float, float]

    @property
    def significant(self) -> bool:
        """The CI excludes zero."""
        return not math.isnan(self.ci[0]) and (self.ci[0] > 0 or self.ci[1] < 0)


@dataclass(frozen=True)
class Comparison:
    """``a`` (e.g. the distilled model) against ``b`` (e.g. the LLM)."""

    a: str
    b: str
    micro: Difference
    macro: Difference
    labels: tuple[Difference, ...]
    speed_ratio: float | None  # words/s of a over b
    size_ratio: float | None  # size of a over b
    resamples: int
    seed: int

    def label(self, name: str) -> Difference:
        for difference in self.labels:
            if difference.label == name:
                return difference
        raise KeyError(name)


@dataclass(frozen=True)
class Flip:
    """One example whose correctness on one label changed since the baseline.

    ``broken``: the baseline got the label right on this example and the current
    model gets it wrong; otherwise newly fixed. Annotations are the label's spans
    (NER) or the label's score (textcat), gold, baseline and current.
    """

    label: str
    input_hash: int
    broken: bool
    text: str
    gold: Output
    baseline: Output
    current: Output


@dataclass(frozen=True)
class RegressionTest:
    """One scope (micro or a label) of a candidate against the blessed configuration:
    the mean F of ``models`` reference models (the blessed one and its replicates),
    the difference, its noise (eval sample, and training when ``models`` > 1) and the
    one-sided p-value of the drop. See :mod:`harness.core.noise`."""

    scope: str  # "micro" or a label
    support: int
    current_f: float
    reference_f: float  # mean over the reference models
    blessed_f: float  # the blessed model alone
    models: int
    reference_range: tuple[float, float]  # min and max F over the reference models
    train_sd: float | None  # SD of F over the reference models; None: no replicates
    se_eval: float
    se: float  # sqrt(se_eval^2 + train_sd^2 (1 + 1/models))
    diff: float  # current_f - reference_f
    ci: tuple[float, float]  # diff +- z * se
    p_value: float
    sources: str  # "eval sample only" | "eval sample + training (M models)"


@dataclass(frozen=True)
class BaselineComparison:
    """The current run of one pipeline against its blessed baseline, paired per example.

    ``comparison`` is current minus baseline on the ``compared`` examples: those of
    the current eval split whose gold annotation is identical in the baseline's gold
    version (``changed`` had different gold there, ``unseen`` were not in it).
    """

    pipeline: str
    baseline_file: str
    blessed: str  # when it was blessed (ISO time)
    baseline_gold: str  # gold ref of the baseline
    comparison: Comparison | None  # None when too few examples are comparable
    compared: int
    eval_examples: int
    changed: int
    unseen: int
    identical_model: bool
    identical_predictions: bool
    differing_predictions: int  # compared examples whose prediction differs from the baseline's
    flips: tuple[Flip, ...]
    baseline_words_per_second: float | None
    baseline_size_bytes: int | None
    same_machine: bool
    problem: str | None = None  # why the comparison cannot gate (too few comparable examples, ...)
    # Against the blessed configuration (micro first, then labels); () when the predictions are
    # identical to the blessed model's and there are no replicates to compare with.
    tests: tuple[RegressionTest, ...] = ()
    replicates: int = 0  # replicate models in the baseline (0: eval-sample noise only)

    def test(self, scope: str) -> RegressionTest:
        for test in self.tests:
            if test.scope == scope:
                return test
        raise KeyError(scope)

    @property
    def broken(self) -> tuple[Flip, ...]:
        return tuple(f for f in self.flips if f.broken)

    @property
    def fixed(self) -> tuple[Flip, ...]:
        return tuple(f for f in self.flips if not f.broken)

    @property
    def coverage(self) -> float:
        return self.compared / self.eval_examples if self.eval_examples else 0.0


@dataclass(frozen=True)
class BehaviourCase:
    """One generated case of a behavioural check: the original and perturbed texts, what
    changed, the expected and the predicted answer."""

    input_hash: int  # of the original eval example
    original: str
    text: str
    change: str
    expected: Output
    predicted: Output
    passed: bool


@dataclass(frozen=True)
class BehaviourResult:
    """A behavioural check of one pipeline: pass rate over the generated cases (95% Wilson
    CI), the shrunk failing cases, and the failures sent to the queue."""

    pipeline: str
    check: str
    cases: int
    passed: int
    pass_rate: float
    ci: tuple[float, float]
    min_pass_rate: float
    shrunk: tuple[BehaviourCase, ...]
    failures: tuple[BehaviourCase, ...]
    seconds: float
    skipped: str | None = None  # why the check was not run (replay mode: a cassette cannot answer new prompts)
    note: str | None = None  # what limited the cases (examples left out, nothing to perturb, the time budget)


@dataclass(frozen=True)
class EvalExample:
    """An eval example as reports show it: its id, text and gold annotation."""

    input_hash: int
    text: str
    gold: Output


@dataclass(frozen=True)
class SuiteResult:
    """One suite's gold, pipeline results (or errors) and gate verdicts."""

    name: str
    file: str
    gold: GoldInfo
    pipelines: Mapping[str, PipelineResult]
    errors: Mapping[str, str]
    verdicts: Sequence[Verdict]
    comparisons: Sequence[Comparison] = ()
    baselines: Mapping[str, BaselineComparison] = field(default_factory=dict)  # per pipeline
    baseline_problem: str | None = None  # e.g. the suite has no baseline file, or it is damaged
    examples: Sequence[EvalExample] = ()  # the eval split (same order as every pipeline's outputs)
    behaviour: Sequence[BehaviourResult] = ()
    threshold: float = DEFAULT_THRESHOLD  # textcat decision threshold the scores used
    # Why the verdicts do not cover the suite (interrupted, gates not selected or not reached,
    # no gates at all); None when every gate of the suite was judged. An incomplete suite
    # never counts as passed: a gate that was not judged is not a gate that passed.
    incomplete: str | None = None
    gates_total: int = 0  # gates the suite defines (the verdicts are those judged)
    # The pipelines' roles, resolved once on the parsed suite (harness.specs.SuiteSpec): the
    # distilled model the suite releases and the LLM it is compared with (None: none ran).
    distilled: str | None = None
    llm: str | None = None

    @property
    def passed(self) -> bool:
        return not self.errors and self.incomplete is None and all(v.passed or v.skipped for v in self.verdicts)

    @property
    def status(self) -> str:
        """PASSED, FAILED, or INCOMPLETE (nothing failed, but not every gate was judged)."""
        if self.passed:
            return "PASSED"
        failed = self.errors or any(not v.passed and not v.skipped for v in self.verdicts)
        return "FAILED" if failed else "INCOMPLETE"


@dataclass(frozen=True)
class NoiseRow:
    """One scope (micro or a label) of a pipeline's blessed configuration: F over its models
    and the smallest drop its no_regression gate can tell from noise."""

    scope: str
    support: int
    mean_f: float
    sd: float | None
    low: float
    high: float
    min_detectable: float
    max_drop: float | None  # the gate's, if the pipeline has a no_regression gate on this scope
    sources: str


@dataclass(frozen=True)
class NoiseReport:
    """``harness noise``: per pipeline, the blessed model and its replicates."""

    suite: str
    baseline: str
    confidence: float
    pipelines: dict[str, list[NoiseRow]]
    models: dict[str, list[tuple[str, float]]]  # pipeline -> (seed or "blessed", micro F)
    machines: dict[str, str]  # pipeline -> machine the replicates were trained on
