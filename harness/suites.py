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
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

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
    CHECKPOINTS,
    DEFAULT_BASELINES_DIR,
    DEFAULT_BATCH_SIZE,
    DEFAULT_BEHAVIOUR_EXAMPLES,
    DEFAULT_BEHAVIOUR_MIN_CASES,
    DEFAULT_BEHAVIOUR_SECONDS,
    DEFAULT_CHECKPOINT,
    DEFAULT_LATENCY_DOCS,
    DEFAULT_MIN_BASELINE_COVERAGE,
    DEFAULT_REPLICATES,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    DEFAULT_TRAIN_SEED,
    PREDICTION_KEYS,
)
from .runners.registry import kind_of, kinds
from .specs import PipelineSpec, SuiteSpec, TrainSpec

Fraction = typing.Annotated[float, Field(ge=0.0, le=1.0)]
Positive = typing.Annotated[float, Field(gt=0)]

# -- the file, as typed models ------------------------------------------------------


class _Table(BaseModel):
    # strict: "0.7" or true is not a number; extra="forbid": a typo'd key is an error.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _one_of(allowed: Callable[[], Iterable[str]], what: str) -> AfterValidator:
    """A string that must be one of ``allowed()`` (read from options.py or the runner registry,
    never spelled again here)."""

    def check(value: str) -> str:
        choices = tuple(allowed())
        if value not in choices:
            raise ValueError(f"unknown {what}; expected one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


Checkpoint = typing.Annotated[str, _one_of(lambda: CHECKPOINTS, "checkpoint")]
PipelineKind = typing.Annotated[str, _one_of(lambda: kinds(), "pipeline kind")]
PredictionKey = typing.Annotated[str, _one_of(lambda: PREDICTION_KEYS, "key")]


class TrainTable(_Table):
    config: str | None = None
    max_steps: int | None = Field(None, ge=1)
    seed: int = DEFAULT_TRAIN_SEED
    checkpoint: Checkpoint = DEFAULT_CHECKPOINT
    replicates: int = Field(DEFAULT_REPLICATES, ge=0, le=100)  # seeds retrained when blessed (training noise)


class PricesTable(_Table):
    prompt_per_1k: float = Field(0.0, ge=0)
    completion_per_1k: float = Field(0.0, ge=0)


class PipelineTable(_Table):
    kind: PipelineKind = "spacy"
    path: str | None = Field(None, min_length=1)
    config: str | None = Field(None, min_length=1)
    train: TrainTable | None = None
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1)
    latency_docs: int = Field(DEFAULT_LATENCY_DOCS, ge=0)
    size_bytes: Positive | None = None
    prices: PricesTable | None = None
    key: PredictionKey = "input_hash"


class VsLLMTable(_Table):
    llm: str | None = None
    max_drop: Fraction
    per_label: bool = False


class NoRegressionTable(_Table):
    max_drop: Fraction
    per_label: bool = False
    labels: list[str] | None = None  # per-label gates for these labels only (implies per_label)
    words_per_second_max_drop: Fraction | None = None
    size_max_growth: typing.Annotated[float, Field(ge=0.0)] | None = None
    min_coverage: Fraction = DEFAULT_MIN_BASELINE_COVERAGE


class CheckTable(_Table):
    min_pass_rate: Fraction
    max_examples: int = Field(DEFAULT_BEHAVIOUR_EXAMPLES, ge=1, le=10_000)
    min_cases: int = Field(DEFAULT_BEHAVIOUR_MIN_CASES, ge=1)  # fewer judged cases: the check fails
    max_seconds: Positive = DEFAULT_BEHAVIOUR_SECONDS  # time budget of the check's generation
    function: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")  # module:function (custom checks)


class GatesTable(_Table):
    f_min: Fraction | None = None
    macro_f_min: Fraction | None = None
    label_f_min: Fraction | None = None
    label_f_min_overrides: dict[str, Fraction] = Field(default_factory=dict)
    words_per_second_min: Positive | None = None
    size_bytes_max: Positive | None = None
    distilled_vs_llm: VsLLMTable | None = None
    no_regression: NoRegressionTable | None = None
    must_pass: list[int] = Field(default_factory=list)  # eval input hashes the pipeline must get exactly right


class SuiteTable(_Table):
    name: str = Field(min_length=1)
    gold: str
    gold_dir: str = "../gold"
    baselines_dir: str = DEFAULT_BASELINES_DIR
    description: str = ""
    threshold: Fraction = DEFAULT_THRESHOLD
    resamples: int = Field(DEFAULT_RESAMPLES, ge=1)
    seed: int = DEFAULT_SEED
    pool: str | None = None
    training: str | None = Field(None, min_length=1)


class SuiteFileModel(_Table):
    suite: SuiteTable
    pipelines: dict[str, PipelineTable] = Field(min_length=1)
    gates: dict[str, GatesTable] = Field(default_factory=dict)
    behaviour: dict[str, dict[str, CheckTable]] = Field(default_factory=dict)


def _err(path: Path, key: str, message: str) -> InputError:
    return InputError(message, path=path, field=key)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (to list the keys valid there)."""
    current: Any = SuiteFileModel
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        while typing.get_origin(current) in (typing.Union, types.UnionType):
            current = next(a for a in typing.get_args(current) if a is not type(None))
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _validation_error(path: Path, err: ValidationError) -> InputError:
    """The first pydantic error as an InputError with the dotted key path."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(part) for part in loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc)
        valid = ", ".join(sorted(model.model_fields)) if model else "see the README"
        return _err(path, key, f"unknown key (expected one of: {valid})")
    if kind == "missing":
        if loc == ("suite",):
            return _err(path, key, "missing [suite] table")
        return _err(path, key, "required")
    return _err(path, key, f"{first['msg']}, got {first.get('input')!r}")


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
            raise _err(path, f"{prefix}.config", f"required for kind {table.kind!r}: its config file (e.g. a spacy-llm config)")
        resolved = str((base / table.config).resolve())
    else:
        if table.path is None:
            what = "a pipeline directory or installed package name" if source == "pipeline" else f"the {table.kind} file"
            raise _err(path, f"{prefix}.path", f"required: {what}")
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
            raise _err(path, prefix, f"gates for unknown pipeline {name!r} (pipelines: {', '.join(pipelines)})")
        vs = table.distilled_vs_llm
        if vs is None:
            continue
        reference = vs.llm if vs.llm is not None else (llms[0] if len(llms) == 1 else None)
        if reference not in pipelines or not pipelines[str(reference)].is_llm:
            raise _err(
                path, f"{prefix}.distilled_vs_llm.llm", f"must name an llm pipeline of this suite (llm pipelines: {', '.join(llms) or 'none'})"
            )
        if reference == name:
            raise _err(path, f"{prefix}.distilled_vs_llm.llm", "a pipeline cannot be compared with itself")


def _check_behaviour(tables: Mapping[str, Mapping[str, CheckTable]], pipelines: Mapping[str, PipelineSpec], path: Path) -> None:
    """Behavioural checks need a model to call, and a name the harness knows (or a function)."""
    for name, checks in tables.items():
        prefix = f"behaviour.{name}"
        if name not in pipelines:
            raise _err(path, prefix, f"behaviour for unknown pipeline {name!r} (pipelines: {', '.join(pipelines)})")
        if not kind_of(pipelines[name].kind).has_model:
            raise _err(
                path,
                prefix,
                f"{pipelines[name].kind} pipelines (e.g. imported predictions) have no model to run perturbed texts through: "
                "behavioural checks need a pipeline that can run, such as a spacy or llm one",
            )
        for check, table in checks.items():
            _check_name(path, f"{prefix}.{check}", check)
            if table.function is None and check not in BEHAVIOUR_CHECKS:
                raise _err(
                    path, f"{prefix}.{check}", f'unknown check (built in: {", ".join(BEHAVIOUR_CHECKS)}; or give function = "module:function")'
                )


def _check_name(path: Path, key: str, name: str) -> None:
    """Suite and pipeline names become pytest node ids and terminal titles: no control
    characters (they would drive the terminal), no "::" or brackets (ids would not round-trip)."""
    bad = control_characters(name)
    if bad:
        raise _err(path, key, f"name {printable(name)!r} contains control characters ({', '.join(bad)})")
    if "::" in name or "[" in name or "]" in name:
        raise _err(path, key, f"name {name!r} must not contain '::', '[' or ']' (they delimit pytest test ids)")


def _parse_pool(text: str, path: Path) -> tuple[GoldRef, str]:
    ref_text, _, split = text.partition(":")
    split = split or "train"
    if split not in ("train", "eval"):
        raise _err(path, "suite.pool", f"unknown split {split!r}; a pool is a gold split (train)")
    try:
        return GoldRef.parse(ref_text), split
    except InputError as err:
        raise _err(path, "suite.pool", err.reason) from None


def parse_suite(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file. Raises :class:`InputError` naming file and key."""
    path = Path(path)
    try:
        model = SuiteFileModel.model_validate(_read_toml(path))
    except ValidationError as err:
        raise _validation_error(path, err) from None
    base = path.parent
    suite = model.suite
    for key, name in [("suite.name", suite.name), *((f"pipelines.{n}", n) for n in model.pipelines)]:
        _check_name(path, key, name)
    try:
        gold = GoldRef.parse(suite.gold)
    except InputError as err:
        raise _err(path, "suite.gold", err.reason) from None
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
                raise _err(
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
                raise _err(spec.file, f"gates.{pipeline}.must_pass", f"input hash {input_hash} is not in the eval split of {spec.gold}")
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
                raise _err(spec.file, f"behaviour.{pipeline}.{check}", f"substitution swaps entities: the gold task is {task}")
            out.append(BehaviourGate(pipeline, float(table.min_pass_rate), check=check, min_cases=int(table.min_cases)))
    return tuple(out)


def _regression_gates(spec: SuiteSpec, pipeline: str, table: NoRegressionTable | None, labels: list[str]) -> list[Gate]:
    """``no_regression``: micro F against the baseline, optionally per label, speed and size."""
    if table is None:
        return []
    for label in table.labels or []:
        if label not in labels:
            raise _err(
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
