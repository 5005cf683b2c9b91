"""Reviewed records in, new data versions out: ``harness queue apply``, Prodigy answers,
and the demo's simulated reviewer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.spans import aligned, first_overlap, token_boundaries, tokens_from_records
from ..core.tasks import task_of
from ..errors import InputError
from ..gold.records import GoldExample
from ..gold.store import GoldStore, GoldVersion
from ..io.jsonl import read_jsonl
from ..options import DEFAULT_REPORTS_DIR, SPLITS
from ..specs import SuiteSpec
from . import queue
from .pool import gold_store
from .records import ACCEPTING

#: Records that check the gold: eval-split failures and `harness gold audit` suspects (any split).
GOLD_CHECK_SCOPES = ("eval", "gold")

REVIEWER_SIMULATED = "simulated reviewer (applies the pool's real gold labels)"


def simulated_review(spec: SuiteSpec, *, reports_dir: str | Path = DEFAULT_REPORTS_DIR, scope: str = "pool") -> int:
    """The demo's *simulated* reviewer: answers open records with the real gold labels.

    Only possible because the demo pool is a gold split; a real team reviews with
    ``harness queue review`` or Prodigy. Returns the number of records decided.
    """
    gold = gold_store(spec).resolve(spec.gold)
    truth: dict[int, GoldExample] = {}
    for ref, split in ([spec.pool] if spec.pool else []) + [(spec.gold, s) for s in SPLITS]:
        for example in gold_store(spec).resolve(ref).iter_examples(split):
            truth.setdefault(example.input_hash, example)
    path = queue.queue_path(reports_dir, spec.name)
    decided = 0
    with queue.locked(path):
        records = queue.load(path)
        for record in records:
            meta = record["harness"]
            if meta.get("scope") != scope or meta.get("status") != "open" or meta.get("decision") is not None:
                continue
            known = truth.get(int(record["_input_hash"]))
            if known is None:
                continue
            answer = task_of(gold.task).to_json(task_of(gold.task).gold_output(known))
            queue.decide(record, "gold" if scope == "eval" else "edited", answer, reviewer=REVIEWER_SIMULATED, task=gold.task)
            decided += 1
        queue.save(path, records)
    return decided


def import_prodigy_answers(spec: SuiteSpec, answers_path: str | Path, *, reports_dir: str | Path = DEFAULT_REPORTS_DIR) -> int:
    """Fold a Prodigy export (``prodigy db-out``) of the queue back in as decisions.

    ``accept`` takes the task's ``spans`` / ``cats`` as an edited answer, ``reject``
    rejects, ``ignore`` skips. Tasks are matched by ``_input_hash``; unknown ones
    are an error naming the line.
    """
    gold = gold_store(spec).resolve(spec.gold)
    path = queue.queue_path(reports_dir, spec.name)
    changed = 0
    with queue.locked(path):
        records = queue.load(path)
        by_hash = {int(r["_input_hash"]): r for r in records}
        for number, task in read_jsonl(answers_path):
            record = by_hash.get(int(task.get("_input_hash", 0)))
            if record is None:
                raise InputError("task is not in the queue (unknown _input_hash)", path=answers_path, line=number, field="_input_hash")
            verdict = task.get("answer", "accept")
            answer: Any = None
            if verdict == "accept" and task_of(gold.task).has_spans:
                answer = [[int(x["start"]), int(x["end"]), str(x["label"])] for x in task.get("spans", [])]
            elif verdict == "accept":
                answer = {k: float(v) for k, v in (task.get("cats") or {}).items()}
                if "accept" in task:  # choice interface
                    answer = {k: 1.0 if k in task["accept"] else 0.0 for k in answer or task["accept"]}
            decision = "edited" if verdict == "accept" else "reject" if verdict == "reject" else "skip"
            queue.decide(record, decision, answer, reviewer="prodigy", task=gold.task)
            changed += 1
        queue.save(path, records)
    return changed


@dataclass(frozen=True)
class ApplySummary:
    """What ``apply`` wrote: new versions, how many records, and what it refused."""

    gold_version: str | None
    training_version: str | None
    gold_fixes: int
    training_records: int
    refused: tuple[str, ...] = ()
    nothing_to_do: bool = False
    gold_confirmed: int = 0  # eval-split records whose reviewed answer is the gold's


def answer_example(record: dict[str, Any], task: str, split: str) -> GoldExample:
    """The reviewer's answer of a queue record as a gold example (checked against its tokens)."""
    answer = record["harness"].get("answer")
    tokens = tokens_from_records(record["tokens"]) if record.get("tokens") else None
    if task_of(task).has_spans:
        if not isinstance(answer, list):
            raise InputError("reviewed record has no span answer", field="harness.answer")
        starts, ends = token_boundaries(tokens or ())
        spans = []
        for item in answer:
            start, end, label = int(item[0]), int(item[1]), str(item[2])
            if not (0 <= start < end <= len(record["text"])) or not aligned((start, end), starts, ends):
                raise InputError(
                    f"answer span [{start}:{end}] ({label}) no longer aligns with the record's text/tokens",
                    field=f"_input_hash {record['_input_hash']}",
                )
            spans.append((start, end, label))
        spans.sort()
        if first_overlap(spans) is not None:
            raise InputError("answer spans overlap", field=f"_input_hash {record['_input_hash']}")
        return GoldExample(
            int(record["_input_hash"]), record["text"], spans=tuple(spans), tokens=tokens, meta={"corrected_from_queue": True}, split=split
        )
    if not isinstance(answer, dict):
        raise InputError("reviewed record has no cats answer", field="harness.answer")
    return GoldExample(
        int(record["_input_hash"]),
        record["text"],
        cats={k: float(v) for k, v in answer.items()},
        meta={"corrected_from_queue": True},
        split=split,
    )


def corrected_examples(version: GoldVersion) -> list[GoldExample]:
    """The reviewed (corrected) examples of a training version."""
    return [e for e in version.iter_examples("train") if e.meta.get("corrected_from_queue")]


def base_training(spec: SuiteSpec) -> tuple[GoldVersion | None, list[GoldExample]]:
    """The newest training version's examples, else the gold's train split."""
    store = gold_store(spec)
    if store.version_numbers(spec.training):
        version = store.resolve(spec.training)
        return version, list(version.iter_examples("train"))
    return None, list(store.resolve(spec.gold).iter_examples("train"))


def _gold_checks(
    store: GoldStore, spec: SuiteSpec, task: str, checks: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(records whose answer corrects the gold, records whose answer is the gold's)."""
    current = {e.input_hash: e for split in SPLITS for e in store.resolve(spec.gold.name).iter_examples(split)}
    fixes: list[dict[str, Any]] = []
    confirmed: list[dict[str, Any]] = []
    for record in checks:
        known = current.get(int(record["_input_hash"]))
        same = known is not None and _same_answer(answer_example(record, task, known.split), known, task)
        (confirmed if same else fixes).append(record)
    return fixes, confirmed


def _write_gold_fixes(store: GoldStore, spec: SuiteSpec, task: str, fixes: list[dict[str, Any]], path: Path) -> str:
    """A new gold version with the reviewed answers of ``fixes`` (splits unchanged); its ref."""
    latest = store.resolve(spec.gold.name)
    fixed = {int(r["_input_hash"]): r for r in fixes}
    examples = []
    for split in SPLITS:
        for example in latest.iter_examples(split):
            fix = fixed.get(example.input_hash)
            examples.append(answer_example(fix, task, split) if fix else example)
    changelog = f"queue apply ({spec.name}): {len(fixes)} suspected gold error(s) corrected: " + ", ".join(str(h) for h in sorted(fixed))
    version = store.write_version(
        spec.gold.name,
        examples,
        task=task,
        source={"queue": str(path)},
        notes=changelog,
        eval_fraction=float(latest.manifest.get("eval_fraction", 0.3)),
        seed=int(latest.manifest.get("seed", 0)),
        parent=latest,
        lang=str(latest.manifest.get("lang", "en")),
    )
    return version.ref


def _write_training(store: GoldStore, spec: SuiteSpec, gold: GoldVersion, to_train: list[dict[str, Any]], path: Path) -> str:
    """A new training version: the newest one (or the gold train split) with the reviewed answers; its ref."""
    parent, base = base_training(spec)
    corrected = {int(r["_input_hash"]): answer_example(r, gold.task, "train") for r in to_train}
    merged = [corrected.pop(e.input_hash, e) for e in base] + list(corrected.values())
    merged = [dataclasses.replace(e, split="train") for e in merged]
    n_corrected = sum(1 for e in merged if e.meta.get("corrected_from_queue"))
    changelog = (
        f"queue apply ({spec.name}): {len(to_train)} reviewed pool record(s); "
        f"{n_corrected} corrected examples in total; base "
        f"{parent.ref if parent else gold.ref + ' train split'}"
    )
    version = store.write_version(
        spec.training,
        merged,
        task=gold.task,
        source={"queue": str(path)},
        notes=changelog,
        eval_fraction=0.0,
        seed=0,
        parent=parent,
        lang=str(gold.manifest.get("lang", "en")),
    )
    return version.ref


def apply(spec: SuiteSpec, *, reports_dir: str | Path = DEFAULT_REPORTS_DIR) -> ApplySummary:
    """Reviewed records -> new versions (never overwriting one).

    Eval-split records and gold-audit suspects are gold checks: an answer other than the
    gold goes into a new gold version (split unchanged), the gold's own answer confirms it;
    neither is ever training data. Pool and behaviour records go into a new training version; one whose
    text is in the eval split is refused (train/eval leakage) and named.
    """
    store = gold_store(spec)
    gold = store.resolve(spec.gold)
    path = queue.queue_path(reports_dir, spec.name)
    with queue.locked(path):
        records = queue.load(path)
        pending = [r for r in records if r["harness"].get("decision") in ACCEPTING and not r["harness"].get("applied_to")]
        if not pending:
            return ApplySummary(None, None, 0, 0, nothing_to_do=True)
        evals = {e.input_hash for e in gold.iter_examples("eval")}
        fixes, confirmed = _gold_checks(store, spec, gold.task, [r for r in pending if r["harness"].get("scope") in GOLD_CHECK_SCOPES])
        for record in confirmed:
            record["harness"]["applied_to"] = f"{store.resolve(spec.gold.name).ref} (gold confirmed)"
        # Reviewed pool texts and behavioural cases (perturbed eval texts) become training data.
        to_train = [r for r in pending if r["harness"].get("scope") in ("pool", "behaviour")]
        refused = [r for r in to_train if int(r["_input_hash"]) in evals]
        to_train = [r for r in to_train if int(r["_input_hash"]) not in evals]
        gold_ref = _write_gold_fixes(store, spec, gold.task, fixes, path) if fixes else None
        training_ref = _write_training(store, spec, gold, to_train, path) if to_train else None
        for record in fixes:
            record["harness"]["applied_to"] = gold_ref
        for record in to_train:
            record["harness"]["applied_to"] = training_ref
        queue.save(path, records)
    refused_shown = tuple(f"{r['_input_hash']} {r['text'][:40]!r}" for r in refused)
    return ApplySummary(gold_ref, training_ref, len(fixes), len(to_train), refused_shown, gold_confirmed=len(confirmed))


def _same_answer(answer: GoldExample, gold: GoldExample, task: str) -> bool:
    """Whether a reviewed answer says what the gold says (categories by the gold's positive rule)."""
    kind = task_of(task)
    return kind.comparable(kind.gold_output(answer)) == kind.comparable(kind.gold_output(gold))
