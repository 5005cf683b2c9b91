"""Recording speed with concurrent requests: `harness record` against a local
OpenAI-compatible server (127.0.0.1) that takes 50 ms per request, with 1 and with
8 concurrent requests. Target: 8 concurrent at least 5x faster than 1.

    .venv/bin/python bench/record_concurrency.py [--docs 160] [--delay 0.05]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.api import record  # noqa: E402
from harness.gold import GoldStore, import_examples  # noqa: E402
from harness.llm.simulated_teacher import SimulatedTeacherModel  # noqa: E402
from tests.helpers.chat_server import ChatServer  # noqa: E402

LABELS = ["Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating", "Restaurant_Name"]


def config_text(cassette: Path, base_url: str, concurrency: int) -> str:
    return (
        '[nlp]\nlang = "en"\npipeline = ["llm"]\n\n[components]\n\n[components.llm]\nfactory = "llm"\n\n'
        f'[components.llm.task]\n@llm_tasks = "spacy.NER.v3"\nlabels = {json.dumps(LABELS)}\n\n'
        f'[components.llm.model]\n@llm_models = "harness.Cassette.v1"\npath = "{cassette}"\n'
        'inner_model = "harness.OpenAICompatible.v1"\nmode = "record"\n\n[components.llm.model.inner_config]\n'
        f'base_url = "{base_url}"\nname = "bench-model"\nconcurrency = {concurrency}\ncontext_length = 100000\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=160)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        source = GoldStore(REPO / "gold").resolve("restaurant-reviews@v1")
        subset = tmp / "subset.jsonl"
        lines = (source.path / "eval.jsonl").read_text().splitlines()[: args.docs]
        subset.write_text("\n".join(lines) + "\n")
        gold = import_examples(GoldStore(tmp / "gold"), [subset], name="bench", eval_fraction=0.999)
        teacher = SimulatedTeacherModel(gold="bench@v1", gold_dir=tmp / "gold", task="ner")
        times = {}
        with ChatServer(lambda prompt: teacher.complete(prompt).text, delay_s=args.delay) as server:
            for concurrency in (1, 8):
                cfg = tmp / f"c{concurrency}.cfg"
                cfg.write_text(config_text(tmp / f"cassette{concurrency}.jsonl", server.base_url, concurrency))
                suite = tmp / f"s{concurrency}.toml"
                suite.write_text(
                    f'[suite]\nname = "b"\ngold = "bench@v1"\ngold_dir = "{tmp / "gold"}"\n\n[pipelines.llm]\nkind = "llm"\nconfig = "{cfg}"\n'
                )
                started = time.perf_counter()
                summary = record(str(suite))[0]
                times[concurrency] = time.perf_counter() - started
                assert summary.failed == 0 and summary.calls_made == gold.split_size("eval"), summary
    n = gold.split_size("eval")
    print(f"{n} prompts, server delay {args.delay * 1000:.0f} ms per request (127.0.0.1)")
    for concurrency, seconds in times.items():
        print(f"  concurrency {concurrency}: {seconds:.2f} s  ({n / seconds:.1f} requests/s)")
    ratio = times[1] / times[8]
    print(f"speed-up 8 vs 1: {ratio:.2f}x  (target >= 5x: {'OK' if ratio >= 5 else 'UNDER'})")


if __name__ == "__main__":
    main()
