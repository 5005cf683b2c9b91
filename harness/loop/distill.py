"""``harness distill``: a training version from the LLM's annotations of the pool (silver)."""

from __future__ import annotations

from ..core.spans import token_boundaries
from ..gold.records import GoldExample
from ..gold.store import GoldVersion, split_key
from ..specs import SuiteSpec
from .apply import corrected_examples
from .pool import gold_store, pool_examples, predict_outputs


def distill(
    spec: SuiteSpec, *, llm_mode: str | None = None, pool_fraction: float = 1.0, seed: int = 0, keep_corrected: bool = True
) -> GoldVersion:
    """A training version made of the LLM's annotations of the pool ("silver").

    The labels come from the LLM pipeline (its cassette when replaying), never
    from the gold, and the pool is checked against the eval split first.
    ``pool_fraction`` < 1 distils from a hash-chosen part of the pool only,
    keeping the rest unseen for the queue. With ``keep_corrected`` the reviewed
    (corrected) examples of the newest training version stay, and win over the
    silver label of the same text: re-distilling never throws away a correction.
    """
    store = gold_store(spec)
    gold = store.resolve(spec.gold)
    examples = [e for e in pool_examples(spec) if pool_fraction >= 1.0 or split_key(seed + 7, e.input_hash) < pool_fraction]
    llm = spec.require_llm()
    outputs = predict_outputs(llm, examples, gold.task, llm_mode)
    silver = []
    for example, output in zip(examples, outputs):
        if isinstance(output, dict):  # the task's output: categories
            silver.append(GoldExample(example.input_hash, example.text, cats=dict(output), meta={"silver": llm.name}, split="train"))
        else:  # spans, kept where they fall on token boundaries
            starts, ends = token_boundaries(example.tokens or ())
            spans = tuple(s for s in output if s[0] in starts and s[1] in ends)
            silver.append(
                GoldExample(example.input_hash, example.text, spans=spans, tokens=example.tokens, meta={"silver": llm.name}, split="train")
            )
    parent = store.resolve(spec.training) if store.version_numbers(spec.training) else None
    notes = f"distill ({spec.name}): silver annotations of {len(silver)} pool texts by {llm.name}; no gold labels"
    corrected: dict[int, GoldExample] = {}
    if parent is not None and keep_corrected:
        corrected = {e.input_hash: e for e in corrected_examples(parent)}
        if corrected:
            notes += f"; {len(corrected)} corrected example(s) of {parent.ref} kept over their silver labels"
    merged = [corrected.pop(e.input_hash, e) for e in silver] + list(corrected.values())
    return store.write_version(
        spec.training,
        merged,
        task=gold.task,
        source={"silver_from": llm.name, "config": llm.path, "pool": f"{spec.pool[0]}:{spec.pool[1]}" if spec.pool else None},
        notes=notes,
        eval_fraction=0.0,
        seed=0,
        parent=parent,
        lang=str(gold.manifest.get("lang", "en")),
    )
