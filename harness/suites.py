"""Suite files (``suites/*.toml``): the gold, the pipelines and the gates.

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

The file is validated by typed pydantic models (``extra="forbid"``, strict types,
ranges); every error is re-raised as an :class:`InputError` naming the file and
the dotted key, and for an unknown key the keys that are valid there.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .core.gates import (
    THRESHOLD_GATES,
    BehaviourGate,
    Gate,
    LabelFGate,
    MustPassGate,
    NoRegressionGate,
    SizeRegressionGate,
    SpeedRegressionGate,
    VsLLMGate,
)
from .core.tasks import task_of
from .core.text import control_characters, printable
from .errors import InputError
from .gold.store import GoldRef
from .options import (
    BEHAVIOUR_CHECKS,
)
from .runners.registry import kind_of
from .specs import PipelineSpec, SuiteSpec, TrainSpec
from .suite_schema import (
    CheckTable,
    GatesTable,
    NoRegressionTable,
    PipelineTable,
    SuiteFileModel,
    key_error,
    validation_error,
)


def _resolve_path(base: Path, value: str) -> str:
    candidate = Path(value)
    if candidate.is_absolute():
        return str(candidate)
    if "/" in value or value.startswith("."):
        return str((base / candidate).resolve())
    # A bare name: a directory beside the suite, or else an installed package name.
    return str((base / candidate).resolve()) if (base / candidate).exists() else value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("suite file not found", path=path) from None
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"line (\d+)", str(err))
        raise InputError(f"invalid TOML: {err}", path=path, line=int(found.group(1)) if found else None) from None


def _pipeline_spec(name: str, table: PipelineTable, base: Path, path: Path) -> PipelineSpec:
    prefix = f"pipelines.{name}"
    source = kind_of(table.kind).source
    if source == "config":
        if table.config is None:
            raise key_error(path, f"{prefix}.config", f"required for kind {table.kind!r}: its config file (e.g. a spacy-llm config)")
        resolved = str((base / table.config).resolve())
    else:
        if table.path is None:
            what = "a pipeline directory or installed package name" if source == "pipeline" else f"the {table.kind} file"
            raise key_error(path, f"{prefix}.path", f"required: {what}")
        resolved = _resolve_path(base, table.path) if source == "pipeline" else str((base / table.path).resolve())
    train = None
    if table.train is not None:
        t = table.train
        train = TrainSpec(
            config=(base / t.config).resolve() if t.config else None,
            max_steps=t.max_steps,
            seed=t.seed,
            checkpoint=t.checkpoint,
            replicates=t.replicates,
        )
    prices = table.prices.model_dump(exclude_unset=True) if table.prices is not None else {}
    return PipelineSpec(
        name=name,
        kind=table.kind,
        path=resolved,
        train=train,
        batch_size=table.batch_size,
        latency_docs=table.latency_docs,
        declared_size=int(table.size_bytes) if table.size_bytes is not None else None,
        prices={k: float(v) for k, v in prices.items()},
        key=table.key,
    )


def _check_gates(gates: Mapping[str, GatesTable], pipelines: Mapping[str, PipelineSpec], path: Path) -> None:
    """What the models cannot see: gates name known pipelines, vs-LLM gates name an LLM."""
    llms = [name for name, spec in pipelines.items() if spec.is_llm]
    for name, table in gates.items():
        prefix = f"gates.{name}"
        if name not in pipelines:
            raise key_error(path, prefix, f"gates for unknown pipeline {name!r} (pipelines: {', '.join(pipelines)})")
        vs = table.distilled_vs_llm
        if vs is None:
            continue
        reference = vs.llm if vs.llm is not None else (llms[0] if len(llms) == 1 else None)
        if reference not in pipelines or not pipelines[str(reference)].is_llm:
            raise key_error(
                path, f"{prefix}.distilled_vs_llm.llm", f"must name an llm pipeline of this suite (llm pipelines: {', '.join(llms) or 'none'})"
            )
        if reference == name:
            raise key_error(path, f"{prefix}.distilled_vs_llm.llm", "a pipeline cannot be compared with itself")


def _check_behaviour(tables: Mapping[str, Mapping[str, CheckTable]], pipelines: Mapping[str, PipelineSpec], path: Path) -> None:
    """Behavioural checks need a model to call, and a name the harness knows (or a function)."""
    for name, checks in tables.items():
        prefix = f"behaviour.{name}"
        if name not in pipelines:
            raise key_error(path, prefix, f"behaviour for unknown pipeline {name!r} (pipelines: {', '.join(pipelines)})")
        if not kind_of(pipelines[name].kind).has_model:
            raise key_error(
                path,
                prefix,
                f"{pipelines[name].kind} pipelines (e.g. imported predictions) have no model to run perturbed texts through: "
                "behavioural checks need a pipeline that can run, such as a spacy or llm one",
            )
        for check, table in checks.items():
            _check_name(path, f"{prefix}.{check}", check)
            if table.function is None and check not in BEHAVIOUR_CHECKS:
                raise key_error(
                    path, f"{prefix}.{check}", f'unknown check (built in: {", ".join(BEHAVIOUR_CHECKS)}; or give function = "module:function")'
                )


def _check_name(path: Path, key: str, name: str) -> None:
    """Suite and pipeline names become pytest node ids and terminal titles: no control
    characters (they would drive the terminal), no "::" or brackets (ids would not round-trip)."""
    bad = control_characters(name)
    if bad:
        raise key_error(path, key, f"name {printable(name)!r} contains control characters ({', '.join(bad)})")
    if "::" in name or "[" in name or "]" in name:
        raise key_error(path, key, f"name {name!r} must not contain '::', '[' or ']' (they delimit pytest test ids)")


def _parse_pool(text: str, path: Path) -> tuple[GoldRef, str]:
    ref_text, _, split = text.partition(":")
    split = split or "train"
    if split not in ("train", "eval"):
        raise key_error(path, "suite.pool", f"unknown split {split!r}; a pool is a gold split (train)")
    try:
        return GoldRef.parse(ref_text), split
    except InputError as err:
        raise key_error(path, "suite.pool", err.reason) from None


def parse_suite(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file. Raises :class:`InputError` naming file and key."""
    path = Path(path)
    try:
        model = SuiteFileModel.model_validate(_read_toml(path))
    except ValidationError as err:
        raise validation_error(path, err) from None
    base = path.parent
    suite = model.suite
    for key, name in [("suite.name", suite.name), *((f"pipelines.{n}", n) for n in model.pipelines)]:
        _check_name(path, key, name)
    try:
        gold = GoldRef.parse(suite.gold)
    except InputError as err:
        raise key_error(path, "suite.gold", err.reason) from None
    pipelines = {name: _pipeline_spec(name, table, base, path) for name, table in model.pipelines.items()}
    _check_gates(model.gates, pipelines, path)
    _check_behaviour(model.behaviour, pipelines, path)
    return SuiteSpec(
        file=path,
        name=suite.name,
        gold=gold,
        gold_dir=(base / suite.gold_dir).resolve(),
        pipelines=pipelines,
        baselines_dir=(base / suite.baselines_dir).resolve(),
        gate_tables=dict(model.gates),
        behaviour={k: dict(v) for k, v in model.behaviour.items()},
        description=suite.description,
        threshold=suite.threshold,
        resamples=suite.resamples,
        seed=suite.seed,
        pool=_parse_pool(suite.pool, path) if suite.pool else None,
        training=suite.training or f"{gold.name}-train",
        engine=suite.engine,
        rank=suite.rank,
    )


def build_gates(spec: SuiteSpec, labels: Iterable[str]) -> tuple[Gate, ...]:
    """The suite's gates against the gold's labels: ``label_f_min`` and per-label
    ``distilled_vs_llm`` become one gate per label.

    An override naming a label the gold does not have is an error: a typo there
    would otherwise silently gate nothing.
    """
    labels = sorted(labels)
    out: list[Gate] = []
    for pipeline, table in spec.gate_tables.items():
        vs = table.distilled_vs_llm
        if vs is not None:
            llm = vs.llm or str(spec.llm.name if spec.llm else "")
            out.append(VsLLMGate(pipeline, -vs.max_drop, llm=llm))
            if vs.per_label:
                out.extend(VsLLMGate(pipeline, -vs.max_drop, llm=llm, label=label) for label in labels)
        for key, gate_class in THRESHOLD_GATES.items():
            value = getattr(table, key)
            if value is not None and gate_class is not LabelFGate:
                out.append(gate_class(pipeline, float(value)))
        out.extend(_regression_gates(spec, pipeline, table.no_regression, labels))
        for label in table.label_f_min_overrides:
            if label not in labels:
                raise key_error(
                    spec.file,
                    f"gates.{pipeline}.label_f_min_overrides.{label}",
                    f"unknown label {label!r}; gold {spec.gold} has: {', '.join(labels)}",
                )
        for label in labels:
            threshold = table.label_f_min_overrides.get(label, table.label_f_min)
            if threshold is not None:
                out.append(LabelFGate(pipeline, float(threshold), label=label))
    return tuple(out)


def build_must_pass_gates(spec: SuiteSpec, examples: Mapping[int, Any], task: str) -> tuple[Gate, ...]:
    """One gate per ``must_pass`` input hash; a hash not in the eval split is an error."""
    out: list[Gate] = []
    for pipeline, table in spec.gate_tables.items():
        for input_hash in table.must_pass:
            example = examples.get(input_hash)
            if example is None:
                raise key_error(spec.file, f"gates.{pipeline}.must_pass", f"input hash {input_hash} is not in the eval split of {spec.gold}")
            gold = task_of(task).gold_output(example)
            out.append(MustPassGate(pipeline, 1.0, input_hash=input_hash, text=example.text, gold=gold))
    return tuple(out)


def build_behaviour_gates(spec: SuiteSpec, task: str) -> tuple[Gate, ...]:
    """One gate per behavioural check (``pass>=0.90[lowercase]``); a check that does not
    apply to the gold's task (substitution on text classification) is an error."""
    out: list[Gate] = []
    for pipeline, checks in spec.behaviour.items():
        for check, table in checks.items():
            if check == "substitution" and table.function is None and not task_of(task).has_spans:
                raise key_error(spec.file, f"behaviour.{pipeline}.{check}", f"substitution swaps entities: the gold task is {task}")
            out.append(BehaviourGate(pipeline, float(table.min_pass_rate), check=check, min_cases=int(table.min_cases)))
    return tuple(out)


def _regression_gates(spec: SuiteSpec, pipeline: str, table: NoRegressionTable | None, labels: list[str]) -> list[Gate]:
    """``no_regression``: micro F against the baseline, optionally per label, speed and size."""
    if table is None:
        return []
    for label in table.labels or []:
        if label not in labels:
            raise key_error(
                spec.file, f"gates.{pipeline}.no_regression.labels", f"unknown label {label!r}; gold {spec.gold} has: {', '.join(labels)}"
            )
    gated = list(table.labels or labels) if (table.per_label or table.labels) else []
    # Micro and the per-label gates are one family: their p-values are adjusted together (Holm).
    family = ("micro", *gated)
    out: list[Gate] = [NoRegressionGate(pipeline, -table.max_drop, family=family)]
    out.extend(NoRegressionGate(pipeline, -table.max_drop, label=label, family=family) for label in gated)
    if table.words_per_second_max_drop is not None:
        out.append(SpeedRegressionGate(pipeline, table.words_per_second_max_drop))
    if table.size_max_growth is not None:
        out.append(SizeRegressionGate(pipeline, table.size_max_growth))
    return out
