from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from semantic.errors import SemanticDataError
from semantic.vectors.embedding import embed_batch, embedded_schema, with_content_hash, with_text


def test_embed_batch_appends_the_vector_columns_in_row_order(fake_encoder):
    rows = pa.table({"asset_id": ["b", "a", "c"], "brand": ["x", "y", "z"],
                     "text": ["warm jacket", "cold brew coffee", "jacket for cold days"]})
    stamp = datetime(2026, 1, 2, 3, 4, 5)
    out = embed_batch(rows, fake_encoder, "text", now=stamp)
    assert out.column_names == ["asset_id", "brand", "text", "model_version", "embedded_at", "vector"]
    assert out.schema == embedded_schema(rows.schema, fake_encoder.dim)
    assert out.column("asset_id").to_pylist() == ["b", "a", "c"]
    assert set(out.column("model_version").to_pylist()) == {"fake-v1"}
    assert set(out.column("embedded_at").to_pylist()) == {stamp}
    for text, vector in zip(rows.column("text").to_pylist(), out.column("vector").to_pylist()):
        np.testing.assert_allclose(vector, fake_encoder.encode([text])[0], rtol=1e-6)


def test_embed_batch_replaces_stale_vector_columns_and_takes_record_batches(fake_encoder):
    first = embed_batch(pa.table({"id": ["a"], "text": ["old copy"]}), fake_encoder, "text")
    edited = first.set_column(1, "text", pa.array(["new copy"]))
    again = embed_batch(edited.to_batches()[0], fake_encoder, "text")
    assert again.column_names == first.column_names
    np.testing.assert_allclose(again.column("vector")[0].as_py(), fake_encoder.encode(["new copy"])[0], rtol=1e-6)


def test_embed_batch_names_a_missing_text_column(fake_encoder):
    with pytest.raises(SemanticDataError, match="no text column 'body'"):
        embed_batch(pa.table({"id": ["a"], "text": ["x"]}), fake_encoder, "body")


def test_with_text_drops_null_empty_and_blank_texts():
    kept, dropped = with_text(pa.table({"id": [1, 2, 3, 4], "text": ["ok", None, "", " \t"]}), "text")
    assert (kept.column("id").to_pylist(), dropped) == ([1], 3)


def test_content_hash_is_the_md5_the_dbt_macro_computes():
    rows = with_content_hash(pa.table({"text": ["Stay warm on the ridge", "Crème brûlée €5", None]}), "text")
    expected = duckdb.sql(
        "select case when t is not null then md5(t) end from unnest(['Stay warm on the ridge', 'Crème brûlée €5', "
        "null]) with ordinality as u(t, i) order by i"
    ).fetchall()
    assert rows.column("content_hash").to_pylist() == [r[0] for r in expected]


def test_an_existing_content_hash_is_kept():
    rows = pa.table({"text": ["a"], "content_hash": ["given"]})
    assert with_content_hash(rows, "text").column("content_hash").to_pylist() == ["given"]
