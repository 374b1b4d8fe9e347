"""The pair decision's second stage (``semantic.decisions.reranked``): the reranker asked in the band only,
stacked out of fold on held-out pairs, left out when it does not help; and ``fit_duplicates`` /
``score_duplicates`` with a reranker (which rows record its version)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import average_precision_score

from semantic.decisions import calibration, pair_decision, reranked
from semantic.decisions.pair_decision import PairDecision, PairReranker
from semantic.errors import SemanticConfigError


def _first_stage(rng, n):
    """Labels, a first-stage score that separates them only roughly, and a reranker that separates them well."""
    y = (rng.random(n) < 0.25).astype(float)
    first = 1 / (1 + np.exp(-(2.0 * (2 * y - 1) + rng.normal(0, 1.6, n))))
    rerank = 1 / (1 + np.exp(-(4.0 * (2 * y - 1) + rng.normal(0, 1.0, n))))
    return y, first, rerank


def _decision(scores, labels):
    cal = calibration.fit(scores, labels, objective="f1", min_positives=10, n_boot=50)
    return PairDecision((1.0,), 0.0, cal)


def test_the_reranker_is_asked_in_the_band_only_and_lifts_held_out_precision():
    rng = np.random.default_rng(0)
    y, first, rerank = _first_stage(rng, 3000)
    decision = _decision(first, y)
    stage, reason = reranked.fit(decision, first, rerank, y, "rr-1", objective="f1", min_positives=10)
    assert stage is not None and reason == ""
    assert stage.reranked_ap > stage.first_ap + 0.05  # out of fold, on the pairs it was learned on
    assert 0 < stage.held_share_in_band < 1 and stage.reranker_version == "rr-1"
    # fresh pairs: the reranker is needed only inside the band; outside, the first-stage score stays
    y2, first2, rerank2 = _first_stage(np.random.default_rng(1), 3000)
    asked = stage.in_band(first2)
    given = np.where(asked, rerank2, np.nan)  # scored only where asked
    combined = stage.combine(first2, given)
    assert np.array_equal(combined[~asked], first2[~asked])
    lo, hi = stage.band
    assert np.all((combined[asked] >= lo) & (combined[asked] <= hi))
    assert average_precision_score(y2, combined) > average_precision_score(y2, first2) + 0.05
    f1_first = calibration.metrics_at(first2, y2, decision.calibration.threshold)["f1"]
    f1_reranked = calibration.metrics_at(combined, y2, stage.calibration.threshold)["f1"]
    assert f1_reranked > f1_first
    assert "rr-1" in stage.summary() and "out of fold" in stage.summary()


def test_a_vetoed_pair_is_never_in_the_band():
    rng = np.random.default_rng(2)
    y, first, rerank = _first_stage(rng, 2000)
    stage, _ = reranked.fit(_decision(first, y), first, rerank, y, "rr", band=(0.0, 1.0), min_positives=10)
    assert stage is not None and stage.band[0] == 0.0
    assert not stage.in_band(np.array([0.0]))[0]  # the identifier veto scores 0: the reranker cannot lift it
    assert stage.combine(np.array([0.0]), np.array([0.99]))[0] == 0.0


def test_a_reranker_that_does_not_help_is_left_out_with_the_reason():
    rng = np.random.default_rng(3)
    y, first, _ = _first_stage(rng, 2000)
    noise = rng.random(2000)
    stage, reason = reranked.fit(_decision(first, y), first, noise, y, "rr-noise", min_positives=10)
    assert stage is None and "does not improve the pair decision" in reason and "rr-noise" in reason


def test_too_few_labels_in_the_band_say_what_to_do():
    rng = np.random.default_rng(4)
    y, first, rerank = _first_stage(rng, 60)
    stage, reason = reranked.fit(_decision(first, y), first, rerank, y, "rr", band=(0.45, 0.55), min_positives=5)
    assert stage is None and "uncertainty band holds" in reason and "widen reranker_band" in reason


@pytest.mark.parametrize("band", [(0.9, 0.1), (-0.1, 0.5), (0.2, 1.5), ("a", "b"), (0.5,)])
def test_a_bad_band_is_refused_naming_the_var(band):
    with pytest.raises(SemanticConfigError, match="reranker_band"):
        reranked.check_band(band)


def _pairs(rng, n, split):
    """Pairs with no identifiers and overlapping cosines: only the (oracle-like) reranker can tell them apart."""
    rows = []
    for i in range(n):
        duplicate = rng.random() < 0.3
        rows.append({"text_a": f"garden chair model {i} {split}",
                     "text_b": f"outdoor seat {i} {split} {int(duplicate)}",
                     "similarity": float(rng.uniform(0.70, 0.95) if duplicate else rng.uniform(0.6, 0.9)),
                     "label": int(duplicate), "split": split})
    return pa.Table.from_pylist(rows)


def _oracle(rng):
    def score(a, b):  # the label is the last token of text_b: a strong but noisy reader of both texts
        truth = np.array([float(t.rsplit(" ", 1)[1]) for t in b])
        return 1 / (1 + np.exp(-(3.0 * (2 * truth - 1) + rng.normal(0, 1.0, len(truth)))))

    return score


def test_fit_duplicates_with_a_reranker_records_its_version_on_the_rows_it_scored():
    rng = np.random.default_rng(5)
    labelled = pa.concat_tables([_pairs(rng, 400, "train"), _pairs(rng, 600, "valid")])
    reranker = PairReranker(_oracle(np.random.default_rng(6)), "rr-oracle", (0.02, 0.98))
    fitted = pair_decision.fit_duplicates(labelled, calibration_splits=["valid"], objective="f1", min_positives=10,
                                          reranker=reranker)
    assert fitted.decision is not None and fitted.reranked is not None, fitted.reranker_reason
    assert "rr-oracle" in fitted.reranker_reason
    plain = pair_decision.fit_duplicates(labelled, calibration_splits=["valid"], objective="f1", min_positives=10)
    assert plain.reranked is None and plain.reranker_reason == "no pair reranker is active"
    candidates = _pairs(np.random.default_rng(7), 600, "test")
    scored = pair_decision.score_duplicates(candidates, fitted)
    versions = scored.column("reranker_version").to_pylist()
    rerank = scored.column("reranker_score").to_pylist()
    assert 0 < versions.count("rr-oracle") < len(versions) and set(versions) == {"rr-oracle", None}
    assert all((v is None) == (r is None) for v, r in zip(versions, rerank))  # a score exactly where a version is
    assert set(scored.column("decision_threshold").to_pylist()) == {fitted.reranked.calibration.threshold}
    labels = np.array(candidates.column("label").to_pylist())
    with_reranker = np.array(scored.column("decision_score").to_pylist()) >= fitted.reranked.calibration.threshold
    baseline = pair_decision.score_duplicates(candidates, plain)
    without = np.array(baseline.column("decision_score").to_pylist()) >= plain.decision.calibration.threshold
    assert baseline.column("reranker_version").null_count == len(versions)

    def f1(predicted):
        tp = float(np.sum(predicted & (labels == 1)))
        return 2 * tp / max(float(predicted.sum() + labels.sum()), 1.0)

    assert f1(with_reranker) > f1(without) + 0.05
