"""Registers the harness model blocks in spacy-llm's ``llm_models`` registry.

Importing this module registers them (the runner does so before assembling a
pipeline); the ``thinc_llm_models`` entry points in ``pyproject.toml`` point here
too, so a config using them loads with plain ``spacy_llm.util.assemble`` once the
harness is installed.
"""

from __future__ import annotations

from typing import Any

from spacy_llm.registry import registry

from ..options import DEFAULT_LLM_MODE
from .cassette_model import CassetteModel
from .openai_compatible import OpenAICompatibleModel
from .simulated_teacher import SimulatedTeacherModel, SimulatedTeacherV2Model


@registry.llm_models(CassetteModel.registry_name)
def make_cassette(
    path: str,
    inner_model: str,
    inner_config: dict[str, Any] | None = None,
    mode: str = DEFAULT_LLM_MODE,
    strict_missing: bool = True,
    flush_every: int = 25,
    context_length: int | None = None,
) -> CassetteModel:
    """``harness.Cassette.v1``: record/replay any spacy-llm model block."""
    return CassetteModel(
        path=path,
        inner_model=inner_model,
        inner_config=inner_config,
        mode=mode,
        strict_missing=strict_missing,
        flush_every=flush_every,
        context_length=context_length,
    )


@registry.llm_models(OpenAICompatibleModel.registry_name)
def make_openai_compatible(
    base_url: str,
    name: str,
    api_key_env: str | None = None,
    config: dict[str, Any] | None = None,
    timeout: float = 60.0,
    max_tries: int = 5,
    backoff: float = 1.0,
    concurrency: int = 4,
    context_length: int | None = None,
) -> OpenAICompatibleModel:
    """``harness.OpenAICompatible.v1``: any OpenAI-compatible chat-completions endpoint."""
    return OpenAICompatibleModel(
        base_url=base_url,
        name=name,
        api_key_env=api_key_env,
        config=config,
        timeout=timeout,
        max_tries=max_tries,
        backoff=backoff,
        concurrency=concurrency,
        context_length=context_length,
    )


@registry.llm_models(SimulatedTeacherModel.registry_name)
def make_simulated_teacher(
    gold: str,
    gold_dir: str = "gold",
    task: str = "ner",
    rates: dict[str, Any] | None = None,
    seed: int = 0,
    exclusive_classes: bool = False,
    base_latency_s: float = 0.5,
    latency_s_per_token: float = 0.004,
) -> SimulatedTeacherModel:
    """``harness.SimulatedTeacher.v1``: the offline simulated teacher (answers derived from gold)."""
    return SimulatedTeacherModel(
        gold=gold,
        gold_dir=gold_dir,
        task=task,
        rates=rates,
        seed=seed,
        exclusive_classes=exclusive_classes,
        base_latency_s=base_latency_s,
        latency_s_per_token=latency_s_per_token,
    )


@registry.llm_models(SimulatedTeacherV2Model.registry_name)
def make_simulated_teacher_v2(
    gold: str,
    gold_dir: str = "gold",
    task: str = "ner",
    rates: dict[str, Any] | None = None,
    seed: int = 0,
    exclusive_classes: bool = False,
    mix: float = 0.3,
    base_latency_s: float = 0.5,
    latency_s_per_token: float = 0.004,
) -> SimulatedTeacherV2Model:
    """``harness.SimulatedTeacher.v2``: the simulated teacher with systematic errors (per surface
    form, a boundary convention per label, misses rising with rarity and length, a spurious lexicon)."""
    return SimulatedTeacherV2Model(
        gold=gold,
        gold_dir=gold_dir,
        task=task,
        rates=rates,
        seed=seed,
        exclusive_classes=exclusive_classes,
        mix=mix,
        base_latency_s=base_latency_s,
        latency_s_per_token=latency_s_per_token,
    )
