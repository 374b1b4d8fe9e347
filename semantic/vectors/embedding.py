"""The embedding stage: one function from a batch of Arrow rows to the same rows with their vectors.

Every path that embeds rows calls :func:`embed_batch`: the distributed job (one call per Ray
Data batch, in a worker that loaded the model once through ``load_encoder``'s process cache), the
``semantic embed`` command and, through the store, the dbt Python models. A row's vector, model
version and time are appended under the column names the vector tables use everywhere
(``model_version``, ``embedded_at``, ``vector``), replacing any stale ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semantic.errors import SemanticDataError

#: The columns every vector table has besides the entity's own (LanceDB and the DuckDB mirrors).
CONTENT_HASH = "content_hash"
TEXT = "text"
MODEL_VERSION = "model_version"
EMBEDDED_AT = "embedded_at"
VECTOR = "vector"


class BatchEncoder(Protocol):
    """What :func:`embed_batch` needs of an encoder (``semantic.encoding.encoder.Encoder`` or a test fake)."""

    @property
    def version(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str | None], progress: Callable[[int, int], None] | None = ...) -> np.ndarray: ...


def vector_type(dim: int) -> pa.DataType:
    """The Arrow type of a stored vector: ``FixedSizeList<float32>[dim]`` (DuckDB ``FLOAT[dim]``)."""
    return pa.list_(pa.float32(), dim)


def embedded_schema(rows: pa.Schema, dim: int) -> pa.Schema:
    """The schema :func:`embed_batch` returns for rows of schema ``rows`` (vector columns last)."""
    keep = [f for f in rows if f.name not in (MODEL_VERSION, EMBEDDED_AT, VECTOR)]
    return pa.schema(
        [*keep, pa.field(MODEL_VERSION, pa.string()), pa.field(EMBEDDED_AT, pa.timestamp("us")),
         pa.field(VECTOR, vector_type(dim))]
    )


def embed_batch(
    rows: pa.Table | pa.RecordBatch,
    encoder: BatchEncoder,
    text_column: str,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """Embed the text of a batch of rows and append ``model_version``, ``embedded_at`` and ``vector``.

    Args:
        rows: The rows, with ``text_column``; every other column is kept as it is.
        encoder: The encoder (loaded once per process with ``load_encoder``).
        text_column: The column to embed.
        now: The ``embedded_at`` stamp (default: now, UTC, without time zone).
        progress: Passed on to ``encoder.encode``.

    Returns:
        The rows in the same order with the three columns appended (replacing stale ones). A NULL
        or blank text gets a vector of NaN: filter such rows first (:func:`with_text`).

    Raises:
        SemanticDataError: ``text_column`` is missing.
    """
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows])
    if text_column not in table.column_names:
        raise SemanticDataError(
            f"the rows to embed have no text column '{text_column}' (columns: {table.column_names}); "
            "pass the column holding the text, e.g. --text-column text"
        )
    texts = table.column(text_column).to_pylist()
    vectors = encoder.encode(texts, progress=progress) if progress else encoder.encode(texts)
    return attach_vectors(table, vectors, encoder.version, encoder.dim, now)


def attach_vectors(
    rows: pa.Table, vectors: np.ndarray, model_version: str, dim: int, now: datetime | None = None
) -> pa.Table:
    """``rows`` with ``model_version``, ``embedded_at`` and ``vector`` appended (replacing stale ones).

    What :func:`embed_batch` returns, for vectors that were already made (the text cache,
    :mod:`semantic.vectors.text_cache`): ``vectors`` holds one row per row of ``rows``, in order.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    stamp = now or datetime.now(UTC).replace(tzinfo=None)
    n = rows.num_rows
    out = rows.drop_columns([c for c in (MODEL_VERSION, EMBEDDED_AT, VECTOR) if c in rows.column_names])
    out = out.append_column(MODEL_VERSION, pa.array([model_version] * n, type=pa.string()))
    out = out.append_column(EMBEDDED_AT, pa.array([stamp] * n, type=pa.timestamp("us")))
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    return out.append_column(VECTOR, pa.FixedSizeListArray.from_arrays(flat, dim))


def with_text(rows: pa.Table, text_column: str) -> tuple[pa.Table, int]:
    """Keep the rows whose text is not NULL, empty or blank; return them and how many were dropped."""
    text = rows.column(text_column)
    keep = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), False)
    kept = rows.filter(keep)
    return kept, rows.num_rows - kept.num_rows


def with_content_hash(rows: pa.Table, text_column: str) -> pa.Table:
    """Add ``content_hash`` (md5 hex of the text, as the dbt macro ``content_hash`` computes it) if absent."""
    if CONTENT_HASH in rows.column_names:
        return rows
    hashes = [hashlib.md5(t.encode("utf-8")).hexdigest() if t is not None else None
              for t in rows.column(text_column).to_pylist()]
    return rows.append_column(CONTENT_HASH, pa.array(hashes, type=pa.string()))
