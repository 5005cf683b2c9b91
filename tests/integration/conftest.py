"""Shared fixtures: small gold stores cut from the shipped datasets and real spaCy
pipelines trained on them (tens of steps: seconds, but genuine spaCy training)."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest

from harness.gold import GoldStore, GoldVersion, import_examples
from harness.runners.spacy_data import spacy_tokenizer
from harness.training import train

REPO = Path(__file__).resolve().parents[2]
SHIPPED_GOLD = REPO / "gold"
SHIPPED = {"restaurant-reviews@v1": "ner", "food-ingredients@v1": "ner", "cooking-questions@v1": "textcat_multilabel"}


def _cut(dataset: str, n_train: int, n_eval: int, out: Path) -> Path:
    """Write the first records of a shipped gold version's splits as one Prodigy JSONL."""
    base = SHIPPED_GOLD / dataset / "v1"
    with out.open("w", encoding="utf-8") as handle:
        for split, n in (("train", n_train), ("eval", n_eval)):
            with (base / f"{split}.jsonl").open(encoding="utf-8") as source:
                for line in itertools.islice(source, n):
                    handle.write(line)
    return out


@pytest.fixture(scope="session")
def mini_gold_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gold/ with ``mini-restaurant@v1`` (NER) and ``mini-cooking@v1`` (multi-label)."""
    root = tmp_path_factory.mktemp("mini")
    store = GoldStore(root / "gold")
    tokenizer = spacy_tokenizer("en")
    import_examples(
        store, [_cut("restaurant-reviews", 300, 120, root / "r.jsonl")], name="mini-restaurant", tokenizer=tokenizer, eval_fraction=0.3, seed=0
    )
    import_examples(
        store, [_cut("cooking-questions", 300, 100, root / "c.jsonl")], name="mini-cooking", tokenizer=tokenizer, eval_fraction=0.3, seed=0
    )
    return root / "gold"


@pytest.fixture(scope="session")
def mini_restaurant(mini_gold_dir: Path) -> GoldVersion:
    return GoldStore(mini_gold_dir).resolve("mini-restaurant@v1")


@pytest.fixture(scope="session")
def ner_model(mini_restaurant: GoldVersion, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real spaCy NER pipeline trained for 200 steps on mini-restaurant's train split (F about 0.5)."""
    out = tmp_path_factory.mktemp("models") / "ner"
    train(mini_restaurant, out, max_steps=200)
    return out


@pytest.fixture(scope="session")
def textcat_model(mini_gold_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "textcat"
    train(GoldStore(mini_gold_dir).resolve("mini-cooking@v1"), out, max_steps=60)
    return out


@pytest.fixture
def project(pytester: pytest.Pytester, mini_gold_dir: Path, ner_model: Path) -> pytest.Pytester:
    """A user project: gold/ copied in, a suite gating the tiny NER model."""
    shutil.copytree(mini_gold_dir, pytester.path / "gold")
    write_suite(pytester, ner_model)
    return pytester


def write_suite(pytester: pytest.Pytester, model: Path, gates: str = "", name: str = "mini") -> Path:
    gates = gates or "f_min = 0.0\nlabel_f_min = 0.0\nwords_per_second_min = 10\nsize_bytes_max = 100_000_000\n"
    text = (
        f'[suite]\nname = "{name}-ner"\ngold = "mini-restaurant@v1"\nresamples = 200\n\n'
        f'[pipelines.distilled]\npath = "{model}"\n\n[gates.distilled]\n{gates}'
    )
    path = pytester.path / "suites" / f"{name}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def weak_ner_model(mini_restaurant: GoldVersion, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same pipeline trained for a tenth of the steps: a real regression to catch."""
    out = tmp_path_factory.mktemp("models") / "weak-ner"
    train(mini_restaurant, out, max_steps=20)
    return out
