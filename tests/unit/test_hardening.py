"""Bad input and faults a new user hit (pure parts): each case failed before its fix."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from harness.core.categories import categorize
from harness.core.stats import format_interval
from harness.core.text import printable, visible
from harness.errors import GoldIntegrityError, InputError
from harness.gold import GoldStore, import_examples, parse_prodigy_file
from harness.io import atomic
from harness.io.jsonl import read_jsonl
from harness.llm.cassette import Cassette, cassette_key
from harness.loop import queue
from harness.loop.review import parse_edit
from harness.suites import parse_suite


def whitespace_tokenizer(text: str) -> list[tuple[int, int, str, bool]]:
    return [(m.start(), m.end(), m.group(), text[m.end() : m.end() + 1] == " ") for m in re.finditer(r"\S+", text)]


def ner_record(text: str, spans: list[tuple[int, int, str]], **extra: object) -> dict:
    tokens = [{"text": t, "start": s, "end": e, "id": i, "ws": ws} for i, (s, e, t, ws) in enumerate(whitespace_tokenizer(text))]
    return {"text": text, "tokens": tokens, "spans": [{"start": s, "end": e, "label": lab} for s, e, lab in spans], **extra}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def ner_file(tmp_path: Path, n: int = 20, name: str = "data.jsonl") -> Path:
    texts = [f"pizza place number {i} in boston" for i in range(n)]
    records = [ner_record(t, [(0, 5, "Dish"), (t.index("boston"), len(t), "Location")]) for t in texts]
    return write_jsonl(tmp_path / name, records)


# -- input files ---------------------------------------------------------------------


def test_non_utf8_file_names_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"latin1\.jsonl:2: not UTF-8: byte b'\\xe9' at byte offset 28"):
        list(read_jsonl(path))


def test_directory_given_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        list(read_jsonl(tmp_path))


def test_prodigy_ner_records_without_spans_key_are_examples_without_entities(tmp_path: Path) -> None:
    """Prodigy writes no 'spans' for an accepted text with no entity; with tokens, that is NER."""
    with_spans = ner_record("pizza in boston", [(0, 5, "Dish")], answer="accept")
    bare = ner_record("nothing here at all", [], answer="accept")
    del bare["spans"]
    path = write_jsonl(tmp_path / "export.jsonl", [with_spans, bare])
    examples = list(parse_prodigy_file(path, task="ner"))
    assert [e.spans for e in examples] == [((0, 5, "Dish"),), ()]
    with pytest.raises(InputError, match=r"export\.jsonl:2.*no 'cats' for task textcat"):
        list(parse_prodigy_file(path, task="textcat"))
    version = import_examples(GoldStore(tmp_path / "gold"), [path], name="x", task="ner", eval_fraction=0.0)
    assert version.manifest["source"]["ner_records_without_spans"] == 1


def test_token_start_contradicting_character_offsets_is_refused(tmp_path: Path) -> None:
    record = ner_record("pizza in boston", [(9, 15, "Location")])
    record["spans"][0]["token_start"] = 0  # "boston" is token 2
    path = write_jsonl(tmp_path / "bad.jsonl", [record])
    with pytest.raises(InputError, match=r"bad\.jsonl:1, field 'spans\[0\]\.token_start': token_start 0 contradicts"):
        list(parse_prodigy_file(path))


@pytest.mark.parametrize("label", ["Dish\x1b[2J", "Loc\x07", "\x9bX"])
def test_labels_with_control_characters_are_refused_at_import(tmp_path: Path, label: str) -> None:
    ner = write_jsonl(tmp_path / "ner.jsonl", [ner_record("pizza in boston", [(0, 5, label)])])
    with pytest.raises(InputError, match="control characters"):
        list(parse_prodigy_file(ner))
    cats = write_jsonl(tmp_path / "cats.jsonl", [{"text": "a question", "cats": {label: 1.0}}])
    with pytest.raises(InputError, match="control characters"):
        list(parse_prodigy_file(cats))


# -- gold store ----------------------------------------------------------------------


def test_manifest_edits_are_caught_by_verify(tmp_path: Path) -> None:
    store = GoldStore(tmp_path / "gold")
    version = import_examples(store, [ner_file(tmp_path)], name="d", tokenizer=whitespace_tokenizer, eval_fraction=0.3)
    manifest_path = version.path / "manifest.json"
    original = manifest_path.read_text()
    for edit in ({"Hours": 3}, None):
        manifest = json.loads(original)
        if edit is None:
            del manifest["labels"]["Dish"]  # removing a label would silently drop its gates
        else:
            manifest["labels"].update(edit)  # adding one would silently add gates
        manifest_path.write_text(json.dumps(manifest))
        with pytest.raises(GoldIntegrityError, match="manifest.json: edited after it was written"):
            store.resolve("d@v1")
        assert "edited after it was written" in (store.verify_all()[0][1] or "")
        # A manifest without its own hash (written before it had one) is checked against the data.
        del manifest["manifest_sha256"]
        manifest_path.write_text(json.dumps(manifest))
        with pytest.raises(GoldIntegrityError, match="labels .* do not match the data"):
            store.resolve("d@v1")
    manifest_path.write_text(original)
    assert store.verify_all() == [("d@v1", None)]


def test_deleted_manifest_and_leftover_temp_dirs_are_reported(tmp_path: Path) -> None:
    store = GoldStore(tmp_path / "gold")
    import_examples(store, [ner_file(tmp_path)], name="d", tokenizer=whitespace_tokenizer)
    (tmp_path / "gold" / "d" / "v1" / "manifest.json").unlink()
    (tmp_path / "gold" / "d" / ".v2.abc.tmp").mkdir()
    results = dict(store.verify_all())
    assert "has no manifest.json" in (results["d@v1"] or "")
    assert "interrupted write" in (results["d/.v2.abc.tmp"] or "")
    assert store.datasets() == ["d"]  # the dataset does not vanish
    with pytest.raises(InputError, match="has no manifest.json"):
        store.resolve("d")
    # A new import does not land on the broken directory (it used to crash renaming onto it).
    version = import_examples(store, [ner_file(tmp_path, 25)], name="d", tokenizer=whitespace_tokenizer)
    assert version.ref == "d@v2" and (tmp_path / "gold" / "d" / "v1").exists()


def test_importing_the_same_file_twice_writes_nothing(tmp_path: Path) -> None:
    store = GoldStore(tmp_path / "gold")
    source = ner_file(tmp_path)
    first = import_examples(store, [source], name="d", tokenizer=whitespace_tokenizer)
    again = import_examples(store, [source], name="d", tokenizer=whitespace_tokenizer)
    assert again.unchanged and again.ref == first.ref == "d@v1"
    assert store.version_dirs("d") == [1]


def test_own_eval_split_is_kept_and_leakage_refused(tmp_path: Path) -> None:
    store = GoldStore(tmp_path / "gold")
    train, evals = ner_file(tmp_path, 20, "train.jsonl"), ner_file(tmp_path, 30, "eval.jsonl")
    evals.write_text("".join(evals.read_text().splitlines(keepends=True)[20:]))  # 10 texts not in train
    version = import_examples(store, [train], name="d", tokenizer=whitespace_tokenizer, eval_paths=[evals])
    assert version.split_size("eval") == 10 and version.split_size("train") == 20
    assert version.manifest["source"]["eval_paths"] == ["eval.jsonl"] or version.manifest["source"]["eval_paths"][0].endswith("eval.jsonl")
    with pytest.raises(InputError, match=r"eval text\(s\) also in the train files"):
        import_examples(GoldStore(tmp_path / "g2"), [train], name="d", tokenizer=whitespace_tokenizer, eval_paths=[train])


def test_manifest_records_no_absolute_source_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = ner_file(tmp_path)
    version = import_examples(GoldStore("gold"), [source], name="d", tokenizer=whitespace_tokenizer)
    assert version.manifest["source"]["paths"] == ["data.jsonl"]
    assert str(tmp_path) not in (version.path / "manifest.json").read_text()


def test_atomic_writes_keep_the_users_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "report.json", "{}")
        with atomic.atomic_directory(tmp_path / "v1") as tmp:
            (tmp / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "v1").stat().st_mode) == 0o755


# -- suites ------------------------------------------------------------------------


SUITE = '[suite]\nname = "s"\ngold = "d@v1"\n\n[pipelines.distilled]\npath = "m"\n\n[gates.distilled]\n'


@pytest.mark.parametrize(
    ("gates", "key"),
    [
        ("f_min = 1.5", "gates.distilled.f_min"),
        ("label_f_min = -2", "gates.distilled.label_f_min"),
        ("words_per_second_min = -5", "gates.distilled.words_per_second_min"),
        ("size_bytes_max = 0", "gates.distilled.size_bytes_max"),
        ("label_f_min_overrides = { X = 1.2 }", "gates.distilled.label_f_min_overrides.X"),
    ],
)
def test_impossible_thresholds_are_refused(tmp_path: Path, gates: str, key: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SUITE + gates + "\n")
    with pytest.raises(InputError, match=re.escape(f"field '{key}'")):
        parse_suite(path)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (('name = "s"', 'name = "s\\u001b[2J"'), "suite.name"),
        (('name = "s"', 'name = "a::b"'), "suite.name"),
        (('gold = "d@v1"', 'gold = "d@v1"\nresamples = 0'), "suite.resamples"),
        (('path = "m"', 'path = "m"\n[pipelines.distilled.train]\nmax_steps = 0'), "pipelines.distilled.train.max_steps"),
    ],
)
def test_bad_names_and_counts_are_refused(tmp_path: Path, edit: tuple[str, str], key: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SUITE.replace(*edit))
    with pytest.raises(InputError, match=re.escape(f"field '{key}'")):
        parse_suite(path)


def test_max_drop_outside_zero_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SUITE + 'distilled_vs_llm = { llm = "l", max_drop = 1.5 }\n[pipelines.l]\nkind = "llm"\nconfig = "l.cfg"\n')
    with pytest.raises(InputError, match=re.escape("field 'gates.distilled.distilled_vs_llm.max_drop'")):
        parse_suite(path)


# -- cassettes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("response", None, "expected str, got NoneType"),
        ("response", 42, "expected str, got int"),
        ("latency_s", "fast", "expected int or float, got str"),
        ("usage", {"prompt_tokens": "many"}, "token counts must be integers"),
    ],
)
def test_cassette_field_types_are_checked_on_load(tmp_path: Path, field: str, value: object, expected: str) -> None:
    identity = {"registry": "m"}
    record = {
        "key": cassette_key("p", identity),
        "model": identity,
        "prompt": "p",
        "response": "1. x | True | A | r",
        "latency_s": 0.1,
        "usage": None,
        "recorded_at": "",
        "simulated": False,
        field: value,
    }
    path = write_jsonl(tmp_path / "c.jsonl", [record])
    with pytest.raises(InputError, match=rf"c\.jsonl:1, field '{field}': {re.escape(expected)}"):
        Cassette.load(path)


# -- queue and review --------------------------------------------------------------


def queue_record(input_hash: int) -> dict:
    return {
        "text": "t",
        "_input_hash": input_hash,
        "harness": {"scope": "eval", "category": "hard_case", "status": "open", "decision": None, "informativeness": 1.0},
    }


def test_queue_refuses_records_of_another_gold(tmp_path: Path) -> None:
    path = tmp_path / "queue" / "s.jsonl"
    queue.update(path, [queue_record(1), queue_record(2)], scope="eval", dataset="restaurant-reviews")
    with pytest.raises(InputError, match="made for gold dataset.*restaurant-reviews, not food-ingredients"):
        queue.update(path, [queue_record(3)], scope="eval", dataset="food-ingredients")
    records = queue.load(path)
    assert {r["harness"]["status"] for r in records} == {"open"}  # nothing was marked resolved


def test_an_unparseable_llm_answer_is_no_answer() -> None:
    gold = ((0, 5, "Dish"),)
    assert categorize(gold, (), None, "ner") == "hard_case"  # not "LLM and distilled agree against the gold"
    assert categorize(gold, (), (), "ner") == "gold_suspect"


def test_review_refuses_unknown_ner_labels_and_takes_quoted_ones() -> None:
    record = ner_record("pizza in new york", [])
    record["harness"] = {"gold": [[0, 5, "Dish"]], "predictions": {}}
    with pytest.raises(InputError, match="unknown label 'Ratng'"):
        parse_edit("0 Ratng", record, ["Dish", "Restaurant Name"])
    assert parse_edit('0 Dish, 2-3 "Restaurant Name"', record, ["Dish", "Restaurant Name"]) == [[0, 5, "Dish"], [9, 17, "Restaurant Name"]]


# -- terminal text -----------------------------------------------------------------


def test_control_characters_are_shown_not_obeyed() -> None:
    hostile = "pizza \x1b[2J\x1b]0;PWNED\x07 \x9b31m"
    assert "\x1b" not in printable(hostile) and "\x07" not in printable(hostile) and "\x9b" not in printable(hostile)
    assert printable(hostile).startswith("pizza \\x1b[2J")
    assert len(visible(hostile)) == len(hostile) and "\x1b" not in visible(hostile)
    assert printable("line\nnext\ttab") == "line\nnext\ttab"


def test_terminal_report_escapes_hostile_labels_and_names() -> None:
    from harness.core.metrics import Counts, score_table
    from harness.core.results import GoldInfo, PipelineResult, SpeedStats, SuiteResult
    from harness.reports.terminal import render_to_string

    counts = {"Dish\x1b[2J[bold]": Counts(tp=(0,), fp=(), fn=(1,))}
    table = score_table(counts, 2, variant="strict", resamples=20)
    result = PipelineResult(
        "distilled\x1b]0;x\x07", "spacy", "m", "ner", table, None, None, SpeedStats(1.0, 1, 1, 1.0, 1.0, 1.0, 1, 1), 1, None, None, 2, (1, 2)
    )
    text = render_to_string([SuiteResult("s\x1b[31m", "f", GoldInfo("g", 1, "0" * 64, "ner", 1, 2), {"d": result}, {}, [])])
    assert "\x1b" not in text and "\x07" not in text
    assert "[bold]" in text  # shown as text, not taken as markup


def test_intervals_are_unambiguous() -> None:
    assert format_interval((-0.764, -0.715), signed=True) == "[-0.764, -0.715]"
    assert format_interval((0.718, 0.775)) == "[0.718, 0.775]"
    assert format_interval((float("nan"), 1.0)) == "-"


def test_loop_clears_only_its_own_scratch_directory(tmp_path: Path) -> None:
    from harness.loop.demo import WORKDIR_MARKER, _fresh_workdir

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="not made by `harness loop`"):
        _fresh_workdir(mine)
    assert (mine / "thesis.tex").exists()
    scratch = _fresh_workdir(tmp_path / "loop")
    (scratch / "old-round").mkdir()
    assert sorted(p.name for p in _fresh_workdir(scratch).iterdir()) == [WORKDIR_MARKER]
