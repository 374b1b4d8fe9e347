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
        symmetric: Train and score both orders of each pair (two records of one kind: duplicates). False
            for a query and a document of different kinds (a brief and an asset): trained and scored in the
            given order only, at half the cost.
        negatives: For a retrieval folder (queries, corpus, qrels): the hardest non-relevant documents per
            query, by the starting encoder's cosine, paired with it as labelled non-matches
            (:func:`retrieval_pairs`).
        clears: A lookalike reranker (query first: a rejected claim, then an asset): its guard chooses, on the
            valid pairs, the probability below which a compliance ``review`` is cleared (:func:`clear_guard`),
            instead of a fusion weight.
        keep_matches: For ``clears``: the share of the valid labelled lookalikes the clearing must keep (none of
            them may fall below the chosen probability but the lowest ``1 - keep_matches``).
    """

    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 192
    seed: int = 0
    max_pos_weight: float = 4.0
    symmetric: bool = True
    negatives: int = 3
    clears: bool = False
    keep_matches: float = 0.98

    def __post_init__(self) -> None:
        if not self.epochs > 0:
            raise SemanticConfigError(f"reranker epochs must be positive, got {self.epochs}")
        if self.batch_size < 1 or self.max_length < 16:
            raise SemanticConfigError(
                f"reranker batch_size must be >= 1 and max_length >= 16, got {self.batch_size} and {self.max_length}")
        if not 0 < self.learning_rate < 1:
            raise SemanticConfigError(f"reranker learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.negatives < 1:
            raise SemanticConfigError(f"reranker negatives (mined per query) must be >= 1, got {self.negatives}")
        if self.clears and self.symmetric:
            raise SemanticConfigError("a lookalike reranker (clears) reads the claim first: set symmetric to false")
        if not 0.5 <= self.keep_matches <= 1:
            raise SemanticConfigError(f"reranker keep_matches must be in [0.5, 1], got {self.keep_matches}")


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


def _kind(config: RerankerConfig) -> str:
    return "lookalike" if config.clears else "pair" if config.symmetric else "brief"


#: Of the valid non-matches, the share a lookalike reranker must clear to be worth asking (:func:`clear_guard`).
MIN_CLEARED = 0.2


def clear_guard(probability: Any, labels: Any, keep_matches: float = 0.98,
                min_cleared: float = MIN_CLEARED) -> dict[str, Any]:
    """A lookalike reranker's guard: the probability below which it clears a compliance review.

    ``clear_below`` is the lowest probability of the valid labelled lookalikes once the lowest
    ``1 - keep_matches`` of them are left out (all of them kept on fewer than ``1 / (1 - keep_matches)``), so at
    least ``keep_matches`` of the known restatements stay above it. The reranker passes when that clears at least
    ``min_cleared`` of the valid non-matches (benign near-topic copy): what it saves the reviewers.

    Args:
        probability: The reranker's probability for each valid (claim, asset) pair; NaN pairs are left out.
        labels: 1 for a labelled lookalike, 0 for benign copy.
        keep_matches: The share of lookalikes kept.
        min_cleared: The share of non-matches it must clear.
    """
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(labels)
    known = ~np.isnan(p)
    matches, others = np.sort(p[known & (y == 1)]), p[known & (y == 0)]
    if not len(matches) or not len(others):
        return {"passed": False, "clear_below": 0.0,
                "reason": "no valid lookalike and benign pairs to choose the clearing probability on"}
    skip = int(np.floor((1.0 - keep_matches) * len(matches) + 1e-9))
    clear_below = float(matches[skip])
    kept = float(np.mean(matches >= clear_below))
    cleared = float(np.mean(others < clear_below))
    passed = cleared >= min_cleared
    return {"passed": passed, "clear_below": clear_below if passed else 0.0, "kept_matches": kept,
            "cleared_non_matches": cleared, "valid_matches": int(len(matches)), "valid_non_matches": int(len(others)),
            "reason": (f"below probability {clear_below:.3g} it clears {cleared:.0%} of {len(others)} valid benign "
                       f"pairs and keeps {kept:.0%} of {len(matches)} valid lookalikes"
                       + ("" if passed else f" (needs {min_cleared:.0%} cleared)"))}


def _ap_and_f1(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Average precision, and the best F1 over thresholds with its threshold."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    best = int(np.argmax(f1[:-1]))
    return {"ap": float(average_precision_score(labels, scores)), "f1": float(f1[best]),
            "threshold": float(thresholds[best])}


#: Weights of a query-first reranker's logit added to the cosine, among which its guard chooses (0: not used).
FUSION_WEIGHTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5)
#: Documents per held-out query whose order the guard of a query-first reranker measures (the bi-encoder's top).
GUARD_DEPTH = 20
#: One query in this many (by a hash of its text) is held out of a retrieval folder's training for the guard.
HOLD_OUT_EVERY = 10
_EPS = 1e-4


def fused(cosine: Any, probability: Any, weight: float) -> np.ndarray:
    """The cosine plus ``weight`` times the reranker's logit; the cosine alone where the reranker gave no score."""
    p = np.clip(np.asarray(probability, dtype=np.float64), _EPS, 1.0 - _EPS)
    logit = np.where(np.isnan(p), 0.0, np.log(p / (1.0 - p)))
    return np.asarray(cosine, dtype=np.float64) + float(weight) * logit


def _order_figures(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """MRR and recall@1 of the queries' candidate lists (scores, labels), by score (ties: first listed)."""
    mrr = top1 = 0.0
    for scores, labels in groups:
        order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
        hits = np.flatnonzero(np.asarray(labels)[order] > 0)
        mrr += 1.0 / (hits[0] + 1) if len(hits) else 0.0
        top1 += float(len(hits) > 0 and hits[0] == 0)
    n = max(len(groups), 1)
    return {"mrr": mrr / n, "recall@1": top1 / n}


def choose_fusion_weight(groups: Sequence[tuple[Any, Any, Any]],
                         weights: Sequence[float] = FUSION_WEIGHTS) -> dict[str, float]:
    """The weight of the reranker's logit (:func:`fused`) that orders labelled queries' candidates best.

    Args:
        groups: One ``(cosines, reranker probabilities, labels)`` per query, over its candidate documents.
        weights: The weights tried; the best MRR wins, the smaller weight on a tie (0 = the cosine alone).

    Returns:
        ``weight``, ``mrr`` and ``recall@1`` at it, ``cosine_mrr`` and ``cosine_recall@1`` (weight 0), ``queries``.
    """
    prepared = [(np.asarray(c, dtype=np.float64), np.asarray(p, dtype=np.float64), np.asarray(y))
                for c, p, y in groups]
    plain = _order_figures([(c, y) for c, _, y in prepared])
    best = {"weight": 0.0, **plain}
    for weight in sorted(weights):
        figures = _order_figures([(fused(c, p, weight), y) for c, p, y in prepared])
        if figures["mrr"] > best["mrr"] + 1e-12:
            best = {"weight": float(weight), **figures}
    return {**best, "cosine_mrr": plain["mrr"], "cosine_recall@1": plain["recall@1"], "queries": float(len(prepared))}


def _held_out(query: str) -> bool:
    import hashlib

    return int(hashlib.sha256(query.encode("utf-8")).hexdigest()[:8], 16) % HOLD_OUT_EVERY == 0


def retrieval_pairs(task: Task, encoder: Any, negatives: int = 3) -> Task:
    """A retrieval folder as training pairs for a query-first reranker: each query with its relevant documents
    (label 1) and its ``negatives`` most similar non-relevant documents by ``encoder``'s cosine (label 0).

    The hardest negatives are the ones the reranker is asked about: it reorders the bi-encoder's top
    candidates, so it must learn to tell a relevant document from the near misses beside it. One query in
    :data:`HOLD_OUT_EVERY` (by a hash of its text, so the split is stable) is held out as ``valid``: its
    top :data:`GUARD_DEPTH` documents, labelled by relevance, are the list the guard reorders.

    Raises:
        SemanticDataError: ``task`` is not a retrieval folder.
    """
    import csv

    if task.kind != "retrieval":
        raise SemanticDataError(f"{task.path}: mining query pairs needs a retrieval folder (queries.csv, "
                                f"corpus.csv, qrels.csv), not a {task.kind} folder")
    with open(task.path / "corpus.csv", newline="", encoding="utf-8") as fh:
        corpus = sorted({row["text"] for row in csv.DictReader(fh) if row.get("text")})
    relevant: dict[str, set[str]] = {}
    for query, document in zip(task.train.texts_a, task.train.texts_b):
        relevant.setdefault(query, set()).add(document)
    queries = sorted(relevant)
    doc_vectors = np.nan_to_num(np.asarray(encoder.encode(corpus), dtype=np.float32))
    query_vectors = np.nan_to_num(np.asarray(encoder.encode(queries), dtype=np.float32))
    depth = min(len(corpus), max(GUARD_DEPTH, negatives + max(len(r) for r in relevant.values())))
    train: tuple[list[str], list[str], list[int]] = ([], [], [])
    valid: tuple[list[str], list[str], list[int]] = ([], [], [])
    for start in range(0, len(queries), 256):
        sims = query_vectors[start : start + 256] @ doc_vectors.T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :depth]
        for row, query in zip(top, queries[start : start + 256]):
            if _held_out(query):
                chosen = [(corpus[j], int(corpus[j] in relevant[query])) for j in row[:GUARD_DEPTH]]
                into = valid
            else:
                hard = [corpus[j] for j in row if corpus[j] not in relevant[query]][:negatives]
                chosen = [(d, 1) for d in sorted(relevant[query])] + [(d, 0) for d in hard]
                into = train
            for document, label in chosen:
                into[0].append(query)
                into[1].append(document)
                into[2].append(label)
    return Task(task.name, "pairs", PairSet(*train), PairSet(*valid) if valid[0] else None, task.path)


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
        a, b, labels = (_both_orders(train) if config.symmetric
                        else (list(train.texts_a), list(train.texts_b), [float(y) for y in train.labels]))
        dataset = Dataset.from_dict({"text_a": a, "text_b": b, "label": labels})
        pos_weight = min(config.max_pos_weight, (len(train) - positives) / positives)
        loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(pos_weight))
        args = CrossEncoderTrainingArguments(
            output_dir=str(Path(tmp) / "run"), num_train_epochs=config.epochs,
            per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate, warmup_steps=0.1,
            seed=config.seed, data_seed=config.seed, save_strategy="no", logging_steps=50, report_to="none",
            use_cpu=True, disable_tqdm=True,
        )
        logger.info("training a %s reranker on %d pairs (%d positive), %s, %.3g epoch(s)", _kind(config),
                    len(train), positives, "both orders" if config.symmetric else "query first", config.epochs)
        CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()
        if out.exists():
            shutil.rmtree(out)
        model.save_pretrained(str(out), safe_serialization=True)
    reranker = Reranker(out)
    reranker.symmetric = config.symmetric  # its record is written below: the guard scores as every later load will
    valid_tasks = [t for t in tasks if t.valid is not None and len(t.valid)]
    valid: dict[str, float] = {}
    guard: dict[str, Any] = (
        {"passed": True, "reason": "no valid pairs to compare on"} if config.symmetric else
        {"passed": False, "clear_below": 0.0, "reason": "no valid pairs to choose its clearing probability on"}
        if config.clears else
        # a query-first reranker is used through the weight its guard chooses: without held-out queries there is none
        {"passed": False, "fusion_weight": 0.0,
         "reason": "no held-out queries with a match and a non-match to choose its weight on"})
    if valid_tasks:
        va = [x for t in valid_tasks for x in t.valid.texts_a]  # type: ignore[union-attr]
        vb = [x for t in valid_tasks for x in t.valid.texts_b]  # type: ignore[union-attr]
        vy = np.array([y for t in valid_tasks for y in t.valid.labels])  # type: ignore[union-attr]
        if 0 < vy.sum() < len(vy):
            probability = reranker.score(va, vb)
            valid = _ap_and_f1(probability, vy)
            encoder = load_encoder(base_dir)
            ea, eb = encoder.encode(va), encoder.encode(vb)
            cosines = np.nan_to_num(np.sum(ea * eb, axis=1))
            cosine = _ap_and_f1(cosines, vy)
            if config.clears:
                guard = clear_guard(probability, vy, config.keep_matches)
                guard.update({"valid_ap": valid["ap"], "cosine_valid_ap": cosine["ap"]})
            elif config.symmetric:
                passed = valid["ap"] > cosine["ap"]
                guard = {"passed": passed, "valid_ap": valid["ap"], "cosine_valid_ap": cosine["ap"],
                         "reason": (f"valid AP {valid['ap']:.3f} against {cosine['ap']:.3f} for the cosine of "
                                    f"{encoder.version}")}
            else:
                guard = _query_guard(va, cosines, probability, vy, encoder.version)
                guard.update({"valid_ap": valid["ap"], "cosine_valid_ap": cosine["ap"]})
            valid.update({f"cosine_{k}": v for k, v in cosine.items()})
    seconds = time.monotonic() - started
    (out / TRAINING_FILE).write_text(json.dumps({
        "kind": "reranker", "config": asdict(config), "data_hash": data_hash(tasks), "base_model": str(base_dir),
        "tasks": [{"name": t.name, "train": len(t.train), "valid": len(t.valid) if t.valid else 0} for t in tasks],
        "seconds": round(seconds, 1), "manifest": MANIFEST_FILE}, indent=2))
    (out / METRICS_FILE).write_text(json.dumps({"guard": guard, "valid": valid}, indent=2))
    write_manifest(out)  # last, over every file: from now on a load refuses the reranker if one changes
    logger.info("%s reranker %s: %s", _kind(config), reranker.version, guard["reason"])
    return RerankerResult(out, reranker.version, seconds, valid, guard)


def _query_guard(queries: Sequence[str], cosines: np.ndarray, probability: np.ndarray, labels: np.ndarray,
                 encoder_version: str) -> dict[str, Any]:
    """A query-first reranker's guard: the fusion weight that orders the held-out queries' candidates best
    (:func:`choose_fusion_weight`); passed when it is above 0, that is when the reranker improves their MRR
    over the cosine's. Queries without a relevant and a non-relevant candidate cannot tell and are left out."""
    rows: dict[str, list[int]] = {}
    for i, query in enumerate(queries):
        rows.setdefault(query, []).append(i)
    groups = [(cosines[r], probability[r], labels[r]) for r in rows.values() if 0 < labels[r].sum() < len(r)]
    if not groups:
        return {"passed": False, "fusion_weight": 0.0,
                "reason": "no held-out query with a relevant and a non-relevant candidate to measure it on"}
    choice = choose_fusion_weight(groups)
    passed = choice["weight"] > 0
    return {"passed": passed, "fusion_weight": choice["weight"], "valid_mrr": choice["mrr"],
            "cosine_valid_mrr": choice["cosine_mrr"], "valid_recall@1": choice["recall@1"],
            "cosine_valid_recall@1": choice["cosine_recall@1"], "valid_queries": choice["queries"],
            "reason": (f"on {int(choice['queries'])} held-out queries, MRR {choice['mrr']:.3f} at fusion weight "
                       f"{choice['weight']:g} against {choice['cosine_mrr']:.3f} for the cosine of {encoder_version}")}


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
        training = self.path / TRAINING_FILE
        config = (json.loads(training.read_text()).get("config") or {}) if training.is_file() else {}
        #: Scored in both orders (a duplicate reranker) or query first only (a brief reranker).
        self.symmetric = bool(config.get("symmetric", True))
        metrics = self.path / METRICS_FILE
        guard = (json.loads(metrics.read_text()).get("guard") or {}) if metrics.is_file() else {}
        #: A query-first reranker's weight in :func:`fused`, chosen by its guard on held-out queries (0: none).
        self.fusion_weight = float(guard.get("fusion_weight") or 0.0)
        #: A lookalike reranker's probability below which a compliance review is cleared (0: it clears none).
        self.clear_below = float(guard.get("clear_below") or 0.0)
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
        """The probability that each pair is a match: for a symmetric reranker the mean of both orders, else
        ``texts_a`` read as the query; NaN where a text is missing or blank."""
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
        if not self.symmetric:
            out[keep] = forward.astype(float)
            return out
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
