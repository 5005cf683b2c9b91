"""`harness queue fill` on 10,000 synthetic pool texts, simulated LLM in live mode.

Synthetic texts join two random restaurant-reviews queries with " and " (their
gold spans shifted), imported as a gold dataset whose train split is the pool;
the simulated teacher answers live (no cassette writes). Reports wall time and
the process's peak RSS (bounded memory: the pool is streamed from gold once,
predictions are kept as spans only).

    .venv/bin/python bench/fill_scale.py [--texts 10000] [--limit 200]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

from harness.gold import GoldStore, import_examples
from harness.loop.fill import fill
from harness.options import SPLITS
from harness.runners.spacy_data import spacy_tokenizer
from harness.suites import parse_suite

REPO = Path(__file__).resolve().parents[1]
LABELS = ["Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating", "Restaurant_Name"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    model = REPO / "models" / "restaurant-ner"
    if not (model / "config.cfg").exists():
        raise SystemExit("run `make models` first")
    source = GoldStore(REPO / "gold").resolve("restaurant-reviews@v1")
    base = [e for split in SPLITS for e in source.iter_examples(split)]
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        rows, seen = [], set()
        wanted = int(args.texts / 0.98) + 50  # 2% go to the eval split; the pool gets the rest
        while len(rows) < wanted:
            a, b = rng.sample(base, 2)
            text = f"{a.text} and {b.text}"
            if text in seen:
                continue
            seen.add(text)
            shift = len(a.text) + 5
            spans = [{"start": s, "end": e, "label": label} for s, e, label in a.spans]
            spans += [{"start": s + shift, "end": e + shift, "label": label} for s, e, label in b.spans]
            rows.append(json.dumps({"text": text, "spans": spans}))
        (tmp / "synthetic.jsonl").write_text("\n".join(rows) + "\n")
        store = GoldStore(tmp / "gold")
        # a small eval split so the suite has one; the pool is the train split
        import_examples(store, [tmp / "synthetic.jsonl"], name="synthetic", eval_fraction=0.02, tokenizer=spacy_tokenizer("en"))
        cfg = tmp / "llm.cfg"
        cfg.write_text(
            '[nlp]\nlang = "en"\npipeline = ["llm"]\n\n[components]\n\n[components.llm]\nfactory = "llm"\n\n'
            f'[components.llm.task]\n@llm_tasks = "spacy.NER.v3"\nlabels = {json.dumps(LABELS)}\n\n'
            f'[components.llm.model]\n@llm_models = "harness.Cassette.v1"\npath = "{tmp / "unused.jsonl"}"\n'
            'inner_model = "harness.SimulatedTeacher.v1"\nmode = "live"\n\n[components.llm.model.inner_config]\n'
            f'gold = "synthetic@v1"\ngold_dir = "{tmp / "gold"}"\ntask = "ner"\n'
        )
        suite = tmp / "suite.toml"
        suite.write_text(
            f'[suite]\nname = "fill-scale"\ngold = "synthetic@v1"\ngold_dir = "{tmp / "gold"}"\n'
            f'pool = "synthetic@v1:train"\n\n[pipelines.distilled]\npath = "{model}"\n\n'
            f'[pipelines.simulated_llm]\nkind = "llm"\nconfig = "{cfg}"\n'
        )
        spec = parse_suite(suite)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        summary = fill(spec, reports_dir=tmp / "reports", limit=args.limit)
        assert summary.pool >= args.texts, summary.pool
        seconds = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        shutil.rmtree(tmp / "gold")
    print(f"pool: {summary.pool:,} synthetic texts; disagreements: {summary.disagreements:,}; queued: {summary.queued}")
    print(f"harness queue fill: {seconds:.1f} s ({summary.pool / seconds:,.0f} texts/s, both pipelines)")
    print(f"peak RSS: {rss:,.0f} MiB (before fill: {rss_before:,.0f} MiB)")


if __name__ == "__main__":
    main()
