"""The pair decision: identifier tokens, features and a fit that uses them."""

import numpy as np

from semantic import pair_decision


def test_identifiers_mix_letters_and_digits():
    assert pair_decision.identifiers("LG 24' LDS4821WW dishwasher, 16 place settings") == {"lds4821ww"}
    assert pair_decision.identifiers("Panasonic KX-TG9343T phone 2010") == {"kxtg9343t"}
    assert pair_decision.identifiers("summer sale 50% off today") == set()


def test_identifier_features_tell_conflict_from_no_evidence():
    assert pair_decision.identifier_features("lg lds4821ww", "LG LDS-4821WW white") == (1.0, 0.0)
    assert pair_decision.identifier_features("kxtg9343t black", "kx-tg9343 silver") == (1.0, 0.0)
    assert pair_decision.identifier_features("lg lds4821ww", "lg ldf6920bb") == (0.0, 0.0)
    assert pair_decision.identifier_features("lg dishwasher", "lg ldf6920bb") == (0.0, 1.0)


def test_fit_learns_from_the_identifier_when_cosine_cannot_separate():
    rng = np.random.default_rng(0)

    def sample(n):
        y = rng.integers(0, 2, n)
        cosine = rng.uniform(0.7, 0.9, n)  # uninformative
        lexical = rng.uniform(0.3, 0.6, n)
        ident = np.where(rng.uniform(size=n) < 0.9, y, 1 - y).astype(float)
        return np.column_stack([cosine, lexical, ident, np.zeros(n)]), y

    x_train, y_train = sample(600)
    x_valid, y_valid = sample(300)
    decision = pair_decision.fit(x_train, y_train, x_valid, y_valid)
    assert decision.coef[2] > 2 * max(abs(decision.coef[0]), abs(decision.coef[1]))
    x_test, y_test = sample(300)
    accuracy = (decision.decide(x_test) == y_test.astype(bool)).mean()
    assert accuracy > 0.85
    p = decision.probability(x_test)
    assert ((p >= 0) & (p <= 1)).all()


def test_conflicting_identifiers_veto_the_match():
    decision = pair_decision.PairDecision((10.0, 5.0, 2.0, 0.0), -5.0, None)  # calibration unused by score()
    rows = np.array([[0.99, 0.95, 0.0, 0.0],   # both have identifiers, none shared: vetoed
                     [0.99, 0.95, 1.0, 0.0],   # shared identifier
                     [0.99, 0.95, 0.0, 1.0]])  # no identifier on one side: no evidence either way
    score = decision.score(rows)
    assert score[0] == 0.0 and score[1] > 0.99 and score[2] > 0.99
