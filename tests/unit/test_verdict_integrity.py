"""Nothing is recorded as passed that did not pass (unit tier): damaged baselines of ours
are re-blessed (kept as .bak), foreign files never; a baseline of another suite or dataset
is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.baselines import bless, load
from harness.errors import InputError

from .test_baselines import examples, perfect, result

GOLD = {"ref": "g@v1", "name": "g", "version": 1, "sha256": "abc", "task": "ner"}


def _bless(path: Path, suite: str = "s") -> None:
    exs = examples(120)
    bless(path, suite=suite, gold=GOLD, task="ner", examples=exs, results={"distilled": result(exs, perfect(exs))}, all_pipelines=["distilled"])


@pytest.mark.parametrize("damage", ["one character edited", "truncated before the schema", "emptied"])
def test_a_damaged_baseline_of_ours_is_reblessed_and_kept_as_bak(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "s.json"
    _bless(path)
    original = path.read_text()
    assert original.index('"schema"') > 4096  # the schema sorts late: sniffing the head cannot find it
    damaged = {
        "one character edited": original.replace('"suite": "s"', '"suite": "t"'),
        "truncated before the schema": original[:3000],
        "emptied": "",
    }[damage]
    path.write_text(damaged)
    with pytest.raises(InputError):
        load(path)
    _bless(path)  # what the gate's error says to do
    assert load(path).suite == "s"
    assert (tmp_path / "s.json.bak").read_text() == damaged
    path.write_text(damaged)
    _bless(path)
    assert (tmp_path / "s.json.bak.1").read_text() == damaged  # an older .bak is never overwritten


def test_a_file_that_is_not_ours_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"my": "own notes"}\n')
    with pytest.raises(InputError, match="is not a harness baseline"):
        _bless(path)
    assert path.read_text() == '{"my": "own notes"}\n' and not (tmp_path / "s.json.bak").exists()
