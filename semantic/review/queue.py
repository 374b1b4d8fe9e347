"""The value of a label: which item of the review queue a person should decide first.

An item's value is the binary entropy (in bits) of its calibrated match probability ``p``: what
a person's answer is expected to teach the model. An item at ``p = 0.5`` is worth one bit, at 0.9
about 0.47, at 0.99 about 0.08. It is the classic uncertainty measure of active learning (Lewis &
Gale 1994; what the ``dedupe`` library asks about), and it is the right one here because every
probability is calibrated: ``p`` is the share of matches among pairs scored alike, so the entropy
is the expected surprise of the label, and the pairs around the threshold, whose labels move it,
are the uncertain ones. Ties (isotonic calibration gives steps of equal ``p``) go to the item whose
raw score lies nearest the task's threshold: its label is the one that would move the threshold.
``fct_review_queue`` computes the same in SQL (``macros/semantic_label_value.sql``);
``benchmarks/active_learning.py`` measures the order against random labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semantic.errors import SemanticDataError

#: Probabilities are clipped to this distance from 0 and 1 before the entropy.
EPS = 1e-6


def label_value(probability: Sequence[float] | np.ndarray) -> np.ndarray:
    """Binary entropy in bits of each calibrated match probability (NaN counts as 0.5: unknown)."""
    p = np.asarray(probability, dtype=float)
    p = np.where(np.isnan(p), 0.5, p)
    p = np.clip(p, EPS, 1.0 - EPS)
    return -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))


def review_order(probability: Sequence[float] | np.ndarray, margin: Sequence[float] | np.ndarray) -> np.ndarray:
    """Indices of the items, most valuable first: by :func:`label_value` (descending, rounded to 6
    places so calibration steps tie), then by ``margin`` (the absolute distance of the raw score from
    the threshold, ascending), then by index."""
    value = np.round(label_value(probability), 6)
    margin = np.abs(np.asarray(margin, dtype=float))
    margin = np.where(np.isnan(margin), np.inf, margin)
    return np.lexsort((np.arange(len(value)), margin, -value))


#: The columns ``semantic queue`` shows of ``fct_review_queue``.
QUEUE_COLUMNS = ("review_id", "queue_rank", "task", "reason", "left_id", "right_id", "left_text", "right_text",
                 "similarity", "match_probability", "label_value", "current_decision", "rule_id", "severity",
                 "rationale", "previous_label", "model_version")


def open_items(db_path: Path, limit: int | None = 10, task: str | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` open items of the published build's ``fct_review_queue`` (all when None),
    most valuable first, optionally of one task."""
    import duckdb

    if not db_path.exists():
        raise SemanticDataError(f"no published build at {db_path}: run `semantic build` (or `make run`) first")
    where, params = ("where task = ?", [task]) if task else ("", [])
    with duckdb.connect(str(db_path), read_only=True) as con:
        try:
            cursor = con.execute(f"select {', '.join(QUEUE_COLUMNS)} from fct_review_queue {where} "
                                 f"order by queue_rank {'limit ' + str(int(limit)) if limit else ''}", params)
        except duckdb.CatalogException as e:
            raise SemanticDataError("the published build has no fct_review_queue: run `semantic build` with this "
                                    "version of the package first") from e
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
