"""Writing your own tests in Python: what the plugin's fixtures hand out, and assertion
helpers whose failures read like the suite gates' (measured, threshold, 95% CI).

In a test module of a project that has ``gold/`` (the ``harness_gold_dir`` ini option)::

    def test_dish_recall(harness_gold, harness_pipeline, harness_evaluate):
        gold = harness_gold("restaurant-reviews@v1")            # verified, eval split
        model = harness_pipeline("models/restaurant-ner")        # loaded once per session
        result = harness_evaluate(model, gold)                   # the suites' PipelineResult
        assert_f(result, 0.60, label="Dish")                     # fails like a gate would

    @pytest.mark.harness_examples("restaurant-reviews@v1", split="eval", limit=50)
    def test_each_example(harness_example, harness_pipeline):
        assert_example(harness_pipeline("models/restaurant-ner"), harness_example)

Imports inside functions: users' test modules import this one at collection, in every
project where the plugin is installed; the gold store and runners load when a test uses them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.tasks import task_of
from .options import DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_THRESHOLD

if TYPE_CHECKING:
    from .core.results import Output, PipelineResult
    from .gold.records import GoldExample
    from .gold.store import GoldVersion
    from .specs import PipelineSpec


class HarnessAssertionError(AssertionError):
    """A harness assertion failed; the message says what was measured against what."""


@dataclass(frozen=True)
class GoldSplit:
    """One split of a verified gold version, as ``harness_gold`` hands it out."""

    version: GoldVersion
    split: str
    examples: tuple[GoldExample, ...]

    @property
    def ref(self) -> str:
        return str(self.version.ref)

    @property
    def sha256(self) -> str:
        return self.version.sha256

    @property
    def labels(self) -> list[str]:
        return list(self.version.labels)

    @property
    def task(self) -> str:
        return self.version.task

    def __iter__(self) -> Iterator[GoldExample]:
        return iter(self.examples)

    def __len__(self) -> int:
        return len(self.examples)


@dataclass
class Pipeline:
    """A pipeline as ``harness_pipeline`` hands it out: its spec, and a predictor loaded on
    first use and kept for the session."""

    spec: PipelineSpec
    llm_mode: str | None = None
    _predictors: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def predict(self, texts: Sequence[str], task: str) -> list[Output]:
        """The pipeline's answers for ``texts`` (spans for NER, label scores otherwise)."""
        if task not in self._predictors:
            from .runners import get_runner

            self._predictors[task] = get_runner(self.spec.kind).predictor(self.spec, task, llm_mode=self.llm_mode)
        return self._predictors[task](texts)


def example_id(index: int, example: GoldExample) -> str:
    """A readable pytest id: position and the first words, e.g. ``e12-cheap-sushi-near-me``."""
    words = re.sub(r"[^0-9A-Za-z]+", "-", example.text.lower()).strip("-")[:32].strip("-")
    return f"e{index}-{words or example.input_hash}"


def assert_f(result: PipelineResult, minimum: float, *, label: str | None = None) -> None:
    """Micro F (or ``label``'s F) at least ``minimum``, judged like the ``f_min`` /
    ``label_f_min`` gates: the message gives the measured F, its 95% CI and the threshold."""
    __tracebackhide__ = True  # pytest shows the user's line and the message, not this helper's frame
    from .core.gates import LabelFGate, MicroFGate

    gate = MicroFGate(result.name, minimum) if label is None else LabelFGate(result.name, minimum, label=label)
    verdict = gate.judge(result)
    if not verdict.passed:
        failing = result.failing(label) if label is None or label in result.counts else ()
        raise HarnessAssertionError(
            f"{verdict.message}; {len(failing)} failing eval example(s)"
            + (f", e.g. input hashes {', '.join(map(str, failing[:5]))}" if failing else "")
        )


def assert_not_worse(
    result: PipelineResult,
    reference: PipelineResult,
    max_drop: float,
    *,
    label: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> None:
    """``result`` not worse than ``reference`` (same gold examples) by more than ``max_drop``,
    judged on the lower bound of the paired 95% CI, like ``distilled_vs_llm``."""
    __tracebackhide__ = True  # pytest shows the user's line and the message, not this helper's frame
    from .core.compare import compare
    from .core.gates import VsLLMGate

    comparison = compare(result, reference, resamples=resamples, seed=seed)
    verdict = VsLLMGate(result.name, -max_drop, llm=reference.name, label=label).judge(result, comparison)
    if not verdict.passed:
        raise HarnessAssertionError(verdict.message)


def assert_example(pipeline: Pipeline, example: GoldExample, *, task: str | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
    """The pipeline gets one gold example exactly right; a failure shows gold vs predicted
    as a diff (``-`` gold only, ``+`` predicted only)."""
    __tracebackhide__ = True  # pytest shows the user's line and the message, not this helper's frame
    from .core.gates import annotation_diff

    task = task or ("ner" if example.cats is None else "textcat")
    predicted = pipeline.predict([example.text], task)[0]
    gold: Any = task_of(task).gold_output(example)
    diff = annotation_diff(gold, predicted, example.text, threshold)
    if diff != "(no difference)":
        raise HarnessAssertionError(f"{pipeline.name} on example {example.input_hash} {example.text!r} (- gold only, + predicted only):\n{diff}")


def resolve_gold(gold_dir: Path, ref: str, split: str) -> GoldSplit:
    """A verified gold version's split (the fixture's work, importable for scripts)."""
    from .errors import InputError
    from .gold.store import GoldStore
    from .options import SPLITS

    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}", field="split")
    version = GoldStore(gold_dir).resolve(ref, verify=True)
    return GoldSplit(version, split, tuple(version.iter_examples(split)))


def pipeline_spec(path: str | Path, *, kind: str | None = None, name: str | None = None, root: Path | None = None) -> PipelineSpec:
    """A :class:`PipelineSpec` for a path given in a test (relative to the rootdir)."""
    from .runners import kind_for_path
    from .specs import PipelineSpec

    text = str(path)
    candidate = Path(text)
    if not candidate.is_absolute() and root is not None and (root / candidate).exists():
        text = str((root / candidate).resolve())
    return PipelineSpec(name=name or Path(text).stem or text, kind=kind or kind_for_path(text), path=text)


def evaluate_split(pipeline: Pipeline, gold: GoldSplit, *, resamples: int, seed: int, threshold: float = DEFAULT_THRESHOLD) -> PipelineResult:
    """Evaluate on the split's examples with the suites' code path."""
    from .evaluate import evaluate_pipeline

    return evaluate_pipeline(
        gold.version,
        pipeline.spec,
        resamples=resamples,
        seed=seed,
        threshold=threshold,
        llm_mode=pipeline.llm_mode,
        examples=list(gold.examples),
    )
