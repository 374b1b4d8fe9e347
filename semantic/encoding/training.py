"""Contrastive fine-tuning of the encoder from labelled pairs, with the sentence-transformers trainer.

Losses: MultipleNegativesRankingLoss (Henderson et al., 2017; InfoNCE, van den Oord et al., 2018)
with labelled or mined hard negatives, OnlineContrastiveLoss (Hadsell et al., 2006) on labelled
pairs, and TripletLoss (Schroff et al., 2015). Hard negatives are mined with the model being tuned
and filtered by a false-negative guard: known positives, members of the same positive cluster,
and candidates that score within ``margin`` of the anchor's positive are never used as negatives
(an unlabelled true match must not be pushed apart).

A tuned model is a standard sentence-transformers directory (safetensors weights) plus
``semantic_training.json`` (config, data hash, mining report), ``semantic_metrics.json`` (collapse
guard, valid figures) and ``semantic_manifest.json`` (the SHA-256 of its files, checked at every load).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from semantic import faults
from semantic.encoding.augment import augmented_classes, augmented_pairs, augmented_triplets
from semantic.encoding.units import components
from semantic.errors import SemanticConfigError, SemanticDataError

logger = logging.getLogger("semantic")

LOSSES = ("mnrl", "contrastive", "triplet", "supcon")
TRAINING_FILE = "semantic_training.json"
METRICS_FILE = "semantic_metrics.json"
GUARD_SAMPLE = 512


@dataclass(frozen=True)
class PairSet:
    """Labelled text pairs of one split (label 1 = match)."""

    texts_a: list[str]
    texts_b: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_positive(self) -> int:
        """How many pairs are labelled 1."""
        return sum(self.labels)


@dataclass(frozen=True)
class Task:
    """One task folder: a ``pairs/<name>`` or ``retrieval/<name>`` folder read as pairs.

    Attributes:
        name: The folder name.
        kind: ``pairs`` or ``retrieval``.
        train: Training pairs (for retrieval: query -> relevant document, all label 1).
        valid: Validation pairs, when the folder has them.
        path: The folder.
        best_unit: Whether the second text is scored by its best unit, the whole text or one of
            its sentences, as compliance lookalikes are (``semantic.encoding.units.scoring_units``);
            training then pairs the first text with that unit (:func:`best_units`).
    """

    name: str
    kind: str
    train: PairSet
    valid: PairSet | None
    path: Path
    best_unit: bool = False


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise SemanticDataError(
                    f"{path} has no column(s) {missing} (columns: {reader.fieldnames}); "
                    f"a file of this kind needs {list(required)}"
                )
            return list(reader)
    except UnicodeDecodeError as e:
        raise SemanticDataError(
            f"{path} is not valid UTF-8 ({e}); re-export it as UTF-8 or run `semantic fix-encoding {path}`"
        ) from e
    except OSError as e:
        raise SemanticDataError(f"cannot read {path}: {e}; check the path and permissions") from e


def _pairs(path: Path) -> PairSet:
    rows = _read_csv(path, ("text_a", "text_b", "label"))
    a, b, y = [], [], []
    for line, row in enumerate(rows, start=2):
        label = (row["label"] or "").strip()
        if label not in ("0", "1"):
            raise SemanticDataError(f"{path} line {line}: label must be 0 or 1, got {label!r}; fix or drop that row")
        if (row["text_a"] or "").strip() and (row["text_b"] or "").strip():
            a.append(row["text_a"])
            b.append(row["text_b"])
            y.append(int(label))
    return PairSet(a, b, y)


def _retrieval(path: Path) -> PairSet:
    queries = {r["id"]: r["text"] for r in _read_csv(path / "queries.csv", ("id", "text"))}
    corpus = {r["id"]: r["text"] for r in _read_csv(path / "corpus.csv", ("id", "text"))}
    a, b = [], []
    for line, row in enumerate(_read_csv(path / "qrels.csv", ("query_id", "doc_id", "relevance")), start=2):
        if row["query_id"] not in queries or row["doc_id"] not in corpus:
            raise SemanticDataError(
                f"{path / 'qrels.csv'} line {line} names query {row['query_id']!r} or document "
                f"{row['doc_id']!r} that queries.csv / corpus.csv do not have"
            )
        if float(row["relevance"] or 0) > 0:
            a.append(queries[row["query_id"]])
            b.append(corpus[row["doc_id"]])
    return PairSet(a, b, [1] * len(a))


def load_task(path: Path | str) -> Task:
    """Read a task folder in the ``../shared/data`` layout as training (and validation) pairs.

    Raises:
        SemanticDataError: The folder is neither layout, a file lacks columns, or there are no positives.
    """
    path = Path(path)
    if (path / "train.csv").is_file():
        train = _pairs(path / "train.csv")
        valid = _pairs(path / "valid.csv") if (path / "valid.csv").is_file() else None
        task = Task(path.name, "pairs", train, valid, path)
    elif (path / "qrels.csv").is_file():
        task = Task(path.name, "retrieval", _retrieval(path), None, path)
    else:
        raise SemanticDataError(
            f"{path} is not a task folder: expected train.csv (+ valid.csv) with text_a,text_b,label, "
            "or queries.csv, corpus.csv and qrels.csv"
        )
    if task.train.n_positive == 0:
        raise SemanticDataError(f"{path}: the training data has no positive pairs (label 1); nothing to learn from")
    return task


#: Training settings added after versions were named: left out of the name at their default value.
_ADDED_SETTINGS = {"keep_base": 0.0, "bf16": False, "frozen_layers": 0, "augment": 0, "symmetric": True, "negatives": 3,
                   "clears": False, "keep_matches": 0.98, "layer_decay": 1.0}


def version_name(tasks: Sequence[Task], config: Any) -> str:
    """A trained version's name, ``<data hash>-<config hash>``: the same labels and settings, the same name."""
    settings = asdict(config)
    for name, default in _ADDED_SETTINGS.items():  # a setting added later, at its default, keeps old names
        if settings.get(name) == default:
            settings.pop(name)
    config_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:6]
    return f"{data_hash(tasks)[:10]}-{config_hash}"


def data_hash(tasks: Sequence[Task]) -> str:
    """SHA-256 of the training data, so a model records exactly what it was trained on."""
    digest = hashlib.sha256()
    for task in tasks:
        for split in (task.train, task.valid):
            if split is None:
                continue
            for a, b, y in zip(split.texts_a, split.texts_b, split.labels):
                digest.update(f"{a}\x1f{b}\x1f{y}\x1e".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class MiningReport:
    """What the hard-negative miner did.

    Attributes:
        anchors: Anchors that got a negative.
        candidates: Candidates looked at (top-k per anchor).
        dropped_known_positive: Candidates dropped as a labelled positive of the anchor or of its cluster.
        dropped_by_margin: Candidates dropped by the false-negative guard (score too close to the positive's).
        labelled: Anchors whose negative is a labelled one.
        mined: Anchors whose negative was mined.
    """

    anchors: int
    candidates: int
    dropped_known_positive: int
    dropped_by_margin: int
    labelled: int
    mined: int


def _clusters(a: Sequence[str], b: Sequence[str], labels: Sequence[int]) -> dict[str, int]:
    """Connected components of the positive pairs (:func:`semantic.encoding.units.components`)."""
    return components(a, b, labels)


def best_units(pairs: PairSet, embed: Any) -> tuple[PairSet, int]:
    """Replace each second text by its unit (the whole text or a sentence) closest to the first.

    A compliance lookalike is scored by the asset's best unit (``semantic.decisions.compliance``), so one
    rejected claim inside longer copy counts in full; training on the same unit teaches the
    encoder the claim against the sentence that carries it (or that a benign asset's closest
    sentence is not it), not against the hashtags and calls to action around it. Units are chosen
    with ``embed``, the model before tuning. Returns the new pairs and how many texts changed.
    """
    from semantic.encoding.units import scoring_units

    units, owner = scoring_units(pairs.texts_b)
    options: dict[int, list[str]] = {}
    for unit, i in zip(units, owner):
        options.setdefault(i, []).append(unit)
    if all(len(o) == 1 for o in options.values()):
        return pairs, 0
    distinct = sorted(set(units) | set(pairs.texts_a))
    vectors = dict(zip(distinct, embed(distinct)))

    def closest(anchor: str, candidates: list[str]) -> str:
        return candidates[int(np.argmax([vectors[anchor] @ vectors[t] for t in candidates]))]

    chosen = [closest(a, options[i]) if i in options else b
              for i, (a, b) in enumerate(zip(pairs.texts_a, pairs.texts_b))]
    changed = sum(c != b for c, b in zip(chosen, pairs.texts_b))
    return PairSet(list(pairs.texts_a), chosen, list(pairs.labels)), changed


def mine_hard_negatives(
    pairs: PairSet,
    embed: Any,
    top_k: int = 20,
    margin: float = 0.05,
    seed: int = 0,
) -> tuple[list[tuple[str, str, str]], MiningReport]:
    """Build (anchor, positive, negative) triplets: labelled negatives first, mined ones otherwise.

    Args:
        pairs: Labelled pairs; positives become (anchor, positive) and label-0 partners of the
            same anchor are its labelled negatives.
        embed: Callable mapping a list of texts to unit vectors (the model being tuned).
        top_k: Candidates per anchor taken from the pool of all second texts.
        margin: A mined candidate must score at most ``positive score - margin``.
        seed: Seeds the choice among labelled negatives.
    """
    rng = random.Random(seed)
    cluster = _clusters(pairs.texts_a, pairs.texts_b, pairs.labels)
    positives = [(a, b) for a, b, y in zip(pairs.texts_a, pairs.texts_b, pairs.labels) if y]
    labelled_neg: dict[str, list[str]] = {}
    for a, b, y in zip(pairs.texts_a, pairs.texts_b, pairs.labels):
        if not y:
            labelled_neg.setdefault(a, []).append(b)
    pool = sorted(set(pairs.texts_b))
    need = sorted({a for a, _ in positives if a not in labelled_neg})
    mined: dict[str, str] = {}
    n_candidates = n_known = n_margin = 0
    if need and len(pool) > 1:
        anchors_vec = embed(need)
        pool_vec = embed(pool)
        pos_of = {a: b for a, b in positives}
        pos_vec = dict(zip(pool, pool_vec))
        k = min(top_k, len(pool))
        for start in range(0, len(need), 1024):
            sims = anchors_vec[start : start + 1024] @ pool_vec.T
            top = np.argsort(-sims, axis=1)[:, :k]
            for row, anchor in enumerate(need[start : start + 1024]):
                positive = pos_of[anchor]
                ceiling = float(anchors_vec[start + row] @ pos_vec[positive]) - margin
                for j in top[row]:
                    n_candidates += 1
                    candidate = pool[j]
                    same = candidate == positive or (
                        anchor in cluster and cluster.get(candidate) == cluster[anchor]
                    )
                    if same:
                        n_known += 1
                        continue
                    if sims[row, j] > ceiling:
                        n_margin += 1
                        continue
                    mined[anchor] = candidate
                    break
    triplets: list[tuple[str, str, str]] = []
    n_labelled = 0
    for a, b in positives:
        if a in labelled_neg:
            triplets.append((a, b, rng.choice(labelled_neg[a])))
            n_labelled += 1
        elif a in mined:
            triplets.append((a, b, mined[a]))
    report = MiningReport(
        anchors=len(triplets),
        candidates=n_candidates,
        dropped_known_positive=n_known,
        dropped_by_margin=n_margin,
        labelled=n_labelled,
        mined=len(triplets) - n_labelled,
    )
    return triplets, report


@dataclass(frozen=True)
class TrainingConfig:
    """How a model is tuned; saved beside the weights.

    Attributes:
        loss: ``mnrl`` (default), ``contrastive``, ``triplet`` or ``supcon`` (supervised contrastive over
            the classes the labelled matches form, :mod:`semantic.encoding.supcon`).
        epochs: Passes over the training data.
        batch_size: Examples per step (MNRL's in-batch negatives grow with it).
        learning_rate: Peak AdamW learning rate.
        warmup_ratio: Share of steps with a linear warm-up.
        seed: Seeds data order, mining and initialisation: the same seed gives the same model.
        max_seq_length: Token limit during training (shorter is faster on a CPU).
        top_k: Mining candidates per anchor.
        margin: False-negative guard margin below the positive's score.
        task_batches: With the mnrl or triplet loss and several tasks, draw each batch from one
            task (in proportion to the tasks' sizes), so a pair's in-batch negatives are texts of
            its own kind (other claims' restatements, not brief-match assets), which makes them
            harder negatives. Off: batches mix the tasks.
        keep_base: The share of the base model's weights mixed back into the tuned ones after
            training, ``keep_base * base + (1 - keep_base) * tuned`` (weight-space ensembling,
            WiSE-FT, Wortsman et al. 2022): one encoder serves search, dedup and compliance, and
            moving less far from the base keeps more of its general ability, at some cost to the
            tuned task. 0 keeps the tuned weights.
        bf16: Compute in bfloat16 (``torch.autocast``; the weights and optimizer stay fp32). On a CPU
            with bf16 instructions (AVX512-BF16, AMX) a step costs about two thirds of fp32's.
        frozen_layers: Keep the token embeddings and this many of the lowest transformer layers as
            the base has them: the backward pass stops above them, so a step costs less, and the
            general-purpose lower layers cannot drift (0: every layer trains).
        augment: Augmented copies of each training example added to the data (:mod:`semantic.encoding.augment`:
            Ditto's span deletion, token shuffle and attribute dropping, never deleting a token with a digit);
            0: none. Each copy costs as much training time as an original.
        layer_decay: Layer-wise learning-rate decay: the top transformer layer learns at ``learning_rate``, each
            layer below at this share of the rate of the one above, the token embeddings below the lowest (1: one
            rate for all). The lower layers hold most of the general-purpose ability the tasks without labels
            rely on; on the demo's labels (MNRL) 0.8 kept the drop on SICK at 0.005 (against 0.011), at less cost
            to the tuned tasks than mixing the base back (``keep_base``) for the same drop; on product pairs with
            the contrastive loss mixing did better (docs/benchmarks.md, "Tuning without forgetting").
    """

    loss: str = "mnrl"
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    seed: int = 42
    max_seq_length: int = 128
    top_k: int = 20
    margin: float = 0.05
    task_batches: bool = True
    keep_base: float = 0.0
    bf16: bool = False
    frozen_layers: int = 0
    augment: int = 0
    layer_decay: float = 1.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise SemanticConfigError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        for name in ("epochs", "batch_size", "max_seq_length", "top_k"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SemanticConfigError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.learning_rate < 1:
            raise SemanticConfigError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if not isinstance(self.frozen_layers, int) or self.frozen_layers < 0:
            raise SemanticConfigError(f"frozen_layers must be a whole number of layers, 0 or more, got "
                                      f"{self.frozen_layers!r}")
        if not isinstance(self.augment, int) or isinstance(self.augment, bool) or self.augment < 0:
            raise SemanticConfigError(f"augment must be a whole number of copies, 0 or more, got {self.augment!r}")
        if not 0.0 <= self.keep_base < 1.0:
            raise SemanticConfigError(f"keep_base must be in [0, 1) (the share of the base weights kept), got "
                                      f"{self.keep_base!r}")
        if not 0.0 < self.layer_decay <= 1.0:
            raise SemanticConfigError(f"layer_decay must be in (0, 1] (each lower layer's share of the learning rate "
                                      f"of the layer above; 1: one rate for all), got {self.layer_decay!r}")


@dataclass
class TrainingResult:
    """What ``train`` produced."""

    out_dir: Path
    seconds: float
    mining: MiningReport | None
    guard: dict[str, Any]
    valid: dict[str, float] = field(default_factory=dict)
    general: dict[str, Any] = field(default_factory=dict)


def _seed_everything(seed: int) -> None:
    import torch
    import transformers

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    transformers.set_seed(seed)


def _log_callback() -> Any:
    from transformers import TrainerCallback

    class LogProgress(TrainerCallback):  # type: ignore[misc]
        """Sends the trainer's loss lines to the ``semantic`` logger (and so to the dbt log)."""

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if logs:
                shown = ", ".join(f"{k}={v:.4g}" for k, v in logs.items() if isinstance(v, int | float))
                logger.info("training step %d/%d: %s", state.global_step, state.max_steps, shown)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            faults.point("train")  # the fault-injection suite's kill point inside fine-tuning

    return LogProgress()


def _embedded_once(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """``encode`` with a memory: a text asked for again (in this call or a later one) is not encoded again."""
    vectors: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in vectors]
        if new:
            vectors.update(zip(new, encode(new)))
        return np.stack([vectors[t] for t in texts]) if texts else encode([])

    return embed


def guard_sample(
    tasks: Sequence[Task], seed: int = 0, n: int = GUARD_SAMPLE
) -> tuple[list[str], list[tuple[str, str]]]:
    """A fixed sample of texts and of positive pairs for the collapse guard."""
    texts = sorted({t for task in tasks for t in task.train.texts_a + task.train.texts_b})
    rng = random.Random(seed)
    sample = rng.sample(texts, min(n, len(texts)))
    positives = sorted(
        {(a, b) for task in tasks for a, b, y in zip(task.train.texts_a, task.train.texts_b, task.train.labels) if y}
    )
    return sample, rng.sample(positives, min(n, len(positives)))


def train(
    tasks: Sequence[Task],
    out_dir: Path | str,
    base_dir: Path | str,
    config: TrainingConfig | None = None,
) -> TrainingResult:
    """Fine-tune ``base_dir`` on the tasks' training pairs and save the model to ``out_dir``.

    The model is selected on the tasks' valid pairs (cosine AP) when they exist, checked by the
    collapse guard, and saved with its training config, data hash, mining report and metrics.

    Raises:
        SemanticDataError: No training examples could be built.
        SemanticModelError: The tuned model collapsed (it is saved, marked failed, and not usable).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator
    from sentence_transformers.training_args import BatchSamplers

    from semantic.encoding.collapse import check_collapse, raise_if_collapsed
    from semantic.encoding.encoder import model_info
    from semantic.encoding.integrity import MANIFEST_FILE, write_manifest

    config = config or TrainingConfig()
    out = Path(out_dir)
    started = time.monotonic()
    _seed_everything(config.seed)
    base_info = model_info(base_dir)
    model = SentenceTransformer(str(base_info.path), device="cpu", local_files_only=True,
                                model_kwargs={"use_safetensors": True})  # never torch.load a pickle
    model.max_seq_length = config.max_seq_length
    if config.frozen_layers:
        _freeze_lower_layers(model, config.frozen_layers)

    def encode(texts: list[str]) -> np.ndarray:
        # in bfloat16 where training computes in it: twice as fast here, cosine >= 0.9999 against fp32
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            found = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(found, dtype=np.float32)

    # before training, the best units, the guard's sample and the mining embed many of the same texts with the same
    # (base) weights: each is embedded once; after training, the guard's sample and positive pairs likewise
    embed = _embedded_once(encode)

    given_hash = data_hash(tasks)
    base_weights = {k: v.detach().clone() for k, v in model.state_dict().items()} if config.keep_base else {}
    tasks = list(tasks)
    for i, task in enumerate(tasks):
        if task.best_unit:
            train_pairs, changed = best_units(task.train, embed)
            valid_pairs, _ = best_units(task.valid, embed) if task.valid is not None else (None, 0)
            tasks[i] = replace(task, train=train_pairs, valid=valid_pairs)
            logger.info("%s: trained on the best unit of each text (a sentence instead of the whole text for %d of "
                        "%d pairs), as the compliance check scores them", task.name, changed, len(task.train))
    # the texts the collapse guard checks after training, embedded now by the base as well: how much of the
    # base's similarity order the tuned model keeps is a label-free check of general ability
    sample, positive_pairs = guard_sample(tasks, seed=config.seed)
    base_sample = embed(sample)
    mining: MiningReport | None = None
    if config.loss in ("mnrl", "triplet"):
        by_task: dict[str, list[tuple[str, str, str]]] = {}
        reports = []
        for task in tasks:
            found, task_report = mine_hard_negatives(task.train, embed, config.top_k, config.margin, config.seed)
            by_task[task.name] = found
            reports.append(task_report)
            logger.info(
                "%s: %d triplets (%d labelled negatives, %d mined); the false-negative guard dropped %d of "
                "%d candidates (%d known positives, %d within the margin)",
                task.name, task_report.anchors, task_report.labelled, task_report.mined,
                task_report.dropped_known_positive + task_report.dropped_by_margin, task_report.candidates,
                task_report.dropped_known_positive, task_report.dropped_by_margin,
            )
        mining = MiningReport(*(sum(getattr(r, f) for r in reports) for f in MiningReport.__dataclass_fields__))
        if config.augment:
            by_task = {name: augmented_triplets(found, config.augment, config.seed) for name, found in by_task.items()}
            logger.info("augment: %d copies of each triplet (anchor and positive augmented)", config.augment)
        triplets = [t for found in by_task.values() for t in found]
        if not triplets:
            raise SemanticDataError("no (anchor, positive, negative) triplets could be built; add labelled pairs")

        def as_dataset(found: list[tuple[str, str, str]]) -> Any:
            found = list(found)
            random.Random(config.seed).shuffle(found)
            return Dataset.from_dict({"anchor": [t[0] for t in found], "positive": [t[1] for t in found],
                                      "negative": [t[2] for t in found]})

        non_empty = {name: found for name, found in by_task.items() if found}
        if config.task_batches and len(non_empty) > 1:
            from datasets import DatasetDict
            train_data: Any = DatasetDict({name: as_dataset(found) for name, found in non_empty.items()})
        else:
            train_data = as_dataset(triplets)
        loss: Any = (
            losses.MultipleNegativesRankingLoss(model)
            if config.loss == "mnrl"
            else losses.TripletLoss(model, distance_metric=losses.TripletDistanceMetric.COSINE, triplet_margin=0.3)
        )
    elif config.loss == "supcon":
        from semantic.encoding.supcon import class_examples, make_loss

        sentences: list[str] = []
        classes: list[int] = []
        for task in tasks:  # classes of different tasks never merge
            texts, labels = class_examples(task.train.texts_a, task.train.texts_b, task.train.labels)
            if config.augment:
                texts, labels = augmented_classes(texts, labels, config.augment, config.seed)
            offset = max(classes, default=-1) + 1
            sentences += texts
            classes += [offset + c for c in labels]
        if len(set(classes)) < 2:
            raise SemanticDataError("the supcon loss needs labelled matches forming at least two classes; "
                                    "add labelled pairs (label 1) of different items")
        train_data = Dataset.from_dict({"sentence": sentences, "label": classes})
        loss = make_loss(model, margin=config.margin)
        logger.info("supcon: %d texts in %d classes (connected components of the labelled matches)",
                    len(sentences), len(set(classes)))
    else:
        a = [x for t in tasks for x in t.train.texts_a]
        b = [x for t in tasks for x in t.train.texts_b]
        y = [x for t in tasks for x in t.train.labels]
        if config.augment:
            a, b, y = augmented_pairs(a, b, y, config.augment, config.seed)
            logger.info("augment: %d copies of each labelled pair (both texts augmented)", config.augment)
        train_data = Dataset.from_dict({"sentence1": a, "sentence2": b, "label": y}).shuffle(seed=config.seed)
        if len(set(y)) > 1:
            loss = losses.OnlineContrastiveLoss(model)
        else:
            logger.warning(
                "the contrastive loss got no labelled negatives: it can only pull pairs together, which "
                "risks collapse; the collapse guard will check the result (prefer --loss mnrl)"
            )
            loss = losses.ContrastiveLoss(model)

    valid_tasks = [t for t in tasks if t.valid is not None and t.valid.n_positive and len(set(t.valid.labels)) > 1]
    evaluator = None
    if valid_tasks:
        evaluator = BinaryClassificationEvaluator(
            [x for t in valid_tasks for x in t.valid.texts_a],  # type: ignore[union-attr]
            [x for t in valid_tasks for x in t.valid.texts_b],  # type: ignore[union-attr]
            [x for t in valid_tasks for x in t.valid.labels],  # type: ignore[union-attr]
            name="valid",
            similarity_fn_names=["cosine"],
        )
    checkpoints = out.parent / f".{out.name}.checkpoints"
    # the best epoch on the valid pairs is kept: each epoch's weights are checkpointed (with the optimizer, about
    # 270 MB) and scored; with one epoch there is nothing to choose, and the valid pairs are scored once, after it
    select = evaluator is not None and config.epochs > 1
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,
        seed=config.seed,
        data_seed=config.seed,
        batch_sampler={"mnrl": BatchSamplers.NO_DUPLICATES, "supcon": BatchSamplers.GROUP_BY_LABEL}.get(
            config.loss, BatchSamplers.BATCH_SAMPLER),
        eval_strategy="epoch" if select else "no",
        save_strategy="epoch" if select else "no",
        save_total_limit=1,
        load_best_model_at_end=select,
        metric_for_best_model="eval_valid_cosine_ap" if select else None,
        # the loss curve of the model report: about 50 points whatever the run's length (at most every 10 steps)
        logging_steps=max(1, min(10, len(train_data) * config.epochs // (config.batch_size * 50))),
        report_to="none",
        use_cpu=True,
        bf16=config.bf16,
        dataloader_num_workers=0,
    )
    # the trainer builds its own AdamW (and the warm-up schedule, over any optimizer) unless given one
    decayed: dict[str, Any] = {"optimizers": (_layer_decay_optimizer(model, config), None)} if (
        config.layer_decay < 1.0) else {}
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train_data, loss=loss, evaluator=evaluator,
        callbacks=[_log_callback()], **decayed,
    )
    trainer.train()
    loss_curve = [[int(e["step"]), float(e["loss"])] for e in trainer.state.log_history if "loss" in e]
    if config.keep_base:
        _mix_base(model, base_weights, config.keep_base)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
        valid = {k: float(v) for k, v in (evaluator(model) if evaluator else {}).items()}

    embed = _embedded_once(encode)  # the tuned weights from here on
    tuned_sample = embed(sample)
    general = {"base_agreement": base_agreement(base_sample, tuned_sample), "texts": len(sample),
               "keep_base": config.keep_base, "layer_decay": config.layer_decay}
    report = check_collapse(
        tuned_sample,
        embed([p[0] for p in positive_pairs]) if positive_pairs else None,
        embed([p[1] for p in positive_pairs]) if positive_pairs else None,
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out), safe_serialization=True)  # safetensors only: loading refuses pickled weights
    seconds = time.monotonic() - started
    (out / TRAINING_FILE).write_text(
        json.dumps(
            {
                "config": asdict(config),
                "base_model": str(base_info.path),
                "base_version": base_info.version,
                "tasks": [{"name": t.name, "kind": t.kind, "path": str(t.path), "train_pairs": len(t.train),
                           "train_positives": t.train.n_positive} for t in tasks],
                "data_hash": given_hash,
                "mining": asdict(mining) if mining else None,
                "seconds": round(seconds, 1),
                "manifest": MANIFEST_FILE,  # saved with a record of its files: the registry refuses it without one
            },
            indent=2,
        )
    )
    (out / METRICS_FILE).write_text(json.dumps({"guard": report.as_dict(), "valid": valid, "general": general,
                                                "loss_curve": loss_curve}, indent=2))
    _write_card(out, config, tasks, report.as_dict(), valid, base_info.version, general)
    write_manifest(out)  # last, over every file: from now on a load refuses the version if one changes
    import shutil

    shutil.rmtree(checkpoints, ignore_errors=True)
    logger.info("saved the tuned model to %s in %.0f s; collapse guard %s", out, seconds,
                "passed" if report.passed else f"FAILED: {report.reason}")
    raise_if_collapsed(report, str(out))
    return TrainingResult(out, seconds, mining, report.as_dict(), valid, general)


#: The dbt var behind each :class:`TrainingConfig` field that ``int_encoder_versions_trained`` sets.
TRAINING_VARS = {"loss": "semantic_train_loss", "epochs": "semantic_train_epochs",
                 "learning_rate": "semantic_train_learning_rate", "seed": "semantic_train_seed",
                 "keep_base": "semantic_train_keep_base", "bf16": "semantic_train_bf16",
                 "max_seq_length": "semantic_train_max_seq_length", "augment": "semantic_train_augment",
                 "layer_decay": "semantic_train_layer_decay"}


def config_from_vars(values: dict[str, Any]) -> TrainingConfig:
    """The :class:`TrainingConfig` of the dbt vars, given by field name (:data:`TRAINING_VARS`; dbt passes them
    as text). A value that is not a number where one is needed, or that the config refuses, is an error naming
    the var and what it takes."""
    whole = ("epochs", "seed", "max_seq_length", "augment")
    parsed: dict[str, Any] = {}
    for name, var in TRAINING_VARS.items():
        if name not in values:
            continue
        value = values[name]
        if name == "bf16":  # auto, true or false; its own error names the var
            parsed[name] = resolve_bf16(value)
            continue
        try:
            if name in whole:
                number = float(str(value).strip())
                if number != int(number):
                    raise ValueError(value)
                parsed[name] = int(number)
            elif name in ("learning_rate", "keep_base", "layer_decay"):
                parsed[name] = float(str(value).strip())
            else:
                parsed[name] = str(value).strip()
        except (TypeError, ValueError, OverflowError):
            kind = "a whole number" if name in whole else "a number"
            raise SemanticConfigError(f"{var} must be {kind}, got {value!r}; set it in your dbt_project.yml vars "
                                      f"(e.g. {var}: {getattr(TrainingConfig, name)})") from None
    for name, value in parsed.items():  # the config's own checks, one field at a time: the error names the var
        try:
            TrainingConfig(**{name: value})
        except SemanticConfigError as e:
            raise SemanticConfigError(f"{TRAINING_VARS[name]}: {e}") from None
    return TrainingConfig(**parsed)


def resolve_bf16(value: str | bool) -> bool:
    """``semantic_train_bf16`` / ``--bf16`` as a setting: ``auto`` is true on a CPU with bf16 instructions.

    Without them PyTorch emulates bfloat16 and a step costs more than fp32's, so ``auto`` stays fp32 there.
    """
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    if text == "auto":
        from semantic.encoding.backends import cpu_bf16_flags

        return bool(cpu_bf16_flags())
    raise SemanticConfigError(f"semantic_train_bf16 must be auto, true or false, got {value!r}")


def _freeze_lower_layers(model: Any, n: int) -> None:
    """Stop gradients below the ``n``-th transformer layer (the token embeddings included)."""
    transformer = model[0].auto_model
    layers = transformer.encoder.layer
    if n > len(layers):
        raise SemanticConfigError(f"frozen_layers is {n}, but the model has {len(layers)} layers; "
                                  f"set at most {len(layers) - 1}")
    for module in (transformer.embeddings, *layers[:n]):
        for parameter in module.parameters():
            parameter.requires_grad_(False)
    logger.info("training the top %d of %d layers (the token embeddings and the lowest %d frozen)",
                len(layers) - n, len(layers), n)


def _layer_decay_optimizer(model: Any, config: TrainingConfig) -> Any:
    """AdamW with layer-wise learning-rate decay: the top transformer layer (and the pooling) at the learning rate,
    each layer below at ``layer_decay`` times the rate of the one above, the token embeddings below the lowest."""
    import torch

    layers = model[0].auto_model.encoder.layer
    depth = {id(p): len(layers) - i for i, layer in enumerate(layers) for p in layer.parameters()}
    for p in model[0].auto_model.embeddings.parameters():
        depth[id(p)] = len(layers) + 1
    groups: dict[int, list[Any]] = {}
    for p in model.parameters():
        if p.requires_grad:
            groups.setdefault(depth.get(id(p), 0), []).append(p)
    return torch.optim.AdamW(
        [{"params": ps, "lr": config.learning_rate * config.layer_decay ** max(0, d - 1)}
         for d, ps in sorted(groups.items())], lr=config.learning_rate, weight_decay=0.0)


def _mix_base(model: Any, base: dict[str, Any], keep: float) -> None:
    """Weight-space ensembling in place: every floating-point weight becomes ``keep * base + (1 - keep) * tuned``."""
    import torch

    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and name in base:
                tensor.mul_(1.0 - keep).add_(base[name].to(tensor.dtype), alpha=keep)


#: Random pairs of the guard sample compared by :func:`base_agreement`.
AGREEMENT_PAIRS = 4000


def base_agreement(base: np.ndarray, tuned: np.ndarray, pairs: int = AGREEMENT_PAIRS, seed: int = 0) -> float:
    """Spearman correlation between the base model's and the tuned model's cosines over random pairs of the
    same texts (rows of unit length): 1 when tuning kept the base's similarity order, lower as it moved away.

    A check of general ability that needs no labels (the graded-relatedness sets of ``semantic evaluate``
    are the labelled one): the pairs are mostly unrelated texts, whose order the tuned task does not
    need to change.
    """
    from scipy.stats import spearmanr

    n = len(base)
    if n < 3:
        return float("nan")
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, pairs), rng.integers(0, n, pairs)
    keep = i != j
    i, j = i[keep], j[keep]
    return float(spearmanr(np.sum(base[i] * base[j], axis=1), np.sum(tuned[i] * tuned[j], axis=1)).statistic)


def _write_card(
    out: Path, config: TrainingConfig, tasks: Sequence[Task], guard: dict[str, Any], valid: dict[str, float],
    base_version: str, general: dict[str, Any] | None = None,
) -> None:
    lines = [
        "# semantic-assets tuned encoder",
        "",
        f"Base model: `{base_version}`. Loss: `{config.loss}`, {config.epochs} epoch(s), batch {config.batch_size}, "
        f"learning rate {config.learning_rate}, seed {config.seed}.",
        "",
        "Trained on: " + ", ".join(f"`{t.name}` ({t.kind}, {len(t.train)} pairs)" for t in tasks) + ".",
        "",
        "Collapse guard: " + ("passed" if guard["passed"] else f"FAILED ({guard['reason']})")
        + f"; mean random cosine {guard['mean_random_cosine']:.3f}, effective rank {guard['effective_rank']:.1f}.",
        "",
    ]
    if valid:
        lines += ["Validation: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(valid.items())), ""]
    if general:
        lines += [f"General ability: Spearman {general['base_agreement']:.3f} between the base model's and this "
                  f"model's cosines over random pairs of {general['texts']} task texts (1 = the base's order kept); "
                  f"{general['keep_base']:g} of the base weights mixed back in"
                  + (f", layer-wise learning-rate decay {general['layer_decay']:g}" if general.get("layer_decay", 1.0)
                     != 1.0 else "") + ". `semantic evaluate --data "
                  "<general/ folder> --model <this folder>` measures it on graded relatedness.", ""]
    lines += ["Load with `SentenceTransformer(path)`; `semantic_training.json` holds the full config and data hash."]
    (out / "README.md").write_text("\n".join(lines) + "\n")
