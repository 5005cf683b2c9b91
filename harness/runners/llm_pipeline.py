"""Run a spacy-llm pipeline from its config file, through a cassette when it has one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError, PipelineError
from ..results import LLMStats
from .spacy_pipeline import PipelineRun, _percentile, predict_timed

CASSETTE = "harness.Cassette.v1"
TEACHER = "harness.SimulatedTeacher.v1"


def _percentile_or_none(values: Sequence[float], q: float) -> float | None:
    return _percentile(values, q) if values else None


def _prepare(config: Any, base: Path, mode: str | None) -> None:
    """Resolve relative paths against the config file's directory and apply the mode."""
    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("@llm_models") == CASSETTE:
            if "path" in node and not Path(str(node["path"])).is_absolute():
                node["path"] = str((base / str(node["path"])).resolve())
            if mode is not None:
                node["mode"] = mode
            inner = node.get("inner_config")
            if node.get("inner_model") == TEACHER and isinstance(inner, dict) and "gold_dir" in inner:
                if not Path(str(inner["gold_dir"])).is_absolute():
                    inner["gold_dir"] = str((base / str(inner["gold_dir"])).resolve())
        if node.get("@llm_models") == TEACHER and "gold_dir" in node and not Path(str(node["gold_dir"])).is_absolute():
            node["gold_dir"] = str((base / str(node["gold_dir"])).resolve())
        for value in node.values():
            walk(value)

    walk(config)


def build_llm_pipeline(config_path: str | Path, *, mode: str | None = None) -> Any:
    """Assemble a spacy-llm pipeline; errors name the config file and the failing key."""
    from confection import ConfigValidationError
    from spacy.util import load_config
    from spacy_llm.util import assemble_from_config

    from . import llm_models  # noqa: F401  (registers the harness model blocks)

    config_path = Path(config_path)
    if not config_path.exists():
        raise PipelineError(f"spacy-llm config not found: {config_path}")
    try:
        config = load_config(config_path, interpolate=False)
    except Exception as err:
        raise InputError(f"cannot read spacy-llm config: {err}", path=config_path) from None
    _prepare(config, config_path.parent, mode)
    try:
        return assemble_from_config(config)
    except ConfigValidationError as err:
        first = err.errors[0] if err.errors else {}
        key = ".".join(str(x) for x in first.get("loc", ())) or None
        raise InputError(f"spacy-llm config does not build: {first.get('msg', err)}", path=config_path, field=key) from None
    except InputError as err:
        if err.path is not None:  # already located (e.g. a bad cassette line)
            raise
        raise InputError(err.reason, path=config_path, field=err.field) from None
    except Exception as err:
        raise InputError(f"spacy-llm config does not build: {type(err).__name__}: {err}", path=config_path) from None


def find_llm_component(nlp: Any) -> tuple[str, Any]:
    for name, component in nlp.components:
        if hasattr(component, "_task") and hasattr(component, "_model"):
            return name, component
    raise PipelineError(f"no spacy-llm component in pipeline (pipes: {nlp.pipe_names})")


def parse_check(task: Any, task_kind: str) -> Callable[[str], bool]:
    """Whether the task's own parser can take something from a response."""
    if task_kind == "ner":
        from spacy_llm.tasks.span.examples import SpanReason

        def parses(response: str) -> bool:
            for line in response.strip().split("\n"):
                try:
                    SpanReason.from_str(line)
                    return True
                except ValueError:
                    continue
            return False

        return parses

    def parses_cats(response: str) -> bool:
        parts = [p.strip() for p in response.strip().split(",") if p.strip()]
        return any(p == "==NONE==" or task.normalizer(p) in task.label_dict for p in parts)

    return parses_cats


def run_llm_pipeline(
    config_path: str | Path, texts: Sequence[str], *, task: str, mode: str | None = None,
    prices: Mapping[str, float] | None = None, latency_docs: int = 32, batch_size: int = 128,
    declared_size: int | None = None,
) -> tuple[PipelineRun, LLMStats]:
    """Predict with an LLM pipeline; fail with a full miss report if replay lacks entries."""
    from .llm_models import CassetteModel

    nlp = build_llm_pipeline(config_path, mode=mode)
    _, component = find_llm_component(nlp)
    model = component._model
    cassette = model if isinstance(model, CassetteModel) else None
    if cassette is not None:
        cassette.reset_log()
    predictions, speed = predict_timed(nlp, texts, task=task, latency_docs=latency_docs, batch_size=batch_size)
    if cassette is not None and cassette.log.missing:
        report = cassette.cassette.miss_report(cassette.log.missing, cassette.identity)
        raise PipelineError(report.message(cassette.path))
    task_kind = "ner" if task == "ner" else "textcat"
    responses = cassette.log.responses if cassette is not None else []
    records = cassette.log.records if cassette is not None else []
    parses = parse_check(component._task, task_kind)
    unparseable = [(t, r) for t, r in zip(texts, responses) if not r.strip() or not parses(r)]
    prompt_tokens = completion_tokens = 0
    estimated = False
    for prompt, response, record in zip(cassette.log.prompts if cassette else [], responses, records):
        usage = getattr(record, "usage", None)
        if usage and "prompt_tokens" in usage and "completion_tokens" in usage:
            prompt_tokens += int(usage["prompt_tokens"])
            completion_tokens += int(usage["completion_tokens"])
        else:  # no usage reported: estimate about 4 characters per token, and say so
            estimated = True
            prompt_tokens += round(len(prompt) / 4)
            completion_tokens += round(len(response) / 4)
    cost = None
    if prices:
        cost = (prompt_tokens * float(prices.get("prompt_per_1k", 0.0)) +
                completion_tokens * float(prices.get("completion_per_1k", 0.0))) / 1000.0
    latencies = [r.latency_s for r in records if r is not None and r.latency_s is not None]
    words = sum(p.n_words for p in predictions)
    record_wps = words / sum(latencies) if latencies and len(latencies) == len(records) and sum(latencies) > 0 else None
    simulated = bool(cassette.simulated if cassette is not None else False) or any(getattr(r, "simulated", False) for r in records)
    stats = LLMStats(
        mode=cassette.mode if cassette is not None else "live",
        simulated=simulated,
        model=dict(cassette.identity) if cassette is not None else {},
        responses=len(responses),
        unparseable=len(unparseable),
        unparseable_examples=tuple((t[:200], r[:200]) for t, r in unparseable[:5]),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens_estimated=estimated,
        cost_usd=cost,
        recorded_latency_p50_ms=(p * 1000 if (p := _percentile_or_none(latencies, 0.5)) is not None else None),
        recorded_latency_p95_ms=(p * 1000 if (p := _percentile_or_none(latencies, 0.95)) is not None else None),
        record_words_per_second=record_wps,
        calls_made=cassette.log.calls_made if cassette is not None else len(texts),
        cached=cassette.log.cached if cassette is not None else 0,
        failures=len(cassette.log.failures) if cassette is not None else 0,
    )
    run = PipelineRun(
        predictions=tuple(predictions), speed=speed, size_bytes=declared_size or 0, n_params=None,
        path=str(config_path), meta={},
    )
    return run, stats

