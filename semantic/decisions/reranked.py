"""The pair decision's second stage: the pair reranker, asked only where the decision is unsure.

The pair decision (:mod:`semantic.decisions.pair_decision`) is cheap: a cosine, a TF-IDF product and
a few regular expressions per pair. The pair reranker (:mod:`semantic.encoding.reranker`) reads
both texts at once and costs a transformer pass per pair and order, about 16 s per 1,000 pairs on
two cores. Most candidate pairs are settled without it: a calibrated match probability near 0 or
near 1 will not be overturned. So the reranker scores only the pairs whose first-stage probability
lies in an **uncertainty band** (:data:`DEFAULT_BAND`, dbt var ``reranker_band``), and there a
logistic regression over the two logits, ``[logit(first-stage score), logit(reranker probability)]``,
decides.

**Stacking on pairs the reranker never saw.** The reranker is trained on the ``train`` pairs, where
it scores almost perfectly, so weights learned there over-trust it (measured on walmart_amazon:
test AP rose from 0.821 to 0.846 but F1 fell from 0.747 to 0.745, its threshold collapsing to
0.04). The second stage is therefore learned on the held-out (calibration) pairs, and its
threshold is chosen on *out-of-fold* scores: each fold's scores come from weights fitted on the
other folds, so the threshold is not chosen on pairs the weights were fitted to.

**One score.** Inside the band the stacked probability is mapped linearly onto the band's range
of first-stage scores, ``lo + p * (hi - lo)``; outside it the first-stage score is kept. The
result orders every pair (below the band, the band by the stacked probability, above the band),
so it is calibrated and thresholded like any other score. The identifier veto of the first stage
(score 0) is never in the band: the reranker cannot overturn it.

**Only when it helps.** The reranker is left out, and the reason reported, when on the held-out pairs
the reranked score's out-of-fold average precision does not beat the first stage's, or its figure at
the threshold does not (F1 for the ``f1`` objective, recall at the target precision for ``precision``),
or the band holds too few labelled matches to learn from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from semantic.decisions import calibration
from semantic.errors import SemanticConfigError


class FirstStage(Protocol):
    """What the second stage needs of the first (a :class:`semantic.decisions.pair_decision.PairDecision`):
    the calibration of its score."""

    @property
    def calibration(self) -> calibration.Calibration: ...

#: The first-stage calibrated match probabilities between which the reranker is asked.
DEFAULT_BAND = (0.02, 0.98)
#: Folds of the out-of-fold stacking (fewer when the band holds fewer matches or non-matches).
FOLDS = 5
#: The fewest labelled matches (and non-matches) in the band to learn the stacking weights from.
MIN_IN_BAND = 10
_EPS = 1e-4


def check_band(band: Sequence[float]) -> tuple[float, float]:
    """A band as two probabilities ``0 <= lo < hi <= 1``.

    Raises:
        SemanticConfigError: Not two numbers in that order.
    """
    try:
        lo, hi = (float(v) for v in band)
    except (TypeError, ValueError):
        raise SemanticConfigError(f"reranker_band must be two probabilities [lo, hi], got {band!r}") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise SemanticConfigError(f"reranker_band must satisfy 0 <= lo < hi <= 1, got [{lo}, {hi}]: the reranker "
                                  "scores the pairs whose pair-decision probability lies between them "
                                  "(e.g. [0.02, 0.98])")
    return lo, hi


def score_band(first: FirstStage, band: Sequence[float] = DEFAULT_BAND) -> tuple[float, float]:
    """The first-stage scores ``[lo, hi]`` whose calibrated probability lies in ``band``."""
    p_lo, p_hi = check_band(band)
    grid = np.linspace(0.0, 1.0, 4001)
    p = first.calibration.probability(grid)
    above, below = grid[p >= p_lo], grid[p <= p_hi]
    if not len(above) or not len(below):
        return 1.0, 0.0  # an empty band
    return float(above.min()), float(below.max())


def band_mask(first_score: Any, band: tuple[float, float]) -> np.ndarray:
    """Which pairs, by their first-stage score, lie in the band of scores ``band`` (:func:`score_band`); a
    vetoed pair (score 0) never does, so the reranker cannot overturn the identifier veto."""
    s = np.asarray(first_score, dtype=float)
    return np.asarray((s >= band[0]) & (s <= band[1]) & (s > 0.0))


def ask_in_band(first_score: Any, band: tuple[float, float], texts_a: Sequence[str], texts_b: Sequence[str],
                score: Callable[[Sequence[str], Sequence[str]], Any]) -> np.ndarray:
    """The reranker's probability (``score``) of the pairs in the band of scores ``band``, NaN for the rest:
    only the band's pairs are scored."""
    out = np.full(len(texts_a), np.nan)
    rows = [int(i) for i in np.flatnonzero(band_mask(first_score, band))]
    if rows:
        out[rows] = np.asarray(score([texts_a[i] for i in rows], [texts_b[i] for i in rows]), dtype=np.float64)
    return out


def _logit(p: Any) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), _EPS, 1.0 - _EPS)
    return np.asarray(np.log(q / (1.0 - q)))


def _stack_features(first_score: np.ndarray, reranker_score: np.ndarray) -> np.ndarray:
    return np.column_stack([_logit(first_score), _logit(np.nan_to_num(reranker_score, nan=0.5))])


@dataclass(frozen=True)
class RerankedDecision:
    """A fitted second stage.

    Attributes:
        first: The pair decision it refines.
        band: The first-stage scores ``(lo, hi)`` where the reranker is asked.
        probability_band: The same band as first-stage calibrated probabilities.
        coef: Weights of ``[logit(first-stage score), logit(reranker probability)]``.
        intercept: The stacking intercept.
        calibration: Of the combined score, fitted on the out-of-fold scores of the held-out pairs.
        reranker_version: The reranker whose scores the weights were learned on.
        held_share_in_band: Share of the held-out pairs in the band (what the reranker costs, roughly).
        first_ap: Average precision of the first stage on the held-out pairs.
        reranked_ap: The same of the combined score, out of fold.
    """

    first: FirstStage
    band: tuple[float, float]
    probability_band: tuple[float, float]
    coef: tuple[float, float]
    intercept: float
    calibration: calibration.Calibration
    reranker_version: str
    held_share_in_band: float
    first_ap: float
    reranked_ap: float

    def in_band(self, first_score: Any) -> np.ndarray:
        """Which pairs (by their first-stage score) the reranker is asked about (:func:`band_mask`)."""
        return band_mask(first_score, self.band)

    def combine(self, first_score: Any, reranker_score: Any) -> np.ndarray:
        """The combined score: the stacked probability mapped onto the band where the pair is in it (its
        reranker score must then be given), the first-stage score elsewhere."""
        s = np.asarray(first_score, dtype=float).copy()
        r = np.asarray(reranker_score, dtype=float)
        mask = self.in_band(s)
        if mask.any():
            z = _stack_features(s[mask], r[mask])
            p = 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))
            lo, hi = self.band
            s[mask] = lo + p * (hi - lo)
        return s

    def summary(self) -> str:
        return (f"reranker {self.reranker_version} asked between decision probabilities {self.probability_band[0]:g} "
                f"and {self.probability_band[1]:g} ({self.held_share_in_band:.1%} of the held-out pairs); held-out AP "
                f"{self.first_ap:.3f} -> {self.reranked_ap:.3f} (out of fold)")


def _fold_ids(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A stratified fold number per row: matches and non-matches dealt round-robin after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(labels), dtype=int)
    for value in (0, 1):
        rows = np.flatnonzero(labels == value)
        out[rng.permutation(rows)] = np.arange(len(rows)) % folds
    return out


def fit(
    first: FirstStage,
    first_score: Any,
    reranker_score: Any,
    labels: Any,
    reranker_version: str,
    band: Sequence[float] = DEFAULT_BAND,
    objective: calibration.Objective = "precision",
    target_precision: float = 0.95,
    method: calibration.Method = "isotonic",
    min_positives: int = calibration.MIN_POSITIVES,
    seed: int = 0,
) -> tuple[RerankedDecision | None, str]:
    """Learn the second stage on held-out labelled pairs the reranker was not trained on.

    Args:
        first: The fitted pair decision.
        first_score: Its score (:meth:`PairDecision.score`) of each held-out pair.
        reranker_score: The reranker's probability of each held-out pair (NaN where it was not
            scored; only pairs in the band are used).
        labels: 1 for a match, 0 for a non-match.
        reranker_version: Recorded with the decision.
        band: The first-stage probabilities between which the reranker is asked.
        objective, target_precision, method, min_positives: As for :func:`semantic.decisions.calibration.fit`.

    Returns:
        The second stage, or None and why it is left out.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    s = np.asarray(first_score, dtype=float)
    r = np.asarray(reranker_score, dtype=float)
    y = np.asarray(labels, dtype=float)
    p_band = check_band(band)
    lo, hi = score_band(first, p_band)
    mask = band_mask(s, (lo, hi)) & ~np.isnan(r)
    n_pos, n_neg = int(y[mask].sum()), int(mask.sum() - y[mask].sum())
    if min(n_pos, n_neg) < MIN_IN_BAND:
        return None, (f"the uncertainty band holds {n_pos} labelled matches and {n_neg} non-matches "
                      f"(need {MIN_IN_BAND} of each): label more pairs near the threshold, or widen reranker_band")
    z, yb = _stack_features(s[mask], r[mask]), y[mask]
    folds = min(FOLDS, n_pos, n_neg)
    fold = _fold_ids(yb, folds, seed)
    oof = np.zeros(len(yb))
    for k in range(folds):
        fitted = LogisticRegression(max_iter=1000).fit(z[fold != k], yb[fold != k])
        oof[fold == k] = fitted.predict_proba(z[fold == k])[:, 1]
    combined = s.copy()
    combined[mask] = lo + oof * (hi - lo)
    first_ap = float(average_precision_score(y, s))
    reranked_ap = float(average_precision_score(y, combined))
    if reranked_ap <= first_ap:
        return None, (f"the reranker {reranker_version} does not improve the pair decision on the held-out pairs "
                      f"(AP {first_ap:.3f} without it, {reranked_ap:.3f} with it, out of fold)")
    cal = calibration.fit(combined, y, method=method, objective=objective, target_precision=target_precision,
                          min_positives=min_positives)
    if cal.fallback:
        return None, f"the reranked decision has no calibrated threshold ({cal.reason})"
    # what the threshold is for must improve too: F1 for the f1 objective, else recall at the target precision
    figure = "f1" if objective == "f1" else "recall"
    before, after = first.calibration.figures.get(figure), cal.figures.get(figure)
    if before is not None and after is not None and after <= before:
        return None, (f"the reranker {reranker_version} ranks the held-out pairs better (AP {first_ap:.3f} -> "
                      f"{reranked_ap:.3f}, out of fold) but does not improve the decision at its threshold "
                      f"({figure} {before:.3f} without it, {after:.3f} with it)")
    final = LogisticRegression(max_iter=1000).fit(z, yb)
    coef = (float(final.coef_[0][0]), float(final.coef_[0][1]))
    return RerankedDecision(first, (lo, hi), p_band, coef, float(final.intercept_[0]), cal, reranker_version,
                            float(mask.mean()), first_ap, reranked_ap), ""
