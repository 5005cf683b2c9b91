"""Engines: how a pipeline is mapped over many texts (see :mod:`harness.engines.base`).

``local`` (in this process, the default), ``processes`` (every local core, one model load
per worker process) and ``ray`` (Ray Data, a local or remote cluster; the optional extra
``distill-harness[ray]``). Results never depend on the engine: callers get rows and build
counts, scores and queues from them in the driver.
"""

from __future__ import annotations

from ..errors import InputError
from ..options import ENGINES, EngineChoice
from .base import Engine, EngineStats, InMemory, Item, Problem, Row, Source, Work


def build_engine(choice: EngineChoice) -> Engine:
    """The engine ``choice`` (the ``--engine`` family of options) describes."""
    choice = choice.resolved()
    if choice.name not in ENGINES:
        raise InputError(f"unknown engine {choice.name!r} (one of {', '.join(ENGINES)})", field="engine")
    if choice.name == "local":
        from .local import LocalEngine

        return LocalEngine(choice.batch_size)
    if choice.name == "processes":
        from .processes import ProcessesEngine, default_workers

        return ProcessesEngine(choice.batch_size, choice.workers or default_workers())
    from .ray_engine import RayEngine

    return RayEngine(choice.batch_size, choice.workers, choice.num_cpus, choice.num_gpus, choice.ray_address)


__all__ = ["Engine", "EngineChoice", "build_engine", "EngineStats", "InMemory", "Item", "Problem", "Row", "Source", "Work"]
