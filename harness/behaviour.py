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
import importlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.perturb import (
    NEUTRAL_CLAUSES,
    TRAILING_PUNCTUATION,
    Edit,
    apply_edits,
    case_edits,
    clause_edit,
    double_space_edits,
    single_spaces,
    substitution_edit,
    swap_edit,
    trailing_punctuation_edit,
    typo_candidates,
    words,
)
from .core.results import BehaviourCase, BehaviourResult, Output
from .core.stats import wilson_interval
from .core.tasks import task_of
from .errors import CheckError, InputError
from .gold.records import GoldExample

#: Built-in checks: name -> (tasks it applies to, what it does).
BUILTIN_CHECKS: dict[str, tuple[tuple[str, ...], str]] = {
    "lowercase": (("ner", "textcat", "textcat_multilabel"), "lower-case some words"),
    "titlecase": (("ner", "textcat", "textcat_multilabel"), "title-case some words"),
    "trailing_punctuation": (("ner", "textcat", "textcat_multilabel"), "add or remove the final . ! ?"),
    "double_whitespace": (("ner", "textcat", "textcat_multilabel"), "double some spaces between words"),
    "neutral_clause": (("ner", "textcat", "textcat_multilabel"), "add a neutral clause far from any entity"),
    "substitution": (("ner",), "swap an entity for another of its label from the train split"),
    "typo": (("ner", "textcat", "textcat_multilabel"), "swap two letters inside a word outside any entity"),
}
SHRUNK_CASES = 3  # failing cases shrunk and shown per check
REPORTED_FAILURES = 100  # failing generated cases per check kept in the result (JSON, queue's pick)


@dataclass(frozen=True)
class Subject:
    """One eval example as a check sees it: the text, the reference answer the check
    moves with the text (the model's own answer, or the gold for custom checks), the
    gold, and the substitution pool."""

    index: int
    example: GoldExample
    reference: Output  # the model's answer on the original text
    pool: Mapping[str, Sequence[str]] = field(default_factory=dict)  # label -> other surface forms (train split)


@dataclass(frozen=True)
class Perturbed:
    """A generated case: the new text, the expected answer, what was done."""

    text: str
    expected: Output
    change: str
    relative: bool = True  # expected is the model's own (moved) answer; False: an absolute expectation (custom)


Check = Callable[[Subject, Callable[..., Any], str], "Perturbed | None"]


def _spans(subject: Subject) -> tuple[Any, ...]:
    return tuple(subject.reference) if isinstance(subject.reference, tuple) else ()


def _moved(subject: Subject, edits: Sequence[Edit], change: str) -> Perturbed | None:
    if not edits:
        return None
    text, spans = apply_edits(subject.example.text, edits, _spans(subject))
    expected: Output = spans if isinstance(subject.reference, tuple) else dict(subject.reference)
    return Perturbed(text, expected, change)


def _word_subset(draw: Callable[..., Any], candidates: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    import hypothesis.strategies as st

    if not candidates:
        return []
    chosen = draw(st.lists(st.sampled_from(range(len(candidates))), min_size=1, max_size=len(candidates), unique=True))
    return [candidates[i] for i in sorted(chosen)]


def _case_check(how: str) -> Check:
    def check(subject: Subject, draw: Callable[..., Any], task: str) -> Perturbed | None:
        text = subject.example.text
        changeable = [w for w in words(text) if case_edits(text, [w], how)]
        chosen = _word_subset(draw, changeable)
        shown = ", ".join(repr(text[s:e]) for s, e in chosen)
        return _moved(subject, case_edits(text, chosen, how), f"{how}-cased {shown}")

    return check


def _trailing_punctuation(subject: Subject, draw: Callable[..., Any], task: str) -> Perturbed | None:
    import hypothesis.strategies as st

    mark = draw(st.sampled_from(TRAILING_PUNCTUATION))
    edit = trailing_punctuation_edit(subject.example.text, _spans(subject), mark)
    if edit is None:
        return None
    return _moved(subject, [edit], "removed the final mark" if not edit[2] else f"appended {mark!r}")


def _double_whitespace(subject: Subject, draw: Callable[..., Any], task: str) -> Perturbed | None:
    import hypothesis.strategies as st

    spaces = single_spaces(subject.example.text, _spans(subject))
    if not spaces:
        return None
    chosen = draw(st.lists(st.sampled_from(spaces), min_size=1, max_size=len(spaces), unique=True))
    return _moved(subject, double_space_edits(subject.example.text, _spans(subject), chosen), f"doubled {len(chosen)} space(s)")


def _neutral_clause(subject: Subject, draw: Callable[..., Any], task: str) -> Perturbed | None:
    import hypothesis.strategies as st

    clause = draw(st.sampled_from(NEUTRAL_CLAUSES))
    at_start = draw(st.booleans())
    edit = clause_edit(subject.example.text, _spans(subject), clause, at_start)
    if edit is None:
        return None
    return _moved(subject, [edit], f"added {clause!r} at the {'start' if at_start else 'end'}")


def _substitution(subject: Subject, draw: Callable[..., Any], task: str) -> Perturbed | None:
    import hypothesis.strategies as st

    gold = set(subject.example.spans)
    found = [s for s in _spans(subject) if s in gold and subject.pool.get(s[2])]
    if not found:
        return None
    span = draw(st.sampled_from(found))
    text = subject.example.text
    others = [form for form in subject.pool[span[2]] if form != text[span[0] : span[1]]]
    if not others:
        return None
    replacement = draw(st.sampled_from(others))
    edit = substitution_edit(span, replacement)
    rest = [s for s in _spans(subject) if s != span]
    new_text, moved = apply_edits(text, [edit], rest)
    expected = tuple(sorted((*moved, (span[0], span[0] + len(replacement), span[2]))))
    return Perturbed(new_text, expected, f"{text[span[0] : span[1]]!r} -> {replacement!r} ({span[2]})")


def _typo(subject: Subject, draw: Callable[..., Any], task: str) -> Perturbed | None:
    import hypothesis.strategies as st

    candidates = typo_candidates(subject.example.text, _spans(subject))
    if not candidates:
        return None
    word = draw(st.sampled_from(candidates))
    edit = swap_edit(subject.example.text, word, draw(st.integers(0, 20)))
    if edit is None:
        return None
    text = subject.example.text
    return _moved(subject, [edit], f"{text[word[0] : word[1]]!r} -> {text[word[0] : edit[0]] + edit[2] + text[edit[1] : word[1]]!r}")


CHECKS: dict[str, Check] = {
    "lowercase": _case_check("lower"),
    "titlecase": _case_check("title"),
    "trailing_punctuation": _trailing_punctuation,
    "double_whitespace": _double_whitespace,
    "neutral_clause": _neutral_clause,
    "substitution": _substitution,
    "typo": _typo,
}


def _import_beside(module_name: str, directory: str | Path | None) -> Any:
    """Import ``module_name``, looking in ``directory`` (the suite's folder) first: a
    ``checks.py`` beside the suite is found whatever the working directory."""
    if directory is None:
        return importlib.import_module(module_name)
    where = str(Path(directory).resolve())
    added = where not in sys.path
    if added:
        sys.path.insert(0, where)
    try:
        return importlib.import_module(module_name)
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(where)


def custom_check(reference: str, *, beside: str | Path | None = None) -> Check:
    """A user's check, ``"module:function"``: ``function(example, draw)`` returns
    ``(text, expected)`` (spans as ``[(start, end, label)]`` or cats as ``{label: score}``)
    or None when the example does not apply. The module is looked for in ``beside`` (the
    suite's folder) first, then on the usual import path."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise InputError(f"expected 'module:function', got {reference!r}", field="function")
    try:
        function = getattr(_import_beside(module_name, beside), attribute)
    except (ImportError, AttributeError) as err:
        place = f" (looked beside the suite, in {beside}, and on the import path)" if beside is not None else ""
        raise InputError(f"cannot import {reference!r}: {err}{place}", field="function") from None

    def check(subject: Subject, draw: Callable[..., Any], task: str) -> Perturbed | None:
        from hypothesis.errors import HypothesisException

        try:
            made = function(subject.example, draw)
        except HypothesisException:
            raise  # Hypothesis's own control flow (an unsatisfied assume(), ...), not the check's error
        except Exception as err:
            raise CheckError(
                f"custom check {reference} raised {type(err).__name__} on eval example "
                f"{subject.example.input_hash}: {err}\n{_user_traceback(err)}"
            ) from err
        if made is None:  # the check says, explicitly, that this example does not apply
            return None
        try:
            text, expected = made
            value: Output = task_of(task).normalise(expected)
            if not isinstance(text, str):
                raise TypeError(f"the text is a {type(text).__name__}")
        except (TypeError, ValueError) as err:
            raise CheckError(
                f"custom check {reference} returned {made!r:.200} for eval example "
                f"{subject.example.input_hash}; expected None or (text, expected) with expected spans "
                f"[(start, end, label)] or cats {{label: score}} ({err})"
            ) from None
        return Perturbed(text, value, f"{reference}", relative=False)

    return check


def _user_traceback(err: BaseException) -> str:
    """The traceback of an exception raised in a user's check, without the harness's frames."""
    import traceback

    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/harness/" not in f.filename.replace("\\", "/")]
    return "".join(traceback.format_list(frames) + traceback.format_exception_only(err)).rstrip()


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


def run_check(
    name: str,
    check: Check,
    *,
    pipeline: str,
    task: str,
    subjects: Sequence[Subject],
    predict: Callable[[Sequence[str]], list[Output]],
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
    from hypothesis import HealthCheck, Phase, find, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException, NoSuchExample

    started = time.perf_counter()
    quiet = settings(
        database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), max_examples=max_examples, print_blob=False
    )

    def for_subject(subject: Subject) -> Any:
        @st.composite
        def case(draw: Callable[..., Any]) -> tuple[int, Perturbed] | None:
            made = check(subject, draw, task)
            return None if made is None else (subject.index, made)

        return case()

    usable = [s for s in subjects if s.example.text.strip()]
    notes = []
    if needs_answer:
        answered = [s for s in usable if _answered(s, task, threshold)]
        if len(answered) < len(usable):
            notes.append(
                f"{len(usable) - len(answered)} of {len(usable)} examples left out: the model found nothing "
                "in them, so a case there would pass by finding nothing again"
            )
        usable = answered
    if not usable:
        return _empty(name, pipeline, min_pass_rate, "; ".join(notes) or "no eval examples to perturb", started)
    generated: dict[tuple[int, str], Perturbed] = {}

    out_of_time: list[bool] = []

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
    if not generated:
        notes.append("the check perturbed no example (it returned None for every one it was given)")
        return _empty(name, pipeline, min_pass_rate, "; ".join(notes), started)
    keys = list(generated)
    predictions = predict([generated[k].text for k in keys])
    by_index = {s.index: s for s in usable}
    cases = []
    for (index, _), predicted in zip(keys, predictions, strict=True):
        made = generated[(index, _)]
        subject = by_index[index]
        cases.append(
            BehaviourCase(
                subject.example.input_hash,
                subject.example.text,
                made.text,
                made.change,
                made.expected,
                predicted,
                _same(task, made.expected, predicted, threshold),
            )
        )
    failures = [c for c in cases if not c.passed]
    shrunk = []
    for failure in failures[:SHRUNK_CASES]:
        subject = next(s for s in usable if s.example.input_hash == failure.input_hash)

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
