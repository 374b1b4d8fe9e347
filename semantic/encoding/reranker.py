"""The pair reranker: a cross-encoder that reads both texts at once, fine-tuned on labelled pairs.

A bi-encoder embeds each text alone and compares the vectors, so it cannot line up "32 GB" in
one listing with "16 GB" in the other; a cross-encoder attends across both texts and can. It is
slower (one transformer pass per pair, not per text), so it scores the candidate pairs the
bi-encoder proposes, never the whole table.

Initialised from the packaged all-MiniLM-L6-v2 transformer (the only weights reachable offline)
with a new one-logit head, trained with binary cross-entropy on labelled pairs in both orders
(the decision must not depend on which side a record is on), and scored as the mean probability
of both orders. A reranker is a directory: the Hugging Face model files plus
``semantic_training.json`` (config, data hash, seconds), ``semantic_metrics.json`` (valid
figures and the guard) and ``semantic_manifest.json`` (the SHA-256 of its files). Its version is
the hash of the model files, like an encoder's (:func:`semantic.encoding.integrity.directory_hash`),
and it is loaded like one: safetensors weights only, and refused when its files changed since it
was saved. The guard: a reranker is only worth its cost when it ranks the valid pairs better than
the cosine of the encoder it was built from, so one that does not is saved but marked failed, and
the registry refuses to activate it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from semantic.encoding.encoder import model_info
from semantic.encoding.integrity import (
    MANIFEST_FILE,
    check_weights,
    directory_hash,
    directory_stamp,
    verify_files,
    write_manifest,
)
from semantic.encoding.tokenizer import transformer_path
from semantic.encoding.training import METRICS_FILE, TRAINING_FILE, PairSet, Task, data_hash
from semantic.errors import SemanticConfigError, SemanticDataError, SemanticModelError

logger = logging.getLogger("semantic")

#: How to get past a reranker whose files changed since it was saved.
RERANKER_FIX = ("retrain it with `semantic train --cross-encoder`, or set reranker_dir to another reranker "
                "(semantic_pair_score needs one)")
#: Loading weights from safetensors only: transformers never falls back to torch.load (pickle).
SAFE_LOAD = {"use_safetensors": True}

#: Files of a sentence-transformers model directory that describe the bi-encoder modules, not the transformer.
_BI_ENCODER_FILES = frozenset({"modules.json", "config_sentence_transformers.json", "sentence_bert_config.json",
                               "README.md"})


@dataclass(frozen=True)
class RerankerConfig:
    """How a reranker is trained.

    Attributes:
        epochs: Passes over the training pairs (each pair is seen in both orders per pass).
        batch_size: Pairs per step.
        learning_rate: Peak learning rate (linear warm-up over the first tenth, then linear decay).
        max_length: Tokens of the two texts together; longer pairs are truncated.
        seed: Seeds the head's initialisation and the batch order.
        max_pos_weight: The loss weights a positive pair by (negatives / positives), at most this, so
            a rare positive class is not ignored.
    """

    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 192
    seed: int = 0
    max_pos_weight: float = 4.0

    def __post_init__(self) -> None:
        if not self.epochs > 0:
            raise SemanticConfigError(f"reranker epochs must be positive, got {self.epochs}")
        if self.batch_size < 1 or self.max_length < 16:
            raise SemanticConfigError(
                f"reranker batch_size must be >= 1 and max_length >= 16, got {self.batch_size} and {self.max_length}")
        if not 0 < self.learning_rate < 1:
            raise SemanticConfigError(f"reranker learning_rate must be in (0, 1), got {self.learning_rate}")


@dataclass(frozen=True)
class RerankerResult:
    """What :func:`train_reranker` wrote and measured."""

    out_dir: Path
    version: str
    seconds: float
    valid: dict[str, float] = field(default_factory=dict)
    guard: dict[str, Any] = field(default_factory=dict)


def _transformer_dir(model_dir: Path, into: Path) -> Path:
    """Copy the transformer files of a sentence-transformers directory (not its pooling modules) into ``into``."""
    source = model_dir / transformer_path(model_dir)
    into.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        if f.is_file() and f.name not in _BI_ENCODER_FILES:
            shutil.copy(f, into / f.name)
    return into


def _both_orders(pairs: PairSet) -> tuple[list[str], list[str], list[float]]:
    a = [*pairs.texts_a, *pairs.texts_b]
    b = [*pairs.texts_b, *pairs.texts_a]
    return a, b, [float(y) for y in [*pairs.labels, *pairs.labels]]


def _ap_and_f1(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Average precision, and the best F1 over thresholds with its threshold."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    best = int(np.argmax(f1[:-1]))
    return {"ap": float(average_precision_score(labels, scores)), "f1": float(f1[best]),
            "threshold": float(thresholds[best])}


def train_reranker(
    tasks: Sequence[Task], out_dir: Path | str, base_dir: Path | str, config: RerankerConfig | None = None,
) -> RerankerResult:
    """Fine-tune a cross-encoder from ``base_dir``'s transformer on the tasks' labelled pairs.

    Args:
        tasks: Pair tasks (``load_task``); their ``train`` pairs are the training data, their
            ``valid`` pairs (when given) the guard's.
        out_dir: Where the reranker is written.
        base_dir: The sentence-transformers model its weights start from (the packaged base or a tuned encoder).
        config: Training settings.

    Raises:
        SemanticDataError: No labelled pairs with both a positive and a negative.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from semantic.encoding.encoder import load_encoder

    config = config or RerankerConfig()
    model_info(base_dir)  # the starting weights: safetensors only, unchanged if the project saved them
    train = PairSet([t for task in tasks for t in task.train.texts_a],
                    [t for task in tasks for t in task.train.texts_b],
                    [y for task in tasks for y in task.train.labels])
    positives = train.n_positive
    if not positives or positives == len(train):
        raise SemanticDataError(
            f"a reranker needs labelled matches and non-matches; the training pairs have {positives} of {len(train)} "
            "labelled 1: add labelled pairs of both kinds (label 1 = same item, 0 = different)")
    started = time.monotonic()
    torch.manual_seed(config.seed)
    out = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        start = _transformer_dir(Path(base_dir), Path(tmp) / "base")
        model = CrossEncoder(str(start), num_labels=1, max_length=config.max_length, local_files_only=True,
                             device="cpu", model_kwargs=dict(SAFE_LOAD))
        a, b, labels = _both_orders(train)
        dataset = Dataset.from_dict({"text_a": a, "text_b": b, "label": labels})
        pos_weight = min(config.max_pos_weight, (len(train) - positives) / positives)
        loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(pos_weight))
        args = CrossEncoderTrainingArguments(
            output_dir=str(Path(tmp) / "run"), num_train_epochs=config.epochs,
            per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate, warmup_steps=0.1,
            seed=config.seed, data_seed=config.seed, save_strategy="no", logging_steps=50, report_to="none",
            use_cpu=True, disable_tqdm=True,
        )
        logger.info("training a pair reranker on %d pairs (%d positive), both orders, %.3g epoch(s)",
                    len(train), positives, config.epochs)
        CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()
        if out.exists():
            shutil.rmtree(out)
        model.save_pretrained(str(out), safe_serialization=True)
    reranker = Reranker(out)
    valid_tasks = [t for t in tasks if t.valid is not None and len(t.valid)]
    valid: dict[str, float] = {}
    guard: dict[str, Any] = {"passed": True, "reason": "no valid pairs to compare on"}
    if valid_tasks:
        va = [x for t in valid_tasks for x in t.valid.texts_a]  # type: ignore[union-attr]
        vb = [x for t in valid_tasks for x in t.valid.texts_b]  # type: ignore[union-attr]
        vy = np.array([y for t in valid_tasks for y in t.valid.labels])  # type: ignore[union-attr]
        if 0 < vy.sum() < len(vy):
            valid = _ap_and_f1(reranker.score(va, vb), vy)
            encoder = load_encoder(base_dir)
            ea, eb = encoder.encode(va), encoder.encode(vb)
            cosine = _ap_and_f1(np.nan_to_num(np.sum(ea * eb, axis=1)), vy)
            passed = valid["ap"] > cosine["ap"]
            guard = {"passed": passed, "valid_ap": valid["ap"], "cosine_valid_ap": cosine["ap"],
                     "reason": (f"valid AP {valid['ap']:.3f} against {cosine['ap']:.3f} for the cosine of "
                                f"{encoder.version}")}
            valid.update({f"cosine_{k}": v for k, v in cosine.items()})
    seconds = time.monotonic() - started
    (out / TRAINING_FILE).write_text(json.dumps({
        "kind": "reranker", "config": asdict(config), "data_hash": data_hash(tasks), "base_model": str(base_dir),
        "tasks": [{"name": t.name, "train": len(t.train), "valid": len(t.valid) if t.valid else 0} for t in tasks],
        "seconds": round(seconds, 1), "manifest": MANIFEST_FILE}, indent=2))
    (out / METRICS_FILE).write_text(json.dumps({"guard": guard, "valid": valid}, indent=2))
    write_manifest(out)  # last, over every file: from now on a load refuses the reranker if one changes
    logger.info("pair reranker %s: %s", reranker.version, guard["reason"])
    return RerankerResult(out, reranker.version, seconds, valid, guard)


class Reranker:
    """A trained pair reranker, loaded for scoring.

    Args:
        path: A directory :func:`train_reranker` wrote.
        batch_size: Pairs per forward pass.

    Raises:
        SemanticModelError: The directory is not a reranker, holds pickle-based or no safetensors
            weights, or its files changed since it was saved.
    """

    def __init__(self, path: Path | str, batch_size: int = 64) -> None:
        self.path = Path(path).resolve()
        if not (self.path / "config.json").is_file():
            raise SemanticModelError(f"{self.path} is not a pair reranker (no config.json); train one with "
                                     "`semantic train --cross-encoder TASK_DIR`")
        check_weights(self.path)
        verify_files(self.path, RERANKER_FIX)
        self.version = f"{self.path.name}-{directory_hash(self.path)[:12]}"
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The cross-encoder, loaded on first use (its files checked again just before, at the cost of a ``stat``)."""
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers.cross_encoder import CrossEncoder

            check_weights(self.path)
            verify_files(self.path, RERANKER_FIX)
            self._model = CrossEncoder(str(self.path), local_files_only=True, device="cpu",
                                       model_kwargs=dict(SAFE_LOAD))
        return self._model

    def score(self, texts_a: Sequence[str | None], texts_b: Sequence[str | None]) -> np.ndarray:
        """The probability that each pair is the same item, the mean of both orders; NaN where a text is
        missing or blank."""
        if len(texts_a) != len(texts_b):
            raise SemanticDataError(f"score needs as many first texts as second texts, got {len(texts_a)} "
                                    f"and {len(texts_b)}")
        out = np.full(len(texts_a), np.nan)
        keep = [i for i, (x, y) in enumerate(zip(texts_a, texts_b)) if x and x.strip() and y and y.strip()]
        if not keep:
            return out
        a = [str(texts_a[i]) for i in keep]
        b = [str(texts_b[i]) for i in keep]
        forward = np.asarray(self.model.predict(list(zip(a, b)), batch_size=self.batch_size, show_progress_bar=False))
        backward = np.asarray(self.model.predict(list(zip(b, a)), batch_size=self.batch_size, show_progress_bar=False))
        out[keep] = (forward.astype(float) + backward.astype(float)) / 2
        return out

    def metrics(self) -> dict[str, Any]:
        """The figures saved when it was trained."""
        path = self.path / METRICS_FILE
        return dict(json.loads(path.read_text())) if path.is_file() else {}


@lru_cache(maxsize=4)
def _cached(path: str, stamp: tuple[tuple[str, int, int, int, int], ...]) -> Reranker:
    return Reranker(path)


def load_reranker(path: Path | str) -> Reranker:
    """A reranker, loaded once per process for a directory whose files have not changed.

    Raises:
        SemanticModelError: See :class:`Reranker`.
    """
    folder = Path(path).resolve()
    return _cached(str(folder), directory_stamp(folder))
