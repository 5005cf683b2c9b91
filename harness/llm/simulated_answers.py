"""The *simulated* teacher: LLM-style answers derived from gold with seeded errors.

No LLM can be reached from our machines, so the example suites' cassettes are
recorded from this stand-in. It writes answers in the exact format the spacy-llm
task parses (``spacy.NER.v3``: numbered ``span | True | LABEL | reason`` lines;
``spacy.TextCat.v3``: a comma-separated label list) and injects errors at
configurable per-label rates. Everything it produces is marked "simulated".

Default rates and what they imply (per gold span, NER)::

    miss 0.15, wrong boundary 0.06, wrong label 0.05, spurious 0.12, unparseable 0.03
    recall    = (1 - u)(1 - m - b - l)                = 0.97 x 0.74 = 0.718
    precision = recall / (recall + (1 - u)(b + l + s)) = 0.718 / (0.718 + 0.223) = 0.763
    F         = 0.740   (the published few-shot LLM figure in the product brief)

``spurious`` is the chance, per gold span of a label, of adding one extra span of
that label on a token outside every gold span, so the expected F does not depend
on how dense a dataset's entities are. For text classification a gold-positive
label is dropped with ``miss`` and a gold-negative label added with ``spurious``;
the defaults there (miss 0.24, spurious 0.05) give F about 0.74 on cooking-questions.

Pure module: no spaCy; answers depend only on (seed, input hash, rates).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..core.tasks import task_of
from ..gold.records import GoldExample
from ..options import GOLD_POSITIVE

UNPARSEABLE_ANSWER = "I'm sorry, but as a (simulated) language model I can't help with that request."
REASON = "simulated teacher"


@dataclass(frozen=True)
class ErrorRates:
    """Error rates of the simulated teacher, with optional per-label overrides."""

    miss: float = 0.15
    boundary: float = 0.06
    wrong_label: float = 0.05
    spurious: float = 0.12
    unparseable: float = 0.03
    per_label: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def get(self, kind: str, label: str) -> float:
        return float(self.per_label.get(label, {}).get(kind, getattr(self, kind)))

    @classmethod
    def textcat_defaults(cls) -> ErrorRates:
        return cls(miss=0.24, boundary=0.0, wrong_label=0.05, spurious=0.05, unparseable=0.03)


def _rng(seed: int, example: GoldExample) -> random.Random:
    # A string seed is hashed with SHA-512 by `random`: stable across runs and machines.
    return random.Random(f"{seed}:{example.input_hash}")


@dataclass(frozen=True)
class TokenView:
    """A gold example's tokens as both teachers use them: character offset -> token index,
    and the tokens inside a gold span (``covered``, grown as spurious spans are added)."""

    tokens: list[tuple[int, int, str, bool]]
    starts: dict[int, int]
    ends: dict[int, int]
    covered: set[int]

    @classmethod
    def of(cls, example: GoldExample) -> TokenView:
        tokens = list(example.tokens or ())
        starts = {t[0]: i for i, t in enumerate(tokens)}
        ends = {t[1]: i for i, t in enumerate(tokens)}
        covered: set[int] = set()
        for start, end, _ in example.spans:
            covered.update(range(starts[start], ends[end] + 1))
        return cls(tokens, starts, ends, covered)

    def free(self, text: str, answer: Sequence[tuple[int, int, str]]) -> list[int]:
        """Tokens a spurious span may take: a word outside every gold and answered span, once in the text."""
        lowered = text.lower()
        return [
            i
            for i, t in enumerate(self.tokens)
            if i not in self.covered and t[2].isalpha() and lowered.count(t[2].lower()) == 1 and all(not (s <= t[0] < e) for s, e, _ in answer)
        ]


def ner_answer_text(example: GoldExample, answer: list[tuple[int, int, str]]) -> str:
    """The ``spacy.NER.v3`` answer lines for the spans of ``answer`` (sorted here)."""
    answer.sort()
    lines: list[str] = []
    for start, end, label in answer:
        text = example.text[start:end]
        if "\n" in text or "|" in text:
            continue  # cannot be written in the answer format: the span is lost, as with a real LLM
        lines.append(f"{len(lines) + 1}. {text} | True | {label} | {REASON}")
    if not lines:
        first_word = next((t[2] for t in example.tokens or () if t[2].isalpha()), "")
        return f"1. {first_word} | False | ==NONE== | {REASON}: no entities" if first_word else ""
    return "\n".join(lines)


def simulate_ner_answer(example: GoldExample, labels: Sequence[str], rates: ErrorRates, seed: int) -> str:
    """A ``spacy.NER.v3`` chain-of-thought answer for ``example`` with injected errors."""
    rng = _rng(seed, example)
    if rng.random() < rates.unparseable:
        return UNPARSEABLE_ANSWER
    view = TokenView.of(example)
    tokens, starts, ends, covered = view.tokens, view.starts, view.ends, view.covered
    answer: list[tuple[int, int, str]] = []
    spurious_labels: list[str] = []
    for start, end, label in example.spans:
        first, last = starts[start], ends[end]
        roll = rng.random()
        m, b, w = rates.get("miss", label), rates.get("boundary", label), rates.get("wrong_label", label)
        if rng.random() < rates.get("spurious", label):
            spurious_labels.append(label)
        if roll < m:
            continue
        if roll < m + b:
            # Extend by one token if the next one is free, else drop the last token, else extend left.
            if last + 1 < len(tokens) and last + 1 not in covered:
                last += 1
            elif last > first:
                last -= 1
            elif first > 0 and first - 1 not in covered:
                first -= 1
        elif roll < m + b + w and len(labels) > 1:
            label = rng.choice([x for x in labels if x != label])
        answer.append((tokens[first][0], tokens[last][1], label))
    for label in spurious_labels:
        free = view.free(example.text, answer)
        if free:
            i = rng.choice(free)
            covered.add(i)
            answer.append((tokens[i][0], tokens[i][1], label))
    return ner_answer_text(example, answer)


def simulate_textcat_answer(example: GoldExample, labels: Sequence[str], rates: ErrorRates, seed: int, *, exclusive: bool) -> str:
    """A ``spacy.TextCat.v3`` answer (comma-separated labels) with injected errors."""
    rng = _rng(seed, example)
    if rng.random() < rates.unparseable:
        return UNPARSEABLE_ANSWER
    cats = example.cats or {}
    if exclusive:
        gold = max(cats.items(), key=lambda kv: kv[1])[0] if cats else None
        if gold is None or rng.random() < rates.get("miss", gold):
            return "==NONE=="
        if rng.random() < rates.get("wrong_label", gold) and len(labels) > 1:
            return rng.choice([x for x in labels if x != gold])
        return gold
    chosen = []
    for label in labels:
        roll = rng.random()
        if cats.get(label, 0.0) >= GOLD_POSITIVE:
            if roll >= rates.get("miss", label):
                chosen.append(label)
        elif roll < rates.get("spurious", label):
            chosen.append(label)
    return ", ".join(chosen) if chosen else "==NONE=="


# Where each spacy-llm v3 template puts the input text: (opening marker, closing marker).
_PROMPT_TEXT_MARKERS = {
    "ner": ("\nParagraph: ", "\nAnswer:"),
    "textcat": ("Text:\n'''\n", "\n'''"),
}


def text_from_prompt(prompt: str, task: str) -> str:
    """The input text inside a spacy-llm v3 prompt (NER: after the last 'Paragraph:',
    TextCat: between the last pair of ''' fences). The template's few-shot
    examples come first, so the *last* marker is the input."""
    opening, closing = _PROMPT_TEXT_MARKERS[task_of(task).family]
    at = prompt.rfind(opening)
    if at < 0:
        raise ValueError(f"prompt has no {opening.strip()!r} marker: not a spacy-llm v3 {task} prompt")
    body = prompt[at + len(opening) :]
    end = body.rfind(closing)
    return body[:end] if end >= 0 else body
