"""The pair decision: is (a, b) the same item? Tuned cosine + lexical similarity + shared identifiers.

Embeddings blur exactly what decides a product or campaign match: model numbers, SKUs, campaign
codes ("lds4821ww" against "ldf6920bb"). The decision therefore combines three signals:

1. ``cosine``: the encoder's cosine similarity;
2. ``lexical``: cosine of TF-IDF character 3-5-grams (the lexical floor);
3. ``identifier``: 1 when the two texts share an identifier token, a token of at least four
   characters that mixes letters and digits once ``-``, ``/`` and ``.`` are removed (or where one
   such token of five or more characters contains the other, as in ``kxtg9343t`` / ``kx-tg9343``);
   and ``no_identifier``: 1 when either text has none, so that the model can tell "no evidence" from
   "conflicting evidence".

A logistic regression over these is learned on ``train``; its score is calibrated (isotonic) and
thresholded on ``valid`` (see :mod:`semantic.calibration`), and the result is scored on ``test`` by
:mod:`semantic.benchmark`. Nothing is tuned on ``test``.

**Identifier veto.** When both texts carry identifiers and none is shared (``lds4821ww`` against
``ldf6920bb``), the score is 0: different model numbers or codes name different items however
alike the rest reads. On the labelled product pairs only 4-6 % of true matches conflict this way
(a retailer's typo or variant code), against 40-80 % of non-matches, and the veto lifts precision
most where the candidates are same-line products (dedup inside one catalogue).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semantic import calibration

FEATURES = ("cosine", "lexical", "identifier", "no_identifier")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9\-/.]*")
_SEPARATORS = re.compile(r"[\-/.]")


def identifiers(text: str) -> set[str]:
    """Identifier-like tokens of ``text`` (letters and digits mixed, at least four characters)."""
    out = set()
    for token in _TOKEN.findall(text.lower()):
        t = _SEPARATORS.sub("", token)
        if len(t) >= 4 and any(c.isdigit() for c in t) and any(c.isalpha() for c in t):
            out.add(t)
    return out


def identifier_features(a: str, b: str) -> tuple[float, float]:
    """(shares an identifier, either side has none) for one pair."""
    ia, ib = identifiers(a), identifiers(b)
    if not ia or not ib:
        return 0.0, 1.0
    shared = bool(ia & ib) or any((x in y or y in x) for x in ia for y in ib if min(len(x), len(y)) >= 5)
    return float(shared), 0.0


def cosines(embed: Callable[[Sequence[str]], Any], a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Cosine similarity of aligned pairs (a[i], b[i]) under ``embed`` (rows of unit length)."""
    ea, eb = embed(a), embed(b)
    if hasattr(ea, "multiply"):  # scipy sparse (TF-IDF rows are unit length)
        return np.asarray(ea.multiply(eb).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", np.asarray(ea), np.asarray(eb))


def features(
    a: Sequence[str], b: Sequence[str], embed: Callable[[Sequence[str]], Any], lexical: Callable[[Sequence[str]], Any]
) -> np.ndarray:
    """The feature matrix (one row per pair, columns :data:`FEATURES`)."""
    ident = np.array([identifier_features(x, y) for x, y in zip(a, b)], dtype=float).reshape(-1, 2)
    return np.column_stack([cosines(embed, a, b), cosines(lexical, a, b), ident])


def _logistic(x: np.ndarray, coef: Sequence[float], intercept: float) -> np.ndarray:
    x = np.asarray(x)
    score = 1.0 / (1.0 + np.exp(-(x @ np.asarray(coef) + intercept)))
    conflict = (x[:, 2] == 0) & (x[:, 3] == 0)  # both have identifiers, none shared: the veto
    return np.asarray(np.where(conflict, 0.0, score))


@dataclass(frozen=True)
class PairDecision:
    """A fitted pair decision: logistic weights over :data:`FEATURES` and a calibration of its score."""

    coef: tuple[float, ...]
    intercept: float
    calibration: calibration.Calibration

    def score(self, x: np.ndarray) -> np.ndarray:
        """The logistic score (before calibration) of each feature row."""
        return _logistic(x, self.coef, self.intercept)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.calibration.probability(self.score(x))

    def decide(self, x: np.ndarray) -> np.ndarray:
        return self.calibration.decide(self.score(x))


def fit(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    objective: calibration.Objective = "f1",
    target_precision: float = 0.95,
) -> PairDecision:
    """Learn the weights on train, calibrate and threshold the score on valid."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    coef, intercept = tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0])
    cal = calibration.fit(
        _logistic(x_valid, coef, intercept), y_valid, objective=objective, target_precision=target_precision
    )
    return PairDecision(coef, intercept, cal)
