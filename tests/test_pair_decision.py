"""The pair decision: identifier tokens, features and a fit that uses them."""

import json

import numpy as np
import pyarrow as pa
import pytest

from semantic.decisions import calibration, pair_decision
from semantic.errors import SemanticDataError


def test_identifiers_mix_letters_and_digits():
    assert pair_decision.identifiers("LG 24' LDS4821WW dishwasher, 16 place settings") == {"lds4821ww"}
    assert pair_decision.identifiers("Panasonic KX-TG9343T phone 2010") == {"kxtg9343t"}
    assert pair_decision.identifiers("summer sale 50% off today") == set()


def test_measurements_and_dates_are_not_identifiers_but_long_part_numbers_are():
    # a shared "1080p" made two television sizes of one line look like the same item
    assert pair_decision.identifiers("Samsung 52' LCD HDTV - LN52A550 1080p 120Hz 500GB 14.2mp") == {"ln52a550"}
    assert pair_decision.identifier_features("Samsung LN52A550 1080p", "Samsung LN32A550 1080p") == (0.0, 0.0)
    assert pair_decision.identifiers("Garmin Suction Cup Mount - 010-10823-00 | $24.84") == {"0101082300"}
    assert pair_decision.identifiers("Logitech V470 mouse - 910000298") == {"v470", "910000298"}
    assert pair_decision.identifiers("runs 2026-11-30 to 12/24/2026, code spring24") == {"spring24"}
    assert pair_decision.identifiers("was 12999.00, now 1299.00; model 2010") == set()


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


def _labelled(rng, n, split):
    """Pairs where cosine alone cannot separate (the ranges overlap); a shared model number can."""
    rows = []
    for i in range(n):
        duplicate = i % 2 == 0
        code_a, code_b = f"kx{1000 + i}t", f"kx{1000 + i if duplicate else 5000 + i}t"
        similarity = rng.uniform(0.80, 0.95) if duplicate else rng.uniform(0.5, 0.9)
        rows.append({"text_a": f"cordless phone {code_a} black", "text_b": f"cordless phone {code_b} silver",
                     "similarity": float(similarity), "label": int(duplicate), "split": split})
    return pa.Table.from_pylist(rows)


def test_decide_duplicates_learns_from_labels_and_scores_candidates():
    rng = np.random.default_rng(1)
    labelled = pa.concat_tables([_labelled(rng, 120, "train"), _labelled(rng, 120, "valid")])
    candidates = pa.Table.from_pylist([
        {"asset_id_a": "a", "asset_id_b": "b", "similarity": 0.95,
         "text_a": "cordless phone kx1001t black", "text_b": "cordless phone kx1001t silver"},
        {"asset_id_a": "a", "asset_id_b": "c", "similarity": 0.99,
         "text_a": "cordless phone kx1001t black", "text_b": "cordless phone kx1003t black"},
        {"asset_id_a": "d", "asset_id_b": "e", "similarity": -0.9, "text_a": "kettle", "text_b": "garden hose"},
    ])
    scored, decision, reason = pair_decision.decide_duplicates(labelled, candidates, calibration_splits=["valid"])
    assert decision is not None and reason == ""
    assert scored.column("asset_id_b").to_pylist() == ["b", "c", "e"]  # the candidates' columns are kept
    assert scored.column("scorer").to_pylist() == ["decision"] * 3
    accepted = (np.array(scored.column("decision_score").to_pylist()) >= decision.calibration.threshold).tolist()
    assert accepted == [True, False, False]  # the shared code wins over the higher cosine of a conflicting one
    assert scored.column("shares_identifier").to_pylist()[:2] == [True, False]
    assert scored.column("identifier_conflict").to_pylist()[:2] == [False, True]
    # a cosine of -0.9 cannot reach the threshold whatever the text says: not featurised (the cosine weighs little
    # here, where the identifiers decide, so the lowest cosine that could still match is far down)
    assert -0.9 < pair_decision.min_cosine_to_match(decision)
    assert scored.column("lexical_similarity").to_pylist()[2] is None
    assert scored.column("decision_score").to_pylist()[2] == 0.0


def test_decide_duplicates_steps_aside_with_a_reason_when_labels_are_few():
    rng = np.random.default_rng(2)
    labelled = pa.concat_tables([_labelled(rng, 20, "train"), _labelled(rng, 120, "valid")])
    candidates = pa.Table.from_pylist([{"similarity": 0.9, "text_a": "x", "text_b": "y"}])
    scored, decision, reason = pair_decision.decide_duplicates(labelled, candidates, calibration_splits=["valid"])
    assert decision is None
    assert "10 labelled duplicates in 'train'" in reason and "label more duplicate pairs" in reason
    assert scored.column("scorer").to_pylist() == ["cosine"]
    assert scored.column("scorer_reason").to_pylist() == [reason]
    assert scored.column("decision_score").to_pylist() == [None]


def test_decide_duplicates_names_a_missing_column():
    with pytest.raises(SemanticDataError, match=r"candidates lacks column\(s\) \['similarity'\]"):
        pair_decision.decide_duplicates(_labelled(np.random.default_rng(0), 4, "train"),
                                        pa.table({"text_a": ["x"], "text_b": ["y"]}))


def test_the_cosine_bound_is_exact_at_the_threshold():
    cal = calibration.fit(np.linspace(0, 1, 200), (np.linspace(0, 1, 200) > 0.5).astype(int), n_boot=10)
    decision = pair_decision.PairDecision((10.0, 2.0, 1.5, 0.5, 0.8, -0.4), -9.0, cal)
    bound = pair_decision.min_cosine_to_match(decision)
    best = np.array([[bound, 1.0, 1.0, 0.0, 1.0, 0.0]])  # the most lexical and identifier evidence there is
    assert abs(decision.score(best)[0] - cal.threshold) < 1e-9
    assert decision.score(np.array([[bound - 1e-3, 1.0, 1.0, 0.0, 1.0, 0.0]]))[0] < cal.threshold


def test_identifiers_weigh_by_how_many_texts_carry_them():
    cables = [f"belkin cable {n} ft 5-pin usb" for n in range(1, 40)]  # a spec every listing shares
    lexical = pair_decision.lexical_embed([*cables, "belkin f3u138-06 5-pin cable", "belkin f3u138-10 5-pin cable"])
    assert lexical.identifier_weight("5pin") < 0.2 and lexical.identifier_weight("f3u13806") > 0.9
    assert lexical.identifier_weight("never-seen") == 1.0  # nothing says it is common
    x = pair_decision.feature_rows(
        np.full(3, 0.9), ["belkin f3u138-06 5-pin cable", "belkin f3u138-06 cable", "belkin cable"],
        ["belkin f3u138-10 5-pin cable", "belkin F3U138-06 5-pin", "belkin f3u138-10"], lexical)
    columns = dict(zip(pair_decision.FEATURES, x.T))
    # a shared spec but different model numbers: identifier evidence, of a common token, and a distinctive conflict
    assert columns["identifier"][0] == 1 and columns["identifier_shared_idf"][0] < 0.2
    assert columns["identifier_conflict_idf"][0] > 0.9
    # the model number shared; the spec only one side names is no conflict
    assert columns["identifier_shared_idf"][1] > 0.9 and columns["identifier_conflict_idf"][1] == 0
    assert list(x[2, 2:6]) == [0.0, 1.0, 0.0, 0.0]  # no identifier on one side: no evidence of either kind


def test_attributes_read_capacities_counts_years_editions_platforms_and_prices():
    from semantic.decisions.attributes import attributes

    drive = attributes("Toshiba PH3100U 1TB USB 3.0 desktop hard drive 89.0")
    assert drive.measures == {"storage": frozenset({1000.0})} and drive.price == 89.0  # 3.0 is a USB version
    office = attributes("Office 2007 Home and Student, 3 PC licence for Windows $149.99")
    assert office.counts == {"devices": frozenset({3})} and office.years == frozenset({"2007"})
    assert office.editions == frozenset({"home", "student"}) and office.platforms == frozenset({"windows"})
    assert office.price == 149.99  # the currency-marked amount, not 3 or 2007
    assert attributes("Nikon 13.5 megapixel camera, 2.7' screen").measures == {
        "resolution": frozenset({13.5}), "length": frozenset({2.7 * 2.54})}
    assert attributes(None) == attributes("") and attributes("plain words").price is None


def test_attribute_features_tell_a_conflict_from_agreement_and_from_no_evidence():
    from semantic.decisions.attributes import ATTRIBUTE_FEATURES, attribute_features

    a = ["Toshiba 1TB USB drive 89.0", "Office 2007 Home, 3 users, Windows", "jacket", "WD 2 TB drive $100"]
    b = ["Toshiba 2 TB USB drive 80.0", "Office 2008 Professional, 1 user, Mac", "jacket", "WD 2000gb drive $55"]
    x = dict(zip(ATTRIBUTE_FEATURES, attribute_features(a, b).T))
    assert list(x["measure_conflict"]) == [1, 0, 0, 0] and list(x["measure_shared"]) == [0, 0, 0, 1]  # 2 TB = 2000 GB
    for name in ("count_conflict", "year_conflict", "edition_conflict", "platform_conflict"):
        assert list(x[name]) == [0, 1, 0, 0], name
    assert list(x["no_price"]) == [0, 1, 1, 0]
    assert x["price_gap"][0] == pytest.approx(np.log(89 / 80)) and x["price_gap"][3] == pytest.approx(np.log(100 / 55))


def test_colours_conflict_only_when_both_texts_name_one_and_none_agrees():
    from semantic.decisions.attributes import ATTRIBUTE_FEATURES, attribute_features

    a = ["Canon CLI-226 black ink tank", "Samsung S2 drive, red", "Parka in grey", "Parka", "Mug, white and blue"]
    b = ["Canon CLI-226 cyan ink tank", "Samsung S2 drive, snow white", "Parka in gray", "Parka, navy", "Blue mug"]
    x = dict(zip(ATTRIBUTE_FEATURES, attribute_features(a, b).T))
    assert list(x["colour_conflict"]) == [1, 1, 0, 0, 0]  # grey is gray; one side silent is no evidence


def test_the_decision_learns_attribute_weights_from_labels():
    # same cosine, lexical and identifier evidence; only the capacity tells the items apart
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 5, 400)
    other = np.where(rng.uniform(size=400) < 0.5, sizes, sizes + 1)
    a = [f"Acme portable drive {s}TB" for s in sizes]
    b = [f"Acme portable hard drive {o} TB" for o in other]
    y = (sizes == other).astype(int)
    lexical = pair_decision.lexical_embed(a + b)
    x = pair_decision.feature_rows(np.full(400, 0.9), a, b, lexical)
    decision = pair_decision.fit(x[:300], y[:300], x[300:], y[300:], objective="f1")
    weights = dict(zip(pair_decision.FEATURES, decision.coef))
    assert weights["measure_conflict"] < -1 and (decision.decide(x[300:]) == y[300:].astype(bool)).mean() > 0.95


def test_the_cosine_bound_counts_what_attribute_and_text_evidence_can_add():
    from semantic.decisions.attributes import ATTRIBUTE_MAX

    cal = calibration.fit(np.linspace(0, 1, 200), (np.linspace(0, 1, 200) > 0.5).astype(int), n_boot=10)
    # a positive weight on price_gap (max 2) too, and on both of each exclusive pair (number_shared and
    # number_conflict, identifier_in_text and identifier_not_in_text): a pair has one of the two, the larger counts
    attribute_w = [-2.0, 1.0, -0.5, -0.4, -0.3, -0.2, 0.7, -1.0, -0.6, 0.9, 0.4]
    text_w = [1.5, 0.6, 0.2]
    # a positive weight on the conflicting identifiers' idf too: the bound must count it
    decision = pair_decision.PairDecision((10.0, 2.0, 1.5, 0.5, 0.8, 0.3, *attribute_w, *text_w), -9.0, cal)
    bound = pair_decision.min_cosine_to_match(decision)
    best_attributes = [top if w > 0 else 0.0 for w, top in zip(attribute_w, ATTRIBUTE_MAX)]
    best_attributes[-1] = 0.0  # numbers shared, so none conflicts
    best = np.array([[bound, 1.0, 1.0, 0.0, 1.0, 1.0, *best_attributes, 1.0, 1.0, 0.0]])
    assert abs(decision.score(best)[0] - cal.threshold) < 1e-9
    best[0, 0] -= 1e-3
    assert decision.score(best)[0] < cal.threshold


def test_bare_numbers_are_evidence_but_prices_measures_and_part_numbers_are_not_counted_twice():
    from semantic.decisions.attributes import ATTRIBUTE_FEATURES, attribute_features

    a = ["avery 8691 cd spine labels", "pc treasures mouse 07227", "drive 500gb 1,000 rpm 2608.99", "plain words",
         "acme 010-10823-00 kit 123"]
    b = ["avery labels 8691 spine", "pc treasures mouse 07226", "drive 250gb 2,000 rpm 2499.99", "label 8691",
         "acme 010-10823-00 kit"]
    x = dict(zip(ATTRIBUTE_FEATURES, attribute_features(a, b).T))
    assert list(x["number_shared"]) == [1, 0, 0, 0, 0]
    assert list(x["number_conflict"]) == [0, 1, 0, 0, 0]  # a price, a measure, a thousand or a part number: none


def test_identifiers_are_found_inside_the_other_text_however_the_shops_split_them():
    a = ["tomtom via 1505t gps 1en501902 179.95", "edge 16gb sdhc card pe222604", "hp c8560a drum",
         "roocase leather case", "new-quartet sb93513q display"]
    b = ["tomtom via 1505t gps navigator 1en5 .019.02", "16gb sdhc card edgdm-222604-pe", "hp c8563a drum",
         "roocase magenta case", "showit display qrtsb93513q"]
    lexical = pair_decision.lexical_embed(a + b)
    x = dict(zip(pair_decision.FEATURES, pair_decision.feature_rows(np.full(5, 0.8), a, b, lexical).T))
    assert list(x["identifier_in_text"]) == [1, 1, 0, 0, 1]
    assert list(x["identifier_not_in_text"]) == [0, 0, 1, 0, 0]  # neither has one: no evidence either way
    assert list(x["identifier"][:2]) == [0, 0]  # the token comparison missed both


def test_token_containment_weighs_the_shorter_texts_words_by_their_idf():
    a = ["hinged screen joining clamp", "the red kettle", "the blue kettle", "the garden hose"]
    b = ["da-lite deluxe hinged screen joining clamp for fast fold screens", "the kettle", "the toaster",
         "a garden hose reel"]
    lexical = pair_decision.lexical_embed(a + b)
    assert lexical.word_weight("the") < lexical.word_weight("kettle") < lexical.word_weight("never-seen") == 1.0
    x = dict(zip(pair_decision.FEATURES, pair_decision.feature_rows(np.full(4, 0.5), a, b, lexical).T))
    contained = x["token_containment"]
    assert contained[0] == pytest.approx(1.0) and contained[1] == pytest.approx(1.0)  # all of the shorter text
    assert contained[2] < 0.3 < contained[3] < 1.0  # only "the" shared, against "garden hose" of "the garden hose"


def test_a_saved_decision_scores_as_the_fitted_one_and_says_what_it_was_learned_on(tmp_path):
    rng = np.random.default_rng(3)
    labelled = pa.concat_tables([_labelled(rng, 120, "train"), _labelled(rng, 120, "valid")])
    fitted = pair_decision.fit_duplicates(labelled, calibration_splits=["valid"])
    assert fitted.decision is not None
    keys = pair_decision.pair_keys(labelled)
    folder = tmp_path / "calibration" / pair_decision.STATE_DIR
    pair_decision.save_fitted(folder, fitted, "decision-1", '["settings"]', keys)
    saved = pair_decision.load_fitted(folder, None)
    assert saved is not None and saved.decision_id == "decision-1" and saved.settings == '["settings"]'
    assert saved.pair_keys == keys and len(keys) == 240
    candidates = pa.table({"similarity": [0.95, 0.99, 0.7], "text_a": ["cordless phone kx1001t black"] * 3,
                           "text_b": ["cordless phone kx1001t silver", "cordless phone kx1003t black", "garden hose"]})
    again = pair_decision.score_duplicates(candidates, saved.fitted)
    assert again.equals(pair_decision.score_duplicates(candidates, fitted))  # the same TF-IDF, weights and threshold
    # an edited labelled pair changes its key: the share the build compares with pair_decision_refit_share
    edited = labelled.set_column(0, "text_a", pa.array(["cordless phone kx1000t white"]
                                                         + labelled.column("text_a").to_pylist()[1:]))
    assert pair_decision.changed_share(keys, pair_decision.pair_keys(edited)) == pytest.approx(1 / 240)
    assert pair_decision.changed_share(keys, keys) == 0.0
    # a state saved with other features (an earlier release's weights) is no decision either
    state = json.loads((folder / "state.json").read_text())
    state["decision"]["coef"] = state["decision"]["coef"][:4]
    (folder / "state.json").write_text(json.dumps(state))
    assert pair_decision.load_fitted(folder, None) is None
    # nor one without the words' document frequencies (saved before token_containment)
    state = json.loads((folder / "state.json").read_text())
    state["decision"]["coef"] = [0.0] * len(pair_decision.FEATURES)
    (folder / "state.json").write_text(json.dumps(state))
    assert pair_decision.load_fitted(folder, None) is not None
    del state["word_df"]
    (folder / "state.json").write_text(json.dumps(state))
    assert pair_decision.load_fitted(folder, None) is None
    # a state that cannot be read is no decision: the build fits one again
    (folder / "state.json").write_text("{not json")
    assert pair_decision.load_fitted(folder, None) is None
    assert pair_decision.load_fitted(tmp_path / "nothing", None) is None
    with pytest.raises(ValueError, match="only a fitted decision"):
        pair_decision.save_fitted(folder, pair_decision.FittedDuplicates(None, None, "few labels"), "x", "", keys)


def test_a_saved_second_stage_comes_back_only_with_its_reranker(tmp_path):
    rng = np.random.default_rng(5)
    words = ["kettle", "lamp", "chair", "rug", "mug", "vase", "desk", "sofa"]
    truth = {}
    rows = []
    for i in range(600):  # the cosine and the words say nothing of the label; the reranker knows it
        a, b = f"{rng.choice(words)} {rng.choice(words)} item", f"{rng.choice(words)} {rng.choice(words)} item"
        label = int(rng.uniform() < 0.5)
        truth[(a, b)] = label
        rows.append({"text_a": a, "text_b": b, "similarity": float(rng.uniform(0.6, 0.9)), "label": label,
                     "split": "train" if i < 300 else "valid"})
    labelled = pa.Table.from_pylist(rows)

    def knows(a, b):
        return np.array([0.85 if truth.get((x, y)) else 0.15 for x, y in zip(a, b)]) + rng.uniform(-0.1, 0.1, len(a))

    reranker = pair_decision.PairReranker(knows, "rr-1", (0.0, 1.0))
    fitted = pair_decision.fit_duplicates(labelled, calibration_splits=["valid"], reranker=reranker)
    assert fitted.reranked is not None, fitted.reranker_reason
    folder = tmp_path / pair_decision.STATE_DIR
    pair_decision.save_fitted(folder, fitted, "d", "s", pair_decision.pair_keys(labelled))
    assert pair_decision.load_fitted(folder, None) is None  # its stage needs the reranker
    assert pair_decision.load_fitted(folder, pair_decision.PairReranker(knows, "rr-2", (0.0, 1.0))) is None
    saved = pair_decision.load_fitted(folder, reranker)
    assert saved is not None and saved.fitted.reranked == fitted.reranked and saved.fitted.reranker is reranker
