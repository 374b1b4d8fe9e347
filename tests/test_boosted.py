"""The pair decision's boosted trees: exported as arrays, monotone, chosen on the calibration pairs, saved, and
bounded for the candidate prefilter."""

import math
import re

import numpy as np
import pyarrow as pa
import pytest

from semantic.decisions import boosted, pair_decision
from semantic.errors import SemanticDataError

NAMES = pair_decision.FEATURES


def _rows(rng, n):
    """Feature rows in the pair decision's ranges, and labels that need a combination of them: a shared identifier
    settles a pair of moderate cosine, without one only a very high cosine with much shared text does, and a
    colour conflict undoes either."""
    x = np.zeros((n, len(NAMES)))
    x[:, 0] = rng.uniform(0.4, 1.0, n)  # cosine
    x[:, 1] = np.clip(x[:, 0] - rng.uniform(0.0, 0.4, n), 0, 1)  # lexical
    shared = rng.uniform(size=n) < 0.4
    x[:, 2], x[:, 3] = shared, (~shared) & (rng.uniform(size=n) < 0.5)
    x[:, 4] = np.where(shared, rng.uniform(0.3, 1.0, n), 0.0)
    x[:, 5] = np.where(x[:, 3] == 1, 0.0, rng.uniform(0.0, 1.0, n))
    x[:, NAMES.index("price_gap")] = rng.uniform(0.0, 2.0, n)
    x[:, NAMES.index("no_price")] = rng.uniform(size=n) < 0.3
    colour = rng.uniform(size=n) < 0.15
    x[:, NAMES.index("colour_conflict")] = colour
    y = ((shared & (x[:, 0] > 0.6)) | ((x[:, 0] > 0.9) & (x[:, 1] > 0.7))) & ~colour
    flip = rng.uniform(size=n) < 0.03
    return x, np.where(flip, ~y, y).astype(int)


def test_the_exported_trees_score_as_scikit_learn_does():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    x, y = _rows(rng, 1500)
    trees = boosted.fit(x, y, NAMES)
    model = HistGradientBoostingClassifier(monotonic_cst=boosted.constraints(NAMES), early_stopping=False,
                                           random_state=0, **boosted.SETTINGS).fit(x, y)
    probe, _ = _rows(np.random.default_rng(1), 5000)  # rows the trees were not fitted on, more than one chunk
    assert np.allclose(trees.probability(probe), model.predict_proba(probe)[:, 1], atol=1e-12)
    again = boosted.Trees.from_dict(trees.to_dict())
    assert np.array_equal(again.raw(probe), trees.raw(probe))
    with pytest.raises(ValueError, match=f"take {len(NAMES)} features a row; got an array of shape"):
        trees.raw(probe[:, :4])
    with pytest.raises(ValueError, match="matches and non-matches"):
        boosted.fit(x, np.zeros(len(x)), NAMES)


def test_the_trees_follow_each_features_direction():
    rng = np.random.default_rng(2)
    trees = boosted.fit(*_rows(rng, 2000), NAMES)
    probe, _ = _rows(np.random.default_rng(3), 400)
    base = trees.raw(probe)
    for name, direction in boosted.MONOTONE.items():
        if direction == 0:
            continue
        moved = probe.copy()
        moved[:, NAMES.index(name)] += 0.3  # more of the feature
        change = (trees.raw(moved) - base) * direction
        assert (change >= -1e-12).all(), name  # never against its direction


def test_auto_takes_the_trees_only_where_they_rank_the_calibration_pairs_better():
    rng = np.random.default_rng(4)
    (xt, yt), (xv, yv) = _rows(rng, 2000), _rows(rng, 1000)
    chosen = pair_decision.fit(xt, yt, xv, yv)
    assert chosen.model == "boosted" and chosen.trees is not None
    assert chosen.choice.startswith("boosted: average precision on the calibration pairs")
    assert np.array_equal(chosen.score(xv), chosen.trees.probability(xv))
    # texts without identifiers, labels a weighted sum separates: the trees add nothing, the weights stay
    for x in (xt, xv):
        x[:, 2:6] = (0.0, 1.0, 0.0, 0.0)
    linear = (xt[:, 0] + 0.5 * xt[:, 1] > 1.2).astype(int), (xv[:, 0] + 0.5 * xv[:, 1] > 1.2).astype(int)
    weights = pair_decision.fit(xt, linear[0], xv, linear[1])
    assert weights.model == "logistic" and weights.trees is None and weights.choice.startswith("logistic: average")
    assert pair_decision.fit(xt, yt, xv, yv, model="logistic").trees is None
    assert pair_decision.fit(xt, linear[0], xv, linear[1], model="boosted").model == "boosted"
    with pytest.raises(SemanticDataError, match="must be one of auto, logistic, boosted; got 'gbm'"):
        pair_decision.fit(xt, yt, xv, yv, model="gbm")  # type: ignore[arg-type]


def test_no_pair_below_the_trees_cosine_bound_reaches_the_threshold():
    rng = np.random.default_rng(5)
    (xt, yt), (xv, yv) = _rows(rng, 2000), _rows(rng, 1000)
    decision = pair_decision.fit(xt, yt, xv, yv, model="boosted")
    # at a low threshold the best evidence lifts any cosine (-inf: every candidate is featurised); the labels need a
    # cosine over 0.6 or so, so higher thresholds give a real bound
    assert pair_decision.min_cosine_to_match(decision, 0.1) == -math.inf
    for threshold in (0.5, 0.9, 0.99):
        bound = pair_decision.min_cosine_to_match(decision, threshold)
        assert 0.3 < bound < 0.7, threshold
        probe, _ = _rows(np.random.default_rng(6), 20000)
        probe[:, 0] = rng.uniform(-1.0, bound, len(probe))
        probe[:, 1] = rng.uniform(0.0, 1.0, len(probe))  # any lexical evidence, however unlikely at that cosine
        assert (decision.score(probe) < threshold).all(), threshold
        # the best evidence there is, just above the bound, reaches it
        best = np.zeros((1, len(NAMES)))
        best[0, :3], best[0, 4], best[0, NAMES.index("measure_shared")] = 1.0, 1.0, 1.0
        for no_price in (0.0, 1.0):
            best[0, NAMES.index("no_price")] = no_price
            best[0, 0] = np.nextafter(bound, 1.0)
            if decision.score(best)[0] >= threshold:
                break
        else:
            pytest.fail(f"nothing just above the bound {bound} reaches {threshold}")
    assert pair_decision.min_cosine_to_match(decision, 0.0) == -math.inf
    assert pair_decision.min_cosine_to_match(decision, 1.0) == math.inf


def test_a_boosted_decision_is_saved_and_scores_the_candidates_as_fitted(tmp_path):
    rng = np.random.default_rng(7)
    rows = []
    for i in range(600):  # a shared code decides at moderate cosine, and without one only a near-copy is a match
        split = "train" if i < 400 else "valid"
        shared, near = i % 3 == 0, i % 3 == 1
        code_b = f"kx{1000 + i}t" if shared else f"kx{5000 + i}t"
        similarity = rng.uniform(0.65, 0.9) if shared else rng.uniform(0.9, 1.0) if near else rng.uniform(0.6, 0.99)
        label = shared or (near and rng.uniform() < 0.9)
        rows.append({"text_a": f"cordless phone kx{1000 + i}t black", "text_b": f"cordless phone {code_b} black",
                     "similarity": float(similarity), "label": int(label), "split": split})
    labelled = pa.Table.from_pylist(rows)
    fitted = pair_decision.fit_duplicates(labelled, calibration_splits=["valid"], objective="f1", model="boosted")
    assert fitted.decision is not None and fitted.decision.model == "boosted"
    folder = tmp_path / pair_decision.STATE_DIR
    pair_decision.save_fitted(folder, fitted, "d", "[]", pair_decision.pair_keys(labelled))
    saved = pair_decision.load_fitted(folder, None)
    assert saved is not None and saved.fitted.decision is not None and saved.fitted.decision.model == "boosted"
    codes = [1000 + i if i % 2 else 9000 + i for i in range(300)]  # every other pair shares its code
    candidates = pa.table({"similarity": rng.uniform(-0.2, 1.0, 300),
                           "text_a": [f"cordless phone kx{1000 + i}t black" for i in range(300)],
                           "text_b": [f"cordless phone kx{code}t black" for code in codes]})
    scored = pair_decision.score_duplicates(candidates, fitted)
    assert scored.equals(pair_decision.score_duplicates(candidates, saved.fitted))
    # the prefilter changes nothing: every pair featurised gives the same scores
    cosine = candidates.column("similarity").to_numpy()
    x = pair_decision.feature_rows(cosine, candidates.column("text_a").to_pylist(),
                                   candidates.column("text_b").to_pylist(), fitted.lexical)
    accepted = np.asarray(scored.column("decision_score")) >= fitted.decision.calibration.threshold
    assert np.array_equal(accepted, fitted.decision.score(x) >= fitted.decision.calibration.threshold)
    assert accepted.any() and not accepted.all()


def test_held_out_f1_scores_a_threshold_on_the_pairs_it_was_not_chosen_on():
    rng = np.random.default_rng(5)
    y = (rng.random(600) < 0.2).astype(int)
    assert pair_decision.held_out_f1(y.astype(float), y) == 1.0  # one score per class: any half finds the cut
    spread = y + rng.random(600) * 0.5  # every match above every non-match, but a half's lowest match is not the set's
    assert 0.97 < pair_decision.held_out_f1(spread, y) < 1.0
    noisy = y + rng.normal(0, 0.6, 600)
    figure = pair_decision.held_out_f1(noisy, y)
    assert 0.2 < figure < 1.0 and figure == pair_decision.held_out_f1(noisy, y)  # seeded: the same figure again
    # the F1-best threshold of the whole set scores it at least as well as thresholds chosen on halves do
    order = np.argsort(-noisy)
    best = max(2 * np.cumsum(y[order])[k] / (k + 1 + y.sum()) for k in range(600))
    assert figure <= best + 1e-12
    assert pair_decision.held_out_f1(rng.random(600), y) < figure  # scores that say nothing decide worst


def test_auto_says_how_each_model_decides_at_a_threshold_chosen_on_other_pairs():
    rng = np.random.default_rng(4)
    (xt, yt), (xv, yv) = _rows(rng, 2000), _rows(rng, 1000)
    chosen = pair_decision.fit(xt, yt, xv, yv)
    trees_f1, weights_f1 = (float(v) for v in re.findall(r"on the other half ([\d.]+) against ([\d.]+)",
                                                          chosen.choice)[0])
    assert trees_f1 >= weights_f1 - pair_decision.DECIDE_TOLERANCE  # taken: it decides as well or better
    assert trees_f1 == round(pair_decision.held_out_f1(chosen.trees.probability(xv), yv), 3)
