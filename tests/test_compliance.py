"""The sentence rule of the compliance check is the same in Python and in the dbt model."""

import duckdb
import pytest

from semantic.compliance import scoring_units, split_sentences

TEXTS = [
    "Our winter range is here. Clinically proven to cure eczema in two weeks! Shop now.",
    "One sentence only, nothing to split",
    "Price 3.5 stars?  Really... Yes!\tGreat value for money today",
    "Short. Tiny. Also short",
]


@pytest.mark.parametrize("text", TEXTS)
def test_python_split_matches_the_sql_split_of_stg_demo__asset_sentences(text):
    parts = duckdb.sql("select regexp_split_to_array(?, '[.!?]+\\s+')", params=[text]).fetchone()[0]
    expected = [p.strip() for p in parts if len(p.strip()) >= 12] if len(parts) > 1 else []
    assert split_sentences(text) == expected


def test_a_text_is_scored_by_itself_and_its_sentences():
    units, owner = scoring_units([TEXTS[0], None, "  ", TEXTS[1]])
    assert units == [TEXTS[0], "Our winter range is here", "Clinically proven to cure eczema in two weeks",
                     TEXTS[1]]
    assert owner == [0, 0, 0, 3]
