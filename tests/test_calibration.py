"""Calibration: probability curves, thresholds at a target precision, fallbacks and figures."""

import numpy as np
import pytest

from semantic.decisions import calibration
from semantic.errors import SemanticDataError


def _calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose true match probability is score**2 (monotone but not the identity)."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0, 1, n)
    return s, (rng.uniform(0, 1, n) < s**2).astype(int)


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_probability_is_monotone_bounded_and_calibrated_on_held_out_pairs(method):
    s, y = _calibrated_sample(4000, 0)
    cal = calibration.fit(s, y, method=method)
    grid = np.linspace(-1, 1, 501)
    p = cal.probability(grid)
    assert (np.diff(p) >= -1e-12).all() and p.min() >= 0 and p.max() <= 1
    s2, y2 = _calibrated_sample(4000, 1)
    figures = calibration.evaluate(cal, s2, y2)
    assert figures["ece"] < 0.05
    # The raw score is not a probability here (true p = s**2): its ECE is far worse.
    assert calibration.expected_calibration_error(s2, y2) > 0.1


def test_threshold_reaches_target_precision_with_most_recall():
    # Matches above 0.8, non-matches below 0.6, plus one non-match at 0.85.
    s = np.array([0.9, 0.88, 0.86, 0.85, 0.84, 0.83, 0.82, 0.81, 0.80, 0.5, 0.4])
    y = np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0])
    assert calibration.choose_threshold(s, y, target_precision=1.0) == pytest.approx(0.86, abs=2e-6)
    assert calibration.choose_threshold(s, y, target_precision=0.85) == pytest.approx(0.80, abs=2e-6)  # 8/9
    assert calibration.choose_threshold(s, y, objective="f1") == pytest.approx(0.80, abs=2e-6)
    # a pair tied with the chosen score, recomputed with float32 noise, still passes
    assert calibration.fit(s, y, min_positives=1, target_precision=1.0).decide([0.86 - 1e-7])[0]


def test_too_few_positives_falls_back_and_says_why():
    s = np.r_[np.linspace(0.2, 0.93, 200), [0.95, 0.97]]
    y = np.r_[np.zeros(200, int), [1, 1]]
    cal = calibration.fit(s, y)
    assert cal.fallback and "only 2 positive pairs" in cal.reason
    assert cal.threshold == pytest.approx(0.93 + 1e-6)  # above every labelled non-match
    many = calibration.fit(np.linspace(0, 0.5, 50), np.zeros(50, int), min_positives=0)
    assert many.fallback and many.threshold == calibration.FALLBACK_THRESHOLD
    # Where a missed match is the expensive error, the fallback errs low: never above a known match.
    low = calibration.fit(s, y, fallback_rule="low")
    assert low.fallback and low.threshold == 0.5
    s_low = np.r_[np.linspace(0.1, 0.3, 100), [0.42, 0.6]]
    assert calibration.fit(s_low, np.r_[np.zeros(100, int), [1, 1]], fallback_rule="low").threshold == pytest.approx(
        0.42 - 1e-6
    )


def test_truth_space_counts_add_up():
    s, y = _calibrated_sample(500, 2)
    table = calibration.truth_space(s, y)
    assert len(table) == 200
    for row in table:
        assert row["tp"] + row["fp"] + row["fn"] + row["tn"] == 500
        assert row["tp"] == int(((s >= row["threshold"]) & (y == 1)).sum())
        assert row["fp"] == int(((s >= row["threshold"]) & (y == 0)).sum())


def test_bootstrap_interval_brackets_the_point_estimate():
    s, y = _calibrated_sample(1000, 3)
    point = calibration.metrics_at(s, y, 0.7)
    ci = calibration.bootstrap_intervals(s, y, 0.7, n_boot=300)
    for name in ("precision", "recall", "f1"):
        lo, hi = ci[name]
        assert lo <= point[name] <= hi and hi - lo < 0.2


def test_round_trip_and_bad_input():
    s, y = _calibrated_sample(300, 4)
    cal = calibration.fit(s, y, n_boot=50)
    again = calibration.Calibration.from_dict(cal.to_dict())
    assert np.allclose(again.probability(s), cal.probability(s)) and again.threshold == cal.threshold
    with pytest.raises(SemanticDataError, match="label at position 1 is 2"):
        calibration.fit([0.1, 0.2], [0, 2])
    with pytest.raises(SemanticDataError, match="score at position 0 is nan"):
        calibration.fit([np.nan, 0.2], [0, 1])
    with pytest.raises(SemanticDataError, match="3 scores but 2 labels"):
        calibration.fit([0.1, 0.2, 0.3], [0, 1])


def test_review_threshold_opens_an_abstain_zone_below_the_flag_threshold():
    s, y = _calibrated_sample(2000, 5)
    cal = calibration.fit(s, y, review_recall=0.9)
    assert cal.review_threshold is not None and cal.review_threshold <= cal.threshold
    assert calibration.metrics_at(s, y, cal.review_threshold)["recall"] >= 0.9
    assert calibration.metrics_at(s, y, cal.review_threshold + 0.01)["recall"] < 0.9 + 0.02
    assert cal.decision(
        [cal.threshold + 0.01, (cal.threshold + cal.review_threshold) / 2, cal.review_threshold - 0.01]
    ) == ["flag", "review", "clear"]
    few = calibration.fit([0.2, 0.3, 0.8], [0, 0, 1], review_recall=0.9, fallback_rule="low")
    assert few.fallback and few.review_threshold == pytest.approx(few.threshold - 0.10)


def test_with_a_confidence_the_review_zone_reaches_the_recall_target_on_its_lower_bound():
    from scipy.stats import beta

    # 51 labelled matches, as in the demo's calibration splits: 95 % of them would let 2 through,
    # and no number caught shows 95 % recall with 95 % confidence, so every known match is kept
    rng = np.random.default_rng(3)
    pos, neg = rng.uniform(0.3, 0.9, 51), rng.uniform(0.0, 0.5, 200)
    s, y = np.r_[pos, neg], np.r_[np.ones(51), np.zeros(200)]
    point = calibration.choose_review_threshold(s, y, 0.95)
    assert (pos < point).sum() == 2
    bound = calibration.choose_review_threshold(s, y, 0.95, confidence=0.95)
    assert bound == pytest.approx(pos.min() - calibration.TIE_TOLERANCE)
    # with 2,000 matches the bound is reachable: the threshold is the highest whose lower bound is
    many = rng.uniform(0.0, 1.0, 2000)
    t = calibration.choose_review_threshold(many, np.ones(2000), 0.9, confidence=0.95)
    caught = int((many >= t).sum())
    assert beta.ppf(0.05, caught, 2000 - caught + 1) >= 0.9 > beta.ppf(0.05, caught - 1, 2000 - caught + 2)
    assert caught > 0.9 * 2000
    cal = calibration.fit(s, y, review_recall=0.95, review_confidence=0.95)
    assert cal.review_threshold == pytest.approx(min(bound, cal.threshold)) and cal.review_confidence == 0.95
    assert calibration.Calibration.from_dict(cal.to_dict()) == cal
    with pytest.raises(SemanticDataError, match="review confidence must be in"):
        calibration.choose_review_threshold(s, y, 0.95, confidence=1.0)


def test_isotonic_probability_never_claims_certainty_from_a_few_labels():
    rng = np.random.default_rng(0)
    s = np.r_[rng.uniform(0.4, 0.7, 40), rng.uniform(0.0, 0.3, 60)]
    y = np.r_[np.ones(40, int), np.zeros(60, int)]
    cal = calibration.fit(s, y)
    # 40 matches of 40 above 0.4 and 0 of 60 below: the Jeffreys posterior mean, not 1 and 0
    assert cal.probability([0.9])[0] == pytest.approx(40.5 / 41)
    assert cal.probability([-0.5])[0] == pytest.approx(0.5 / 61)
    # with many labels a block barely moves, and the curve stays monotone
    from sklearn.isotonic import IsotonicRegression

    big_s, big_y = _calibrated_sample(20000, 4)
    grid = np.linspace(0, 1, 201)
    p = calibration.fit(big_s, big_y).probability(grid)
    plain = IsotonicRegression(out_of_bounds="clip").fit(big_s, big_y).predict(grid)
    assert (np.diff(p) >= -1e-12).all() and np.abs(p - plain).max() < 0.01


def _overlapping_sample(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Matches and non-matches overlap everywhere except a thin top: only a high threshold is precise."""
    rng = np.random.default_rng(seed)
    s = np.concatenate([rng.uniform(0.3, 0.9, 400), rng.uniform(0.3, 0.9, 2000), rng.uniform(0.95, 1.0, 10)])
    y = np.concatenate([np.ones(400, int), np.zeros(2000, int), np.ones(10, int)])
    return s, y


def test_a_precise_threshold_that_keeps_almost_no_matches_is_reported_with_what_to_do():
    s, y = _overlapping_sample()
    cal = calibration.fit(s, y, target_precision=0.95, n_boot=20)
    assert cal.figures["recall"] < 0.2 and not cal.fallback
    warning = calibration.low_recall_warning("duplicate", cal)
    assert warning is not None
    assert f"keeps recall {cal.figures['recall']:.3f} of the 410 labelled matches" in warning
    assert "calibration_objective: f1" in warning and "label more pairs" in warning
    # the f1 objective keeps most matches: nothing to report; nor with the check off
    assert calibration.low_recall_warning("duplicate", calibration.fit(s, y, objective="f1", n_boot=20)) is None
    assert calibration.low_recall_warning("duplicate", cal, min_recall=None) is None
    assert calibration.low_recall_warning("duplicate", cal, min_recall=0.01) is None
    labelled = [{"task": "duplicate", "similarity": float(v), "label": int(t)} for v, t in zip(s, y)]
    table = calibration.thresholds_table({"duplicate": cal}, labelled, "m-1")
    assert table.column("low_recall_warning").to_pylist() == [warning]
