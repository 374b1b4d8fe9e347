"""Object storage for vector tables: Lance/LanceDB, Arrow and DuckDB options for an ``s3://`` URI.

Credentials come from the environment only, never from a file of this project:
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, optional ``AWS_SESSION_TOKEN``, the region from
``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and, for an S3-compatible store (MinIO, Ceph, a local test
server), the endpoint from ``SEMANTIC_S3_ENDPOINT`` or ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``.
Without keys in the environment, Lance falls back to its own chain (instance profile, web identity).
A plain-``http`` endpoint is accepted on a loopback address; elsewhere only with
``SEMANTIC_S3_ALLOW_HTTP=true``, since keys and vectors would cross the network in clear.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from semantic.config import is_loopback
from semantic.errors import SemanticConfigError

ENV_ENDPOINT = "SEMANTIC_S3_ENDPOINT"
ENV_ALLOW_HTTP = "SEMANTIC_S3_ALLOW_HTTP"
_ENDPOINT_VARS = (ENV_ENDPOINT, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def is_remote(uri: str) -> bool:
    """Whether ``uri`` names an object store (``s3://``) rather than a local path."""
    return uri.startswith("s3://")


def endpoint() -> str | None:
    """The S3-compatible endpoint from the environment, or None for AWS itself.

    Raises:
        SemanticConfigError: The endpoint is not an http(s) URL, or is plain http off loopback
            without ``SEMANTIC_S3_ALLOW_HTTP=true``.
    """
    for var in _ENDPOINT_VARS:
        value = os.environ.get(var, "").strip()
        if not value:
            continue
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SemanticConfigError(
                f"{var}={value!r} is not an endpoint URL; set it like http://127.0.0.1:9000 or "
                "https://s3.example.com"
            )
        if parsed.scheme == "http" and not is_loopback(parsed.hostname) and not _flag(ENV_ALLOW_HTTP):
            raise SemanticConfigError(
                f"{var}={value!r} is plain http to a host that is not loopback: credentials and vectors "
                f"would travel unencrypted. Use https, or set {ENV_ALLOW_HTTP}=true on a trusted network"
            )
        return value.rstrip("/")
    return None


def storage_options(uri: str) -> dict[str, str]:
    """Lance/LanceDB ``storage_options`` for ``uri`` from the environment (empty for a local path)."""
    if not is_remote(uri):
        return {}
    opts: dict[str, str] = {}
    for key, var in (
        ("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
        ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
        ("aws_session_token", "AWS_SESSION_TOKEN"),
    ):
        if os.environ.get(var):
            opts[key] = os.environ[var]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    url = endpoint()
    if region or url:
        opts["aws_region"] = region or "us-east-1"  # an S3-compatible store ignores it, Lance needs one
    if url:
        opts["aws_endpoint"] = url
        opts["allow_http"] = "true" if url.startswith("http://") else "false"
    return opts


def arrow_filesystem(path: str) -> tuple[Any, str]:
    """A ``pyarrow.fs`` filesystem and the path inside it, for reading a Parquet source at ``path``.

    It holds the endpoint but no keys, so it can travel to Ray workers; each process finds the keys
    in its own environment.
    """
    if not is_remote(path):
        return None, path
    from pyarrow import fs

    url = endpoint()
    parsed = urlparse(url) if url else None
    # no keys here: the filesystem is pickled into Ray's read tasks, and each process resolves the
    # credentials from its own environment (the AWS default chain)
    s3 = fs.S3FileSystem(
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_override=parsed.netloc if parsed else None,
        scheme=parsed.scheme if parsed else "https",
    )
    return s3, path[len("s3://"):]


def duckdb_secret_sql(uri: str, name: str = "semantic_lance") -> str | None:
    """``CREATE SECRET`` of type ``lance`` for DuckDB's lance extension to read ``uri`` (None if local).

    The statement holds the credentials: run it, never write it to a file.
    """
    if not is_remote(uri):
        return None
    opts = storage_options(uri)
    fields = {
        "access_key_id": opts.get("aws_access_key_id"),
        "secret_access_key": opts.get("aws_secret_access_key"),
        "session_token": opts.get("aws_session_token"),
        "region": opts.get("aws_region"),
        "endpoint": opts.get("aws_endpoint"),
        "allow_http": opts.get("allow_http"),
    }
    body = ", ".join(f"{k} '{v.replace(chr(39), chr(39) * 2)}'" for k, v in fields.items() if v)
    bucket = uri[len("s3://"):].split("/", 1)[0]
    return f"create or replace temporary secret {name} (type lance, {body}, scope 's3://{bucket}')"


def attach_duckdb(con: Any, uri: str) -> None:
    """Load DuckDB's lance extension on ``con`` and give it the credentials to read ``uri``."""
    from semantic.vectors.duckdb_lance import load_lance

    load_lance(con)
    sql = duckdb_secret_sql(uri)
    if sql:
        con.execute(sql)


def _flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in ("1", "true", "yes")
