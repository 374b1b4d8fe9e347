"""Monotone gradient-boosted trees: the pair decision's second model family.

A logistic regression adds its features' evidence up: a high cosine counts the same whether the two texts
share a rare identifier or none at all. Real matches are decided by combinations (a shared identifier settles
a pair of moderate cosine; a capacity conflict only matters between near-identical titles), which trees
learn. On the shared product sets they ranked the held-out pairs better than the logistic weights on the same
features (test AP 0.864 -> 0.897 on walmart_amazon, 0.927 -> 0.961 on abt_buy; docs/benchmarks.md).

Each feature's effect is constrained to one direction where its meaning gives one (:data:`MONOTONE`): more
cosine, more shared n-grams or a shared identifier can only raise the score, a conflict can only lower it.
The constraints keep the trees from learning noise against the sense of a feature on a few hundred labels, and
they make the highest score a pair can reach at a given cosine computable (:func:`lowest_value`), which the
candidate prefilter needs (:func:`semantic.decisions.pair_decision.min_cosine_to_match`).

The fitted trees are kept as plain arrays (:class:`Trees`) and evaluated here, in numpy, so a saved decision
does not depend on scikit-learn's private classes; :func:`fit` checks that they give scikit-learn's own
predictions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Each feature's direction: +1 can only raise the match score, -1 only lower it, 0 either (``no_identifier``
#: and ``no_price`` say evidence is missing, which can point either way). Names not listed are 0.
MONOTONE: Mapping[str, int] = {
    "cosine": 1, "lexical": 1, "identifier": 1, "no_identifier": 0, "identifier_shared_idf": 1,
    "identifier_conflict_idf": -1, "measure_conflict": -1, "measure_shared": 1, "count_conflict": -1,
    "year_conflict": -1, "edition_conflict": -1, "platform_conflict": -1, "price_gap": -1, "no_price": 0,
    "colour_conflict": -1, "number_shared": 1, "number_conflict": -1, "token_containment": 1,
    "identifier_in_text": 1, "identifier_not_in_text": -1,
}
#: scikit-learn's ``HistGradientBoostingClassifier`` settings (no early stopping: the fit is deterministic).
SETTINGS: Mapping[str, Any] = {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31,
                               "min_samples_leaf": 20, "l2_regularization": 1.0}
_ROW_CHUNK = 4_096  # rows traversed at once: a (rows, trees) node matrix of about 1.6 MB


@dataclass(frozen=True)
class Trees:
    """Fitted trees as arrays over all their nodes (each tree's root in ``roots``); a row's raw score (log-odds)
    is ``baseline`` plus the value of the leaf it reaches in each tree. At a split a row goes left when its
    feature is at most the threshold (NaN: as ``missing_left`` says); a leaf's ``left`` and ``right`` are itself."""

    baseline: float
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    missing_left: np.ndarray
    depth: int
    n_features: int

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The log-odds of each row of ``x`` (shape (rows, n_features))."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"the trees take {self.n_features} features a row; got an array of shape {x.shape}")
        out = np.empty(len(x))
        for start in range(0, len(x), _ROW_CHUNK):
            part = x[start : start + _ROW_CHUNK]
            rows = np.arange(len(part))[:, None]
            node = np.broadcast_to(self.roots, (len(part), len(self.roots))).copy()
            for _ in range(self.depth):
                v = part[rows, self.feature[node]]
                go_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
                node = np.where(go_left, self.left[node], self.right[node])
            out[start : start + len(part)] = self.baseline + self.value[node].sum(axis=1)
        return out

    def probability(self, x: np.ndarray) -> np.ndarray:
        """The trees' match probability of each row: the logistic of :meth:`raw`."""
        return np.asarray(1.0 / (1.0 + np.exp(-self.raw(x))))

    def thresholds(self, feature: int) -> np.ndarray:
        """The sorted distinct split thresholds on one feature."""
        return np.unique(self.threshold[(~self.leaf) & (self.feature == feature)])

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "depth": self.depth, "n_features": self.n_features,
                **{k: getattr(self, k).tolist() for k in _ARRAYS}}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Trees:
        arrays = {k: np.asarray(state[k], dtype=dtype) for k, dtype in _ARRAYS.items()}
        n = len(arrays["feature"])
        if any(len(arrays[k]) != n for k in _ARRAYS if k != "roots") or not len(arrays["roots"]):
            raise ValueError("the saved trees' node arrays differ in length")
        return cls(float(state["baseline"]), depth=int(state["depth"]), n_features=int(state["n_features"]), **arrays)


_ARRAYS = {"roots": np.int64, "feature": np.int64, "threshold": np.float64, "left": np.int64, "right": np.int64,
           "leaf": bool, "value": np.float64, "missing_left": bool}


def constraints(names: Sequence[str]) -> list[int]:
    """The direction of each named feature (:data:`MONOTONE`)."""
    return [MONOTONE.get(n, 0) for n in names]


def fit(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> Trees:
    """Fit monotone gradient-boosted trees on feature rows ``x`` (columns ``names``) and 0/1 labels ``y``.

    Raises:
        ValueError: ``y`` holds one label only.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    y = np.asarray(y).astype(int)
    if len(set(y.tolist())) < 2:
        raise ValueError("boosted trees need matches and non-matches among the training pairs")
    model = HistGradientBoostingClassifier(monotonic_cst=constraints(names), early_stopping=False, random_state=0,
                                           **SETTINGS).fit(np.asarray(x, dtype=np.float64), y)
    roots, parts, offset = [], [], 0
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        own = np.arange(len(nodes)) + offset
        leaf = nodes["is_leaf"].astype(bool)
        parts.append({
            "feature": np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64),
            "threshold": np.where(leaf, 0.0, nodes["num_threshold"]).astype(np.float64),
            "left": np.where(leaf, own, nodes["left"] + offset), "right": np.where(leaf, own, nodes["right"] + offset),
            "leaf": leaf, "value": nodes["value"].astype(np.float64),
            "missing_left": nodes["missing_go_to_left"].astype(bool),
        })
        roots.append(offset)
        offset += len(nodes)
    depth = max(int(p.nodes["depth"].max()) for (p,) in model._predictors)
    trees = Trees(float(np.ravel(model._baseline_prediction)[0]), np.asarray(roots, dtype=np.int64), depth=depth,
                  n_features=x.shape[1], **{k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    check = np.asarray(x[: min(len(x), 2_000)], dtype=np.float64)
    if not np.allclose(trees.probability(check), model.predict_proba(check)[:, 1], atol=1e-9):
        raise RuntimeError("the exported trees disagree with scikit-learn's predictions; report this with your "
                           "scikit-learn version")
    return trees


def lowest_value(trees: Trees, feature: int, target: float, lower: Sequence[float], upper: Sequence[float],
                 directions: Sequence[int]) -> float:
    """The lowest value of ``feature`` at which some row in the box ``lower``..``upper`` reaches the raw score
    ``target``: -inf when every value does, +inf when none does.

    The other features are set where the trees score highest: at their upper bound where their direction is +1,
    their lower where it is -1, and both ends tried where it is 0 (the binary "evidence missing" features). The
    trees are constant between their thresholds on ``feature`` and, with it constrained to +1, never fall as it
    grows, so the first threshold interval that reaches ``target`` gives the answer; the threshold that opens
    it is returned (a value equal to it does not reach, so the bound is conservative by that one point).
    """
    if directions[feature] != 1:
        raise ValueError("lowest_value needs a feature constrained to raise the score")
    corners = [[hi] if d > 0 else [lo] if d < 0 else sorted({lo, hi}) for lo, hi, d in zip(lower, upper, directions)]
    corners[feature] = [0.0]
    base = np.array(list(itertools.product(*corners)), dtype=np.float64)
    cuts = trees.thresholds(feature)
    if not len(cuts):
        return -math.inf if trees.raw(base).max() >= target else math.inf
    points = np.concatenate([[cuts[0]], np.nextafter(cuts, np.inf)])  # one value in each interval, lowest first
    grid = np.repeat(base, len(points), axis=0)
    grid[:, feature] = np.tile(points, len(base))
    best = trees.raw(grid).reshape(len(base), len(points)).max(axis=0)
    reached = np.flatnonzero(best >= target)
    if not len(reached):
        return math.inf
    first = int(reached[0])
    return -math.inf if first == 0 else float(cuts[first - 1])
