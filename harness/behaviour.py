"""Behavioural checks (CheckList-style) generated and shrunk with Hypothesis.

Each check perturbs the suite's own eval examples (lower- or title-casing words,
trailing punctuation, doubled spaces, a neutral clause, an entity swapped for
another of its label from the train split, a typo, or a user's function) and
says what the model should answer on the new text. Invariance checks expect the
model's *own* answer on the original, moved with the text: they measure robustness,
not accuracy. Substitution expects the swapped entity found with its label and the
rest unchanged (on examples where the model found the original entity).

Cases come from a Hypothesis strategy over (example, perturbation), derandomised,
with a fixed budget (``max_examples``): two runs generate the same cases. All
perturbed texts go through ``nlp.pipe`` in one batch; the pass rate has a 95%
Wilson interval. The first failing cases are then *shrunk* with
``hypothesis.find`` on their example: the smallest perturbation that still fails
(e.g. one word title-cased instead of five) is what the report shows.

Reproducible means the same cases whatever else is imported: Hypothesis mixes constants
it finds in the *local* modules loaded at the time (ours when installed editable, a
user's conftest, ...) into generation, so the same seed would give other cases under
pytest than from the API. Generation here runs with that pool emptied
(:func:`_no_local_constants`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .behaviour_checks import Check, Perturbed, Subject
from .core.results import BehaviourCase, BehaviourResult, Output
from .core.stats import wilson_interval
from .core.tasks import task_of
from .gold.records import GoldExample
from .runners.base import Predict

SHRUNK_CASES = 3  # failing cases shrunk and shown per check
REPORTED_FAILURES = 100  # failing generated cases per check kept in the result (JSON, queue's pick)


def _same(task: str, expected: Output, predicted: Output, threshold: float) -> bool:
    return task_of(task).same(expected, predicted, threshold)


def surface_pool(examples: Sequence[GoldExample]) -> dict[str, list[str]]:
    """label -> the distinct surface forms of its spans in ``examples`` (the train split)."""
    pool: dict[str, dict[str, None]] = {}
    for example in examples:
        for start, end, label in example.spans:
            pool.setdefault(label, {})[example.text[start:end]] = None
    return {label: sorted(forms) for label, forms in pool.items()}


@contextlib.contextmanager
def _no_local_constants() -> Iterator[None]:
    """Generate without Hypothesis's pool of constants from local modules (see the module
    docstring); the built-in pool (0, 1, -1, "", ...) stays."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.floats import float_to_int
        from sortedcontainers import SortedSet
    except ImportError:  # pragma: no cover - another Hypothesis layout: nothing to pin
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    if original is None:  # pragma: no cover
        yield
        return
    empty = providers.Constants(integers=SortedSet(), floats=SortedSet(key=float_to_int), bytes=SortedSet(), strings=SortedSet())
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original


def _answered(subject: Subject, task: str, threshold: float) -> bool:
    """Whether the model said something on the original text: an entity (NER) or a category
    at the threshold (textcat). An invariance case on an empty answer passes by saying nothing
    again, so it tests nothing."""
    return task_of(task).says_something(subject.reference, threshold)


def _quiet_settings(max_examples: int) -> Any:
    """Derandomised, database-free Hypothesis settings with a fixed budget (cases repeat run to run)."""
    from hypothesis import HealthCheck, settings

    return settings(
        database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), max_examples=max_examples, print_blob=False
    )


def _usable(subjects: Sequence[Subject], task: str, threshold: float, needs_answer: bool, notes: list[str]) -> list[Subject]:
    """The examples a check can perturb: non-empty texts, and with ``needs_answer`` only those
    the model said something about (the others are counted in ``notes``)."""
    usable = [s for s in subjects if s.example.text.strip()]
    if needs_answer:
        answered = [s for s in usable if _answered(s, task, threshold)]
        if len(answered) < len(usable):
            notes.append(
                f"{len(usable) - len(answered)} of {len(usable)} examples left out: the model found nothing "
                "in them, so a case there would pass by finding nothing again"
            )
        usable = answered
    return usable


def _generate(
    check: Check, usable: Sequence[Subject], task: str, *, max_examples: int, max_seconds: float, started: float, notes: list[str]
) -> dict[tuple[int, str], Perturbed]:
    """Up to ``max_examples`` distinct perturbed texts, keyed by (example, text), within ``max_seconds``."""
    from hypothesis import Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    generated: dict[tuple[int, str], Perturbed] = {}
    out_of_time: list[bool] = []
    # derandomize seeds from the source of the test function below: its lines are part of
    # what makes the cases reproducible, and a change to them changes the cases
    quiet = _quiet_settings(max_examples)

    @settings(quiet, phases=[Phase.generate])
    @given(st.data())
    def collect(data: Any) -> None:
        # Past the budget every call returns at once, drawing nothing (raising would make
        # Hypothesis replay the call): generation then ends by itself, quickly.
        if out_of_time or time.perf_counter() - started > max_seconds:
            out_of_time.append(True)
            return
        subject = usable[data.draw(st.integers(0, len(usable) - 1))]
        made = check(subject, data.draw, task)
        if made is not None:
            generated.setdefault((subject.index, made.text), made)

    try:
        with _no_local_constants():
            collect()
    except HypothesisException as err:  # Hypothesis gives up when almost nothing applies (filter too strict)
        notes.append(f"Hypothesis stopped generating ({type(err).__name__})")
    if out_of_time:
        notes.append(f"generation stopped at its time budget ({max_seconds:g} s, max_seconds) after {len(generated)} case(s)")
    return generated


def _judge(
    generated: Mapping[tuple[int, str], Perturbed], usable: Sequence[Subject], predict: Predict, task: str, threshold: float
) -> list[BehaviourCase]:
    """Every generated case, predicted in one batch and judged against what it expects."""
    keys = list(generated)
    predictions = predict([generated[k].text for k in keys])
    by_index = {s.index: s for s in usable}
    cases = []
    for key, predicted in zip(keys, predictions, strict=True):
        made, subject = generated[key], by_index[key[0]]
        same = _same(task, made.expected, predicted, threshold)
        cases.append(BehaviourCase(subject.example.input_hash, subject.example.text, made.text, made.change, made.expected, predicted, same))
    return cases


def _shrink(
    failures: Sequence[BehaviourCase], usable: Sequence[Subject], check: Check, predict: Predict, task: str, threshold: float, max_examples: int
) -> list[BehaviourCase]:
    """The first failures shrunk to the smallest perturbation of their example that still fails."""
    from hypothesis import find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    def for_subject(subject: Subject) -> Any:
        @st.composite
        def case(draw: Callable[..., Any]) -> tuple[int, Perturbed] | None:
            made = check(subject, draw, task)
            return None if made is None else (subject.index, made)

        return case()

    quiet = _quiet_settings(max_examples)
    shrunk = []
    for failure in failures[:SHRUNK_CASES]:
        subject = next(s for s in usable if s.example.input_hash == failure.input_hash)

        # Defined here, as it was: Hypothesis seeds derandomised runs from test functions'
        # source, so moving these lines would change the shrunk cases the reports show.
        def fails(case: tuple[int, Perturbed] | None) -> bool:
            if case is None:
                return False
            return not _same(task, case[1].expected, predict([case[1].text])[0], threshold)

        try:
            with _no_local_constants():
                smallest = find(for_subject(subject), fails, settings=settings(quiet, max_examples=max(50, max_examples)))
        except (NoSuchExample, Exception):  # not reproducible from this example alone: keep it as generated
            shrunk.append(failure)
            continue
        _, made = smallest
        predicted = predict([made.text])[0]
        shrunk.append(BehaviourCase(failure.input_hash, failure.original, made.text, made.change, made.expected, predicted, False))
    return shrunk


def run_check(
    name: str,
    check: Check,
    *,
    pipeline: str,
    task: str,
    subjects: Sequence[Subject],
    predict: Predict,
    min_pass_rate: float,
    max_examples: int,
    threshold: float,
    max_seconds: float = float("inf"),
    needs_answer: bool = True,
) -> BehaviourResult:
    """Generate up to ``max_examples`` cases (within ``max_seconds``), judge them in one batch,
    shrink the first failures.

    ``needs_answer`` (the built-in checks, which expect the model's own answer moved with the
    edit): examples on which the model found nothing are left out and counted in the note.
    An error in the check's code is raised (:class:`CheckError`), never taken for "nothing to
    perturb"."""
    started = time.perf_counter()
    notes: list[str] = []
    usable = _usable(subjects, task, threshold, needs_answer, notes)
    if not usable:
        return _empty(name, pipeline, min_pass_rate, "; ".join(notes) or "no eval examples to perturb", started)
    generated = _generate(check, usable, task, max_examples=max_examples, max_seconds=max_seconds, started=started, notes=notes)
    if not generated:
        notes.append("the check perturbed no example (it returned None for every one it was given)")
        return _empty(name, pipeline, min_pass_rate, "; ".join(notes), started)
    cases = _judge(generated, usable, predict, task, threshold)
    failures = [c for c in cases if not c.passed]
    shrunk = _shrink(failures, usable, check, predict, task, threshold, max_examples)
    passed = sum(1 for c in cases if c.passed)
    return BehaviourResult(
        pipeline=pipeline,
        check=name,
        cases=len(cases),
        passed=passed,
        pass_rate=passed / len(cases),
        ci=wilson_interval(passed, len(cases)),
        min_pass_rate=min_pass_rate,
        shrunk=tuple(shrunk),
        failures=tuple(failures[:REPORTED_FAILURES]),
        seconds=time.perf_counter() - started,
        note="; ".join(notes) or None,
    )


def _empty(name: str, pipeline: str, min_pass_rate: float, reason: str, started: float) -> BehaviourResult:
    """No case was judged: no pass rate, and the reason (the gate fails it under min_cases)."""
    return BehaviourResult(
        pipeline=pipeline,
        check=name,
        cases=0,
        passed=0,
        pass_rate=float("nan"),
        ci=(float("nan"), float("nan")),
        min_pass_rate=min_pass_rate,
        shrunk=(),
        failures=(),
        seconds=time.perf_counter() - started,
        note=reason,
    )
