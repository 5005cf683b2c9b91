"""harness.heap: only a process the harness owns freezes its heap, and only once."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from harness import heap


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    saved = dict(heap._state)
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # the test process's collector is left as it was
    heap._state.update(saved)
    if enabled:
        gc.enable()


def test_a_process_not_owned_keeps_its_collector() -> None:
    heap._state.update(owned=False, frozen=False)
    frozen_before = gc.get_freeze_count()
    with heap.long_lived():
        assert gc.isenabled()
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == frozen_before and gc.isenabled() and kept


def test_an_owned_process_collects_nothing_while_loading_then_freezes_once() -> None:
    gc.unfreeze()
    heap._state.update(owned=False, frozen=False)
    heap.own_process()
    with heap.long_lived():
        assert not gc.isenabled()  # no collection while the long-lived heap is built
        loaded = [[i] for i in range(1000)]
    frozen = gc.get_freeze_count()
    assert frozen >= 1000 and gc.isenabled() and loaded
    with heap.long_lived():  # a second pipeline may become garbage: not frozen
        assert gc.isenabled()
        later = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == frozen and later


def test_a_disabled_collector_stays_disabled() -> None:
    gc.unfreeze()
    heap._state.update(owned=True, frozen=False)
    gc.disable()
    with heap.long_lived():
        pass
    assert not gc.isenabled() and gc.get_freeze_count() > 0


def test_freeze_so_far_freezes_mid_block_only_when_owned() -> None:
    gc.unfreeze()
    heap._state.update(owned=False, frozen=False)
    heap.freeze_so_far()
    assert gc.get_freeze_count() == 0
    heap.own_process()
    with heap.long_lived():
        heap.freeze_so_far()  # e.g. right after `import spacy`, before a library re-enables collection
        mid = gc.get_freeze_count()
        assert mid > 0
        gc.enable()  # what srsly's msgpack reader does inside spacy.load
        loaded = [[i] for i in range(1000)]
    assert gc.get_freeze_count() > mid + 900 and loaded  # and what the load built after it
