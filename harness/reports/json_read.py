"""Results documents (``reports/<suite>.json``) read back into the result objects of
:mod:`harness.core.results`, so every page is drawn from objects, whether the run is in
memory or only its JSON is left (``harness report reports/x.json``).

What JSON does not keep comes back empty: the per-example outputs and counts (the document
keeps its example browser data as it is, and the page embeds the document itself), the
positions of failing examples, timings of behavioural cases. A shape the page cannot read
is an :class:`~harness.errors.InputError` naming the file and the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..core.gates import formats_for
from ..core.metrics import LabelScore, ScoreTable
from ..core.results import (
    BaselineComparison,
    BehaviourCase,
    BehaviourResult,
    Comparison,
    Difference,
    Flip,
    GoldInfo,
    LLMStats,
    Output,
    PipelineResult,
    RegressionTest,
    SpeedStats,
    SuiteResult,
    Verdict,
)
from ..errors import InputError
from ..options import DEFAULT_THRESHOLD
from ..runners.registry import kinds

T = TypeVar("T")
NAN = math.nan


class _Fields:
    """Typed access to one JSON object, naming ``where`` (e.g. ``pipelines.ner.micro``) on error."""

    def __init__(self, data: Any, where: str, path: Path | None) -> None:
        if not isinstance(data, Mapping):
            raise InputError(f"expected an object, got {type(data).__name__}", path=path, field=where or None)
        self.data, self.where, self.path = data, where, path

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _problem(self, key: str, message: str) -> InputError:
        return InputError(message, path=self.path, field=self._name(key))

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def obj(self, key: str) -> _Fields:
        if key not in self.data:
            raise self._problem(key, "missing")
        return _Fields(self.data[key], self._name(key), self.path)

    def each(self, key: str) -> list[_Fields]:
        """The objects of a list (``[]`` when absent or null)."""
        items = self.data.get(key)
        items = [] if items is None else items
        if not isinstance(items, list):
            raise self._problem(key, f"expected a list, got {type(items).__name__}")
        return [_Fields(item, f"{self._name(key)}[{i}]", self.path) for i, item in enumerate(items)]

    def members(self, key: str) -> list[tuple[str, _Fields]]:
        """The (name, object) pairs of an object (``[]`` when absent or null)."""
        items = self.data.get(key)
        items = {} if items is None else items
        if not isinstance(items, Mapping):
            raise self._problem(key, f"expected an object, got {type(items).__name__}")
        return [(str(name), _Fields(value, f"{self._name(key)}.{name}", self.path)) for name, value in items.items()]

    def _typed(self, key: str, check: Callable[[Any], bool], what: str, default: Any, required: bool) -> Any:
        value = self.data.get(key)
        if value is None:
            if required and key not in self.data:
                raise self._problem(key, "missing")
            return default
        if not check(value):
            raise self._problem(key, f"expected {what}, got {type(value).__name__}")
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        return self._typed(key, lambda v: isinstance(v, str), "a string", default, required)

    def integer(self, key: str, default: int | None = 0, *, required: bool = False) -> Any:
        return self._typed(key, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer", default, required)

    def number(self, key: str, default: float | None = NAN, *, required: bool = False) -> Any:
        """A figure; null (JSON's undefined figure) reads as ``default`` (NaN unless told)."""
        value = self._typed(key, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number", default, required)
        return float(value) if value is not None else None

    def flag(self, key: str, default: bool = False) -> bool:
        return bool(self._typed(key, lambda v: isinstance(v, bool), "true or false", default, False))

    def interval(self, key: str) -> tuple[float, float] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not (isinstance(value, list) and len(value) == 2 and all(v is None or isinstance(v, (int, float)) for v in value)):
            raise self._problem(key, "expected [low, high]")
        return (NAN if value[0] is None else float(value[0]), NAN if value[1] is None else float(value[1]))

    def interval_or_nan(self, key: str) -> tuple[float, float]:
        return self.interval(key) or (NAN, NAN)


def _output(value: Any) -> Output:
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return tuple(tuple(span) for span in value or ())  # spans as the document keeps them


def _label_score(label: str, s: _Fields) -> LabelScore:
    return LabelScore(
        label=label,
        p=s.number("p"),
        r=s.number("r"),
        f=s.number("f", required=True),
        tp=s.integer("tp"),
        fp=s.integer("fp"),
        fn=s.integer("fn"),
        p_ci=s.interval_or_nan("p_ci"),
        r_ci=s.interval_or_nan("r_ci"),
        f_ci=s.interval_or_nan("f_ci"),
    )


def _score_table(table: _Fields, variant: str, examples: int, bootstrap: _Fields | None) -> ScoreTable:
    macro = table.obj("macro")
    return ScoreTable(
        variant=variant,
        labels=tuple(_label_score(label, s) for label, s in table.members("labels")),
        micro=_label_score("micro", table.obj("micro")),
        macro_p=macro.number("p"),
        macro_r=macro.number("r"),
        macro_f=macro.number("f"),
        macro_f_ci=macro.interval_or_nan("f_ci"),
        n_examples=examples,
        resamples=bootstrap.integer("resamples") if bootstrap else 0,
        seed=bootstrap.integer("seed") if bootstrap else 0,
    )


def _speed(s: _Fields) -> SpeedStats:
    return SpeedStats(
        words_per_second=s.number("words_per_second"),
        words=s.integer("words"),
        docs=s.integer("docs"),
        seconds=s.number("seconds", 0.0),
        latency_p50_ms=s.number("latency_p50_ms"),
        latency_p95_ms=s.number("latency_p95_ms"),
        timed_batches=s.integer("timed_batches"),
        batch_size=s.integer("batch_size"),
        method=s.text("method", SpeedStats.method),
    )


def _llm(s: _Fields) -> LLMStats:
    return LLMStats(
        mode=s.text("mode", "replay"),
        simulated=s.flag("simulated"),
        model=dict(s.raw("model") or {}),
        responses=s.integer("responses"),
        unparseable=s.integer("unparseable"),
        unparseable_examples=tuple((e.text("text", ""), e.text("response", "")) for e in s.each("unparseable_examples")),
        prompt_tokens=s.integer("prompt_tokens"),
        completion_tokens=s.integer("completion_tokens"),
        tokens_estimated=s.flag("tokens_estimated"),
        cost_usd=s.number("cost_usd", None),
        recorded_latency_p50_ms=s.number("recorded_latency_p50_ms", None),
        recorded_latency_p95_ms=s.number("recorded_latency_p95_ms", None),
        record_words_per_second=s.number("record_words_per_second", None),
        calls_made=s.integer("calls_made"),
        cached=s.integer("cached"),
        failures=s.integer("failures"),
    )


def _pipeline(name: str, p: _Fields) -> PipelineResult:
    examples = p.integer("eval_examples")
    bootstrap = p.obj("bootstrap") if p.has("bootstrap") else None
    variant = p.text("match", "strict")
    return PipelineResult(
        name=name,
        kind=p.text("kind", "", required=True),
        path=p.text("path", ""),
        task=p.text("task", ""),
        scores=_score_table(p, variant, examples, bootstrap),
        overlap=_score_table(p.obj("overlap"), "overlap", examples, bootstrap) if p.has("overlap") else None,
        macro_auc=p.number("macro_auc", None),
        speed=_speed(p.obj("speed")) if p.has("speed") else _speed(_Fields({}, f"pipelines.{name}.speed", p.path)),
        size_bytes=p.integer("size_bytes", None),
        n_params=p.integer("n_params", None),
        train_examples=p.integer("train_examples", None),
        eval_examples=examples,
        example_ids=(),
        training=dict(p.raw("training") or {}),
        size_source=p.text("size_source", "disk"),
        llm=_llm(p.obj("llm")) if p.has("llm") else None,
        missing_predictions=p.integer("missing_predictions"),
        warnings=tuple(str(w) for w in p.raw("warnings") or ()),
    )


def _verdict(g: _Fields) -> Verdict:
    gate_id = g.text("id", required=True)
    value_format, delta_format = formats_for(gate_id)  # JSON keeps the figures, not their format
    return Verdict(
        gate_id=gate_id,
        pipeline=g.text("pipeline", ""),
        passed=g.flag("passed"),
        measured=g.number("measured"),
        threshold=g.number("threshold"),
        op=g.text("op", ""),
        ci=g.interval("ci"),
        message=g.text("message", ""),
        skipped=g.text("skipped"),
        baseline=g.number("baseline", None),
        delta=g.number("delta", None),
        p_value=g.number("p_value", None),
        p_adjusted=g.number("p_adjusted", None),
        noise=g.text("noise"),
        min_detectable=g.number("min_detectable_drop", None),
        warning=g.text("warning"),
        decision=g.text("decision", ""),
        value_format=value_format,
        delta_format=delta_format,
    )


def _difference(label: str, d: _Fields) -> Difference:
    return Difference(label=label, a_f=d.number("a_f"), b_f=d.number("b_f"), diff=d.number("diff"), ci=d.interval_or_nan("ci"))


def _comparison(c: _Fields) -> Comparison:
    bootstrap = c.obj("bootstrap") if c.has("bootstrap") else None
    return Comparison(
        a=c.text("a", required=True),
        b=c.text("b", required=True),
        micro=_difference("micro", c.obj("micro")),
        macro=_difference("macro", c.obj("macro")),
        labels=tuple(_difference(label, d) for label, d in c.members("labels")),
        speed_ratio=c.number("speed_ratio", None),
        size_ratio=c.number("size_ratio", None),
        resamples=bootstrap.integer("resamples") if bootstrap else 0,
        seed=bootstrap.integer("seed") if bootstrap else 0,
    )


def _flip(f: _Fields) -> Flip:
    return Flip(
        label=f.text("label", ""),
        input_hash=f.integer("input_hash"),
        broken=f.flag("broken"),
        text=f.text("text", ""),
        gold=_output(f.raw("gold")),
        baseline=_output(f.raw("baseline")),
        current=_output(f.raw("current")),
    )


def _regression_test(t: _Fields) -> RegressionTest:
    return RegressionTest(
        scope=t.text("scope", "micro"),
        support=t.integer("support"),
        current_f=t.number("current_f"),
        reference_f=t.number("reference_f"),
        blessed_f=t.number("blessed_f"),
        models=t.integer("models"),
        reference_range=t.interval_or_nan("reference_range"),
        train_sd=t.number("train_sd", None),
        se_eval=t.number("se_eval"),
        se=t.number("se"),
        diff=t.number("diff"),
        ci=t.interval_or_nan("ci"),
        p_value=t.number("p_value"),
        sources=t.text("noise", ""),
    )


def _baseline(name: str, b: _Fields) -> BaselineComparison:
    return BaselineComparison(
        pipeline=name,
        baseline_file=b.text("file", ""),
        blessed=b.text("blessed", ""),
        baseline_gold=b.text("baseline_gold", ""),
        comparison=_comparison(b.obj("comparison")) if b.has("comparison") else None,
        compared=b.integer("compared"),
        eval_examples=b.integer("eval_examples"),
        changed=b.integer("changed_gold"),
        unseen=b.integer("not_in_baseline"),
        identical_model=b.flag("identical_model"),
        identical_predictions=b.flag("identical_predictions"),
        differing_predictions=b.integer("differing_predictions"),
        flips=tuple(_flip(f) for f in b.each("flips")),
        baseline_words_per_second=b.number("baseline_words_per_second", None),
        baseline_size_bytes=b.integer("baseline_size_bytes", None),
        same_machine=b.flag("same_machine"),
        problem=b.text("problem"),
        tests=tuple(_regression_test(t) for t in b.each("tests")),
        replicates=b.integer("replicates"),
    )


def _case(c: _Fields) -> BehaviourCase:
    return BehaviourCase(
        input_hash=c.integer("input_hash"),
        original=c.text("original", ""),
        text=c.text("text", ""),
        change=c.text("change", ""),
        expected=_output(c.raw("expected")),
        predicted=_output(c.raw("predicted")),
        passed=c.flag("passed"),
    )


def _behaviour(b: _Fields) -> BehaviourResult:
    return BehaviourResult(
        pipeline=b.text("pipeline", ""),
        check=b.text("check", ""),
        cases=b.integer("cases"),
        passed=b.integer("passed"),
        pass_rate=b.number("pass_rate"),
        ci=b.interval_or_nan("ci"),
        min_pass_rate=b.number("min_pass_rate", 0.0),
        shrunk=tuple(_case(c) for c in b.each("shrunk")),
        failures=tuple(_case(c) for c in b.each("failures")),
        seconds=b.number("seconds", 0.0),
        skipped=b.text("skipped"),
        note=b.text("note"),
    )


def _role_of(pipelines: Mapping[str, PipelineResult], role: str) -> str | None:
    """The first pipeline whose kind plays ``role`` (the registry says which kind plays which)."""
    known = kinds()
    return next((n for n, p in pipelines.items() if p.kind in known and known[p.kind].role == role), None)


def suite_from_dict(document: Any, path: str | Path | None = None) -> SuiteResult:
    """The :class:`SuiteResult` a results document records (``path``: named in errors)."""
    doc = _Fields(document, "", Path(path) if path is not None else None)
    suite, gold = doc.obj("suite"), doc.obj("gold")
    # What every page needs is named when it is missing (absent optional parts read as empty).
    for key in ("pipelines", "gates"):
        if key not in doc.data:
            raise InputError("missing", path=doc.path, field=key)
    pipelines = {name: _pipeline(name, p) for name, p in doc.members("pipelines")}
    return SuiteResult(
        name=suite.text("name", required=True),
        file=suite.text("file", ""),
        gold=GoldInfo(
            name=gold.text("name", required=True),
            version=gold.integer("version", required=True),
            sha256=gold.text("sha256", ""),
            task=gold.text("task", required=True),
            train_examples=gold.integer("train_examples"),
            eval_examples=gold.integer("eval_examples"),
        ),
        pipelines=pipelines,
        errors={str(k): str(v) for k, v in (doc.raw("errors") or {}).items()},
        verdicts=tuple(_verdict(g) for g in doc.each("gates")),
        comparisons=tuple(_comparison(c) for c in doc.each("comparisons")),
        baselines={name: _baseline(name, b) for name, b in doc.members("baselines")},
        baseline_problem=doc.text("baseline_problem"),
        behaviour=tuple(_behaviour(b) for b in doc.each("behaviour")),
        threshold=doc.number("threshold", DEFAULT_THRESHOLD),
        incomplete=doc.text("incomplete"),
        gates_total=doc.integer("gates_total"),
        distilled=_role_of(pipelines, "distilled"),
        llm=_role_of(pipelines, "llm"),
    )
