"""Cassette replay overhead: the restaurant-reviews cassette (all 1,521 documents)
replayed through the real spacy-llm NER.v3 task, vs the same task fed the same
answer strings by an in-process model (a list, no lookup at all).

Target: ratio cassette / in-process <= 1.1 (the lookup must be negligible beside
spacy-llm's own prompt rendering and parsing).

    .venv/bin/python bench/replay.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import typing
from pathlib import Path

from harness.gold import GoldStore
from harness.llm.cassette_model import CassetteModel
from harness.options import SPLITS
from harness.runners.llm_runner import build_llm_pipeline, find_llm_component, llm_model_of, set_llm_model

REPO = Path(__file__).resolve().parents[1]


class InProcessModel:
    """Returns pre-computed answers in call order: the floor for any model."""

    def __init__(self, answers: list[str], context_length: int | None) -> None:
        self.answers = answers
        self.position = 0
        # The same context length as the cassette reports, so spacy-llm takes the same
        # (sharding) path for both and the ratio measures the lookup, nothing else.
        self.context_length = context_length

    def __call__(self, prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        out = []
        for group in prompts:
            row = []
            for _ in group:
                row.append(self.answers[self.position])
                self.position += 1
            out.append(row)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "suites" / "llm" / "restaurant-llm.cfg"))
    parser.add_argument("--gold", default="restaurant-reviews@v1")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    gold = GoldStore(REPO / "gold").resolve(args.gold)
    texts = [e.text for split in SPLITS for e in gold.iter_examples(split)]
    nlp = build_llm_pipeline(args.config, mode="replay")
    _, component = find_llm_component(nlp)
    cassette = llm_model_of(component)
    assert isinstance(cassette, CassetteModel)
    cassette.reset_log()
    list(nlp.pipe(texts))  # warm-up, and the answers in call order for the in-process model
    if cassette.log.missing:
        raise SystemExit(f"cassette lacks {len(cassette.log.missing)} prompts: run `harness record suites/restaurant.toml --split all`")
    answers = list(cassette.log.responses)
    in_process = InProcessModel(answers, cassette.context_length)
    timings: dict[str, list[float]] = {"cassette": [], "in-process": []}
    for _ in range(args.repeats):
        for name, model in (("cassette", cassette), ("in-process", in_process)):
            set_llm_model(component, model)
            if model is in_process:
                in_process.position = 0
            else:
                cassette.reset_log()
            gc.collect()  # same starting heap for both variants
            started = time.perf_counter()
            docs = list(nlp.pipe(texts))
            timings[name].append(time.perf_counter() - started)
    set_llm_model(component, cassette)
    assert len(docs) == len(texts)
    medians = {k: statistics.median(v) for k, v in timings.items()}
    print(f"{len(texts)} documents ({args.gold}, train + eval), {args.repeats} alternating runs each")
    for name, values in timings.items():
        print(
            f"  {name:<11} median {medians[name]:.3f} s  ({len(texts) / medians[name]:,.0f} docs/s)   "
            f"runs: {', '.join(f'{v:.3f}' for v in values)}"
        )
    ratio = medians["cassette"] / medians["in-process"]
    print(f"ratio cassette / in-process: {ratio:.3f}  (target <= 1.1: {'OK' if ratio <= 1.1 else 'OVER'})")


if __name__ == "__main__":
    main()
