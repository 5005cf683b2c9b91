"""``harness.SimulatedTeacher.v1``: the offline *simulated* teacher as a spacy-llm model block.

It answers a spacy-llm prompt by finding the input text's gold example and
writing an answer with seeded errors (:mod:`.simulated_answers`). Everything it
produces is marked simulated.
"""

from __future__ import annotations

import typing  # spacy-llm validates model signatures against typing.Iterable specifically
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.tasks import TASKS, task_of
from ..errors import InputError
from ..gold.by_text import ExamplesByText
from ..gold.records import GoldExample
from ..gold.store import GoldStore
from ..options import SPLITS
from .backend import BackendError, Completion, OnDone
from .cassette import model_identity
from .simulated_answers import ErrorRates, simulate_ner_answer, simulate_textcat_answer, text_from_prompt
from .simulated_answers_v2 import DEFAULT_MIX, SystematicProfile, simulate_ner_answer_v2, simulate_textcat_answer_v2


class SimulatedTeacherModel:
    """The offline *simulated* teacher: answers from the gold with seeded errors."""

    registry_name = "harness.SimulatedTeacher.v1"

    def __init__(
        self,
        *,
        gold: str,
        gold_dir: str | Path,
        task: str = "ner",
        rates: Mapping[str, Any] | None = None,
        seed: int = 0,
        exclusive_classes: bool = False,
        base_latency_s: float = 0.5,
        latency_s_per_token: float = 0.004,
    ) -> None:
        families = sorted({t.family for t in TASKS.values()})  # the spacy-llm task families it answers
        if task not in families:
            raise InputError(f"simulated teacher task must be one of {', '.join(families)}, got {task!r}", field="task")
        rates = dict(rates or {})
        per_label = rates.pop("per_label", {})
        defaults = ErrorRates() if task_of(task).has_spans else ErrorRates.textcat_defaults()
        unknown = set(rates) - {"miss", "boundary", "wrong_label", "spurious", "unparseable"}
        if unknown:
            raise InputError(f"unknown simulated error rate(s): {', '.join(sorted(unknown))}", field="rates")
        self.rates = ErrorRates(
            **{**{k: getattr(defaults, k) for k in ("miss", "boundary", "wrong_label", "spurious", "unparseable")}, **rates}, per_label=per_label
        )
        self.task = task
        self.seed = seed
        self.exclusive = exclusive_classes
        self.base_latency_s = base_latency_s
        self.latency_s_per_token = latency_s_per_token
        version = GoldStore(gold_dir).resolve(gold)
        self.labels = version.labels
        # Found by text and read when asked for: a teacher over 10^5+ examples loads in seconds
        # and holds an index of offsets, not every example, in each worker.
        self._by_text = ExamplesByText(version.path)
        self.identity = model_identity(
            self.registry_name,
            {
                "gold": version.ref,
                "gold_sha256": version.sha256,
                "task": task,
                "seed": seed,
                "rates": {
                    "miss": self.rates.miss,
                    "boundary": self.rates.boundary,
                    "wrong_label": self.rates.wrong_label,
                    "spurious": self.rates.spurious,
                    "unparseable": self.rates.unparseable,
                    "per_label": {k: dict(v) for k, v in per_label.items()},
                },
                "exclusive_classes": exclusive_classes,
            },
        )

    # The simulated teacher has no context limit; saying so keeps spacy-llm from
    # warning that it cannot shard (nothing needs sharding).
    context_length: int | None = 10**9

    def complete(self, prompt: str) -> Completion:
        text = text_from_prompt(prompt, self.task)
        example = self._by_text.get(text)
        if example is None:
            return Completion("", None, None, f"simulated teacher has no gold for text {text[:60]!r}", simulated=True)
        answer = self.answer(example)
        # Simulated latency (nothing sleeps): a fixed cost plus a cost per (estimated) token.
        tokens = (len(prompt) + len(answer)) / 4
        return Completion(answer, self.base_latency_s + self.latency_s_per_token * tokens, None, simulated=True)

    def answer(self, example: GoldExample) -> str:
        """The simulated answer for one gold example (v1: errors drawn independently per span)."""
        if task_of(self.task).has_spans:
            return simulate_ner_answer(example, self.labels, self.rates, self.seed)
        return simulate_textcat_answer(example, self.labels, self.rates, self.seed, exclusive=self.exclusive)

    def complete_many(self, prompts: Sequence[str], on_done: OnDone | None = None) -> list[Completion]:
        results = []
        for prompt in prompts:
            results.append(self.complete(prompt))
            if on_done is not None:
                on_done(prompt, results[-1])
        return results

    def __call__(self, prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        out = []
        for group in prompts:
            answers = []
            for prompt in group:
                completion = self.complete(prompt)
                if completion.error:
                    raise BackendError(completion.error)
                answers.append(completion.text)
            out.append(answers)
        return out


class SimulatedTeacherV2Model(SimulatedTeacherModel):
    """``harness.SimulatedTeacher.v2``: the simulated teacher with systematic errors (the same
    surface form gets the same mistake in every text; see :mod:`.simulated_answers_v2`)."""

    registry_name = "harness.SimulatedTeacher.v2"

    def __init__(self, *, mix: float = DEFAULT_MIX, **settings: Any) -> None:
        if not 0.0 <= mix <= 1.0:
            raise InputError(f"mix must be between 0 and 1, got {mix}", field="mix")
        super().__init__(**settings)
        self.mix = mix
        self.identity = model_identity(self.registry_name, {**{k: v for k, v in self.identity.items() if k != "registry"}, "mix": mix})
        version = GoldStore(settings["gold_dir"]).resolve(settings["gold"])
        # Label counts and span lengths of the whole version: misses rise with rarity and length.
        self.profile = SystematicProfile.of(
            (label, len([t for t in (e.tokens or ()) if s <= t[0] and t[1] <= end]))
            for split in SPLITS
            for e in version.iter_examples(split)
            for s, end, label in e.spans
        )

    def answer(self, example: GoldExample) -> str:
        if task_of(self.task).has_spans:
            return simulate_ner_answer_v2(example, self.labels, self.rates, self.seed, self.profile, self.mix)
        return simulate_textcat_answer_v2(example, self.labels, self.rates, self.seed, exclusive=self.exclusive, mix=self.mix)
