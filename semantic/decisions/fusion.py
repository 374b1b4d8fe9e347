"""The hybrid search weight, learned from labelled queries instead of fixed.

``semantic_hybrid_search`` fuses the vector search with BM25 full-text search; ``alpha`` is the
weight of the vector side (1 = vector only). A fixed 0.5 lifted recall@1 on one product corpus
(codes and model numbers the embedding blurs) and lowered it on another (long listings whose
words mislead BM25). So the weight is chosen per corpus: every weight of :data:`ALPHAS` ranks the
labelled queries, and the one with the best mean reciprocal rank wins; ties go to the larger
weight, so that fusing is chosen only when it helps (1.0 means do not fuse). With too few labelled
queries the default stays. The build learns it on the briefs' known matches (``dim_hybrid_search_weight``)
and saves it beside the calibration of the encoder version (:func:`save`); the SQL search of every
connection opened later takes it as its default ``alpha``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The vector-side weights tried (1.0: the vector search alone).
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The weight when nothing was learned.
DEFAULT_ALPHA = 0.5
#: Fewer labelled queries than this keep the default.
MIN_QUERIES = 20


@dataclass(frozen=True)
class FusionChoice:
    """The chosen weight and what each weight scored.

    Attributes:
        alpha: The vector-side weight to search with.
        learned: False when the default was kept (too few labelled queries).
        n_queries: Labelled queries it was chosen on.
        mrr: Mean reciprocal rank at 10 of each weight tried.
        reason: Why the default was kept, when it was.
    """

    alpha: float
    learned: bool
    n_queries: int
    mrr: dict[float, float] = field(default_factory=dict)
    reason: str = ""


def mrr_at_10(found: Sequence[Sequence[Any]], relevant: Sequence[Set[Any]]) -> float:
    """Mean over queries of 1 / rank of the first relevant result in the top 10 (0 when none)."""
    total = 0.0
    for row, rel in zip(found, relevant):
        first = next((i for i, item in enumerate(list(row)[:10]) if item in rel), None)
        total += 1.0 / (first + 1) if first is not None else 0.0
    return total / max(len(relevant), 1)


def choose_alpha(ranked: Mapping[float, Sequence[Sequence[Any]]], relevant: Sequence[Set[Any]],
                 min_queries: int = MIN_QUERIES) -> FusionChoice:
    """Pick the weight whose ranked lists serve the labelled queries best.

    Args:
        ranked: For each weight tried, each query's ranked result ids (queries in the order of ``relevant``).
        relevant: Each query's relevant ids.
        min_queries: Fewer labelled queries keep :data:`DEFAULT_ALPHA`.
    """
    n = len(relevant)
    if n < min_queries:
        return FusionChoice(DEFAULT_ALPHA, False, n, reason=f"{n} labelled queries (need {min_queries}): "
                                                              f"the default weight {DEFAULT_ALPHA} stays")
    scores = {float(alpha): mrr_at_10(lists, relevant) for alpha, lists in ranked.items()}
    best = max(scores.items(), key=lambda item: (round(item[1], 9), item[0]))[0]
    return FusionChoice(best, True, n, scores)


def weight_path(directory: Path | str, model_version: str) -> Path:
    """Where the weight learned for ``model_version`` is saved (beside its calibration)."""
    return Path(directory) / f"{model_version}.hybrid_weight.json"


def save(directory: Path | str, model_version: str, choice: FusionChoice) -> Path:
    """Write the choice for ``model_version`` atomically: the SQL search of every later connection uses it."""
    path = weight_path(directory, model_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"alpha": choice.alpha, "learned": choice.learned, "n_queries": choice.n_queries,
                               "mrr": {str(a): m for a, m in choice.mrr.items()}, "reason": choice.reason}, indent=1))
    os.replace(tmp, path)
    return path


def load(directory: Path | str, model_version: str) -> FusionChoice | None:
    """The choice saved for ``model_version``, or None when none was learned yet."""
    path = weight_path(directory, model_version)
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    return FusionChoice(float(saved["alpha"]), bool(saved["learned"]), int(saved["n_queries"]),
                        {float(a): float(m) for a, m in saved.get("mrr", {}).items()}, str(saved.get("reason", "")))
