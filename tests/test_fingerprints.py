"""Input fingerprints: what lets a model keep its rows when nothing it reads changed."""

import duckdb
import pyarrow as pa

from semantic.vectors.fingerprints import (
    FINGERPRINT_COLUMN,
    arrow_fingerprint,
    fingerprint,
    previous_rows,
    relation_fingerprint,
    stamped,
)


def test_a_relation_fingerprint_ignores_row_order_and_sees_any_changed_value():
    con = duckdb.connect()
    con.execute("create table t as select range as id, 'x' || range as text from range(1000)")
    base = relation_fingerprint(con.sql("select * from t"))
    assert relation_fingerprint(con.sql("select * from t order by id desc")) == base
    assert relation_fingerprint(con.sql("select id, case when id = 517 then 'y' else text end from t")) != base
    assert relation_fingerprint(con.sql("select * from t where id <> 3")) != base
    table = pa.table({"id": [1, 2, 3], "text": ["a", "b", "c"]})
    assert arrow_fingerprint(table) == arrow_fingerprint(table.take([2, 0, 1]))
    assert arrow_fingerprint(table) != arrow_fingerprint(table.slice(0, 2))


def test_the_previous_rows_come_back_only_for_the_same_inputs():
    con = duckdb.connect()
    inputs = fingerprint("rows:1", {"k": 10})
    assert fingerprint("rows:1", {"k": 10}) == inputs and fingerprint("rows:1", {"k": 11}) != inputs
    assert previous_rows(con, "matches", inputs) is None  # first run: no table
    con.execute("create table old_style as select 1 as x")
    assert previous_rows(con, "old_style", inputs) is None  # built before fingerprints
    rows = stamped(pa.table({"x": [1, 2]}), inputs)
    assert rows.column(FINGERPRINT_COLUMN).to_pylist() == [inputs, inputs]
    con.execute("create table matches as select * from rows")
    kept = previous_rows(con, "matches", inputs)
    assert kept is not None and kept.fetchall() == [(1, inputs), (2, inputs)]
    assert previous_rows(con, "matches", fingerprint("rows:2", {"k": 10})) is None
    con.execute("delete from matches")
    assert previous_rows(con, "matches", inputs) is None  # empty: recompute, it is cheap
