"""The human-in-the-loop workflow: fill the queue from a pool, apply reviewed
records as new data versions, distil from the LLM, retrain, and the demo loop.

Every function takes a parsed :class:`~harness.suites.SuiteSpec` and returns data;
``harness.cli`` prints it. Data versions go through :class:`~harness.gold.GoldStore`
(never overwritten); the queue through :mod:`harness.queue` (locked, atomic).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import atomic, queue
from .errors import HarnessError, InputError
from .gold import SPLITS, GoldExample, GoldStore, GoldVersion
from .results import PipelineResult
from .suites import PipelineSpec, SuiteSpec

REVIEWER_SIMULATED = "simulated reviewer (applies the pool's real gold labels)"


def _store(spec: SuiteSpec) -> GoldStore:
    return GoldStore(spec.gold_dir)


def distilled_spec(spec: SuiteSpec) -> PipelineSpec:
    for pipeline in spec.pipelines.values():
        if pipeline.kind == "spacy":
            return pipeline
    raise HarnessError(f"{spec.file}: the suite has no spaCy (distilled) pipeline")


def llm_spec(spec: SuiteSpec) -> PipelineSpec:
    for pipeline in spec.pipelines.values():
        if pipeline.is_llm:
            return pipeline
    raise HarnessError(f"{spec.file}: the suite has no llm pipeline")


def eval_hashes(spec: SuiteSpec) -> dict[int, str]:
    """Input hash -> text of every example in the suite gold's eval split."""
    gold = _store(spec).resolve(spec.gold)
    return {e.input_hash: e.text for e in gold.iter_examples("eval")}


def pool_examples(spec: SuiteSpec) -> list[GoldExample]:
    """The unlabelled pool (a gold split used as raw text), refusing eval texts by name."""
    if spec.pool is None:
        raise InputError("the suite names no pool (add pool = \"dataset@vN:train\" to [suite])", path=spec.file,
                         field="suite.pool")
    ref, split = spec.pool
    examples = list(_store(spec).resolve(ref).iter_examples(split))
    evals = eval_hashes(spec)
    eval_texts = set(evals.values())
    leaked = [e for e in examples if e.input_hash in evals or e.text in eval_texts]
    if leaked:
        shown = "; ".join(f"{e.input_hash} {e.text[:40]!r}" for e in leaked[:5])
        raise InputError(f"the pool contains {len(leaked)} text(s) of the eval split of {spec.gold} "
                         f"(train/eval leakage), e.g. {shown}", path=spec.file, field="suite.pool")
    return examples


def _outputs(pipeline: PipelineSpec, texts: Sequence[str], task: str, llm_mode: str | None = None) -> list[Any]:
    """Per-text predictions (spans or cats) of a pipeline, in order."""
    if pipeline.kind == "spacy":
        from .runners.spacy_pipeline import run_spacy_pipeline

        run = run_spacy_pipeline(pipeline.path, texts, task=task, latency_docs=0, batch_size=pipeline.batch_size)
        predictions = run.predictions
    elif pipeline.is_llm:
        from .runners.llm_pipeline import run_llm_pipeline

        run, _ = run_llm_pipeline(pipeline.path, texts, task=task, mode=llm_mode, latency_docs=0,
                                  batch_size=pipeline.batch_size)
        predictions = run.predictions
    else:
        raise HarnessError(f"pipeline {pipeline.name} of kind {pipeline.kind} cannot run on a pool")
    return [p.spans if task == "ner" else dict(p.cats or {}) for p in predictions]


@dataclass(frozen=True)
class FillSummary:
    pool: int
    disagreements: int
    queued: int
    path: Path


def _training_hashes(spec: SuiteSpec) -> set[int]:
    store = _store(spec)
    if not store.version_numbers(spec.training):
        return set()
    return {e.input_hash for e in store.resolve(spec.training).iter_examples("train")}


def fill(spec: SuiteSpec, *, reports_dir: str | Path = "reports", limit: int = 100, llm_mode: str | None = None,
         distilled_path: str | None = None, skip_trained: bool = False) -> FillSummary:
    """Run the distilled and LLM pipelines on the pool; queue the ``limit`` most
    informative disagreements not already queued.

    ``skip_trained`` leaves out texts already in the newest training version: a
    model trained on silver labels of a text reproduces them, so disagreement
    there says little (the loop distils from part of the pool and fills from the rest).
    """
    gold = _store(spec).resolve(spec.gold)
    examples = pool_examples(spec)
    path = queue.queue_path(reports_dir, spec.name)
    known = {int(r["_input_hash"]) for r in queue.load(path)}
    if skip_trained:
        known |= _training_hashes(spec)
    candidates = [e for e in examples if e.input_hash not in known]
    texts = [e.text for e in candidates]
    student = distilled_spec(spec)
    if distilled_path is not None:
        student = dataclasses.replace(student, path=distilled_path)
    teacher = llm_spec(spec)
    mine = _outputs(student, texts, gold.task)
    theirs = _outputs(teacher, texts, gold.task, llm_mode)
    scored = []
    for example, d, m in zip(candidates, mine, theirs):
        if queue.normalise(d, gold.task, spec.threshold) == queue.normalise(m, gold.task, spec.threshold):
            continue
        scored.append((queue.disagreement_score(d, m, gold.task), example, d, m))
    scored.sort(key=lambda item: (-item[0], item[1].input_hash))
    fresh = [
        queue.make_record(suite=spec.name, scope="pool", category="disagreement", example=example, task=gold.task,
                          best=m, gold=None, predictions={student.name: d, teacher.name: m}, informativeness=score)
        for score, example, d, m in scored[:limit]
    ]
    queue.update(path, fresh, scope="pool")
    return FillSummary(len(examples), len(scored), len(fresh), path)


def simulated_review(spec: SuiteSpec, *, reports_dir: str | Path = "reports", scope: str = "pool") -> int:
    """The demo's *simulated* reviewer: answers open records with the real gold labels.

    Only possible because the demo pool is a gold split; a real team reviews with
    ``harness queue review`` or Prodigy. Returns the number of records decided.
    """
    gold = _store(spec).resolve(spec.gold)
    truth: dict[int, GoldExample] = {}
    for ref, split in ([spec.pool] if spec.pool else []) + [(spec.gold, s) for s in SPLITS]:
        for example in _store(spec).resolve(ref).iter_examples(split):
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
            answer = known.spans if gold.task == "ner" else dict(known.cats or {})
            meta["decision"] = "gold" if scope == "eval" else "edited"
            meta["answer"] = [list(s) for s in answer] if gold.task == "ner" else answer
            meta["reviewer"] = REVIEWER_SIMULATED
            decided += 1
        queue.save(path, records)
    return decided


def import_prodigy_answers(spec: SuiteSpec, answers_path: str | Path, *, reports_dir: str | Path = "reports") -> int:
    """Fold a Prodigy export (``prodigy db-out``) of the queue back in as decisions.

    ``accept`` takes the task's ``spans`` / ``cats`` as an edited answer, ``reject``
    rejects, ``ignore`` skips. Tasks are matched by ``_input_hash``; unknown ones
    are an error naming the line.
    """
    from .gold import read_jsonl

    gold = _store(spec).resolve(spec.gold)
    path = queue.queue_path(reports_dir, spec.name)
    changed = 0
    with queue.locked(path):
        records = queue.load(path)
        by_hash = {int(r["_input_hash"]): r for r in records}
        for number, task in read_jsonl(answers_path):
            record = by_hash.get(int(task.get("_input_hash", 0)))
            if record is None:
                raise InputError("task is not in the queue (unknown _input_hash)", path=answers_path, line=number,
                                 field="_input_hash")
            answer = task.get("answer", "accept")
            meta = record["harness"]
            if answer == "accept":
                if gold.task == "ner":
                    meta["answer"] = [[int(x["start"]), int(x["end"]), str(x["label"])] for x in task.get("spans", [])]
                else:
                    meta["answer"] = {k: float(v) for k, v in (task.get("cats") or {}).items()}
                    if "accept" in task:  # choice interface
                        meta["answer"] = {k: 1.0 if k in task["accept"] else 0.0 for k in meta["answer"] or task["accept"]}
                meta["decision"] = "edited"
            else:
                meta["decision"], meta["answer"] = ("reject" if answer == "reject" else "skip"), None
            meta["reviewer"] = "prodigy"
            changed += 1
        queue.save(path, records)
    return changed


@dataclass(frozen=True)
class ApplySummary:
    gold_version: str | None
    training_version: str | None
    gold_fixes: int
    training_records: int
    refused: tuple[str, ...] = ()
    nothing_to_do: bool = False


def _answer_example(record: dict[str, Any], task: str, split: str) -> GoldExample:
    answer = record["harness"].get("answer")
    tokens = None
    if record.get("tokens"):
        tokens = tuple((t["start"], t["end"], t["text"], bool(t.get("ws", False))) for t in record["tokens"])
    if task == "ner":
        if not isinstance(answer, list):
            raise InputError("reviewed record has no span answer", field="harness.answer")
        starts = {t[0] for t in tokens or ()}
        ends = {t[1] for t in tokens or ()}
        spans = []
        for item in answer:
            start, end, label = int(item[0]), int(item[1]), str(item[2])
            if not (0 <= start < end <= len(record["text"])) or start not in starts or end not in ends:
                raise InputError(f"answer span [{start}:{end}] ({label}) no longer aligns with the record's text/tokens",
                                 field=f"_input_hash {record['_input_hash']}")
            spans.append((start, end, label))
        spans.sort()
        for (_, e1, _), (s2, _, _) in zip(spans, spans[1:]):
            if s2 < e1:
                raise InputError("answer spans overlap", field=f"_input_hash {record['_input_hash']}")
        return GoldExample(int(record["_input_hash"]), record["text"], spans=tuple(spans), tokens=tokens,
                           meta={"corrected_from_queue": True}, split=split)
    if not isinstance(answer, dict):
        raise InputError("reviewed record has no cats answer", field="harness.answer")
    return GoldExample(int(record["_input_hash"]), record["text"], cats={k: float(v) for k, v in answer.items()},
                       meta={"corrected_from_queue": True}, split=split)


def _corrected_examples(version: GoldVersion) -> list[GoldExample]:
    """The reviewed (corrected) examples of a training version."""
    return [e for e in version.iter_examples("train") if e.meta.get("corrected_from_queue")]


def _base_training(spec: SuiteSpec) -> tuple[GoldVersion | None, list[GoldExample]]:
    """The newest training version's examples, else the gold's train split."""
    store = _store(spec)
    if store.version_numbers(spec.training):
        version = store.resolve(spec.training)
        return version, list(version.iter_examples("train"))
    return None, list(store.resolve(spec.gold).iter_examples("train"))


def apply(spec: SuiteSpec, *, reports_dir: str | Path = "reports") -> ApplySummary:
    """Reviewed records -> new versions (never overwriting one).

    Suspected gold errors fixed by a reviewer go into a new gold version (their
    split unchanged). Pool records go into a new training version. Eval-split
    examples are refused for training (train/eval leakage) and named.
    """
    store = _store(spec)
    gold = store.resolve(spec.gold)
    path = queue.queue_path(reports_dir, spec.name)
    with queue.locked(path):
        records = queue.load(path)
        pending = [r for r in records if r["harness"].get("decision") in queue.ACCEPTING and not r["harness"].get("applied_to")]
        if not pending:
            return ApplySummary(None, None, 0, 0, nothing_to_do=True)
        evals = {e.input_hash for e in gold.iter_examples("eval")}
        fixes = [r for r in pending if r["harness"].get("scope") == "eval" and r["harness"].get("category") == "gold_suspect"]
        to_train = [r for r in pending if r["harness"].get("scope") == "pool"]
        refused = [r for r in to_train if int(r["_input_hash"]) in evals]
        refused += [r for r in pending if r["harness"].get("scope") == "eval" and r not in fixes]
        to_train = [r for r in to_train if int(r["_input_hash"]) not in evals]
        gold_ref = training_ref = None
        if fixes:
            latest = store.resolve(spec.gold.name)
            fixed = {int(r["_input_hash"]): r for r in fixes}
            examples = []
            for split in SPLITS:
                for example in latest.iter_examples(split):
                    record = fixed.get(example.input_hash)
                    examples.append(_answer_example(record, gold.task, split) if record else example)
            changelog = f"queue apply ({spec.name}): {len(fixes)} suspected gold error(s) corrected: " + \
                ", ".join(str(h) for h in sorted(fixed))
            version = store.write_version(spec.gold.name, examples, task=gold.task, source={"queue": str(path)},
                                          notes=changelog, eval_fraction=float(latest.manifest.get("eval_fraction", 0.3)),
                                          seed=int(latest.manifest.get("seed", 0)), parent=latest,
                                          lang=str(latest.manifest.get("lang", "en")))
            gold_ref = version.ref
            for record in fixes:
                record["harness"]["applied_to"] = gold_ref
        if to_train:
            parent, base = _base_training(spec)
            corrected = {int(r["_input_hash"]): _answer_example(r, gold.task, "train") for r in to_train}
            merged = [corrected.pop(e.input_hash, e) for e in base] + list(corrected.values())
            merged = [dataclasses.replace(e, split="train") for e in merged]
            n_corrected = sum(1 for e in merged if e.meta.get("corrected_from_queue"))
            changelog = (f"queue apply ({spec.name}): {len(to_train)} reviewed pool record(s); "
                         f"{n_corrected} corrected examples in total; base "
                         f"{parent.ref if parent else gold.ref + ' train split'}")
            version = store.write_version(spec.training, merged, task=gold.task, source={"queue": str(path)},
                                          notes=changelog, eval_fraction=0.0, seed=0, parent=parent,
                                          lang=str(gold.manifest.get("lang", "en")))
            training_ref = version.ref
            for record in to_train:
                record["harness"]["applied_to"] = training_ref
        queue.save(path, records)
    return ApplySummary(gold_ref, training_ref, len(fixes), len(to_train),
                        tuple(f"{r['_input_hash']} {r['text'][:40]!r}" for r in refused))


def distill(spec: SuiteSpec, *, llm_mode: str | None = None, pool_fraction: float = 1.0, seed: int = 0,
            keep_corrected: bool = True) -> GoldVersion:
    """A training version made of the LLM's annotations of the pool ("silver").

    The labels come from the LLM pipeline (its cassette when replaying), never
    from the gold, and the pool is checked against the eval split first.
    ``pool_fraction`` < 1 distils from a hash-chosen part of the pool only,
    keeping the rest unseen for the queue. With ``keep_corrected`` the reviewed
    (corrected) examples of the newest training version stay, and win over the
    silver label of the same text: re-distilling never throws away a correction.
    """
    from .gold import split_key

    store = _store(spec)
    gold = store.resolve(spec.gold)
    examples = [e for e in pool_examples(spec) if pool_fraction >= 1.0 or split_key(seed + 7, e.input_hash) < pool_fraction]
    teacher = llm_spec(spec)
    outputs = _outputs(teacher, [e.text for e in examples], gold.task, llm_mode)
    silver = []
    for example, output in zip(examples, outputs):
        if gold.task == "ner":
            starts = {t[0] for t in example.tokens or ()}
            ends = {t[1] for t in example.tokens or ()}
            spans = tuple(s for s in output if s[0] in starts and s[1] in ends)
            silver.append(GoldExample(example.input_hash, example.text, spans=spans, tokens=example.tokens,
                                      meta={"silver": teacher.name}, split="train"))
        else:
            silver.append(GoldExample(example.input_hash, example.text, cats=dict(output),
                                      meta={"silver": teacher.name}, split="train"))
    parent = store.resolve(spec.training) if store.version_numbers(spec.training) else None
    notes = f"distill ({spec.name}): silver annotations of {len(silver)} pool texts by {teacher.name}; no gold labels"
    corrected: dict[int, GoldExample] = {}
    if parent is not None and keep_corrected:
        corrected = {e.input_hash: e for e in _corrected_examples(parent)}
        if corrected:
            notes += f"; {len(corrected)} corrected example(s) of {parent.ref} kept over their silver labels"
    merged = [corrected.pop(e.input_hash, e) for e in silver] + list(corrected.values())
    return store.write_version(
        spec.training, merged, task=gold.task,
        source={"silver_from": teacher.name, "config": teacher.path, "pool": f"{spec.pool[0]}:{spec.pool[1]}" if spec.pool else None},
        notes=notes, eval_fraction=0.0, seed=0, parent=parent, lang=str(gold.manifest.get("lang", "en")),
    )


def _train_student(student: PipelineSpec, version: GoldVersion, output: Path, max_steps: int | None,
                   *, step_share: float = 1.0) -> Any:
    """Train ``student`` on ``version`` with the suite's training settings (config, steps,
    seed); ``max_steps`` overrides the steps, ``step_share`` scales them."""
    from .runners.training import train

    settings = student.train
    steps = max_steps if max_steps is not None else (settings.max_steps if settings else None)
    if steps is not None:
        steps = max(int(steps * step_share), 1)
    return train(version, output, config=settings.config if settings else None, max_steps=steps,
                 seed=settings.seed if settings else 0, checkpoint=settings.checkpoint if settings else "best")


@dataclass(frozen=True)
class RetrainSummary:
    model: Path
    training: str
    result: PipelineResult
    promoted: bool
    llm: PipelineResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def retrain(spec: SuiteSpec, *, pipeline: str | None = None, output: str | Path | None = None, promote: bool = False,
            max_steps: int | None = None, evaluate_llm: bool = True, resamples: int | None = None) -> RetrainSummary:
    """Train the distilled pipeline on the newest training version, evaluate it on the
    suite's gold eval split, record the scores in its meta; ``promote`` installs it
    as the suite's distilled model."""
    from .evaluate import evaluate_pipeline

    store = _store(spec)
    student = spec.pipelines[pipeline] if pipeline else distilled_spec(spec)
    version = store.resolve(spec.training) if store.version_numbers(spec.training) else store.resolve(spec.gold)
    out = Path(output) if output else Path(student.path).parent / f"{spec.name}-{student.name}-{version.name}-v{version.version}"
    trained = _train_student(student, version, out, max_steps)
    gold = store.resolve(spec.gold)
    n = resamples if resamples is not None else spec.resamples
    result = evaluate_pipeline(gold, dataclasses.replace(student, path=str(trained.output)), resamples=n, seed=spec.seed,
                               threshold=spec.threshold)
    meta_path = trained.output / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["harness"]["eval"] = {"gold": gold.ref, "gold_sha256": gold.sha256, "micro_f": result.scores.micro.f,
                               "micro_f_ci": list(result.scores.micro.f_ci), "macro_f": result.scores.macro_f}
    atomic.write_json(meta_path, meta)
    llm_result = None
    if evaluate_llm and any(p.is_llm for p in spec.pipelines.values()):
        llm_result = evaluate_pipeline(gold, llm_spec(spec), resamples=n, seed=spec.seed, threshold=spec.threshold)
    if promote:
        target = Path(student.path)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.promote.", dir=target.parent))
        shutil.rmtree(staging)
        shutil.copytree(trained.output, staging)
        atomic.replace_directory(staging, target)
    return RetrainSummary(trained.output, version.ref, result, promote, llm_result)


@dataclass(frozen=True)
class LoopRound:
    """One row of the demo loop's table."""

    round: int
    corrected: int
    distilled_f: float
    distilled_f_ci: tuple[float, float]
    llm_f: float
    words_per_second: float
    training: str


def _corrected_count(version_ref: str, store: GoldStore) -> int:
    return len(_corrected_examples(store.resolve(version_ref)))


def _held_out_student(spec: SuiteSpec, output: Path, max_steps: int | None) -> Path | None:
    """A student trained on the corrected examples of the newest training version only
    (half the suite's steps: it only ranks the queue); None when there are too few."""
    store = _store(spec)
    version = store.resolve(spec.training)
    corrected = _corrected_examples(version)
    if len(corrected) < 20:
        return None
    held = store.write_version(f"{spec.training}-held-out", corrected, task=version.task,
                               source={"held_out_from": version.ref},
                               notes=f"loop: the {len(corrected)} corrected examples of {version.ref}, no silver",
                               eval_fraction=0.0, seed=0, lang=str(version.manifest.get("lang", "en")))
    return _train_student(distilled_spec(spec), held, output, max_steps, step_share=0.5).output


def loop(spec: SuiteSpec, *, rounds: int = 3, per_round: int = 150, workdir: str | Path = "build/loop",
         max_steps: int | None = None, on_round: Any = None, distill_fraction: float = 0.5) -> list[LoopRound]:
    """The demo loop on a scratch copy of the gold: distil from the (simulated) LLM's
    annotations of part of the pool -> evaluate -> fill the queue from the rest ->
    the simulated reviewer applies the pool's real gold labels -> apply -> retrain
    -> evaluate, ``rounds`` times. Once the unseen texts are used up, the rest of
    the pool is ranked with a held-out student trained on the corrections only."""
    workdir = Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    scratch_gold = workdir / "gold"
    datasets = {spec.gold.name} | ({spec.pool[0].name} if spec.pool else set())
    for name in datasets:
        shutil.copytree(spec.gold_dir / name, scratch_gold / name)
    scratch = dataclasses.replace(spec, gold_dir=scratch_gold.resolve())
    reports = workdir / "reports"
    store = _store(scratch)
    rows: list[LoopRound] = []

    def record_round(number: int, summary: RetrainSummary, llm_f: float) -> None:
        row = LoopRound(number, _corrected_count(summary.training, store), summary.result.scores.micro.f,
                        summary.result.scores.micro.f_ci, llm_f, summary.result.words_per_second, summary.training)
        rows.append(row)
        if on_round is not None:
            on_round(row)

    distill(scratch, pool_fraction=distill_fraction)
    first = retrain(scratch, output=workdir / "models" / "round-0", max_steps=max_steps)
    assert first.llm is not None
    llm_f = first.llm.scores.micro.f
    record_round(0, first, llm_f)
    model = first.model
    for number in range(1, rounds + 1):
        filled = fill(scratch, reports_dir=reports, limit=per_round, distilled_path=str(model), skip_trained=True)
        if filled.queued < per_round:
            # The unseen part of the pool is used up. The round's model was trained on the
            # remaining silver texts and reproduces their labels, right or wrong, so the
            # rest of the pool is ranked with a held-out student that never saw them.
            # Unseen texts the model and the LLM agreed on were never queued; they join
            # the training data as silver (corrections kept) instead of being left out.
            if {e.input_hash for e in pool_examples(scratch)} - _training_hashes(scratch):
                distill(scratch, pool_fraction=1.0)
            held_out = _held_out_student(scratch, workdir / "models" / f"round-{number}-held-out", max_steps)
            if held_out is not None:
                fill(scratch, reports_dir=reports, limit=per_round - filled.queued, distilled_path=str(held_out))
        simulated_review(scratch, reports_dir=reports)
        apply(scratch, reports_dir=reports)
        summary = retrain(scratch, output=workdir / "models" / f"round-{number}", max_steps=max_steps, evaluate_llm=False)
        record_round(number, summary, llm_f)
        model = summary.model
    return rows
