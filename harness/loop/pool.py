"""The unlabelled pool and what the loop needs around it: the gold store, the eval
split it must never leak into, and pipeline outputs on arbitrary examples."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.results import Output
from ..errors import HarnessError, InputError
from ..gold.records import GoldExample
from ..gold.store import GoldStore
from ..runners import get_runner, kind_of
from ..specs import PipelineSpec, SuiteSpec


def gold_store(spec: SuiteSpec) -> GoldStore:
    """The suite's gold store."""
    return GoldStore(spec.gold_dir)


def eval_hashes(spec: SuiteSpec) -> dict[int, str]:
    """Input hash -> text of every example in the suite gold's eval split."""
    gold = gold_store(spec).resolve(spec.gold)
    return {e.input_hash: e.text for e in gold.iter_examples("eval")}


def pool_examples(spec: SuiteSpec) -> list[GoldExample]:
    """The unlabelled pool (a gold split used as raw text), refusing eval texts by name."""
    if spec.pool is None:
        raise InputError('the suite names no pool (add pool = "dataset@vN:train" to [suite])', path=spec.file, field="suite.pool")
    ref, split = spec.pool
    examples = list(gold_store(spec).resolve(ref).iter_examples(split))
    evals = eval_hashes(spec)
    eval_texts = set(evals.values())
    leaked = [e for e in examples if e.input_hash in evals or e.text in eval_texts]
    if leaked:
        shown = "; ".join(f"{e.input_hash} {e.text[:40]!r}" for e in leaked[:5])
        raise InputError(
            f"the pool contains {len(leaked)} text(s) of the eval split of {spec.gold} (train/eval leakage), e.g. {shown}",
            path=spec.file,
            field="suite.pool",
        )
    return examples


def predict_outputs(pipeline: PipelineSpec, examples: Sequence[GoldExample], task: str, llm_mode: str | None = None) -> list[Output]:
    """Per-example outputs (spans or cats) of a pipeline that can run, in order (no latency pass)."""
    if not kind_of(pipeline.kind).has_model:
        raise HarnessError(f"pipeline {pipeline.name} of kind {pipeline.kind} cannot run on a pool")
    run = get_runner(pipeline.kind).run(pipeline, examples, task=task, llm_mode=llm_mode, timed=False)
    return run.outputs(task)


def training_hashes(spec: SuiteSpec) -> set[int]:
    """Input hashes of the newest training version (none before the first)."""
    store = gold_store(spec)
    if not store.version_numbers(spec.training):
        return set()
    return {e.input_hash for e in store.resolve(spec.training).iter_examples("train")}
