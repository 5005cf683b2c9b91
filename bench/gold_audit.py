"""Does `harness gold audit` find wrong gold labels? Planted noise on restaurant-reviews,
our ranking against cleanlab's on the same out-of-fold probabilities.

5% of the gold spans (seeded) are corrupted: a mix of label swaps, boundary shifts (one
token more or less), deletions and insertions (a span over a token that had none). K
students (out-of-fold, the distilled pipeline's settings) score every example; then

- ``harness gold audit``'s ranking (:mod:`harness.core.gold_audit`: confident findings,
  times the share of the example's other gold the student confirms);
- cleanlab's ``token_classification.find_label_issues`` (self-confidence) on the same
  students' probabilities mapped to tokens (P(token has label L) = the summed probability
  of the spans over it with label L; P(O) the rest), flagged sentences ranked by
  ``get_label_quality_scores`` (the sentence's lowest token score), as cleanlab's docs do.

Measured at example level (a review shows a whole example): precision of the top 50 and
100 (share holding a planted error), recall (planted examples flagged at all, with how many
were flagged) and recall in the top 2n. With ``--real`` the audit also runs on the shipped,
unplanted gold and prints its top 20 for a person to judge. Target: higher precision@100
than cleanlab.

    .venv/bin/pip install -e '.[bench]'      # cleanlab, the reference
    .venv/bin/python bench/gold_audit.py [--folds 5] [--max-steps 1500] [--share 0.05] [--real]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from harness.core.spans import token_boundaries  # noqa: E402
from harness.gold import GoldStore  # noqa: E402
from harness.gold.records import GoldExample  # noqa: E402
from harness.loop.audit import judge  # noqa: E402
from harness.loop.cross_fit import Folds, Scored, score_out_of_fold, train_students  # noqa: E402
from harness.suites import parse_suite  # noqa: E402

KINDS = ("label", "boundary", "delete", "insert")


def _tokens(example: GoldExample) -> list[tuple[int, int]]:
    """(start, end) character offsets of the example's tokens, in order."""
    starts, ends = token_boundaries(example.tokens or ())
    return sorted(zip(sorted(starts), sorted(ends), strict=True))


def _corrupt(example: GoldExample, labels: list[str], rng: random.Random) -> GoldExample | None:
    """One corruption of one span (or one inserted span); None when this example cannot take the drawn kind."""
    spans = list(example.spans)
    tokens = _tokens(example)
    kind = rng.choice(KINDS)
    if kind == "insert":
        free = [(s, e) for s, e in tokens if all(e <= a or s >= b for a, b, _ in spans)]
        if not free:
            return None
        s, e = rng.choice(free)
        spans.append((s, e, rng.choice(labels)))
    elif not spans:
        return None
    else:
        at = rng.randrange(len(spans))
        s, e, label = spans[at]
        if kind == "label":
            spans[at] = (s, e, rng.choice([x for x in labels if x != label]))
        elif kind == "delete":
            del spans[at]
        else:  # boundary: one token less at the end, else one more
            inside = [t for t in tokens if s <= t[0] and t[1] <= e]
            after = [t for t in tokens if t[0] >= e]
            others = [x for i, x in enumerate(spans) if i != at]
            if len(inside) >= 2:
                spans[at] = (s, inside[-2][1], label)
            elif after and all(after[0][1] <= a or e >= b for a, b, _ in others):
                spans[at] = (s, after[0][1], label)
            else:
                return None
    return dataclasses.replace(example, spans=tuple(sorted(spans)))


def plant(examples: list[GoldExample], labels: list[str], share: float, seed: int) -> tuple[list[GoldExample], set[int]]:
    """``share`` of all gold spans' worth of corruptions, one per example, on random examples."""
    rng = random.Random(seed)
    wanted = round(share * sum(len(e.spans) for e in examples))
    order = list(range(len(examples)))
    rng.shuffle(order)
    out = list(examples)
    planted: set[int] = set()
    for i in order:
        if len(planted) >= wanted:
            break
        corrupted = _corrupt(examples[i], labels, rng)
        if corrupted is not None and corrupted.spans != examples[i].spans:
            out[i] = corrupted
            planted.add(corrupted.input_hash)
    return out, planted


def token_view(example: GoldExample, found: dict[Any, float], labels: list[str]) -> tuple[list[int], np.ndarray]:
    """Per token: the given class (0 = no entity, 1 + label index) and the student's class probabilities."""
    tokens = _tokens(example)
    given = [0] * len(tokens)
    probs = np.zeros((len(tokens), len(labels) + 1))
    for t, (s, e) in enumerate(tokens):
        for a, b, label in example.spans:
            if a <= s and e <= b:
                given[t] = 1 + labels.index(label)
        for (a, b, label), p in found.items():
            if a <= s and e <= b and label in labels:
                probs[t, 1 + labels.index(label)] += p
    probs[:, 0] = np.clip(1.0 - probs[:, 1:].sum(axis=1), 0.0, None)
    probs = probs + 1e-6
    return given, probs / probs.sum(axis=1, keepdims=True)


def cleanlab_ranking(examples: list[GoldExample], scored: Scored, labels: list[str]) -> tuple[list[int], int]:
    """(flagged examples' hashes ranked by cleanlab's sentence label quality, how many flagged)."""
    from cleanlab.token_classification.filter import find_label_issues
    from cleanlab.token_classification.rank import get_label_quality_scores

    kept = [e for e in examples if e.tokens]
    views = [token_view(e, scored.probabilities[e.input_hash], labels) for e in kept]
    given, probs = [v[0] for v in views], [v[1] for v in views]
    issues = find_label_issues(given, probs)
    sentence_scores, _ = get_label_quality_scores(given, probs)
    flagged = sorted({i for i, _ in issues}, key=lambda i: (sentence_scores[i], kept[i].input_hash))
    return [kept[i].input_hash for i in flagged], len(flagged)


def measure(name: str, ranked: list[int], flagged: int, planted: set[int]) -> str:
    hits = [h in planted for h in ranked]
    n = len(planted)
    return (
        f"| {name} | {sum(hits[:50]) / 50:.2f} | {sum(hits[:100]) / 100:.2f} | {sum(hits) / n:.2f} ({flagged} flagged) "
        f"| {sum(hits[: 2 * n]) / n:.2f} |"
    )


def students_scores(examples: list[GoldExample], spec: Any, folds: int, max_steps: int | None, work: Path) -> Scored:
    students = train_students(examples, Folds(folds, 0), distilled=spec.require_distilled(), task="ner", workdir=work, max_steps=max_steps)
    return score_out_of_fold(students, {e.input_hash: e.text for e in examples}, "ner")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=str(REPO / "suites" / "restaurant.toml"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-steps", type=int, default=None, help="per student (default: the suite's)")
    parser.add_argument("--share", type=float, default=0.05, help="share of gold spans corrupted")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true", help="also audit the shipped gold and print its top 20")
    args = parser.parse_args()
    started = time.perf_counter()
    spec = parse_suite(args.suite)
    version = GoldStore(spec.gold_dir).resolve(spec.gold)
    labels = sorted(version.manifest["labels"])
    examples = [e for split in ("train", "eval") for e in version.iter_examples(split)]
    noisy, planted = plant(examples, labels, args.share, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        scored = students_scores(noisy, spec, args.folds, args.max_steps, Path(tmp) / "planted")
        ours = judge(noisy, scored, "ner")
        theirs, theirs_flagged = cleanlab_ranking(noisy, scored, labels)
        print(
            f"\nrestaurant-reviews@v1: {len(examples)} examples, {sum(len(e.spans) for e in examples)} gold spans; "
            f"{len(planted)} corrupted ({args.share:.0%} of the spans, one per example, kinds {', '.join(KINDS)}; seed {args.seed}); "
            f"{args.folds} out-of-fold students, the same probabilities for both"
        )
        print("| ranking | precision@50 | precision@100 | recall (flagged) | recall in top 2n |")
        print("|---|---|---|---|---|")
        print(measure("harness gold audit", [a.example.input_hash for a in ours], len(ours), planted))
        print(measure("cleanlab find_label_issues", theirs, theirs_flagged, planted))
        if args.real:
            real = judge(examples, students_scores(examples, spec, args.folds, args.max_steps, Path(tmp) / "real"), "ner")
            print(f"\nshipped gold, unplanted: {len(real)} suspects; the top 20:")
            for item in real[:20]:
                findings = "; ".join(f.describe() for f in item.suspect.findings)
                gold = ", ".join(f"{item.example.text[s:e]!r}={label}" for s, e, label in item.example.spans)
                print(f"- {item.suspect.suspicion:.2f} [{item.example.split}] {item.example.text!r}\n    gold: {gold}\n    {findings}")
    shutil.rmtree(Path(tmp), ignore_errors=True)
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
