"""The compliance check's units, scores and reference typicality; the sentence rule is the same in
Python and in the dbt model."""

import duckdb
import numpy as np
import pytest

from semantic.encoding.units import scoring_units, split_sentences

TEXTS = [
    "Our winter range is here. Clinically proven to cure eczema in two weeks! Shop now.",
    "One sentence only, nothing to split",
    "Price 3.5 stars?  Really... Yes!\tGreat value for money today",
    "Short. Tiny. Also short",
]


@pytest.mark.parametrize("text", TEXTS)
def test_python_split_matches_the_sql_split_of_stg_semantic__asset_sentences(text):
    parts = duckdb.sql("select regexp_split_to_array(?, '[.!?]+\\s+')", params=[text]).fetchone()[0]
    expected = [p.strip() for p in parts if len(p.strip()) >= 12] if len(parts) > 1 else []
    assert split_sentences(text) == expected


def test_a_text_is_scored_by_itself_and_its_sentences():
    units, owner = scoring_units([TEXTS[0], None, "  ", TEXTS[1]])
    assert units == [TEXTS[0], "Our winter range is here", "Clinically proven to cure eczema in two weeks",
                     TEXTS[1]]
    assert owner == [0, 0, 0, 3]


def test_best_unit_scores_take_each_texts_best_unit_and_normalise():
    from semantic.decisions.compliance import best_unit_scores

    refs = np.array([[2.0, 0.0], [0.0, 1.0]])  # not unit length: scored as cosines
    units = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 3.0]])
    scores = best_unit_scores(units, [0, 0, 2], 3, refs)
    np.testing.assert_allclose(scores, [[1.0, 0.8], [-1.0, -1.0], [0.0, 1.0]], atol=1e-6)


def test_a_generic_claim_is_more_typical_than_a_specific_one_and_markets_are_honoured():
    from semantic.decisions.compliance import typicality

    rng = np.random.default_rng(0)
    generic = rng.uniform(0.55, 0.7, 200)  # near hundreds of harmless texts
    specific = np.r_[rng.uniform(0.1, 0.3, 198), 0.8, 0.75]  # near its two restatements only
    scores = np.c_[generic, specific]
    t = typicality(scores, k=10)
    assert t[0] == pytest.approx(np.sort(generic)[-10:].mean())
    assert t[1] == pytest.approx(np.sort(specific)[-10:].mean()) and t[1] < t[0]
    # the score a restatement of the specific claim gets beats a generic claim's ordinary neighbour
    assert 0.75 - 0.5 * t[1] > generic.max() - 0.5 * t[0]
    applies = np.ones_like(scores, dtype=bool)
    applies[:195, 1] = False  # the specific claim only applies to five texts
    assert typicality(scores, k=10, applies=applies)[1] == pytest.approx(specific[195:].mean())
    applies[:, 1] = False
    assert typicality(scores, k=3, applies=applies)[1] == 0.0
    with pytest.raises(Exception, match="positive integer"):
        typicality(scores, k=0)


def test_typicality_is_saved_beside_the_calibration_and_its_absence_is_explained(tmp_path):
    from semantic.decisions.compliance import load_typicality, save_typicality
    from semantic.errors import SemanticConfigError

    with pytest.raises(SemanticConfigError, match="run `dbt build`"):
        load_typicality(tmp_path, "v1")
    save_typicality(tmp_path, "v1", 0.5, {"R2": 0.25, "R1": 0.5})
    assert load_typicality(tmp_path, "v1") == (0.5, {"R1": 0.5, "R2": 0.25})
    assert [p.name for p in tmp_path.iterdir()] == ["v1.typicality.json"]  # no temporary file left
