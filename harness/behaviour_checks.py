"""The behavioural checks themselves: each perturbs one eval example (lower- or
title-casing words, trailing punctuation, doubled spaces, a neutral clause, an entity
swapped for another of its label, a typo) and says what the model should answer on the
new text; and a user's own check, imported from beside the suite file."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
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
from .core.results import Output
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
                f"{subject.example.input_hash}: {err}\n{user_traceback(err)}"
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


def user_traceback(err: BaseException) -> str:
    """The traceback of an exception raised in a user's check, without the harness's frames."""
    import traceback

    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/harness/" not in f.filename.replace("\\", "/")]
    return "".join(traceback.format_list(frames) + traceback.format_exception_only(err)).rstrip()
