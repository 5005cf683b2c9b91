"""`harness eval` vs `spacy evaluate` on the same trained model and eval split.

Both are timed as the commands a user runs (fresh processes, imports included),
alternating, several times; the median wall time of each is compared:

  ratio harness/spacy   target <= 1.0, while harness also computes bootstrap CIs
                        (1,000 resamples), overlap scores, per-doc latency and
                        keeps example ids for the queue;
  ratio harness/floor   the floors are bare processes: spacy.load + nlp.pipe over
                        the same texts, nothing else; once as is, once with the
                        heap frozen the way the harness CLI freezes it
                        (harness/heap.py), which is the fair floor for the
                        harness's own overhead.

    .venv/bin/python bench/eval_vs_spacy.py [--gold restaurant-reviews@v1] [--model models/restaurant-ner]

Needs the model from `make models`. The eval split is converted to a DocBin for
spacy evaluate beforehand (not timed). The last line is the target ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def to_docbin(gold_ref: str, out: Path) -> tuple[Path, Path, int]:
    import spacy
    from spacy.tokens import Doc, DocBin

    from harness.gold import GoldStore

    version = GoldStore(REPO / "gold").resolve(gold_ref)
    nlp = spacy.blank("en")
    docbin = DocBin()
    texts = []
    for example in version.iter_examples("eval"):
        tokens = example.tokens or ()
        doc = Doc(nlp.vocab, words=[t[2] for t in tokens], spaces=[t[3] for t in tokens])
        doc.ents = [doc.char_span(s, e, label=label) for s, e, label in example.spans]
        docbin.add(doc)
        texts.append(example.text)
    docbin.to_disk(out / "eval.spacy")
    (out / "texts.json").write_text(json.dumps(texts))
    return out / "eval.spacy", out / "texts.json", len(texts)


# As a user runs them: compiled bytecode is cached (some sandboxes set PYTHONDONTWRITEBYTECODE,
# which would make every run recompile the harness, an editable install, but not spaCy, whose
# .pyc files pip wrote at install time).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, env=ENV)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", default="restaurant-reviews@v1")
    parser.add_argument("--model", default=str(REPO / "models" / "restaurant-ner"))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not Path(args.model, "config.cfg").exists():
        sys.exit(f"{args.model} not found: run `make models` first")
    with tempfile.TemporaryDirectory() as tmp:
        docbin, texts, n_docs = to_docbin(args.gold, Path(tmp))
        commands = {
            "harness eval": [str(BIN / "harness"), "eval", "--gold", args.gold, "--pipeline", args.model, "--json", str(Path(tmp) / "h.json")],
            # Both write their scores to a JSON file: the same job.
            "spacy evaluate": [sys.executable, "-m", "spacy", "evaluate", args.model, str(docbin), "--output", str(Path(tmp) / "s.json")],
            "floor (load + nlp.pipe)": [
                sys.executable,
                "-c",
                "import json, sys, spacy; nlp = spacy.load(sys.argv[1]); list(nlp.pipe(json.load(open(sys.argv[2]))))",
                args.model,
                str(texts),
            ],
            "floor, heap frozen": [
                sys.executable,
                "-c",
                "import gc, json, sys; gc.disable(); import spacy; gc.freeze(); "
                "nlp = spacy.load(sys.argv[1]); gc.freeze(); gc.enable(); "
                "list(nlp.pipe(json.load(open(sys.argv[2]))))",
                args.model,
                str(texts),
            ],
        }
        for command in commands.values():  # warm the file cache and .pyc files once
            timed(command)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                samples[name].append(timed(command))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"gold {args.gold} eval split: {n_docs} docs; model {args.model}; {args.repeats} alternating runs each")
    for name, values in samples.items():
        print(f"  {name:<26} median {medians[name]:.3f} s   runs: {', '.join(f'{v:.2f}' for v in values)}")
    ratio_spacy = medians["harness eval"] / medians["spacy evaluate"]
    print(f"ratio harness eval / floor:              {medians['harness eval'] / medians['floor (load + nlp.pipe)']:.3f}")
    print(f"ratio harness eval / floor, heap frozen: {medians['harness eval'] / medians['floor, heap frozen']:.3f}")
    print(f"ratio harness eval / spacy evaluate: {ratio_spacy:.3f}  (target <= 1.0: {'OK' if ratio_spacy <= 1.0 else 'OVER'})")


if __name__ == "__main__":
    main()
