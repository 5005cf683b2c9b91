"""The long-lived heap of a process the harness owns: spaCy's import (and the pipeline
when a load comes first), built with the cyclic garbage collector paused, then frozen.

Why: importing spaCy (with spacy-llm and the language data it pulls in) and loading a
pipeline create ~90,000 tracked objects that live until the process exits. CPython's
cyclic collector walks them again on every full collection, and a command allocates
enough to trigger many. Measured on ``harness eval`` of the restaurant model (GC
callbacks): 299 collections taking ~125 ms without freezing, 106 taking ~20 ms with it;
``bench/eval_vs_spacy.py`` shows the wall-time effect. No collection of the frozen heap
happens inside the timed prediction pass any more either, and words/second and latency
stay within their run-to-run noise. ``gc.freeze`` moves the objects to the permanent
generation: they are never collected, which costs nothing for objects that live as long
as the process (measured: +0.5 MB peak RSS).

Only the CLI opts in (:func:`own_process`): the pytest plugin runs inside the user's
process and leaves its collector alone, and so does anyone importing ``harness.api``.
Only the first block freezes, and the first one comes before any model exists (a load,
or training's spaCy import): a later pipeline (``harness loop`` trains and loads several)
may become garbage, and frozen garbage would never be freed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

_state = {"owned": False, "frozen": False}


class _FreezeOnce:
    """The runners' load policy in a process of ours."""

    def long_lived(self) -> AbstractContextManager[None]:
        return long_lived()

    def freeze_so_far(self) -> None:
        freeze_so_far()


def own_process() -> None:
    """Declare this process the harness's own (a CLI command): the first pipeline load freezes its heap."""
    from .runners.base import set_load_policy  # the runners mark their long-lived blocks; this decides

    _state["owned"] = True
    set_load_policy(_FreezeOnce())


@contextmanager
def long_lived() -> Iterator[None]:
    """Run code that builds objects living until exit (``import spacy``, ``spacy.load``):
    in an owned process, the first time, without collections and then frozen; otherwise as is."""
    if not _state["owned"] or _state["frozen"]:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        _state["frozen"] = True
        gc.freeze()
        if enabled:
            gc.enable()


def freeze_so_far() -> None:
    """Inside :func:`long_lived`, freeze what exists now. For a block in which a library
    switches collection back on (srsly's msgpack reader, which spaCy loads pipelines
    with, calls ``gc.enable()``): the collections that follow then skip what came before."""
    if _state["owned"] and not _state["frozen"]:
        gc.freeze()
