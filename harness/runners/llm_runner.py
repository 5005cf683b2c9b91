"""The LLM runner: a spacy-llm pipeline from its config file, through a cassette when it has one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.results import LLMStats
from ..core.stats import percentile_or_none
from ..core.tasks import task_of
from ..errors import InputError, PipelineError
from ..llm import registry  # noqa: F401  (registers the harness model blocks)
from ..llm.cassette_model import CassetteModel
from .base import Predict, Prediction, PredictRows, RunOutput, long_lived
from .identity import files_identity
from .predictor import pipe_predictor, pipe_rows
from .timing import predict_timed

if TYPE_CHECKING:
    from ..gold.records import GoldExample
    from ..llm.cassette_model import CassetteModel
    from ..specs import PipelineSpec

CASSETTE = "harness.Cassette.v1"
TEACHERS = ("harness.SimulatedTeacher.v1", "harness.SimulatedTeacher.v2")


def _prepare(config: Any, base: Path, mode: str | None) -> None:
    """Resolve relative paths against the config file's directory and apply the mode."""

    def absolute(node: dict[str, Any], key: str) -> None:
        if key in node and not Path(str(node[key])).is_absolute():
            # A trailing "/" says "a cassette directory" (harness.llm.sharded_cassette): kept.
            node[key] = str((base / str(node[key])).resolve()) + ("/" if str(node[key]).endswith("/") else "")

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("@llm_models") == CASSETTE:
            absolute(node, "path")
            if mode is not None:
                node["mode"] = mode
            # The harness collects every miss of a run into one report (the block's own
            # default, for plain spacy-llm use, is to refuse an unrecorded prompt at once).
            node["strict_missing"] = False
            inner = node.get("inner_config")
            if node.get("inner_model") in TEACHERS and isinstance(inner, dict):
                absolute(inner, "gold_dir")
        if node.get("@llm_models") in TEACHERS:
            absolute(node, "gold_dir")
        for value in node.values():
            walk(value)

    walk(config)


def build_llm_pipeline(config_path: str | Path, *, mode: str | None = None) -> Any:
    """Assemble a spacy-llm pipeline; errors name the config file and the failing key."""
    with long_lived():  # spaCy and spacy-llm: what this process keeps until it exits
        from confection import ConfigValidationError
        from spacy.util import load_config
        from spacy_llm.util import assemble_from_config

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
    """The pipeline's spacy-llm component (name, component)."""
    for name, component in nlp.components:
        if hasattr(component, "task") and hasattr(component, "_model"):
            return name, component
    raise PipelineError(f"no spacy-llm component in pipeline (pipes: {nlp.pipe_names})")


# spacy-llm's LLMWrapper exposes its task (``.task``) but not its model: these two
# functions are the only places that touch the private attribute.
def llm_model_of(component: Any) -> Any:
    """The model block of a spacy-llm component."""
    return component._model


def set_llm_model(component: Any, model: Any) -> None:
    """Swap the model block of a spacy-llm component (e.g. to log a plain block's calls)."""
    component._model = model


def cassette_of(nlp: Any) -> tuple[Any, CassetteModel]:
    """(component, its cassette) of a pipeline whose model is wrapped in ``harness.Cassette.v1``."""

    _, component = find_llm_component(nlp)
    model = llm_model_of(component)
    if not isinstance(model, CassetteModel):
        raise PipelineError("the llm model is not wrapped in harness.Cassette.v1; nothing to record")
    return component, model


def parse_check(llm_task: Any, gold_task: str) -> Callable[[str], bool]:
    """Whether the spacy-llm task's own parser can take something from a response."""
    if task_of(gold_task).has_spans:
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
        return any(p == "==NONE==" or llm_task.normalizer(p) in llm_task.label_dict for p in parts)

    return parses_cats


def llm_stats(
    model: CassetteModel,
    texts: Sequence[str],
    predictions: Sequence[Prediction],
    *,
    parses: Callable[[str], bool],
    prices: Mapping[str, float] | None,
) -> LLMStats:
    """Figures of one LLM run from what the cassette logged: parse failures, tokens, cost, latency."""
    log = model.log
    unparseable = [(t, r) for t, r in zip(texts, log.responses) if not r.strip() or not parses(r)]
    prompt_tokens = completion_tokens = 0
    estimated = False
    for prompt, response, record in zip(log.prompts, log.responses, log.records):
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
        cost = (
            prompt_tokens * float(prices.get("prompt_per_1k", 0.0)) + completion_tokens * float(prices.get("completion_per_1k", 0.0))
        ) / 1000.0
    latencies = [r.latency_s for r in log.records if r is not None and r.latency_s is not None]
    words = sum(p.n_words for p in predictions)
    complete = bool(latencies) and len(latencies) == len(log.records) and sum(latencies) > 0
    p50, p95 = percentile_or_none(latencies, 0.5), percentile_or_none(latencies, 0.95)
    return LLMStats(
        mode=model.mode,
        simulated=model.simulated or any(getattr(r, "simulated", False) for r in log.records),
        model=dict(model.identity),
        responses=len(log.responses),
        unparseable=len(unparseable),
        unparseable_examples=tuple((t[:200], r[:200]) for t, r in unparseable[:5]),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens_estimated=estimated,
        cost_usd=cost,
        recorded_latency_p50_ms=p50 * 1000 if p50 is not None else None,
        recorded_latency_p95_ms=p95 * 1000 if p95 is not None else None,
        record_words_per_second=words / sum(latencies) if complete else None,
        calls_made=log.calls_made,
        cached=log.cached,
        failures=len(log.failures),
    )


class LLMRunner:
    """Runs a spacy-llm pipeline. A model block not wrapped in a cassette is wrapped in
    a file-less live one, so every LLM run is logged the same way."""

    kind: ClassVar[str] = "llm"

    def predictor(self, spec: PipelineSpec, task: str, *, llm_mode: str | None = None) -> Predict:
        return pipe_predictor(build_llm_pipeline(spec.path, mode=llm_mode), task, spec.batch_size)

    def row_predictor(self, spec: PipelineSpec, task: str, *, llm_mode: str | None = None, parallel: bool = False) -> PredictRows:
        """As :meth:`predictor`, but a prompt the cassette cannot answer (replay) or a failed
        call is an error: a missing answer must not be taken for "no entities".

        ``parallel``: one of several workers (an engine's): a cassette in record mode is
        refused, since workers rewriting one cassette file would lose each other's answers."""
        nlp = build_llm_pipeline(spec.path, mode=llm_mode)
        _, component = find_llm_component(nlp)
        model = llm_model_of(component)
        predict = pipe_rows(nlp, task, spec.batch_size)
        if not isinstance(model, CassetteModel):
            return predict
        if parallel and model.mode == "record" and not model.cassette.shared_writes:
            raise PipelineError(
                f"{spec.path}: a one-file cassette in record mode cannot be shared by parallel workers; record it "
                "with the local engine (harness queue fill --engine local --llm-mode record), or make it a cassette "
                "directory (path ending in '/': appended to under a lock), then run any engine"
            )

        def checked(texts: Sequence[str]) -> list[Prediction]:
            model.reset_log()
            predictions = predict(texts)
            if model.log.missing:
                raise PipelineError(model.miss_message())
            if model.log.failures:
                raise PipelineError(f"{len(model.log.failures)} LLM call(s) failed; first failure: {model.log.failures[0]}")
            return predictions

        return checked

    def run(
        self, spec: PipelineSpec, examples: Sequence[GoldExample], *, task: str, llm_mode: str | None = None, timed: bool = True
    ) -> RunOutput:

        nlp = build_llm_pipeline(spec.path, mode=llm_mode)
        _, component = find_llm_component(nlp)
        model = llm_model_of(component)
        if not isinstance(model, CassetteModel):
            model = CassetteModel.live_logger(model)
            set_llm_model(component, model)
        model.reset_log()
        texts = [e.text for e in examples]
        predictions, speed = predict_timed(nlp, texts, task=task, latency_docs=spec.latency_docs if timed else 0, batch_size=spec.batch_size)
        if model.log.missing:
            raise PipelineError(model.miss_message())
        if model.log.failures:
            # A failed call is scored as no answer at all: the verdict would be computed on missing data.
            raise PipelineError(
                f"{len(model.log.failures)} of {len(texts)} LLM call(s) failed (mode "
                f"{model.mode!r}), so this pipeline has no result; first failure: {model.log.failures[0]}"
            )
        parses = parse_check(component.task, task)
        stats = llm_stats(model, texts, predictions, parses=parses, prices=spec.prices)
        unanswered = tuple(i for i, r in enumerate(model.log.responses) if not r.strip() or not parses(r))
        declared = spec.declared_size
        return RunOutput(
            predictions=tuple(predictions),
            speed=speed,
            path=spec.path,
            size_bytes=declared or 0,
            size_source="declared" if declared else "unknown",
            train_examples=0,
            llm=stats,
            unanswered=unanswered,
            identity=files_identity(
                "llm",
                spec.path,
                [Path(spec.path), model.path] if model.path else [Path(spec.path)],
                {"model": dict(stats.model), "simulated": stats.simulated},
            ),
        )
