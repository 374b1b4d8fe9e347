"""The model registry: tuned encoder versions under ``data/models/<version>/`` and which is active.

A version directory is a sentence-transformers model (safetensors weights) plus
``semantic_training.json``, ``semantic_metrics.json`` and ``semantic_manifest.json``, the SHA-256
of its files written when it was saved. ``ACTIVE`` (a one-line file) names the active version;
``activations.jsonl`` keeps every activation, so a rollback is one command. No ``ACTIVE`` file
means the packaged base encoder. A version whose collapse guard failed is never activated, and one
whose files changed since it was saved is neither activated nor loaded (:meth:`Registry.verify`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semantic.config import default_model_dir
from semantic.errors import SemanticConfigError, SemanticModelError

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig

logger = logging.getLogger("semantic")

ACTIVE_FILE = "ACTIVE"
HISTORY_FILE = "activations.jsonl"
BASE = "base"


@dataclass(frozen=True)
class ModelVersion:
    """One tuned model in the registry.

    Attributes:
        name: The directory name (``<data hash>-<config hash>`` for models dbt trained).
        path: The directory.
        training: The saved training config, data hash and mining report.
        metrics: The collapse guard and validation figures.
    """

    name: str
    path: Path
    training: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def created_at(self) -> datetime:
        """When it was saved (its training record's modification time, UTC, without a zone)."""
        return datetime.fromtimestamp((self.path / "semantic_training.json").stat().st_mtime, UTC).replace(tzinfo=None)

    @property
    def guard_passed(self) -> bool:
        """Whether the collapse guard passed."""
        return bool((self.metrics.get("guard") or {}).get("passed"))


class Registry:
    """The tuned models of one project.

    Args:
        root: The registry folder (default ``<project>/data/models``).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def versions(self) -> list[ModelVersion]:
        """Every tuned model, oldest first."""
        found = []
        for path in sorted(self.root.glob("*/semantic_training.json"), key=lambda p: p.stat().st_mtime):
            folder = path.parent
            metrics_path = folder / "semantic_metrics.json"
            metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
            found.append(ModelVersion(folder.name, folder, json.loads(path.read_text()), metrics))
        return found

    def get(self, name: str) -> ModelVersion:
        """One version by name.

        Raises:
            SemanticConfigError: No such version.
        """
        for version in self.versions():
            if version.name == name:
                return version
        known = ", ".join(v.name for v in self.versions()) or "none yet"
        raise SemanticConfigError(f"no model version {name!r} in {self.root} (known: {known}); "
                                  "`semantic versions` lists them")

    def active_name(self) -> str:
        """The active version's name, or ``base`` for the packaged encoder."""
        path = self.root / ACTIVE_FILE
        return path.read_text().strip() if path.is_file() else BASE

    def active_dir(self) -> Path | None:
        """The active tuned model's directory, or None when the base encoder is active."""
        name = self.active_name()
        return None if name == BASE else self.root / name

    def verify(self, name: str) -> ModelVersion:
        """Check a version before it is activated or loaded: safetensors weights only, files unchanged since saved.

        A version saved before file records were written (no ``semantic_manifest.json``, and a training
        record that does not mention one) gets its record now, with a warning, so a change from
        then on is caught.

        Raises:
            SemanticConfigError: No such version.
            SemanticModelError: The version holds pickle-based or no safetensors weights, its files
                changed since it was saved (the message names the files), or the record it was saved
                with is gone.
        """
        from semantic.encoding.integrity import ENCODER_FIX, MANIFEST_FILE, check_weights, verify_files, write_manifest
        from semantic.encoding.reranker import RERANKER_FIX

        version = self.get(name)
        kind = "reranker" if version.training.get("kind") == "reranker" else "model"
        fix = RERANKER_FIX if kind == "reranker" else ENCODER_FIX
        check_weights(version.path)
        if not verify_files(version.path, fix):
            if version.training.get("manifest"):
                raise SemanticModelError(
                    f"{kind} version {name} ({version.path}): its file record {MANIFEST_FILE} is missing, though it "
                    f"was saved with one, so whether its files changed since it was registered cannot be told; {fix}")
            try:
                write_manifest(version.path)
            except SemanticModelError as e:  # a read-only registry: load it as before, unchecked
                logger.warning("%s version %s was saved before file records and none can be written (%s); its "
                               "files are not checked", kind, name, e)
            else:
                logger.warning("%s version %s was saved before file records: recorded its files now in %s; a "
                               "change to them from now on is refused", kind, name, version.path / MANIFEST_FILE)
        return version

    def activate(self, name: str, reason: str = "") -> None:
        """Make a version (or ``base``) the active encoder; the next run re-embeds with it.

        Raises:
            SemanticConfigError: No such version.
            SemanticModelError: The version failed its collapse guard, holds pickle-based or no
                safetensors weights, or its files changed since it was saved (:meth:`verify`).
        """
        if name != BASE:
            version = self.get(name)
            if not version.guard_passed:
                reason_text = (version.metrics.get("guard") or {}).get("reason", "no guard figures")
                raise SemanticModelError(f"model version {name} failed the collapse guard ({reason_text}); "
                                         "it cannot be activated - retrain with a lower learning rate")
            self.verify(name)
        self._write_active(name, {"kind": "activate", "reason": reason})

    def _write_active(self, name: str, record: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{ACTIVE_FILE}.tmp"
        tmp.write_text(name + "\n")
        os.replace(tmp, self.root / ACTIVE_FILE)
        entry = {"version": name, "at": datetime.now(UTC).isoformat(timespec="seconds"), **record}
        with open(self.root / HISTORY_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    def history(self) -> list[dict[str, str]]:
        """Every activation, oldest first."""
        path = self.root / HISTORY_FILE
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def rollback(self) -> str:
        """Re-activate the version that was active before the current one; return its name.

        Activations form a stack on top of ``base``: each rollback pops one, so two rollbacks go
        two versions back, and rolling back the first tuned version returns to the base encoder.

        Raises:
            SemanticConfigError: There is no earlier activation.
            SemanticModelError: The earlier version's files changed since it was saved (:meth:`verify`);
                ``semantic activate base`` still works.
        """
        stack: list[str] = [BASE]
        for record in self.history():
            if record.get("kind") == "rollback":
                stack.pop()
            else:
                stack.append(record["version"])
        current = self.active_name()
        if len(stack) < 2:
            raise SemanticConfigError(f"nothing to roll back to: {current} has no earlier activation")
        target = stack[-2]
        if target != BASE:
            self.verify(target)
        self._write_active(target, {"kind": "rollback", "reason": f"rollback from {current}"})
        return target


def encoder_dir(config: SemanticConfig) -> Path:
    """The model directory to embed with now: the config's fixed one, else the registry's active version, else base.

    Read on every call, so a version activated during a dbt run is used by the models after it. The
    active version is verified first (:meth:`Registry.verify`; its file hash is cached while its files
    stay the same); loading any directory checks its weights (:func:`semantic.encoding.encoder.model_info`).

    Raises:
        SemanticModelError: The active version's files changed since it was saved, or its weights are
            not safetensors.
    """
    if config.model_dir is not None:
        return config.model_dir
    return _active_path(config.models_dir) or default_model_dir()


def reranker_dir(config: SemanticConfig) -> Path | None:
    """The pair reranker to score with now: the config's fixed one, else the active version of the reranker
    registry (``data/rerankers``, verified as :func:`encoder_dir` verifies), else None (no reranker trained
    and activated)."""
    if config.reranker_dir is not None:
        return config.reranker_dir
    return _active_path(config.rerankers_dir)


def brief_reranker_dir(config: SemanticConfig) -> Path | None:
    """The brief reranker to reorder brief matches with now: the active version of the brief reranker registry
    (``data/brief_rerankers``, verified as :func:`encoder_dir` verifies), else None."""
    return _active_path(config.brief_rerankers_dir)


def lookalike_reranker_dir(config: SemanticConfig) -> Path | None:
    """The lookalike reranker that clears compliance reviews now: the active version of the lookalike reranker
    registry (``data/lookalike_rerankers``, verified as :func:`encoder_dir` verifies), else None."""
    return _active_path(config.lookalike_rerankers_dir)


def _active_path(registry_dir: Path) -> Path | None:
    """The verified folder of the registry's active version, or None when ``base`` is active."""
    registry = Registry(registry_dir)
    name = registry.active_name()
    return None if name == BASE else registry.verify(name).path


def versions_table(registry: Registry) -> Any:
    """One Arrow row per tuned version (plus ``base``), with its figures and whether it is active."""
    import pyarrow as pa

    from semantic.encoding.encoder import model_info, model_version

    active = registry.active_name()
    rows: list[dict[str, Any]] = [{
        "version": BASE, "model_version": model_info(default_model_dir()).version, "path": str(default_model_dir()),
        "created_at": None, "loss": None, "epochs": None, "data_hash": None, "guard_passed": True,
        "mean_random_cosine": None, "effective_rank": None, "valid_ap": None, "base_agreement": 1.0,
        "is_active": active == BASE,
    }]
    for v in registry.versions():
        guard = v.metrics.get("guard") or {}
        valid = v.metrics.get("valid") or {}
        config = v.training.get("config") or {}
        rows.append({
            "version": v.name, "model_version": model_version(v.path), "path": str(v.path),
            "created_at": v.created_at,
            "loss": config.get("loss"), "epochs": config.get("epochs"), "data_hash": v.training.get("data_hash"),
            "guard_passed": v.guard_passed, "mean_random_cosine": guard.get("mean_random_cosine"),
            "effective_rank": guard.get("effective_rank"), "valid_ap": valid.get("valid_cosine_ap"),
            "base_agreement": (v.metrics.get("general") or {}).get("base_agreement"), "is_active": v.name == active,
        })
    schema = pa.schema([
        ("version", pa.string()), ("model_version", pa.string()), ("path", pa.string()),
        ("created_at", pa.timestamp("us")), ("loss", pa.string()), ("epochs", pa.int64()),
        ("data_hash", pa.string()), ("guard_passed", pa.bool_()), ("mean_random_cosine", pa.float64()),
        ("effective_rank", pa.float64()), ("valid_ap", pa.float64()), ("base_agreement", pa.float64()),
        ("is_active", pa.bool_()),
    ])
    return pa.Table.from_pylist(rows, schema=schema)


def rerankers_table(registry: Registry) -> Any:
    """One Arrow row per reranker in a reranker registry: its version (what rows it scored record), guard
    figures (a brief reranker's: the fusion weight and the held-out MRR with and without it; a lookalike
    reranker's: the probability below which it clears a review, and the shares of the valid lookalikes it keeps
    and of the valid benign pairs it clears) and whether it is active. No rows when none was trained."""
    import pyarrow as pa

    from semantic.encoding.encoder import model_version

    active = registry.active_name()
    rows = []
    for v in registry.versions():
        guard = v.metrics.get("guard") or {}
        config = v.training.get("config") or {}
        rows.append({
            "version": v.name, "reranker_version": model_version(v.path), "path": str(v.path),
            "created_at": v.created_at,
            "epochs": config.get("epochs"), "data_hash": v.training.get("data_hash"),
            "guard_passed": v.guard_passed, "valid_ap": guard.get("valid_ap"),
            "cosine_valid_ap": guard.get("cosine_valid_ap"), "fusion_weight": guard.get("fusion_weight"),
            "valid_mrr": guard.get("valid_mrr"), "cosine_valid_mrr": guard.get("cosine_valid_mrr"),
            "clear_below": guard.get("clear_below"), "kept_matches": guard.get("kept_matches"),
            "cleared_non_matches": guard.get("cleared_non_matches"),
            "is_active": v.name == active,
        })
    schema = pa.schema([
        ("version", pa.string()), ("reranker_version", pa.string()), ("path", pa.string()),
        ("created_at", pa.timestamp("us")), ("epochs", pa.float64()), ("data_hash", pa.string()),
        ("guard_passed", pa.bool_()), ("valid_ap", pa.float64()), ("cosine_valid_ap", pa.float64()),
        ("fusion_weight", pa.float64()), ("valid_mrr", pa.float64()), ("cosine_valid_mrr", pa.float64()),
        ("clear_below", pa.float64()), ("kept_matches", pa.float64()), ("cleared_non_matches", pa.float64()),
        ("is_active", pa.bool_()),
    ])
    return pa.Table.from_pylist(rows, schema=schema)


def _record_trained_ids(version_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Add the ids of the pairs a version saw (train and valid splits) to its ``semantic_training.json``.

    ``semantic forget`` reads them to name the versions an erased asset trained. The record is not
    part of the version's file hash or manifest, so adding to it changes neither.
    """
    ids = sorted({str(r[side]) for r in rows if r.get("split") in ("train", "valid")
                  for side in ("left_id", "right_id") if r.get(side) is not None})
    path = version_dir / "semantic_training.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["trained_on_ids"] = ids
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    tmp.replace(path)


def warehouse_tasks(pairs: Any, root: Path, only: str | None = None) -> tuple[list[dict[str, Any]], list[Any]]:
    """The labelled pairs (``int_training_pairs_labelled``) as sorted rows and one training task per
    task name (``only``: that task alone) with positive train pairs; valid pairs are the task's valid split."""
    from semantic.encoding.training import PairSet, Task
    from semantic.encoding.units import LOOKALIKE_TASK

    # a table's row order is whatever the query plan gave; sorted, the same labels always make the
    # same version name and the same training run
    order = ("task", "split", "text_a", "text_b", "label")
    rows = sorted((r for r in pairs.to_pylist() if only is None or r["task"] == only),
                  key=lambda r: tuple(str(r[c]) for c in order))
    tasks = []
    for task_name in sorted({r["task"] for r in rows}):

        def split(name: str, task_name: str = task_name) -> PairSet:
            chosen = [r for r in rows if r["task"] == task_name and r["split"] == name]
            return PairSet([r["text_a"] for r in chosen], [r["text_b"] for r in chosen],
                           [int(r["label"]) for r in chosen])

        train_pairs = split("train")
        if train_pairs.n_positive:
            valid = split("valid")
            tasks.append(Task(task_name, "pairs", train_pairs, valid if len(valid) else None,
                              root / "warehouse", best_unit=task_name == LOOKALIKE_TASK))
    return rows, tasks


def train_from_warehouse(pairs: Any, enabled: bool, config: Any, registry: Registry) -> Any:
    """Train a version from the warehouse's labelled pairs unless that data and config were trained already.

    The version name is ``<data hash>-<config hash>``: an unchanged table and config reuse the
    existing version (and leave the activation alone, so a rollback sticks); a new one is trained,
    checked by the collapse guard and activated.

    Args:
        pairs: Arrow table with task, split, text_a, text_b, label (``int_training_pairs_labelled``).
        enabled: Whether training is switched on (dbt var ``semantic_train``).
        config: The :class:`semantic.encoding.training.TrainingConfig` built from dbt vars.
        registry: Where versions live.

    Returns:
        The versions table (see :func:`versions_table`).
    """
    import logging

    from semantic.encoding.training import train, version_name

    log = logging.getLogger("semantic")
    if not enabled:
        log.info("training is off (var semantic_train: false); active encoder: %s", registry.active_name())
        return versions_table(registry)
    rows, tasks = warehouse_tasks(pairs, registry.root)
    if not tasks:
        log.warning("no labelled positive training pairs in the warehouse: nothing to train on")
        return versions_table(registry)
    name = version_name(tasks, config)
    if (registry.root / name / "semantic_training.json").is_file():
        if not registry.get(name).guard_passed:
            raise SemanticModelError(
                f"model version {name} was trained on these labels and config but failed its collapse guard; "
                "change the training vars (e.g. a lower semantic_train_learning_rate) to train a new version, "
                "or set semantic_train: false to keep the active encoder"
            )
        log.info("training data and config unchanged: reusing model version %s (active: %s)",
                 name, registry.active_name())
        return versions_table(registry)
    log.info("training model version %s on %s", name,
             ", ".join(f"{t.name} ({len(t.train)} pairs)" for t in tasks))
    train(tasks, registry.root / name, default_model_dir(), config)
    _record_trained_ids(registry.root / name, rows)
    registry.activate(name, reason="trained by dbt on new labels or config")
    log.info("activated model version %s; the embedding models re-embed with it", name)
    return versions_table(registry)


#: The labelled-pairs task a pair reranker is trained on in the warehouse.
RERANKER_TASK = "duplicate"
#: The labelled-pairs task a brief reranker (query first: the brief, then the asset) is trained on.
BRIEF_RERANKER_TASK = "brief_match"
#: The labelled-pairs task a lookalike reranker (query first: the rejected claim, then the asset) is trained on.
LOOKALIKE_RERANKER_TASK = "lookalike"
#: Each reranker task's name in logs and the dbt var that switches its training off.
_RERANKER_KINDS = {RERANKER_TASK: ("pair reranker", "semantic_train_reranker"),
                   BRIEF_RERANKER_TASK: ("brief reranker", "semantic_train_brief_reranker"),
                   LOOKALIKE_RERANKER_TASK: ("lookalike reranker", "semantic_train_lookalike_reranker")}


def train_reranker_in_dbt(pairs: Any, settings: Mapping[str, Any], registry: Registry, task: str = RERANKER_TASK,
                          **config: Any) -> Any:
    """What each reranker model of the dbt project runs (``int_rerankers_trained``, ``int_brief_rerankers_trained``,
    ``int_lookalike_rerankers_trained``): :func:`train_reranker_from_warehouse` with the settings read from the
    model's config as dbt renders them (``train_reranker``, ``reranker_epochs``, ``reranker_learning_rate``,
    ``reranker_max_length``, ``training_seed``, ``min_positives``, ``min_pairs``).

    Args:
        pairs: The task's labelled pairs (Arrow, as :func:`train_reranker_from_warehouse` takes them).
        settings: The model's config values by name (strings or numbers).
        registry: The reranker registry of the task.
        task: ``duplicate``, ``brief_match`` or ``lookalike``.
        config: Fixed :class:`semantic.encoding.reranker.RerankerConfig` fields of the kind (``symmetric``,
            ``clears``, ``keep_matches``).
    """
    from semantic.encoding.reranker import RerankerConfig

    reranker_config = RerankerConfig(
        epochs=float(settings["reranker_epochs"]), learning_rate=float(settings["reranker_learning_rate"]),
        max_length=int(settings["reranker_max_length"]), seed=int(settings["training_seed"]), **config)
    return train_reranker_from_warehouse(
        pairs, enabled=str(settings["train_reranker"]).lower() == "true", config=reranker_config, registry=registry,
        min_positives=int(settings["min_positives"]), min_pairs=int(settings["min_pairs"]), task=task)


def train_reranker_from_warehouse(pairs: Any, enabled: bool, config: Any, registry: Registry,
                                  min_positives: int, min_pairs: int = 0, task: str = RERANKER_TASK) -> Any:
    """Train a reranker on the warehouse's labelled pairs of ``task`` unless those pairs and config were
    trained already; activate it when it passes its guard.

    It trains on the ``train`` split only (its guard reads ``valid``), so the calibration splits stay
    unseen and the pair decision can learn how far to trust it there
    (:mod:`semantic.decisions.reranked`). With fewer than ``min_positives`` labelled matches or
    ``min_pairs`` labelled pairs in ``train`` nothing is trained: the pair decision would not use it (a
    cross-encoder's new head needs more pairs than a threshold does: on the demo's 361 it scored valid AP
    0.698 against the cosine's 0.905 and was refused, after 190 s of training).

    Args:
        pairs: Arrow table with task, split, text_a, text_b, label, left_id, right_id.
        enabled: dbt var ``semantic_train_reranker`` (``semantic_train_brief_reranker`` for briefs,
            ``semantic_train_lookalike_reranker`` for lookalikes).
        config: The :class:`semantic.encoding.reranker.RerankerConfig` built from dbt vars (``symmetric``
            false for a brief or lookalike reranker, which reads the brief or the claim first; ``clears`` for a
            lookalike reranker).
        registry: The reranker registry (``data/rerankers``, ``data/brief_rerankers`` or
            ``data/lookalike_rerankers``).
        min_positives: Labelled matches needed in ``train`` (var ``calibration_min_positives``).
        min_pairs: Labelled pairs needed in ``train`` (var ``semantic_train_reranker_min_pairs``).
        task: ``duplicate`` (a pair reranker), ``brief_match`` (a brief reranker) or ``lookalike`` (a lookalike
            reranker).

    Returns:
        The reranker versions table (:func:`rerankers_table`).
    """
    from semantic.encoding.reranker import train_reranker
    from semantic.encoding.training import version_name

    kind, switch = _RERANKER_KINDS[task]
    labels = f"labelled {task.replace('_', ' ')} pairs"
    if not enabled:
        logger.info("%s training is off (var %s: false); active %s: %s", kind, switch, kind, registry.active_name())
        return rerankers_table(registry)
    rows, tasks = warehouse_tasks(pairs, registry.root, only=task)
    n_positive = sum(t.train.n_positive for t in tasks)
    n_pairs = sum(len(t.train) for t in tasks)
    if n_positive < min_positives or n_pairs < min_pairs or n_positive == n_pairs:
        logger.info("no %s trained: %d %s in train, %d of them matches (need %d pairs, var "
                    "semantic_train_reranker_min_pairs, %d matches, var calibration_min_positives, and some "
                    "non-matches); active %s: %s", kind, n_pairs, labels, n_positive, min_pairs, min_positives, kind,
                    registry.active_name())
        return rerankers_table(registry)
    name = version_name(tasks, config)
    if (registry.root / name / "semantic_training.json").is_file():
        logger.info("%s and reranker config unchanged: reusing %s %s (active: %s)",
                    labels[0].upper() + labels[1:], kind, name, registry.active_name())
        return rerankers_table(registry)
    logger.info("training %s %s on %d %s", kind, name, len(tasks[0].train), labels)
    result = train_reranker(tasks, registry.root / name, default_model_dir(), config)
    _record_trained_ids(registry.root / name, rows)
    if result.guard.get("passed"):
        registry.activate(name, reason=f"trained by dbt on new {task} labels or config")
        logger.info("activated %s %s (%s)", kind, name, result.guard.get("reason"))
    else:
        logger.warning("%s %s failed its guard (%s): not activated; the build goes on with %s", kind, name,
                       result.guard.get("reason"), registry.active_name())
    return rerankers_table(registry)
