"""The quality gate a fast encoder backend passes before it embeds anything for a model version.

On a fixed sample made by the demo generator (:func:`semantic.demo.generate`, fixed seed: ad copy
of every asset type plus campaign briefs), the backend's vectors are compared with fp32's:

* every text's cosine to its fp32 vector must be at least ``MIN_COSINE`` (0.99), and
* recall@10 on a labelled dev retrieval task must be no more than ``MAX_RECALL_DROP`` (0.005)
  below fp32's on the same sample. The task: each brief retrieves its matched assets, and each
  asset of a planted duplicate pair retrieves its duplicates, from all sample assets; recall@10 is
  the retrieved relevant assets over ``min(10, relevant)``, summed over queries.

The overlap of each asset's top-10 neighbours with fp32's is recorded too, but not gated: templated
copy has near-ties, so it moves with noise far below what a user could see (torch autocast at
cosine 0.99996 keeps only 99.8 % of neighbours). Pure NumPy apart from making the sample.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MIN_COSINE = 0.99
MAX_RECALL_DROP = 0.005
K = 10
SAMPLE_SEED = 7_2026
SAMPLE_ASSETS = 400


@dataclass(frozen=True)
class GateSample:
    """The gate's texts and its dev retrieval task.

    Attributes:
        texts: The first ``n_candidates`` are assets (the searched collection), then the briefs.
        n_candidates: How many of ``texts`` are assets.
        queries: (query index into texts, indices of its relevant assets).
        digest: SHA-256 of texts, task and thresholds; a cached result is reused only while it matches.
    """

    texts: tuple[str, ...]
    n_candidates: int
    queries: tuple[tuple[int, frozenset[int]], ...]
    digest: str


@lru_cache(maxsize=4)
def gate_sample(n_assets: int = SAMPLE_ASSETS, seed: int = SAMPLE_SEED) -> GateSample:
    """Build the fixed gate sample from the demo generator (deterministic for a seed and size)."""
    from semantic.demo import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, seed=seed, n_assets=n_assets)
        assets = _read(folder / "demo_assets.csv")
        briefs = _read(folder / "demo_briefs.csv")
        matches = _read(folder / "demo_brief_matches.csv")
        pairs = _read(folder / "demo_labelled_pairs.csv")
    index = {row["asset_id"]: i for i, row in enumerate(assets)}
    relevant: dict[int, set[int]] = {}
    brief_index = {row["brief_id"]: len(assets) + i for i, row in enumerate(briefs)}
    for row in matches:
        relevant.setdefault(brief_index[row["brief_id"]], set()).add(index[row["asset_id"]])
    for row in pairs:
        if row["task"] == "duplicate" and row["label"] == "1":
            left, right = index[row["left_id"]], index[row["right_id"]]
            relevant.setdefault(left, set()).add(right)
            relevant.setdefault(right, set()).add(left)
    texts = tuple(row["text"] for row in assets) + tuple(row["text"] for row in briefs)
    queries = tuple((q, frozenset(rel)) for q, rel in sorted(relevant.items()))
    digest = hashlib.sha256(
        json.dumps([texts, [(q, sorted(r)) for q, r in queries], MIN_COSINE, MAX_RECALL_DROP, K]).encode()
    ).hexdigest()
    return GateSample(texts=texts, n_candidates=len(assets), queries=queries, digest=digest)


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def recall_at_k(vectors: np.ndarray, sample: GateSample, k: int = K) -> float:
    """Recall@k of the dev task: relevant assets in each query's top k (itself excluded), pooled."""
    candidates = vectors[: sample.n_candidates]
    hits = total = 0
    for query, relevant in sample.queries:
        scores = candidates @ vectors[query]
        if query < sample.n_candidates:
            scores[query] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        hits += len(relevant.intersection(top.tolist()))
        total += min(k, len(relevant))
    return hits / total if total else 1.0


def neighbour_overlap(fast: np.ndarray, reference: np.ndarray, n: int, k: int = K) -> float:
    """Mean share of each of the first ``n`` rows' top-k neighbours (among them) that fp32 also has."""

    def top(v: np.ndarray) -> np.ndarray:
        scores = v[:n] @ v[:n].T
        np.fill_diagonal(scores, -np.inf)
        return np.argpartition(-scores, k, axis=1)[:, :k]

    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(top(fast).tolist(), top(reference).tolist())]))


@dataclass(frozen=True)
class GateResult:
    """The outcome of the gate for one backend and model version.

    Attributes:
        backend: The backend name.
        passed: Whether the backend may be used.
        reason: Why it failed, or a one-line summary when it passed.
        min_cosine: The smallest cosine between a text's backend and fp32 vectors.
        recall: The backend's recall@10 on the dev task.
        recall_fp32: fp32's recall@10 on the same task.
        neighbour_overlap: Share of top-10 asset neighbours shared with fp32 (recorded, not gated).
        n_texts: Sample size.
        signature: What the result depends on (sample digest, CPU bf16 flags, library versions).
    """

    backend: str
    passed: bool
    reason: str
    min_cosine: float
    recall: float
    recall_fp32: float
    neighbour_overlap: float
    n_texts: int
    signature: Mapping[str, Any]

    def to_json(self) -> str:
        """Serialise for the cache."""
        return json.dumps({**asdict(self), "signature": dict(self.signature)}, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> GateResult:
        """Read a cached result (raises KeyError/ValueError/TypeError on a malformed file)."""
        return cls(**json.loads(text))


def evaluate(
    backend: str, fast: np.ndarray, reference: np.ndarray, sample: GateSample, signature: Mapping[str, Any]
) -> GateResult:
    """Compare a backend's sample vectors with fp32's and decide.

    Args:
        backend: The backend name.
        fast: The backend's unit vectors for ``sample.texts``.
        reference: fp32's unit vectors for the same texts.
        sample: The gate sample.
        signature: Stored with the result (what it depends on).
    """
    fast = np.asarray(fast, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    finite = np.isfinite(fast).all(axis=1)
    cosines = np.where(finite, np.nan_to_num(np.sum(fast * reference, axis=1)), -1.0)
    worst = int(np.argmin(cosines))
    min_cos = float(cosines[worst])
    recall = recall_at_k(np.nan_to_num(fast), sample)
    recall_ref = recall_at_k(reference, sample)
    overlap = neighbour_overlap(np.nan_to_num(fast), reference, sample.n_candidates)
    failures = []
    if min_cos < MIN_COSINE:
        failures.append(
            f"cosine to fp32 is {min_cos:.4f} < {MIN_COSINE} on sample text {worst} "
            f"({sample.texts[worst][:60]!r}...)"
        )
    if recall < recall_ref - MAX_RECALL_DROP:
        failures.append(
            f"dev-task recall@{K} {recall:.4f} is more than {MAX_RECALL_DROP} below fp32's {recall_ref:.4f}"
        )
    reason = "; ".join(failures) or (
        f"min cosine to fp32 {min_cos:.5f} >= {MIN_COSINE}, dev-task recall@{K} {recall:.4f} vs fp32 "
        f"{recall_ref:.4f}, top-{K} neighbour overlap {overlap:.4f}, on {len(sample.texts)} texts"
    )
    return GateResult(
        backend=backend,
        passed=not failures,
        reason=reason,
        min_cosine=min_cos,
        recall=recall,
        recall_fp32=recall_ref,
        neighbour_overlap=overlap,
        n_texts=len(sample.texts),
        signature=dict(signature),
    )
