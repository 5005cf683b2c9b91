"""Gold store: import, splits, immutability, bad input (pure: a tiny whitespace tokenizer)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import GoldIntegrityError, InputError
from harness.gold import (
    GoldRef,
    GoldStore,
    assign_splits,
    import_examples,
    parse_prodigy_file,
)
from harness.io import atomic
from harness.io.jsonl import canonical_json


def whitespace_tokenizer(text: str) -> list[tuple[int, int, str, bool]]:
    """Deterministic stand-in for spaCy's tokenizer in pure unit tests."""
    return [(m.start(), m.end(), m.group(), text[m.end() : m.end() + 1] == " ") for m in re.finditer(r"\S+", text)]


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def ner(text: str, *spans: tuple[int, int, str], **extra: object) -> dict:
    return {"text": text, "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans], **extra}


@pytest.fixture
def store(tmp_path: Path) -> GoldStore:
    return GoldStore(tmp_path / "gold")


def test_import_writes_manifest_and_prodigy_files(tmp_path: Path, store: GoldStore) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [ner(f"visit paris number {i}", (6, 11, "LOC")) for i in range(20)])
    version = import_examples(store, [source], name="toy", tokenizer=whitespace_tokenizer, eval_fraction=0.3)
    m = version.manifest
    assert version.ref == "toy@v1" and m["task"] == "ner" and m["parent"] is None
    assert m["labels"] == {"LOC": 20}
    assert m["splits"]["train"]["examples"] + m["splits"]["eval"]["examples"] == 20
    assert m["splits"]["eval"]["examples"] > 0
    record = json.loads((version.path / "train.jsonl").read_text().splitlines()[0])
    assert record["spans"][0] == {"start": 6, "end": 11, "label": "LOC", "token_start": 1, "token_end": 1}
    assert record["answer"] == "accept" and "_input_hash" in record and "tokens" in record
    store.resolve("toy@v1").verify()


def test_second_import_is_a_new_version_and_keeps_splits(tmp_path: Path, store: GoldStore) -> None:
    first = [ner(f"text {i} in rome", (len(f"text {i} in "), len(f"text {i} in rome"), "LOC")) for i in range(30)]
    v1 = import_examples(store, [write_jsonl(tmp_path / "a.jsonl", first)], name="d", tokenizer=whitespace_tokenizer)
    more = first + [ner(f"new {i}") for i in range(10)]
    v2 = import_examples(store, [write_jsonl(tmp_path / "b.jsonl", more)], name="d", tokenizer=whitespace_tokenizer, eval_fraction=0.9, seed=5)
    assert v2.version == 2 and v2.manifest["parent"] == "v1"
    old = {e.input_hash: e.split for s in ("train", "eval") for e in v1.iter_examples(s)}
    new = {e.input_hash: e.split for s in ("train", "eval") for e in v2.iter_examples(s)}
    assert all(new[h] == split for h, split in old.items())  # no eval example moves to train
    diff = store.diff("d@v1", "d@v2")
    assert len(diff.added) == 10 and not diff.removed and not diff.changed
    assert (v1.path / "manifest.json").exists()  # v1 untouched


def test_malformed_json_line_names_file_and_line(tmp_path: Path, store: GoldStore) -> None:
    source = write_jsonl(tmp_path / "bad.jsonl", [ner("ok text"), '{"text": "broken', ner("more")])
    with pytest.raises(InputError) as err:
        import_examples(store, [source], name="x", tokenizer=whitespace_tokenizer)
    assert f"{source}:2" in str(err.value) and "not valid JSON" in str(err.value)
    assert not (tmp_path / "gold").exists()


def test_misaligned_span_names_example_and_span_text(tmp_path: Path, store: GoldStore) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [ner("hello world"), ner("best pizza here", (5, 8, "DISH"))])
    with pytest.raises(InputError) as err:
        import_examples(store, [source], name="x", tokenizer=whitespace_tokenizer)
    message = str(err.value)
    assert f"{source}:2" in message and "'piz'" in message and "token boundaries" in message and "spans[0]" in message


def test_overlapping_spans_are_rejected(tmp_path: Path, store: GoldStore) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [ner("new york pizza", (0, 8, "LOC"), (4, 14, "DISH"))])
    with pytest.raises(InputError, match="overlapping spans 'new york' \\(LOC\\) and 'york pizza' \\(DISH\\)"):
        import_examples(store, [source], name="x", tokenizer=whitespace_tokenizer)


def test_conflicting_duplicate_names_both_lines(tmp_path: Path, store: GoldStore) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [ner("cheap food", (0, 5, "PRICE")), ner("x"), ner("cheap food")])
    with pytest.raises(InputError) as err:
        import_examples(store, [source], name="x", tokenizer=whitespace_tokenizer)
    assert f"{source}:3" in str(err.value) and f"{source}:1" in str(err.value) and "conflicting" in str(err.value)


def test_identical_duplicates_merge_and_are_counted(tmp_path: Path, store: GoldStore) -> None:
    rows = [ner("cheap food", (0, 5, "PRICE"))] * 2 + [ner(f"t{i}") for i in range(5)]
    version = import_examples(store, [write_jsonl(tmp_path / "in.jsonl", rows)], name="x", tokenizer=whitespace_tokenizer)
    assert version.manifest["source"]["duplicates_merged"] == 1
    assert sum(version.split_size(s) for s in ("train", "eval")) == 6


def test_empty_text_is_allowed(tmp_path: Path, store: GoldStore) -> None:
    version = import_examples(
        store, [write_jsonl(tmp_path / "in.jsonl", [ner(""), ner("a b")])], name="x", tokenizer=whitespace_tokenizer, eval_fraction=0.0
    )
    texts = [e.text for e in version.iter_examples("train")]
    assert "" in texts


def test_binary_label_answers_merge_into_cats(tmp_path: Path, store: GoldStore) -> None:
    rows = [
        {"text": "how to bake bread", "label": "baking", "answer": "accept"},
        {"text": "how to bake bread", "label": "meat", "answer": "reject"},
        {"text": "grill a steak", "label": "meat", "answer": "accept"},
        {"text": "skip me", "label": "meat", "answer": "ignore"},
    ]
    version = import_examples(store, [write_jsonl(tmp_path / "in.jsonl", rows)], name="c", eval_fraction=0.0)
    cats = {e.text: dict(e.cats or {}) for e in version.iter_examples("train")}
    assert cats == {"how to bake bread": {"baking": 1.0, "meat": 0.0}, "grill a steak": {"meat": 1.0}}
    assert version.manifest["source"]["skipped_ignore"] == 1


def test_choice_accept_format_and_task_inference(tmp_path: Path, store: GoldStore) -> None:
    options = [{"id": "POS", "text": "pos"}, {"id": "NEG", "text": "neg"}]
    rows = [{"text": f"t{i}", "options": options, "accept": ["POS" if i % 2 else "NEG"]} for i in range(6)]
    version = import_examples(store, [write_jsonl(tmp_path / "in.jsonl", rows)], name="c")
    assert version.task == "textcat"
    rows[0]["accept"] = ["POS", "NEG"]
    version = import_examples(store, [write_jsonl(tmp_path / "in2.jsonl", rows)], name="multi")
    assert version.task == "textcat_multilabel"


def test_unknown_version_and_dataset(tmp_path: Path, store: GoldStore) -> None:
    import_examples(store, [write_jsonl(tmp_path / "in.jsonl", [ner("a")])], name="d", tokenizer=whitespace_tokenizer)
    with pytest.raises(InputError, match=r"unknown gold version d@v7 .*available: v1"):
        store.resolve("d@v7")
    with pytest.raises(InputError, match="unknown gold dataset 'nope'"):
        store.resolve("nope")


def test_tampered_version_fails_verification_naming_the_file(tmp_path: Path, store: GoldStore) -> None:
    rows = [ner(f"in rome {i}", (3, 7, "LOC")) for i in range(10)]
    version = import_examples(store, [write_jsonl(tmp_path / "in.jsonl", rows)], name="d", tokenizer=whitespace_tokenizer, eval_fraction=0.5)
    eval_file = version.path / "eval.jsonl"
    eval_file.write_text(eval_file.read_text().replace('"LOC"', '"ORG"', 1))
    with pytest.raises(GoldIntegrityError, match=re.escape(str(eval_file))):
        store.resolve("d@v1")
    assert store.verify_all()[0][1] is not None


def test_crash_during_write_leaves_no_version(tmp_path: Path, store: GoldStore, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [ner(f"t {i}") for i in range(10)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    real_write_json = atomic.write_json

    def crash(path: Path, data: object) -> None:
        real_write_json(path, data)
        raise KeyboardInterrupt  # Ctrl-C after the manifest, before the rename

    monkeypatch.setattr(atomic, "write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        import_examples(store, [source], name="d", tokenizer=whitespace_tokenizer)
    monkeypatch.undo()
    assert store.version_numbers("d") == []
    assert not list((tmp_path / "gold" / "d").iterdir())  # no temp directory left behind either


def test_atomic_open_keeps_old_content_on_error(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError), atomic.atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_ref_parsing() -> None:
    assert GoldRef.parse("restaurant-reviews@v3") == GoldRef("restaurant-reviews", 3)
    assert GoldRef.parse("restaurant-reviews") == GoldRef("restaurant-reviews", None)
    with pytest.raises(InputError):
        GoldRef.parse("bad name@v1")


def test_reject_answers_are_skipped_and_missing_text_named(tmp_path: Path) -> None:
    rows = [ner("a", answer="reject"), {"spans": []}]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    with pytest.raises(InputError, match=re.escape(f"{source}:2") + ".*field 'text'"):
        list(parse_prodigy_file(source, tokenizer=whitespace_tokenizer))


words = st.text(alphabet="abcxyz", min_size=1, max_size=6)


@given(st.lists(st.tuples(st.lists(words, min_size=0, max_size=6), st.data()), min_size=1, max_size=12, unique_by=lambda t: tuple(t[0])))
def test_import_roundtrip_preserves_annotations(tmp_path_factory: pytest.TempPathFactory, docs: list) -> None:
    """Whatever valid NER records go in come back out of the store unchanged."""
    tmp = tmp_path_factory.mktemp("rt")
    rows, expected = [], {}
    for tokens, data in docs:
        text = " ".join(tokens)
        offsets, pos = [], 0
        for tok in tokens:
            offsets.append((pos, pos + len(tok)))
            pos += len(tok) + 1
        chosen = sorted(data.draw(st.sets(st.integers(0, max(len(tokens) - 1, 0)), max_size=len(tokens))))
        spans = [(offsets[i][0], offsets[i][1], "L") for i in chosen if tokens]
        rows.append(ner(text, *spans))
        expected[text] = spans
    version = import_examples(GoldStore(tmp / "gold"), [write_jsonl(tmp / "in.jsonl", rows)], name="rt", tokenizer=whitespace_tokenizer)
    got = {e.text: list(e.spans) for s in ("train", "eval") for e in version.iter_examples(s)}
    assert got == expected


@given(st.lists(st.integers(-(2**31), 2**31 - 1), unique=True, max_size=200), st.floats(0.0, 0.99), st.integers(0, 10))
def test_split_is_a_pure_function_of_hash_and_seed(hashes: list[int], fraction: float, seed: int) -> None:
    from harness.gold import GoldExample

    examples = [GoldExample(h, str(h)) for h in hashes]
    once = {e.input_hash: e.split for e in assign_splits(examples, eval_fraction=fraction, seed=seed)}
    reversed_order = {e.input_hash: e.split for e in assign_splits(examples[::-1], eval_fraction=fraction, seed=seed)}
    assert once == reversed_order


def test_canonical_json_is_key_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1}) == '{"a":[1,"é"],"b":1}'


def test_examples_by_text_are_the_examples_read_when_asked_for(tmp_path: Path) -> None:
    """The simulated teacher's index over a version: the same examples as a dict of all of
    them (a text in both splits: the eval one), an offset per text instead of the example."""
    from harness.gold.by_text import ExamplesByText
    from harness.gold.synthetic import synthetic_copies

    records = [{"text": f"sushi place {i}", "spans": [{"start": 0, "end": 5, "label": "Dish"}], "versions": [{"old": 1}]} for i in range(40)]
    source = tmp_path / "s.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in synthetic_copies(records, 120)) + "\n")
    copies = [json.loads(line) for line in source.read_text().splitlines()]
    assert len({c["text"] for c in copies}) == 120 and "versions" not in copies[0] and copies[41]["text"] == "sushi place 1 #1"
    version = import_examples(GoldStore(tmp_path / "gold"), [source], name="s", tokenizer=whitespace_tokenizer, eval_fraction=0.3, seed=0)
    expected = {e.text: e for split in ("train", "eval") for e in version.iter_examples(split)}
    index = ExamplesByText(version.path)
    assert len(index) == 120 and index.get("not there") is None
    for text, example in expected.items():
        found = index.get(text)
        assert found is not None and (found.input_hash, found.spans, found.tokens, found.split) == (
            example.input_hash,
            example.spans,
            example.tokens,
            example.split,
        )
        assert found.source == example.source  # file:line, as the store names it
