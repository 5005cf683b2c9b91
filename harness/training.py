"""Train a distilled spaCy pipeline on a gold version's train split.

The gold eval split is never read here. spaCy's trainer needs a dev set to pick
``model-best``; we carve it out of the *train* split (a hash-based 10%), because
choosing a checkpoint on the eval split would leak it into the reported scores.

``checkpoint="last"`` keeps spaCy's ``model-last`` instead (fixed steps, with the
config's parameter averaging) and trains on the whole train split: on small data
the carve-out (~100 docs) is too noisy to choose checkpoints with, and the 10%
it holds back is worth more as training data. The dev scores spaCy prints are
then on examples it also trained on, and the meta says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .environment import environment
from .errors import InputError
from .gold.records import GoldExample
from .gold.store import GoldVersion, split_key
from .heap import long_lived
from .io import atomic
from .io.hashing import changed_files, tree_hashes
from .io.model_meta import META_FILE, RECORD_KEY, read_meta, training_record, write_meta
from .options import CHECKPOINTS, DEFAULT_CHECKPOINT, DEFAULT_TRAIN_SEED

DEV_FRACTION = 0.1


@dataclass(frozen=True)
class TrainResult:
    """Where the model went and whether it was (re)trained or reused."""

    output: Path
    reused: bool
    inputs_sha256: str
    train_examples: int
    dev_examples: int
    scores: dict[str, Any]
    checkpoint: str = DEFAULT_CHECKPOINT


def default_config(task: str) -> Path:
    """The shipped CPU config for a task (``harness/configs/<task>.cfg``)."""
    path = Path(str(resources.files("harness") / "configs" / f"{task}.cfg"))
    if not path.exists():
        raise InputError(f"no shipped training config for task {task!r}")
    return path


def inputs_sha256(gold: GoldVersion, config_text: str, max_steps: int | None, seed: int, checkpoint: str = DEFAULT_CHECKPOINT) -> str:
    """What a trained model depends on: gold content, config, steps, seed, checkpoint, spaCy version."""
    import spacy

    fields: dict[str, Any] = {
        "gold": gold.sha256,
        "config": hashlib.sha256(config_text.encode()).hexdigest(),
        "max_steps": max_steps,
        "seed": seed,
        "spacy": spacy.__version__,
    }
    if checkpoint != "best":  # keeps the digests of existing "best" models valid
        fields["checkpoint"] = checkpoint
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _to_doc(nlp: Any, example: GoldExample, labels: list[str]) -> Any:
    from spacy.tokens import Doc

    if example.tokens is not None:
        words = [t[2] for t in example.tokens]
        spaces = [t[3] for t in example.tokens]
        doc = Doc(nlp.vocab, words=words, spaces=spaces)
    else:
        doc = nlp.make_doc(example.text)
    if example.cats is not None:
        doc.cats = {label: float(example.cats.get(label, 0.0)) for label in labels}
    else:
        ents = []
        for start, end, label in example.spans:
            span = doc.char_span(start, end, label=label)
            if span is None:  # gold import validated alignment; this is a bug, not bad input
                raise InputError(f"span [{start}:{end}] does not align with tokens", path=example.source)
            ents.append(span)
        doc.ents = ents
    return doc


def check_replaceable(output: Path) -> None:
    """Only an empty directory or a pipeline the harness trained may be replaced: never
    delete what the harness did not create."""
    if not output.exists():
        return
    if not output.is_dir():
        raise InputError("exists and is not a directory; refusing to replace it with a model", path=output)
    if any(output.iterdir()) and training_record(output) is None:
        raise InputError(
            "is not empty and is not a pipeline trained by the harness (no 'harness' record in its "
            "meta.json); refusing to replace it. Choose another --output or empty it yourself.",
            path=output,
        )


def _reusable(output: Path, digest: str) -> TrainResult | None:
    """The existing model at ``output`` if it was trained from the same inputs and its
    files are the ones written then (a truncated or missing file means: retrain)."""
    record = training_record(output)
    if record is None or record.get("inputs_sha256") != digest:
        return None
    if not isinstance(record.get("files"), dict) or changed_files(output, record["files"], exclude=[META_FILE]):
        return None
    return TrainResult(
        output,
        True,
        digest,
        record.get("train_examples", 0),
        record.get("dev_examples", 0),
        record.get("scores", {}),
        record.get("checkpoint", DEFAULT_CHECKPOINT),
    )


def _docbins(gold: GoldVersion, seed: int, checkpoint: str) -> tuple[Any, Any, int, int]:
    """(train DocBin, dev DocBin, n train, n dev) from the gold's train split only."""
    import spacy
    from spacy.tokens import DocBin

    labels = gold.labels
    nlp = spacy.blank(gold.manifest.get("lang", "en"))
    train_docs, dev_docs = DocBin(store_user_data=False), DocBin(store_user_data=False)
    n_train = n_dev = 0
    for example in gold.iter_examples("train"):
        doc = _to_doc(nlp, example, labels)
        # Hash-based carve-out: stable across runs and independent of file order.
        held_out = split_key(seed + 1, example.input_hash) < DEV_FRACTION
        if held_out:
            dev_docs.add(doc)
            n_dev += 1
        if not held_out or checkpoint == "last":
            train_docs.add(doc)
            n_train += 1
    if n_train == 0 or n_dev == 0:
        raise InputError(f"gold {gold.ref} has too few train examples to train ({n_train} train, {n_dev} dev)")
    return train_docs, dev_docs, n_train, n_dev


def _run_spacy_training(config_path: Path, work: Path, *, seed: int, max_steps: int | None, quiet: bool) -> None:
    """spaCy's own init + training loop on the DocBins in ``work``; output in ``work/out``."""
    from spacy import util
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_nlp

    overrides: dict[str, Any] = {"paths.train": str(work / "train.spacy"), "paths.dev": str(work / "dev.spacy"), "system.seed": seed}
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    try:
        config_obj = util.load_config(config_path, overrides=overrides, interpolate=False)
    except Exception as err:
        raise InputError(f"invalid training config: {err}", path=config_path) from None
    (work / "out").mkdir()
    sink = io.StringIO() if quiet else sys.stdout
    with contextlib.redirect_stdout(sink):
        trainable = init_nlp(config_obj, use_gpu=-1)
        train_nlp(trainable, work / "out", use_gpu=-1, stdout=sink, stderr=sink)


def _forget_scratch_paths(config_path: Path) -> None:
    """spaCy saves ``[paths] train/dev`` as given: our scratch directory, a random name. Reset
    them to null, so that the same inputs give a byte-identical model (and the same model
    hash in baselines) on every machine and in every clone."""
    from thinc.api import Config

    config_obj = Config().from_disk(config_path, interpolate=False)
    for key in ("train", "dev"):
        if key in config_obj.get("paths", {}):
            config_obj["paths"][key] = None
    atomic.write_text(config_path, config_obj.to_str())


def _training_record(
    gold: GoldVersion,
    config_path: Path,
    config_text: str,
    *,
    max_steps: int | None,
    seed: int,
    digest: str,
    n_train: int,
    n_dev: int,
    checkpoint: str,
    scores: dict[str, Any],
) -> dict[str, Any]:
    """What the model's ``meta.json`` says about how it was made (the ``harness`` key)."""
    dev_source = (
        f"{DEV_FRACTION:.0%} of the gold train split (eval split never used)"
        if checkpoint == "best"
        else f"{DEV_FRACTION:.0%} of the gold train split, also trained on (checkpoint 'last': dev scores "
        "are not held out; eval split never used)"
    )
    return {
        "gold": gold.name,
        "gold_version": gold.version,
        "gold_sha256": gold.sha256,
        "config": str(config_path),
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
        "max_steps": max_steps,
        "seed": seed,
        "inputs_sha256": digest,
        "train_examples": n_train,
        "dev_examples": n_dev,
        "checkpoint": checkpoint,
        "dev_source": dev_source,
        "scores": scores,
    }


def _checked_inputs(gold: GoldVersion, output: Path, config: str | Path | None, max_steps: int | None, checkpoint: str) -> Path:
    """The training config's path, once the arguments are known to be usable (else an error naming them)."""
    if max_steps is not None and max_steps < 1:
        raise InputError(f"max_steps must be >= 1, got {max_steps} (spaCy reads 0 as 'no limit')", field="max_steps")
    check_replaceable(output)
    config_path = Path(config) if config else default_config(gold.task)
    if not config_path.exists():
        raise InputError("training config not found", path=config_path)
    if checkpoint not in CHECKPOINTS:
        raise InputError(f"unknown checkpoint {checkpoint!r}; expected one of {', '.join(CHECKPOINTS)}", field="checkpoint")
    return config_path


def train(
    gold: GoldVersion,
    output: str | Path,
    *,
    config: str | Path | None = None,
    max_steps: int | None = None,
    seed: int = DEFAULT_TRAIN_SEED,
    checkpoint: str = DEFAULT_CHECKPOINT,
    force: bool = False,
    quiet: bool = True,
) -> TrainResult:
    """Train on ``gold``'s train split; reuse ``output`` when its inputs are unchanged.

    ``checkpoint`` is ``"best"`` (spaCy's ``model-best`` on a held-out 10% of the
    train split) or ``"last"`` (``model-last``, trained on the whole train split).
    """
    output = Path(output)
    config_path = _checked_inputs(gold, output, config, max_steps, checkpoint)
    config_text = config_path.read_text(encoding="utf-8")
    with long_lived():  # a CLI process freezes spaCy's import here, before any model (or its garbage) exists
        import spacy  # noqa: F401
    digest = inputs_sha256(gold, config_text, max_steps, seed, checkpoint)
    reused = None if force else _reusable(output, digest)
    if reused is not None:
        return reused
    train_docs, dev_docs, n_train, n_dev = _docbins(gold, seed, checkpoint)
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.train.", dir=output.parent))
    try:
        train_docs.to_disk(work / "train.spacy")
        dev_docs.to_disk(work / "dev.spacy")
        _run_spacy_training(config_path, work, seed=seed, max_steps=max_steps, quiet=quiet)
        best = work / "out" / ("model-best" if checkpoint == "best" else "model-last")
        meta = read_meta(best)
        scores = {k: v for k, v in (meta.get("performance") or {}).items() if isinstance(v, (int, float))}
        _forget_scratch_paths(best / "config.cfg")
        meta[RECORD_KEY] = _training_record(
            gold,
            config_path,
            config_text,
            max_steps=max_steps,
            seed=seed,
            digest=digest,
            n_train=n_train,
            n_dev=n_dev,
            checkpoint=checkpoint,
            scores=scores,
        )
        # meta.json records them, so it is not among them (it also changes on `harness retrain`).
        meta[RECORD_KEY]["files"] = tree_hashes(best, exclude=[META_FILE])
        meta[RECORD_KEY]["environment"] = environment()
        write_meta(best, meta)
        atomic.replace_directory(best, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TrainResult(output, False, digest, n_train, n_dev, scores, checkpoint)
