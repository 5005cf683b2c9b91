"""Parse suite files (``suites/*.toml``): the gold, the pipelines and the gates.

Example::

    [suite]
    name = "restaurant-ner"
    gold = "restaurant-reviews@v1"      # dataset@vN in ../gold (gold_dir overrides)

    [pipelines.distilled]
    kind = "spacy"
    path = "../models/restaurant-ner"   # relative to this file, or a package name

    [pipelines.distilled.train]          # how `harness train --suite` builds it
    max_steps = 1500

    [gates.distilled]
    f_min = 0.70
    label_f_min = 0.40
    label_f_min_overrides = { Location = 0.75 }
    words_per_second_min = 2000
    size_bytes_max = 50_000_000

Every error names the file and the dotted key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .gates import GATE_KEYS, Gate
from .gold import GoldRef

PIPELINE_KINDS = ("spacy", "llm", "predictions")
_SUITE_KEYS = {"name", "gold", "gold_dir", "description", "threshold", "resamples", "seed", "pool", "training"}
_PIPELINE_KEYS = {"kind", "path", "config", "train", "batch_size", "latency_docs", "size_bytes", "prices", "key"}
_TRAIN_KEYS = {"config", "max_steps", "seed", "checkpoint"}
# "best": spaCy's model-best on a held-out 10% of the train split; "last": model-last trained on all of it
CHECKPOINTS = ("best", "last")


@dataclass(frozen=True)
class TrainSpec:
    config: Path | None = None
    max_steps: int | None = None
    seed: int = 0
    checkpoint: str = "best"  # one of CHECKPOINTS


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline to evaluate: ``kind`` says which runner handles it."""

    name: str
    kind: str
    path: str  # resolved path, or an installed package name
    train: TrainSpec | None = None
    batch_size: int = 128
    latency_docs: int = 32
    declared_size: int | None = None  # llm: the model's size is not on disk
    prices: Mapping[str, float] = field(default_factory=dict)  # llm: USD per 1k prompt/completion tokens
    key: str = "input_hash"  # predictions: match records by "input_hash" or "text"

    @property
    def is_llm(self) -> bool:
        return self.kind == "llm"


@dataclass(frozen=True)
class SuiteSpec:
    """A parsed suite file."""

    file: Path
    name: str
    gold: GoldRef
    gold_dir: Path
    pipelines: Mapping[str, PipelineSpec]
    gates: tuple[Gate, ...]
    description: str = ""
    threshold: float = 0.5
    resamples: int = 1000
    seed: int = 0
    label_overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    pool: tuple[GoldRef, str] | None = None  # unlabelled pool: (gold ref, split), e.g. the gold's train split
    training: str = ""  # dataset name of the training versions (default: "<gold>-train")


def _err(path: Path, key: str, message: str) -> InputError:
    return InputError(message, path=path, field=key)


def _table(data: Any, path: Path, key: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _err(path, key, "must be a table")
    return data


def _unknown(data: Mapping[str, Any], allowed: Iterable[str], path: Path, prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise _err(path, f"{prefix}.{key}" if prefix else key, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _number(value: Any, path: Path, key: str, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise _err(path, key, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    return value


def _resolve_path(base: Path, value: str) -> str:
    candidate = Path(value)
    if candidate.is_absolute():
        return str(candidate)
    if "/" in value or value.startswith("."):
        return str((base / candidate).resolve())
    # A bare name: a directory beside the suite, or else an installed package name.
    return str((base / candidate).resolve()) if (base / candidate).exists() else value


def parse_suite(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file. Raises :class:`InputError` naming file and key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("suite file not found", path=path) from None
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"line (\d+)", str(err))
        raise InputError(f"invalid TOML: {err}", path=path, line=int(found.group(1)) if found else None) from None
    base = path.parent
    _unknown(data, {"suite", "pipelines", "gates"}, path, "")
    suite = _table(data.get("suite"), path, "suite") if "suite" in data else None
    if suite is None:
        raise _err(path, "suite", "missing [suite] table")
    _unknown(suite, _SUITE_KEYS, path, "suite")
    name = suite.get("name")
    if not isinstance(name, str) or not name:
        raise _err(path, "suite.name", "required non-empty string")
    gold_text = suite.get("gold")
    if not isinstance(gold_text, str):
        raise _err(path, "suite.gold", "required: dataset@vN")
    try:
        gold = GoldRef.parse(gold_text)
    except InputError as err:
        raise _err(path, "suite.gold", err.reason) from None
    gold_dir = (base / str(suite.get("gold_dir", "../gold"))).resolve()
    threshold = float(_number(suite.get("threshold", 0.5), path, "suite.threshold"))
    resamples = int(_number(suite.get("resamples", 1000), path, "suite.resamples", integer=True))
    seed = int(_number(suite.get("seed", 0), path, "suite.seed", integer=True))

    pipelines_data = _table(data.get("pipelines", {}), path, "pipelines")
    if not pipelines_data:
        raise _err(path, "pipelines", "a suite needs at least one [pipelines.<name>] table")
    pipelines: dict[str, PipelineSpec] = {}
    for pname, pdata in pipelines_data.items():
        prefix = f"pipelines.{pname}"
        pdata = _table(pdata, path, prefix)
        _unknown(pdata, _PIPELINE_KEYS, path, prefix)
        kind = pdata.get("kind", "spacy")
        if kind not in PIPELINE_KINDS:
            raise _err(path, f"{prefix}.kind", f"unknown pipeline kind {kind!r} (supported: {', '.join(PIPELINE_KINDS)})")
        if kind == "llm":
            cfg = pdata.get("config")
            if not isinstance(cfg, str) or not cfg:
                raise _err(path, f"{prefix}.config", "required for kind 'llm': a spacy-llm config file")
            ppath = cfg
        else:
            raw_path = pdata.get("path")
            if not isinstance(raw_path, str) or not raw_path:
                what = "a JSONL of predictions" if kind == "predictions" else "a pipeline directory or installed package name"
                raise _err(path, f"{prefix}.path", f"required: {what}")
            ppath = raw_path
        prices = _table(pdata.get("prices", {}), path, f"{prefix}.prices")
        _unknown(prices, {"prompt_per_1k", "completion_per_1k"}, path, f"{prefix}.prices")
        for pkey, value in prices.items():
            _number(value, path, f"{prefix}.prices.{pkey}")
        key = pdata.get("key", "input_hash")
        if key not in ("input_hash", "text"):
            raise _err(path, f"{prefix}.key", "must be 'input_hash' or 'text'")
        declared = pdata.get("size_bytes")
        if declared is not None:
            _number(declared, path, f"{prefix}.size_bytes")
        train = None
        if "train" in pdata:
            tdata = _table(pdata["train"], path, f"{prefix}.train")
            _unknown(tdata, _TRAIN_KEYS, path, f"{prefix}.train")
            train = TrainSpec(
                config=(base / tdata["config"]).resolve() if "config" in tdata else None,
                max_steps=int(_number(tdata["max_steps"], path, f"{prefix}.train.max_steps", integer=True)) if "max_steps" in tdata else None,
                seed=int(_number(tdata.get("seed", 0), path, f"{prefix}.train.seed", integer=True)),
                checkpoint=tdata.get("checkpoint", "best"),
            )
            if train.checkpoint not in CHECKPOINTS:
                raise _err(path, f"{prefix}.train.checkpoint", f"must be one of {', '.join(CHECKPOINTS)}")
        pipelines[pname] = PipelineSpec(
            name=pname, kind=kind, path=_resolve_path(base, ppath) if kind == "spacy" else str((base / ppath).resolve()),
            train=train, declared_size=int(declared) if declared is not None else None,
            prices={k: float(v) for k, v in prices.items()}, key=key,
            batch_size=int(_number(pdata.get("batch_size", 128), path, f"{prefix}.batch_size", integer=True)),
            latency_docs=int(_number(pdata.get("latency_docs", 32), path, f"{prefix}.latency_docs", integer=True)),
        )

    gates: list[Gate] = []
    overrides: dict[str, dict[str, float]] = {}
    gates_data = _table(data.get("gates", {}), path, "gates")
    for pname, gdata in gates_data.items():
        prefix = f"gates.{pname}"
        if pname not in pipelines:
            raise _err(path, prefix, f"gates for unknown pipeline {pname!r} (pipelines: {', '.join(pipelines)})")
        gdata = _table(gdata, path, prefix)
        _unknown(gdata, set(GATE_KEYS) | {"label_f_min_overrides", "distilled_vs_llm"}, path, prefix)
        if "distilled_vs_llm" in gdata:
            gates.extend(_vs_gates(gdata["distilled_vs_llm"], pname, pipelines, path, f"{prefix}.distilled_vs_llm"))
        for key, (metric, op) in GATE_KEYS.items():
            if key in gdata and metric != "label_f":
                gates.append(Gate(pname, metric, op, float(_number(gdata[key], path, f"{prefix}.{key}"))))
        label_overrides = _table(gdata.get("label_f_min_overrides", {}), path, f"{prefix}.label_f_min_overrides")
        for label, value in label_overrides.items():
            _number(value, path, f"{prefix}.label_f_min_overrides.{label}")
        overrides[pname] = {str(k): float(v) for k, v in label_overrides.items()}
        if "label_f_min" in gdata or label_overrides:
            default = gdata.get("label_f_min")
            if default is not None:
                _number(default, path, f"{prefix}.label_f_min")
            # Per-label gates are expanded once the gold's labels are known (expand_label_gates).
            gates.append(Gate(pname, "label_f", ">=", float(default) if default is not None else float("nan")))
    pool = None
    if "pool" in suite:
        pool_text = suite["pool"]
        if not isinstance(pool_text, str):
            raise _err(path, "suite.pool", "must be 'dataset@vN:split' (split: train or eval)")
        ref_text, _, split = pool_text.partition(":")
        split = split or "train"
        if split not in ("train", "eval"):
            raise _err(path, "suite.pool", f"unknown split {split!r}; a pool is a gold split (train)")
        try:
            pool = (GoldRef.parse(ref_text), split)
        except InputError as err:
            raise _err(path, "suite.pool", err.reason) from None
    training = suite.get("training", f"{gold.name}-train")
    if not isinstance(training, str) or not training:
        raise _err(path, "suite.training", "must be a dataset name")
    return SuiteSpec(
        file=path, name=name, gold=gold, pool=pool, training=training, gold_dir=gold_dir, pipelines=pipelines, gates=tuple(gates),
        description=str(suite.get("description", "")), threshold=threshold, resamples=resamples, seed=seed,
        label_overrides=overrides,
    )


def _vs_gates(data: Any, pname: str, pipelines: Mapping[str, PipelineSpec], path: Path, prefix: str) -> list[Gate]:
    """``distilled_vs_llm = { llm = "llm", max_drop = 0.05, per_label = false }``."""
    data = _table(data, path, prefix)
    _unknown(data, {"llm", "max_drop", "per_label"}, path, prefix)
    llms = [name for name, spec in pipelines.items() if spec.is_llm]
    reference = data.get("llm", llms[0] if len(llms) == 1 else None)
    if reference not in pipelines or not pipelines[str(reference)].is_llm:
        raise _err(path, f"{prefix}.llm", f"must name an llm pipeline of this suite (llm pipelines: {', '.join(llms) or 'none'})")
    if reference == pname:
        raise _err(path, f"{prefix}.llm", "a pipeline cannot be compared with itself")
    if "max_drop" not in data:
        raise _err(path, f"{prefix}.max_drop", "required: the largest F drop below the LLM that is tolerated")
    max_drop = float(_number(data["max_drop"], path, f"{prefix}.max_drop"))
    gates = [Gate(pname, "vs_llm", ">=", -max_drop, None, str(reference))]
    if data.get("per_label", False):
        gates.append(Gate(pname, "vs_llm_label", ">=", -max_drop, None, str(reference)))  # expanded per label later
    return gates


def expand_label_gates(spec: SuiteSpec, labels: Iterable[str]) -> tuple[Gate, ...]:
    """Replace each pipeline's ``label_f`` placeholder by one gate per gold label.

    An override naming a label the gold does not have is an error: a typo there
    would otherwise silently gate nothing.
    """
    labels = sorted(labels)
    known = set(labels)
    out: list[Gate] = []
    for gate in spec.gates:
        if gate.metric == "vs_llm_label":
            out.extend(Gate(gate.pipeline, "vs_llm", ">=", gate.threshold, label, gate.reference) for label in labels)
            continue
        if gate.metric != "label_f":
            out.append(gate)
            continue
        pipeline_overrides = spec.label_overrides.get(gate.pipeline, {})
        for label in pipeline_overrides:
            if label not in known:
                raise _err(
                    spec.file, f"gates.{gate.pipeline}.label_f_min_overrides.{label}",
                    f"unknown label {label!r}; gold {spec.gold} has: {', '.join(labels)}",
                )
        for label in labels:
            threshold = pipeline_overrides.get(label, gate.threshold)
            if threshold == threshold:  # NaN means: no default and no override for this label
                out.append(Gate(gate.pipeline, "label_f", ">=", threshold, label))
    return tuple(out)
