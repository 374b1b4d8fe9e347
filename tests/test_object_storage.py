import duckdb
import numpy as np
import pyarrow as pa
import pytest
from local_s3 import SECRET, local_s3

from semantic.errors import SemanticConfigError
from semantic.scaleout.object_storage import attach_duckdb, duckdb_secret_sql, storage_options


def test_credentials_and_a_loopback_endpoint_come_from_the_environment(monkeypatch):
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("SEMANTIC_S3_ENDPOINT", "http://127.0.0.1:9000/")
    assert storage_options("s3://bucket/t.lance") == {
        "aws_access_key_id": "id", "aws_secret_access_key": "secret", "aws_region": "us-east-1",
        "aws_endpoint": "http://127.0.0.1:9000", "allow_http": "true",
    }
    assert storage_options("/data/lance/t.lance") == {}


def test_plain_http_off_loopback_is_refused_unless_allowed(monkeypatch):
    monkeypatch.delenv("SEMANTIC_S3_ALLOW_HTTP", raising=False)
    monkeypatch.setenv("SEMANTIC_S3_ENDPOINT", "http://minio.internal:9000")
    with pytest.raises(SemanticConfigError, match="unencrypted"):
        storage_options("s3://bucket/t.lance")
    monkeypatch.setenv("SEMANTIC_S3_ALLOW_HTTP", "true")
    assert storage_options("s3://bucket/t.lance")["allow_http"] == "true"


def test_an_endpoint_that_is_not_a_url_is_named(monkeypatch):
    monkeypatch.setenv("SEMANTIC_S3_ENDPOINT", "127.0.0.1:9000")
    with pytest.raises(SemanticConfigError, match="SEMANTIC_S3_ENDPOINT='127.0.0.1:9000' is not an endpoint URL"):
        storage_options("s3://bucket/t.lance")


def test_the_duckdb_secret_quotes_values_and_is_scoped_to_the_bucket(monkeypatch):
    monkeypatch.delenv("SEMANTIC_S3_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "it's")
    sql = duckdb_secret_sql("s3://vectors/prod/assets.lance")
    assert sql is not None and "secret_access_key 'it''s'" in sql and "scope 's3://vectors'" in sql
    assert duckdb_secret_sql("/local/assets.lance") is None


def test_duckdb_reads_a_lance_table_on_the_local_s3_server(monkeypatch):
    import lance

    with local_s3(monkeypatch, "vectors"):
        uri = "s3://vectors/prod/assets.lance"
        vectors = np.eye(3, 4, dtype=np.float32)
        data = pa.table({"asset_id": ["a", "b", "c"],
                         "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 4)})
        lance.write_dataset(data, uri, storage_options=storage_options(uri))
        bare = duckdb.connect()
        attach_duckdb(bare, "/not/remote.lance")  # the extension alone: no credentials for the bucket
        with pytest.raises(duckdb.Error):
            bare.sql(f"select count(*) from '{uri}'").fetchall()
        con = duckdb.connect()
        attach_duckdb(con, uri)
        rows = con.sql(f"select asset_id, vector from '{uri}' order by asset_id").fetchall()
        assert [r[0] for r in rows] == ["a", "b", "c"]
        np.testing.assert_array_equal(np.array([r[1] for r in rows]), vectors)
        assert SECRET not in str(con.sql("select * from duckdb_secrets()").fetchall())  # redacted


def test_the_source_filesystem_sent_to_workers_carries_no_keys(monkeypatch):
    import pickle

    from semantic.scaleout.object_storage import arrow_filesystem

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-NOT-IN-TASKS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-not-in-tasks")
    monkeypatch.setenv("SEMANTIC_S3_ENDPOINT", "http://127.0.0.1:9000")
    fs, path = arrow_filesystem("s3://warehouse/export/assets.parquet")
    shipped = pickle.dumps(fs)
    assert path == "warehouse/export/assets.parquet"
    assert b"not-in-tasks" not in shipped and b"NOT-IN-TASKS" not in shipped
