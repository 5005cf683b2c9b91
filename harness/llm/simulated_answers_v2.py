"""``harness.SimulatedTeacher.v2``: a *simulated* teacher whose errors are systematic, as a
real LLM's are (v1's are independent per span, which averages out in training).

Each error decision is drawn from a key instead of from the text's own random stream:

- **per surface form**: whether a gold span is missed, and whether it gets another label
  (and which one), is keyed on (seed, label, lower-cased span text): "sushi" as a Dish is
  missed in every text or in none;
- **misses rise with rarity and length**: the miss rate of a span is the base rate times
  ``(median label count / label count) ** 0.5`` (clipped to 0.5-2) times
  ``1 + 0.3 (tokens - 1)``, renormalised so the mean over the gold's spans is the base
  rate (so v2's F stays close to v1's);
- **one boundary convention per label** (keyed on (seed, label): take one more token on
  the right, drop the last token, or take one more on the left), applied to the spans
  whose surface form draws it;
- **a spurious lexicon per label**: words that are this label's favourite false
  positives (keyed on (seed, label, word)); a spurious span takes such a word when the
  text has one outside every gold span;
- **a mixing weight** ``mix``: that share of decisions is drawn v1-style, per occurrence.

Text classification: a gold-positive label is missed, and a gold-negative one added, by
a draw keyed on (seed, label, the text's two longest words): questions about the same
thing get the same mistake. Unparseable answers stay per text. The rates are v1's
(:class:`~harness.llm.simulated_answers.ErrorRates`); everything produced is SIMULATED.

Pure module: no spaCy; answers depend only on (seed, rates, mix, the gold version).
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..core.stats import keyed_uniform
from ..gold.records import GoldExample
from ..options import GOLD_POSITIVE
from .simulated_answers import UNPARSEABLE_ANSWER, ErrorRates, TokenView, ner_answer_text

CONVENTIONS = ("extend_right", "drop_last", "extend_left")
FATES = 2  # keyed draws per key (see _draw)
DEFAULT_MIX = 0.3  # share of decisions drawn v1-style (independent per occurrence)
LEXICON_SHARE = 0.15  # share of words that are some label's favourite false positive
WORD = re.compile(r"[^\W\d_]+")


def keyed(seed: int, *parts: object) -> float:
    """A uniform draw that depends only on its key (stable across runs and machines)."""
    return keyed_uniform(seed, "v2", *parts)


@dataclass(frozen=True)
class SystematicProfile:
    """What v2 needs to know about the gold as a whole: how often each label occurs and the
    mean of the rarity x length factor (to renormalise miss rates)."""

    label_counts: Mapping[str, int]
    mean_factor: float

    @classmethod
    def of(cls, spans: Iterable[tuple[str, int]]) -> SystematicProfile:
        """From (label, tokens) of every gold span."""
        spans = list(spans)
        counts = Counter(label for label, _ in spans)
        profile = cls(counts, 1.0)
        if not spans:
            return profile
        return cls(counts, statistics.fmean(profile.factor(label, n) for label, n in spans))

    def factor(self, label: str, tokens: int) -> float:
        if not self.label_counts:
            return 1.0
        median = statistics.median(self.label_counts.values())
        rarity = min(2.0, max(0.5, (median / max(1, self.label_counts.get(label, 1))) ** 0.5))
        return rarity * (1 + 0.3 * max(0, tokens - 1))

    def miss_rate(self, base: float, label: str, tokens: int) -> float:
        return min(0.95, base * self.factor(label, tokens) / self.mean_factor)


def _draw(seed: int, rng: random.Random, mix: float, *key: object) -> float:
    """A decision's draw: v1-style (per occurrence) with probability ``mix``, else keyed: one of
    FATES draws of the key, so a frequent surface form is not one coin flip for the whole
    split (its errors still repeat, in about 1 / FATES of its texts or more)."""
    if rng.random() < mix:
        return rng.random()
    return keyed(seed, *key, rng.randrange(FATES))


def _moved(convention: str, first: int, last: int, n_tokens: int, covered: set[int]) -> tuple[int, int]:
    """The span moved by the label's convention, or (where it cannot apply, e.g. dropping the
    last token of a one-token span) by the first move that can, in v1's order."""
    moves = {
        "extend_right": (first, last + 1) if last + 1 < n_tokens and last + 1 not in covered else None,
        "drop_last": (first, last - 1) if last > first else None,
        "extend_left": (first - 1, last) if first > 0 and first - 1 not in covered else None,
    }
    for name in (convention, *CONVENTIONS):
        if moves[name] is not None:
            return moves[name]  # type: ignore[return-value]
    return first, last


def simulate_ner_answer_v2(
    example: GoldExample, labels: Sequence[str], rates: ErrorRates, seed: int, profile: SystematicProfile, mix: float = DEFAULT_MIX
) -> str:
    """A ``spacy.NER.v3`` answer with systematic errors (see the module docstring)."""
    rng = random.Random(f"{seed}:v2:{example.input_hash}")
    if rng.random() < rates.unparseable:
        return UNPARSEABLE_ANSWER
    view = TokenView.of(example)
    tokens, starts, ends, covered = view.tokens, view.starts, view.ends, view.covered
    answer: list[tuple[int, int, str]] = []
    spurious: list[str] = []
    for start, end, label in example.spans:
        first, last = starts[start], ends[end]
        surface = example.text[start:end].lower()
        if _draw(seed, rng, mix, "spurious", label, surface) < rates.get("spurious", label):
            spurious.append(label)
        # One draw decides a span's fate, as in v1: missed, moved, relabelled or right.
        fate = _draw(seed, rng, mix, "fate", label, surface)
        m = profile.miss_rate(rates.get("miss", label), label, last - first + 1)
        b, w = rates.get("boundary", label), rates.get("wrong_label", label)
        if fate < m:
            continue
        if fate < m + b:
            convention = CONVENTIONS[int(keyed(seed, "convention", label) * len(CONVENTIONS))]
            first, last = _moved(convention, first, last, len(tokens), covered)
        elif fate < m + b + w and len(labels) > 1:
            others = [x for x in labels if x != label]
            label = others[int(keyed(seed, "confusion", label, surface) * len(others))]
        answer.append((tokens[first][0], tokens[last][1], label))
    for label in spurious:
        free = view.free(example.text, answer)
        if not free:
            continue
        favourites = [i for i in free if keyed(seed, "lexicon", label, tokens[i][2].lower()) < LEXICON_SHARE]
        i = favourites[0] if favourites else rng.choice(free)
        covered.add(i)
        answer.append((tokens[i][0], tokens[i][1], label))
    return ner_answer_text(example, answer)


def phrasing(text: str) -> str:
    """What a text is about, as a key for textcat errors: its two longest lower-cased words
    (topic words such as "sourdough", "brisket" recur across questions; "how do" would key
    a fifth of them on one decision)."""
    words = sorted(set(WORD.findall(text.lower())), key=lambda w: (-len(w), w))
    return " ".join(sorted(words[:2]))


def simulate_textcat_answer_v2(
    example: GoldExample, labels: Sequence[str], rates: ErrorRates, seed: int, *, exclusive: bool, mix: float = DEFAULT_MIX
) -> str:
    """A ``spacy.TextCat.v3`` answer whose errors repeat across texts phrased alike."""
    rng = random.Random(f"{seed}:v2:{example.input_hash}")
    if rng.random() < rates.unparseable:
        return UNPARSEABLE_ANSWER
    cats = example.cats or {}
    start = phrasing(example.text)
    if exclusive:
        gold = max(cats.items(), key=lambda kv: kv[1])[0] if cats else None
        fate = 0.0 if gold is None else _draw(seed, rng, mix, "fate", gold, start)
        if gold is None or fate < rates.get("miss", gold):
            return "==NONE=="
        # As in v1, a label is changed with the wrong_label rate among the answers not missed.
        if (fate - rates.get("miss", gold)) / (1 - rates.get("miss", gold)) < rates.get("wrong_label", gold) and len(labels) > 1:
            others = [x for x in labels if x != gold]
            return others[int(keyed(seed, "confusion", gold, start) * len(others))]
        return gold
    chosen = []
    for label in labels:
        if cats.get(label, 0.0) >= GOLD_POSITIVE:
            if _draw(seed, rng, mix, "miss", label, start) >= rates.get("miss", label):
                chosen.append(label)
        elif _draw(seed, rng, mix, "spurious", label, start) < rates.get("spurious", label):
            chosen.append(label)
    return ", ".join(chosen) if chosen else "==NONE=="
