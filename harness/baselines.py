"""Blessed baselines: ``baselines/<suite>.json``, committed and reviewed like code.

A baseline is what a release was judged on: the gold (ref and sha256, and a digest
of each eval example's annotation), and per pipeline the model's identity, its
scores, speed and size with the machine they were measured on, and *every eval
prediction* keyed by input hash, so that the next run compares with it paired,
example by example, without the old model.

Blessing is explicit (``harness bless``, ``pytest --harness-bless``): a run never
rewrites a baseline by itself. The file carries the sha256 of its own content, so a
hand edit or a damaged file is detected and named, and it is written atomically
(temp file + rename, under a lock): two concurrent blessings leave one valid file.
Keys are sorted and each example sits on one line, so a re-blessing diffs readably.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .core.metrics import LabelScore
from .core.regression import BaselineContext, BaselineEntry
from .core.results import Output, PipelineResult
from .core.stats import json_interval as _ci
from .core.stats import json_number as _num
from .core.tasks import task_of
from .environment import environment, machine_description, machine_fingerprint
from .errors import InputError
from .gold.records import GoldExample
from .io import atomic
from .io.clock import now_iso
from .io.locks import directory_lock

BASELINE_SCHEMA = "distill-harness/baseline/v1"


def baseline_path(baselines_dir: str | Path, suite_name: str) -> Path:
    """``<baselines_dir>/<suite>.json`` with the suite name made file-safe."""
    return Path(baselines_dir) / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', suite_name)}.json"


@dataclass(frozen=True)
class Baseline:
    """A parsed, verified baseline file."""

    path: Path
    suite: str
    context: BaselineContext
    pipelines: Mapping[str, BaselineEntry]
    document: Mapping[str, Any]  # the file as read (for re-blessing one pipeline)


# -- writing ------------------------------------------------------------------------


def example_digests(examples: Sequence[GoldExample]) -> dict[int, str]:
    """Input hash -> a short digest of the example's gold annotation: two gold versions
    agree on an example when its input hash and this digest agree."""
    return {e.input_hash: hashlib.sha256(e.annotation_key().encode()).hexdigest()[:16] for e in examples}


def _label(score: LabelScore) -> dict[str, Any]:
    return {"p": score.p, "r": score.r, "f": score.f, "f_ci": _ci(score.f_ci), "support": score.support}


def _prediction(task: str, value: Output) -> Any:
    return task_of(task).to_stored(value)


@dataclass(frozen=True)
class Replicate:
    """A model retrained from the blessed pipeline's data and config with another seed,
    evaluated on the same eval split (``outputs`` follow ``example_ids``)."""

    seed: int
    sha256: str
    example_ids: tuple[int, ...]
    outputs: tuple[Output, ...]
    micro_f: float
    configuration: Mapping[str, Any] = field(default_factory=dict)  # see configuration()


#: The training record fields that make two models "the same configuration" (all but the seed).
CONFIGURATION_FIELDS = ("gold_sha256", "config_sha256", "max_steps", "checkpoint")


def configuration(identity: Mapping[str, Any]) -> dict[str, Any]:
    """What a spaCy model was trained from, but its seed ({} when the harness did not train it)."""
    training = (identity.get("meta") or {}).get("training") or {}
    return {k: training.get(k) for k in CONFIGURATION_FIELDS} if training.get("config_sha256") else {}


def replicates_entry(task: str, identity: Mapping[str, Any], replicates: Sequence[Replicate]) -> dict[str, Any]:
    """The ``replicates`` block of a pipeline's entry: the configuration they share with the
    blessed model, the machine that trained them, and each one's seed, sha256 and predictions."""
    return {
        "configuration": configuration(identity),
        "machine": {"fingerprint": machine_fingerprint(), "description": machine_description()},
        "models": {
            str(r.seed): {
                "seed": r.seed,
                "sha256": r.sha256,
                "micro_f": r.micro_f,
                "predictions": {str(h): _replicate_prediction(task, o) for h, o in zip(r.example_ids, r.outputs, strict=True)},
            }
            for r in replicates
        },
    }


def _replicate_prediction(task: str, value: Output) -> Any:
    """A replicate's prediction: label scores to 4 decimals (they only meet the decision
    threshold; full precision would make a textcat baseline several times larger)."""
    return task_of(task).to_stored(value, decimals=4)


def pipeline_entry(result: PipelineResult) -> dict[str, Any]:
    """What a baseline keeps of one pipeline's result."""
    scores = result.scores
    return {
        "identity": dict(result.identity),
        "scores": {
            "micro": _label(scores.micro),
            "macro": {"f": scores.macro_f, "f_ci": _ci(scores.macro_f_ci)},
            "labels": {s.label: _label(s) for s in scores.labels},
            "variant": scores.variant,
        },
        "speed": {
            "words_per_second": _num(result.words_per_second),
            "latency_p50_ms": _num(result.speed.latency_p50_ms),
            "latency_p95_ms": _num(result.speed.latency_p95_ms),
        },
        "size_bytes": result.size_bytes or None,
        "machine": {"fingerprint": machine_fingerprint(), "description": machine_description()},
        "environment": environment(),
        "predictions": {str(h): _prediction(result.task, o) for h, o in zip(result.example_ids, result.outputs, strict=True)},
    }


def _content_sha256(document: Mapping[str, Any]) -> str:
    body = {k: v for k, v in document.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def _compact(value: Any) -> bool:
    """Lists, and small objects of plain values, print on one line (so that each example's
    prediction is one line of a diff)."""
    if isinstance(value, list):
        return True
    return isinstance(value, dict) and len(value) <= 12 and all(not isinstance(v, dict) for v in value.values())


def render(value: Any, indent: int = 0) -> str:
    """Stable, reviewable JSON: sorted keys, nested objects expanded, leaves on one line."""
    if not isinstance(value, dict) or (_compact(value) and indent > 0) or not value:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    pad = "  " * (indent + 1)
    items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {render(v, indent + 1)}" for k, v in sorted(value.items())]
    return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"


def _existing(path: Path) -> dict[str, Any]:
    """The baseline already at ``path`` ({} for none); a damaged one of ours is kept aside as
    ``.bak`` (blessing replaces it), a file that is not ours is refused."""
    if not path.exists():
        return {}
    try:
        return dict(load(path).document)
    except InputError as err:
        if not _is_ours(path):
            raise InputError("exists and is not a harness baseline; refusing to replace it (move it away yourself)", path=path) from err
        _keep_aside(path)  # our file, but edited or damaged: blessing replaces it, keeping the old one
        return {}


def _kept_entries(
    path: Path, existing: Mapping[str, Any], gold: Mapping[str, Any], results: Mapping[str, PipelineResult], all_pipelines: Sequence[str]
) -> dict[str, Any]:
    """The blessed entries of the pipelines not blessed now (only on the same gold: a file
    must not mix two golds, so on another gold every pipeline is blessed together)."""
    if existing and existing.get("gold", {}).get("sha256") == gold["sha256"]:
        return {name: entry for name, entry in existing.get("pipelines", {}).items() if name not in results and name in all_pipelines}
    unblessed = [name for name in all_pipelines if name not in results]
    if existing and unblessed:
        raise InputError(
            f"the baseline was blessed on gold {existing.get('gold', {}).get('ref')}, not "
            f"{gold['ref']}; bless every pipeline together (missing: {', '.join(unblessed)})",
            path=path,
        )
    return {}


def _entry(
    name: str,
    result: PipelineResult,
    task: str,
    replicates: Mapping[str, Sequence[Replicate]] | None,
    previous: Mapping[str, Any],
    same_gold: bool,
) -> dict[str, Any]:
    """One pipeline's entry: new replicates when given, else the ones it had when they come
    from the same configuration (data, config, steps, checkpoint) on the same gold."""
    entry = pipeline_entry(result)
    if replicates is not None and name in replicates:
        if replicates[name]:
            entry["replicates"] = replicates_entry(task, result.identity, replicates[name])
        return entry
    kept_replicates = (previous.get(name) or {}).get("replicates")
    if (
        isinstance(kept_replicates, dict)
        and configuration(result.identity)
        and kept_replicates.get("configuration") == configuration(result.identity)
        and same_gold
    ):
        entry["replicates"] = kept_replicates
    return entry


def bless(
    path: str | Path,
    *,
    suite: str,
    gold: Mapping[str, Any],
    task: str,
    examples: Sequence[GoldExample],
    results: Mapping[str, PipelineResult],
    all_pipelines: Sequence[str],
    replicates: Mapping[str, Sequence[Replicate]] | None = None,
) -> Path:
    """Write (or update) the baseline at ``path`` with ``results``.

    Pipelines not in ``results`` keep their blessed entry when the existing baseline
    was made on the same gold; on another gold every pipeline of the suite
    (``all_pipelines``) must be blessed together, or the file would mix two golds.
    ``replicates`` (pipeline -> models retrained with other seeds) replaces a
    pipeline's replicates; a pipeline not named there keeps the replicates it had
    when they were trained from the same configuration (data, config, steps,
    checkpoint) as the model blessed now, and loses them otherwise.
    """
    path = Path(path)
    if not results:
        raise InputError("nothing to bless: no pipeline of the suite produced a result", path=path)
    with directory_lock(path.parent):
        existing = _existing(path)
        kept = _kept_entries(path, existing, gold, results, all_pipelines)
        same_gold = bool(existing) and existing.get("gold", {}).get("sha256") == gold["sha256"]
        previous = existing.get("pipelines", {}) if existing else {}
        entries = {name: _entry(name, result, task, replicates, previous, same_gold) for name, result in results.items()}
        document: dict[str, Any] = {
            "schema": BASELINE_SCHEMA,
            "suite": suite,
            "blessed": now_iso(),
            "harness_version": __version__,
            "gold": dict(gold),
            "examples": {str(h): d for h, d in example_digests(examples).items()},
            "pipelines": {**kept, **entries},
        }
        document["sha256"] = _content_sha256(document)
        atomic.write_text(path, render(document) + "\n")
    return path


def _is_ours(path: Path) -> bool:
    """Whether a file that does not load as a baseline is still one of ours (edited, truncated
    or emptied), so that an explicit bless may replace it. The schema sorts late in our files,
    so the whole text is searched; a file cut before it still starts as :func:`render` writes."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if not text.strip():
        return True  # empty: nothing of anyone's is lost (and it is kept as .bak all the same)
    return BASELINE_SCHEMA in text or text.startswith('{\n  "blessed": "')


def _keep_aside(path: Path) -> Path:
    """Copy a damaged baseline of ours to the first free ``<name>.bak[.N]`` before it is replaced."""
    candidates = [path.with_name(path.name + ".bak")] + [path.with_name(f"{path.name}.bak.{n}") for n in range(1, 1000)]
    target = next(c for c in candidates if not c.exists())
    with atomic.atomic_open(target, "wb") as handle:
        handle.write(path.read_bytes())
    return target


# -- reading ------------------------------------------------------------------------


def _output(task: str, value: Any, path: Path, field: str) -> Output:
    try:
        return task_of(task).from_stored(value)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        raise InputError("malformed prediction", path=path, field=field) from None


def load(path: str | Path) -> Baseline:
    """Read and verify a baseline; an edited or damaged file is an error naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such baseline", path=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read baseline: {err}", path=path) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"baseline is not valid JSON ({err.msg})", path=path, line=err.lineno) from None
    if not isinstance(document, dict) or document.get("schema") != BASELINE_SCHEMA:
        raise InputError(f"not a baseline (expected schema {BASELINE_SCHEMA})", path=path, field="schema")
    if document.get("sha256") != _content_sha256(document):
        raise InputError(
            "the baseline's content does not match the sha256 it carries: it was edited by hand or "
            "damaged. Re-bless it (harness bless SUITE) rather than editing it",
            path=path,
            field="sha256",
        )
    try:
        gold = document["gold"]
        task = str(gold["task"])
        context = BaselineContext(
            file=str(path),
            blessed=str(document["blessed"]),
            gold_ref=str(gold["ref"]),
            gold_sha256=str(gold["sha256"]),
            gold_digests={int(h): str(d) for h, d in document["examples"].items()},
        )
        pipelines = {}
        for name, entry in document["pipelines"].items():
            speed = entry.get("speed") or {}
            models = (entry.get("replicates") or {}).get("models") or {}
            replicates = {
                int(m["seed"]): {
                    int(h): _output(task, v, path, f"pipelines.{name}.replicates.models.{key}.predictions.{h}")
                    for h, v in m["predictions"].items()
                }
                for key, m in models.items()
            }
            pipelines[name] = BaselineEntry(
                identity=entry.get("identity") or {},
                predictions={int(h): _output(task, v, path, f"pipelines.{name}.predictions.{h}") for h, v in entry["predictions"].items()},
                words_per_second=speed.get("words_per_second"),
                size_bytes=entry.get("size_bytes"),
                machine=str((entry.get("machine") or {}).get("fingerprint", "")),
                replicates=replicates,
            )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"baseline is missing or has a malformed field ({err})", path=path) from None
    return Baseline(path, str(document.get("suite", "")), context, pipelines, document)
