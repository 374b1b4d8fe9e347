"""Calibrated thresholds: from labelled (similarity, label) pairs to a probability and a decision.

Pure functions over numpy arrays; nothing here touches DuckDB, LanceDB or a model.

A :class:`Calibration` maps a raw score (cosine similarity, or a pair-decision score) to a match
probability and carries the threshold a user acts on:

- **Probability.** Isotonic regression (default) or Platt scaling, fitted on validation pairs. Both
  are stored the same way, as piecewise-linear breakpoints ``(x, y)``, so Python
  (:meth:`Calibration.probability`) and the persisted SQL macro ``semantic_match_probability``
  interpolate the same curve. Platt's sigmoid is sampled on a fine grid for that.
- **Threshold.** ``objective="precision"`` picks the lowest score whose empirical precision (over
  pairs at or above it) reaches ``target_precision``, which maximises recall at that precision;
  ``objective="f1"`` picks the F1-best score.
- **Too few labels.** With fewer than ``min_positives`` positive pairs (default 30) the figures
  would be noise, so no threshold is fitted: the calibration says ``fallback`` with the reason and
  uses a conservative threshold, conservative in the direction of the task's expensive error
  (:data:`FALLBACK`). Where a false match is the expensive error (``high``: duplicates, brief
  matches) it is ``max(0.90, highest labelled non-match + 1e-6)``, never below a known non-match;
  where a missed match is (``low``: compliance lookalikes) it is ``min(0.50, lowest labelled match
  - 1e-6)``, never above a known match, so more goes to review. The same fallback applies when no
  threshold reaches the target precision.
- **Abstain zone.** A second, lower threshold sends pairs between the two to a person: the highest
  score at which the lower 95 % confidence bound of recall still reaches ``review_recall``, or the
  lowest labelled match when there are too few labels to show that (:func:`choose_review_threshold`).
- **Figures.** Precision, recall and F1 at the threshold with percentile bootstrap 95 % intervals
  (resampling pairs), expected calibration error (15 equal-width bins of the predicted
  probability), Brier score, and the truth-space table: TP/FP/FN/TN at every candidate threshold.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from semantic.errors import SemanticConfigError, SemanticDataError

logger = logging.getLogger("semantic")

Method = Literal["isotonic", "platt"]
Objective = Literal["precision", "f1"]

FALLBACK: dict[str, float] = {"high": 0.90, "low": 0.50}
"""Fallback rules: which way the threshold errs, and the cosine used when labels cannot support a
fitted threshold."""

FALLBACK_THRESHOLD = FALLBACK["high"]
TASK_FALLBACK = {"duplicate": "high", "brief_match": "high", "lookalike": "low"}
"""Which way each task's fallback errs (see the module docstring)."""

MIN_POSITIVES = 30
TIE_TOLERANCE = 1e-6
REVIEW_FALLBACK_BAND = 0.10
ECE_BINS = 15


@dataclass(frozen=True)
class Calibration:
    """A fitted score → probability map and the threshold chosen on the same labels."""

    method: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    threshold: float
    objective: str
    target_precision: float | None
    n_pairs: int
    n_positives: int
    fallback: bool = False
    reason: str = ""
    figures: dict[str, float] = field(default_factory=dict)
    review_threshold: float | None = None
    review_recall: float | None = None
    review_confidence: float | None = None

    def decision(self, scores: Any) -> list[str]:
        """``flag`` at or above the threshold, ``review`` at or above the review threshold, else ``clear``."""
        s = np.asarray(scores, dtype=float)
        review = self.threshold if self.review_threshold is None else self.review_threshold
        return ["flag" if v >= self.threshold else "review" if v >= review else "clear" for v in s]

    def probability(self, scores: Any) -> np.ndarray:
        """Match probability of each score (piecewise-linear over the breakpoints, clipped at the ends)."""
        s = np.asarray(scores, dtype=float)
        return np.interp(s, self.x, self.y)

    def decide(self, scores: Any) -> np.ndarray:
        """True where the score is at or above the threshold."""
        return np.asarray(scores, dtype=float) >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["x"], d["y"] = list(self.x), list(self.y)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        return cls(**{**d, "x": tuple(d["x"]), "y": tuple(d["y"])})


def _validate(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=float).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise SemanticDataError(f"calibration: {len(s)} scores but {len(y)} labels; pass one label per score")
    if len(s) and not np.isfinite(s).all():
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise SemanticDataError(
            f"calibration: score at position {bad} is {s[bad].item()}; drop pairs with blank text first"
        )
    if len(y) and not np.isin(y, (0, 1)).all():
        bad = int(np.flatnonzero(~np.isin(y, (0, 1)))[0])
        raise SemanticDataError(f"calibration: label at position {bad} is {y[bad].item()!r}; labels must be 0 or 1")
    return s, y.astype(int)


def fit_curve(scores: Any, labels: Any, method: Method = "isotonic") -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Breakpoints (x, y) of the calibration curve fitted by ``method``."""
    s, y = _validate(scores, labels)
    if len(s) == 0 or y.min() == y.max():
        # One class only: a flat curve at the observed rate.
        rate = float(y.mean()) if len(y) else 0.0
        return (-1.0, 1.0), (rate, rate)
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True).fit(s, y)
        return tuple(float(v) for v in iso.X_thresholds_), _smoothed_blocks(iso, s, y)
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6).fit(s.reshape(-1, 1), y)
        lo, hi = min(float(s.min()), -1.0), max(float(s.max()), 1.0)
        grid = np.linspace(lo, hi, 401)
        p = 1.0 / (1.0 + np.exp(-(lr.coef_[0, 0] * grid + lr.intercept_[0])))
        return tuple(float(v) for v in grid), tuple(float(v) for v in p)
    raise SemanticDataError(f"calibration method {method!r} is not one of 'isotonic', 'platt'")


def _smoothed_blocks(iso: Any, s: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """The isotonic curve's values with each block's rate replaced by its posterior mean under a
    Jeffreys prior, ``(positives + 1/2) / (pairs + 1)``, then made monotone again (weighted by
    ``pairs + 1``). Plain isotonic regression says 1.00 (or 0.00) for a block of, say, 40 matches
    out of 40, a certainty no 40 labels can give; this says 0.99 (0.01), and a big block barely
    moves."""
    from sklearn.isotonic import IsotonicRegression

    rates, block = np.unique(iso.predict(s), return_inverse=True)
    n = np.bincount(block, minlength=len(rates)).astype(float)
    k = np.bincount(block, weights=y.astype(float), minlength=len(rates))
    posterior = (k + 0.5) / (n + 1.0)
    monotone = IsotonicRegression(increasing=True).fit_transform(
        np.arange(len(rates)), posterior, sample_weight=n + 1.0
    )
    # each breakpoint takes the value of the block whose rate it carries
    nearest = np.abs(rates[:, None] - np.asarray(iso.y_thresholds_)[None, :]).argmin(axis=0)
    return tuple(float(v) for v in monotone[nearest])


def truth_space(scores: Any, labels: Any, thresholds: Any = None) -> list[dict[str, float]]:
    """TP/FP/FN/TN, precision, recall and F1 of ``score >= t`` for each threshold ``t``.

    By default the thresholds are the distinct scores (at most 200, taken at quantiles).
    """
    s, y = _validate(scores, labels)
    if thresholds is None:
        thresholds = default_thresholds(s)
    order = np.argsort(-s)
    s_sorted, y_sorted = s[order], y[order]
    pos = int(y.sum())
    cum_tp = np.concatenate([[0], np.cumsum(y_sorted)])
    rows = []
    for t in np.asarray(thresholds, dtype=float):
        n_pred = int(np.searchsorted(-s_sorted, -t, side="right"))  # count of scores >= t
        tp = int(cum_tp[n_pred])
        fp = n_pred - tp
        fn = pos - tp
        tn = len(s) - n_pred - fn
        precision = tp / n_pred if n_pred else 1.0
        recall = tp / pos if pos else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "threshold": float(t),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "tn": tn,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        )
    return rows


def default_thresholds(scores: np.ndarray, at_most: int = 200) -> np.ndarray:
    """The distinct scores, or ``at_most`` of them taken at quantiles."""
    distinct = np.unique(scores)
    if len(distinct) > at_most:
        distinct = np.unique(np.quantile(scores, np.linspace(0, 1, at_most), method="lower"))
    return distinct


def choose_threshold(
    scores: Any, labels: Any, objective: Objective = "precision", target_precision: float = 0.95
) -> float | None:
    """The threshold for ``objective``, or None when no threshold reaches the target precision.

    The threshold is the chosen score minus :data:`TIE_TOLERANCE`, so that float noise in a score
    recomputed later (float32 vectors) does not flip a pair tied with the chosen one.
    """
    s, y = _validate(scores, labels)
    if not len(s):
        return None
    thresholds, precision, f1, tp = _at_each_score(s, y)
    kept = tp > 0
    if not kept.any():
        return None
    thresholds, precision, f1 = thresholds[kept], precision[kept], f1[kept]
    if objective == "f1":
        return float(thresholds[f1 == f1.max()].max()) - TIE_TOLERANCE
    if objective != "precision":
        raise SemanticDataError(f"calibration objective {objective!r} is not one of 'precision', 'f1'")
    reaching = precision >= target_precision
    return float(thresholds[reaching].min()) - TIE_TOLERANCE if reaching.any() else None


def _at_each_score(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, precision, F1, true positives) of ``score >= t`` at each distinct score ``t``, in one pass
    over the sorted scores: the rows :func:`truth_space` gives for those thresholds, with the same arithmetic."""
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), len(s) - 1]  # the last of each run of tied scores
    n_pred = (last + 1).astype(float)
    tp = np.cumsum(y_sorted)[last].astype(float)
    pos = float(y.sum())
    precision = tp / n_pred
    recall = tp / pos if pos else np.zeros_like(tp)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)
    return s_sorted[last], precision, f1, tp


def choose_review_threshold(scores: Any, labels: Any, target_recall: float,
                            confidence: float | None = None) -> float | None:
    """The highest score ``t`` at which recall of ``score >= t`` reaches ``target_recall``.

    With ``confidence``, recall must reach it with that confidence: the one-sided Clopper-Pearson
    lower bound of recall, not its point estimate. With few labelled matches no ``t`` can show
    that (at 0.95 and 0.95 it takes at least 59), and the threshold is the lowest labelled match,
    so every known match reaches the review zone. 95 % of 51 labelled matches would let 2 of them
    through; with as few labels the estimate is too loose to leave any out.
    """
    s, y = _validate(scores, labels)
    positives = np.sort(s[y == 1])[::-1]
    n = len(positives)
    if not n:
        return None
    if confidence is None:
        needed = int(math.ceil(target_recall * n))
    else:
        if not 0.0 < confidence < 1.0:
            raise SemanticDataError(f"review confidence must be in (0, 1) or None, got {confidence}")
        from scipy.stats import beta

        caught = np.arange(1, n + 1)
        lower = beta.ppf(1.0 - confidence, caught, n - caught + 1)
        enough = np.flatnonzero(lower >= target_recall)
        needed = int(enough[0]) + 1 if len(enough) else n
    return float(positives[max(needed, 1) - 1]) - TIE_TOLERANCE


def metrics_at(scores: Any, labels: Any, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of ``score >= threshold``."""
    return {k: v for k, v in truth_space(scores, labels, [threshold])[0].items() if k != "threshold"}


def bootstrap_intervals(
    scores: Any, labels: Any, threshold: float, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of precision, recall and F1 at ``threshold`` (pairs resampled)."""
    s, y = _validate(scores, labels)
    if len(s) == 0:
        return {k: (math.nan, math.nan) for k in ("precision", "recall", "f1")}
    rng = np.random.default_rng(seed)
    predicted = (s >= threshold).astype(int)
    idx = rng.integers(0, len(s), size=(n_boot, len(s)))
    p, t = predicted[idx], y[idx]
    tp = (p & t).sum(axis=1).astype(float)
    n_pred, n_pos = p.sum(axis=1).astype(float), t.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, 1.0)
        recall = np.where(n_pos > 0, tp / n_pos, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {
        name: (float(np.percentile(v, lo)), float(np.percentile(v, hi)))
        for name, v in (("precision", precision), ("recall", recall), ("f1", f1))
    }


def expected_calibration_error(probabilities: Any, labels: Any, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` equal-width bins of the predicted probability."""
    p, y = _validate(probabilities, labels)
    if len(p) == 0:
        return math.nan
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += abs(float(p[mask].mean()) - float(y[mask].mean())) * mask.sum() / len(p)
    return float(total)


def brier_score(probabilities: Any, labels: Any) -> float:
    p, y = _validate(probabilities, labels)
    return float(np.mean((p - y) ** 2)) if len(p) else math.nan


def fit(
    scores: Any,
    labels: Any,
    method: Method = "isotonic",
    objective: Objective = "precision",
    target_precision: float = 0.95,
    min_positives: int = MIN_POSITIVES,
    fallback_rule: str = "high",
    n_boot: int = 1000,
    seed: int = 0,
    review_recall: float | None = None,
    review_confidence: float | None = None,
) -> Calibration:
    """Fit the probability curve and choose the threshold on labelled validation pairs.

    With ``review_recall``, a second, lower threshold opens an abstain zone: the highest score at
    which recall (of ``score >= t``) still reaches ``review_recall`` (with ``review_confidence``,
    its lower confidence bound does; see :func:`choose_review_threshold`), never above the threshold.
    Pairs between the two go to a person (``review``) instead of being passed or failed. On a
    fallback the review threshold is the fallback threshold minus :data:`REVIEW_FALLBACK_BAND`.
    """
    if not 0.0 < target_precision <= 1.0:
        raise SemanticDataError(f"target_precision must be in (0, 1], got {target_precision}")
    s, y = _validate(scores, labels)
    x_pts, y_pts = fit_curve(s, y, method)
    n_pos = int(y.sum())
    reason = ""
    threshold: float | None = None
    if n_pos < min_positives:
        reason = f"only {n_pos} positive pairs (fewer than {min_positives}): label more matches to fit a threshold"
    else:
        threshold = choose_threshold(s, y, objective, target_precision)
        if threshold is None:
            reason = f"no threshold reaches precision {target_precision} on these labels"
    fallback = threshold is None
    if threshold is None:
        if fallback_rule not in FALLBACK:
            raise SemanticDataError(f"calibration fallback_rule {fallback_rule!r} is not one of {sorted(FALLBACK)}")
        default = FALLBACK[fallback_rule]
        if fallback_rule == "high":
            negatives = s[y == 0]
            highest_negative = float(negatives.max()) + 1e-6 if len(negatives) else -math.inf
            threshold = min(1.0, max(default, highest_negative))
        else:
            positives = s[y == 1]
            lowest_positive = float(positives.min()) - 1e-6 if len(positives) else math.inf
            threshold = max(-1.0, min(default, lowest_positive))
    review: float | None = None
    if review_recall is not None:
        if not 0.0 < review_recall <= 1.0:
            raise SemanticDataError(f"review_recall must be in (0, 1], got {review_recall}")
        review = choose_review_threshold(s, y, review_recall, review_confidence) if not fallback else None
        review = min(float(threshold), review if review is not None else float(threshold) - REVIEW_FALLBACK_BAND)
    calibration = Calibration(
        review_threshold=review,
        review_recall=review_recall,
        review_confidence=review_confidence if review_recall is not None else None,
        method=method,
        x=x_pts,
        y=y_pts,
        threshold=float(threshold),
        objective=objective,
        target_precision=target_precision if objective == "precision" else None,
        n_pairs=len(s),
        n_positives=n_pos,
        fallback=fallback,
        reason=reason,
    )
    return _with_figures(calibration, s, y, n_boot=n_boot, seed=seed)


def _with_figures(calibration: Calibration, s: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> Calibration:
    figures = evaluate(calibration, s, y, n_boot=n_boot, seed=seed)
    # A curve scored on the pairs it was fitted on is calibrated by construction (isotonic ECE is
    # 0 in-sample), so ECE and Brier come from 5-fold cross-fitted probabilities instead.
    cross = cross_fitted_probability(s, y, calibration.method, seed=seed)
    if cross is not None:
        figures["ece"], figures["brier"] = expected_calibration_error(cross, y), brier_score(cross, y)
    return replace(calibration, figures=figures)


def cross_fitted_probability(scores: np.ndarray, labels: np.ndarray, method: str, folds: int = 5,
                             seed: int = 0) -> np.ndarray | None:
    """Each pair's probability from a curve fitted on the other folds (None when too few labels)."""
    if min(int(labels.sum()), int((1 - labels).sum())) < folds:
        return None
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(len(scores))
    for fit_idx, held_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(scores, labels):
        x, y = fit_curve(scores[fit_idx], labels[fit_idx], method)  # type: ignore[arg-type]
        out[held_idx] = np.interp(scores[held_idx], x, y)
    return out


def evaluate(calibration: Calibration, scores: Any, labels: Any, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """Figures of a calibration on (held-out) labelled pairs: P/R/F1 at its threshold with 95 %
    bootstrap intervals, ECE and Brier score of its probabilities."""
    s, y = _validate(scores, labels)
    out = metrics_at(s, y, calibration.threshold)
    for name, (lo, hi) in bootstrap_intervals(s, y, calibration.threshold, n_boot=n_boot, seed=seed).items():
        out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
    prob = calibration.probability(s)
    out["ece"] = expected_calibration_error(prob, y)
    out["brier"] = brier_score(prob, y)
    return {k: float(v) for k, v in out.items()}


# --- The warehouse side: one calibration per task and model version -------------------------

FIGURE_COLUMNS = ("precision", "precision_lo", "precision_hi", "recall", "recall_lo", "recall_hi",
                  "f1", "f1_lo", "f1_hi", "ece", "brier")
"""The figures of a calibration that ``dim_similarity_thresholds`` carries, one column each."""

TASKS = ("duplicate", "brief_match", "lookalike")
"""The tasks a threshold is fitted for: asset/asset, brief/asset and asset/compliance reference."""


def calibrate_tasks(
    labelled: Any,
    model_version: str,
    method: Method = "isotonic",
    objective: Objective = "precision",
    target_precision: float = 0.95,
    min_positives: int = MIN_POSITIVES,
    review_recall: float | None = 0.95,
    review_confidence: float | None = 0.95,
) -> dict[str, Calibration]:
    """One calibration per task from labelled similarities, each with a review threshold
    reaching ``review_recall`` with ``review_confidence`` (the abstain zone; see :func:`fit`).

    Args:
        labelled: Arrow table (or list of dicts) with ``task``, ``label`` and ``similarity`` columns
            (``int_similarity_labelled``), all embedded with ``model_version``.
        model_version: The encoder version the similarities come from.

    Every task in :data:`TASKS` gets a calibration; a task without labels falls back (see the module
    docstring), with a reason that says so.
    """
    rows = labelled.to_pylist() if hasattr(labelled, "to_pylist") else list(labelled)
    out = {}
    for task in sorted(set(TASKS) | {r["task"] for r in rows}):
        chosen = [r for r in rows if r["task"] == task and r["similarity"] is not None]
        s = np.array([r["similarity"] for r in chosen], dtype=float)
        y = np.array([int(r["label"]) for r in chosen], dtype=int)
        cal = fit(
            s, y, method=method, objective=objective, target_precision=target_precision,
            min_positives=min_positives, fallback_rule=TASK_FALLBACK.get(task, "high"),
            review_recall=review_recall, review_confidence=review_confidence,
        )
        if not chosen:
            cal = replace(cal, reason=f"no labelled {task} pairs for model version {model_version}: "
                          "label some to fit a threshold")
        out[task] = cal
        if cal.fallback:
            logger.warning(
                "calibration of %s: %s; using the conservative threshold %.3f", task, cal.reason, cal.threshold
            )
        else:
            logger.info(
                "calibration of %s: threshold %.3f (precision %.3f, recall %.3f on %d pairs)",
                task,
                cal.threshold,
                cal.figures["precision"],
                cal.figures["recall"],
                cal.n_pairs,
            )
    return out


#: A calibrated threshold keeping less than this share of the labelled matches is reported (dbt var
#: ``calibration_min_recall``): a precise threshold that finds almost nothing looks like a working one.
MIN_RECALL = 0.2


def low_recall_warning(task: str, cal: Calibration, min_recall: float | None = MIN_RECALL) -> str | None:
    """What to tell the user when ``cal``'s threshold keeps under ``min_recall`` of its labelled matches; else None."""
    recall = cal.figures.get("recall")
    if min_recall is None or cal.fallback or recall is None or math.isnan(recall) or recall >= min_recall:
        return None
    aim = (f"the {cal.objective} objective at target precision {cal.target_precision:.2f}"
           if cal.objective == "precision" else f"the {cal.objective} objective")
    return (f"{task}: the calibrated threshold {cal.threshold:.3f} ({aim}) keeps recall {recall:.3f} of the "
            f"{cal.n_positives} labelled matches, under calibration_min_recall {min_recall:g}: it will find almost "
            "none of them. Set calibration_objective: f1 (or a lower calibration_target_precision), label more pairs "
            "near the threshold (the review zone), or label pairs drawn from this table's own candidates")


def thresholds_table(calibrations: dict[str, Calibration], labelled: Any, model_version: str,
                     min_recall: float | None = MIN_RECALL) -> Any:
    """``dim_similarity_thresholds``: one row per task with threshold, figures, curve and truth space, and a
    warning when a threshold keeps under ``min_recall`` of its labelled matches (:func:`low_recall_warning`)."""
    import datetime

    import pyarrow as pa

    rows = labelled.to_pylist() if hasattr(labelled, "to_pylist") else list(labelled)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    out = []
    for task, cal in calibrations.items():
        chosen = [r for r in rows if r["task"] == task and r["similarity"] is not None]
        s = np.array([r["similarity"] for r in chosen], dtype=float)
        chosen_thresholds = [cal.threshold] + ([cal.review_threshold] if cal.review_threshold is not None else [])
        grid = np.union1d(default_thresholds(s), chosen_thresholds)  # the chosen thresholds are always rows
        table = truth_space(s, [int(r["label"]) for r in chosen], grid) if chosen else []
        f = cal.figures
        out.append(
            {
                "task": task,
                "model_version": model_version,
                "method": cal.method,
                "objective": cal.objective,
                "target_precision": cal.target_precision,
                "threshold": cal.threshold,
                "is_fallback": cal.fallback,
                "fallback_reason": cal.reason or None,
                "n_pairs": cal.n_pairs,
                "n_positives": cal.n_positives,
                **{
                    k: (f.get(k) if chosen else None)
                    for k in FIGURE_COLUMNS
                },
                "review_threshold": cal.review_threshold,
                "review_recall": cal.review_recall,
                "review_confidence": cal.review_confidence,
                "low_recall_warning": low_recall_warning(task, cal, min_recall) if chosen else None,
                "curve_x": list(cal.x),
                "curve_y": list(cal.y),
                "truth_space": table,
                "calibrated_at": now,
            }
        )
    truth_type = pa.list_(
        pa.struct(
            [
                ("threshold", pa.float64()),
                ("tp", pa.int64()),
                ("fp", pa.int64()),
                ("fn", pa.int64()),
                ("tn", pa.int64()),
                ("precision", pa.float64()),
                ("recall", pa.float64()),
                ("f1", pa.float64()),
            ]
        )
    )
    schema = pa.schema(
        [
            ("task", pa.string()),
            ("model_version", pa.string()),
            ("method", pa.string()),
            ("objective", pa.string()),
            ("target_precision", pa.float64()),
            ("threshold", pa.float64()),
            ("is_fallback", pa.bool_()),
            ("fallback_reason", pa.string()),
            ("n_pairs", pa.int64()),
            ("n_positives", pa.int64()),
            *[
                (k, pa.float64())
                for k in FIGURE_COLUMNS
            ],
            ("review_threshold", pa.float64()),
            ("review_recall", pa.float64()),
            ("review_confidence", pa.float64()),
            ("low_recall_warning", pa.string()),
            ("curve_x", pa.list_(pa.float64())),
            ("curve_y", pa.list_(pa.float64())),
            ("truth_space", truth_type),
            ("calibrated_at", pa.timestamp("us")),
        ]
    )
    return pa.Table.from_pylist(out, schema=schema)


def save(directory: Path | str, model_version: str, calibrations: dict[str, Calibration]) -> Path:
    """Write the calibrations of a model version to ``<directory>/<model_version>.json`` (atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{model_version}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({task: c.to_dict() for task, c in calibrations.items()}, indent=1))
    tmp.replace(path)
    return path


def exists(directory: Path | str, model_version: str) -> bool:
    """Whether calibrations were saved for a model version (what :func:`load` reads)."""
    return (Path(directory) / f"{model_version}.json").is_file()


def load(directory: Path | str, model_version: str) -> dict[str, Calibration]:
    """The calibrations saved for a model version.

    Raises:
        SemanticConfigError: None were saved for that version yet.
    """
    path = Path(directory) / f"{model_version}.json"
    if not path.is_file():
        raise SemanticConfigError(
            f"no calibration for model version {model_version} in {path.parent}; run `dbt build` "
            "(model dim_similarity_thresholds) to calibrate the active encoder on the labelled pairs"
        )
    return {task: Calibration.from_dict(d) for task, d in json.loads(path.read_text()).items()}


REPORT_SUFFIX = ".report.json"
_NOT_IN_REPORT = ("truth_space", "calibrated_at", "inputs_fingerprint")


def save_report(directory: Path | str, model_version: str, thresholds: Any, labelled: Any) -> Path:
    """What the model report draws of a model version (``<directory>/<model_version>.report.json``, atomically):
    each task's ``dim_similarity_thresholds`` row (less the truth space) and its calibration pairs' scores and
    labels, so a later build can still show this version beside the next one."""
    rows = labelled.to_pylist() if hasattr(labelled, "to_pylist") else list(labelled)
    out: dict[str, Any] = {}
    for row in thresholds.to_pylist():
        pairs = [r for r in rows if r["task"] == row["task"] and r["similarity"] is not None and r["label"] is not None]
        out[row["task"]] = {**{k: v for k, v in row.items() if k not in _NOT_IN_REPORT},
                            "scores": [float(r["similarity"]) for r in pairs],
                            "labels": [int(r["label"]) for r in pairs]}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{model_version}{REPORT_SUFFIX}"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(out, default=str))
    os.replace(tmp, path)
    return path
