"""The LanceDB vector store: one table per embedded entity, kept in sync with the warehouse.

A row is embedded again only when its ``content_hash`` or the model version changed; rows that
left the source are deleted. All embedding happens before anything is written, and each write is
a single Lance commit, so a failed run leaves the previous table version intact and readable.
LanceDB reports distances; this module is the one place they become cosine similarities.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semantic.errors import SemanticDataError, SemanticModelVersionError

if TYPE_CHECKING:  # pragma: no cover
    from semantic.encoder import Encoder

logger = logging.getLogger("semantic")

CONTENT_HASH = "content_hash"
TEXT = "text"
MODEL_VERSION = "model_version"
EMBEDDED_AT = "embedded_at"
VECTOR = "vector"
SYNC_LOG_TABLE = "sync_runs"
_DELETE_CHUNK = 500


@dataclass(frozen=True)
class SyncResult:
    """What one sync did to one vector table.

    Attributes:
        table: The LanceDB table name.
        model_version: The encoder version of every row after the sync.
        embedded: Rows embedded in this run (new, changed, or re-embedded for a new model).
        unchanged: Rows whose hash and model version matched, so were kept as they were.
        deleted: Rows removed because they left the source (or their text became empty).
        skipped_empty: Source rows with NULL or empty text, which get no vector.
        total: Rows in the table after the sync.
        lance_version: The Lance table version after the sync.
    """

    table: str
    model_version: str
    embedded: int
    unchanged: int
    deleted: int
    skipped_empty: int
    total: int
    lance_version: int


def cosine_from_distance(distance: np.ndarray | pa.Array, metric: str = "l2") -> np.ndarray:
    """Convert LanceDB distances between unit vectors to cosine similarity in [-1, 1].

    Lance reports squared L2 (``2 - 2 cos`` for unit vectors) or cosine distance (``1 - cos``).
    """
    d = np.asarray(distance, dtype=np.float64)
    if metric == "cosine":
        return np.clip(1.0 - d, -1.0, 1.0)
    if metric == "l2":
        return np.clip(1.0 - d / 2.0, -1.0, 1.0)
    raise ValueError(f"unknown metric {metric!r}; accepted: 'l2', 'cosine'")


def check_model_versions(stored: Sequence[str | None], query_version: str, where: str = "the stored vectors") -> None:
    """Raise when stored vectors come from another model version than the query (the one guard).

    Raises:
        SemanticModelVersionError: Names both versions and the fix.
    """
    others = sorted({v for v in stored if v is not None and v != query_version})
    if others:
        raise SemanticModelVersionError(
            f"{where} holds vectors of model version {', '.join(others)}, but the query was embedded with "
            f"{query_version}; vectors of different models are not comparable. Run `dbt build` to re-embed "
            f"with the active model, or set model_dir back to the model of version {others[0]}"
        )


def sql_literal(value: Any) -> str:
    """A value as a LanceDB (DataFusion) SQL literal, quotes doubled, so it can only ever be data."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _check_ids(rows: pa.Table, id_column: str, table: str) -> None:
    if id_column not in rows.column_names:
        raise SemanticDataError(
            f"rows for '{table}' have no id column '{id_column}' (columns: {rows.column_names}); "
            "select the key column under that name"
        )
    ids = rows.column(id_column)
    n_null = ids.null_count
    if n_null:
        raise SemanticDataError(
            f"{n_null} row(s) for '{table}' have a NULL {id_column}; every row needs an id - "
            "filter them out or fill them in the staging model"
        )
    counts = pc.value_counts(ids)
    dup = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(dup):
        shown = ", ".join(str(v) for v in dup.field("values").to_pylist()[:20])
        raise SemanticDataError(
            f"{len(dup)} duplicate {id_column} value(s) in the rows for '{table}': {shown}; "
            "ids must be unique - deduplicate them in the staging model"
        )


class VectorStore:
    """A LanceDB folder holding the vector tables.

    Each call opens a fresh connection, so a long-lived process never reads a stale version.

    Args:
        lance_dir: The LanceDB folder (created on first write).
    """

    def __init__(self, lance_dir: Path | str) -> None:
        self.lance_dir = Path(lance_dir)

    def _db(self) -> Any:
        import lancedb

        self.lance_dir.mkdir(parents=True, exist_ok=True)
        return lancedb.connect(str(self.lance_dir))

    def table_path(self, table: str) -> Path:
        """Return the ``.lance`` dataset path of a table (what DuckDB's lance extension reads)."""
        return self.lance_dir / f"{table}.lance"

    def versioned_uri(self, table: str) -> str:
        """A ``file://`` URI of the table that names its latest version (for DuckDB's lance extension).

        A table that does not exist yet gets its plain URI: DuckDB binds the URI when a macro that
        uses it is created, before the first build has written anything.
        """
        uri = self.table_path(table).resolve().as_uri()
        if not self.exists(table):
            return uri
        return f"{uri}?version={self._db().open_table(table).version}"

    def exists(self, table: str) -> bool:
        """Whether the table has been written."""
        return self.table_path(table).exists()

    def read(self, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Read a whole table (or some columns of it) as Arrow."""
        tbl = self._db().open_table(table)
        data = tbl.to_arrow()
        return data.select(list(columns)) if columns else data

    def sync(
        self,
        table: str,
        rows: pa.Table,
        encoder: Encoder,
        id_column: str,
        text_column: str = TEXT,
        full_text: bool = False,
    ) -> SyncResult:
        """Bring a vector table in line with its source rows, embedding only what changed.

        Args:
            table: LanceDB table name.
            full_text: Also keep a BM25 full-text index on the text column (for hybrid search).
            rows: Source rows: the id, ``content_hash``, the text and any filter columns.
            encoder: The active encoder; its version is stamped on every vector.
            id_column: The key column.
            text_column: The column to embed.

        Raises:
            SemanticDataError: ids are missing or duplicated, or a required column is absent.
        """
        for col in (text_column, CONTENT_HASH):
            if col not in rows.column_names:
                raise SemanticDataError(
                    f"rows for '{table}' have no '{col}' column (columns: {rows.column_names}); "
                    f"the staging model must provide '{text_column}' and '{CONTENT_HASH}'"
                )
        _check_ids(rows, id_column, table)
        text = rows.column(text_column)
        has_text = pc.and_(pc.is_valid(text), pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0))
        has_text = pc.fill_null(has_text, False)
        skipped = len(rows) - pc.sum(has_text).as_py() if len(rows) else 0
        if skipped:
            logger.info("%s: %d row(s) have NULL or empty text and get no vector", table, skipped)
        rows = rows.filter(has_text)

        version = encoder.version
        existing = self._existing(table, id_column)
        if existing is None:
            stale = np.ones(len(rows), dtype=bool)
            removed: list[str] = []
        else:
            known = {
                i: (h, v)
                for i, h, v in zip(
                    existing.column(id_column).to_pylist(),
                    existing.column(CONTENT_HASH).to_pylist(),
                    existing.column(MODEL_VERSION).to_pylist(),
                )
            }
            ids = rows.column(id_column).to_pylist()
            hashes = rows.column(CONTENT_HASH).to_pylist()
            stale = np.array([known.get(i) != (h, version) for i, h in zip(ids, hashes)], dtype=bool)
            removed = sorted(set(known) - set(ids))
        todo = rows.filter(pa.array(stale)) if len(rows) else rows
        logger.info(
            "%s: embedding %d of %d rows with model %s (%d unchanged, %d to delete)",
            table, len(todo), len(rows), version, len(rows) - len(todo), len(removed),
        )
        new = self._embed(table, todo, encoder, text_column)

        db = self._db()
        if existing is None:
            tbl = db.create_table(table, new, mode="overwrite")
        else:
            tbl = db.open_table(table)
            if len(new):
                (
                    tbl.merge_insert(id_column)
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute(new)
                )
            for start in range(0, len(removed), _DELETE_CHUNK):
                part = removed[start : start + _DELETE_CHUNK]
                tbl.delete(f"{id_column} IN ({', '.join(sql_literal(str(i)) for i in part)})")
        if full_text and (len(new) or len(removed) or not self.has_fts_index(table, text_column)):
            # BM25 full-text index for hybrid search; rebuilt so appended and changed rows are in it
            from lancedb.index import FTS

            tbl.create_index(text_column, config=FTS(), replace=True)
        result = SyncResult(
            table=table,
            model_version=version,
            embedded=len(new),
            unchanged=len(rows) - len(new),
            deleted=len(removed),
            skipped_empty=int(skipped),
            total=tbl.count_rows(),
            lance_version=int(tbl.version),
        )
        self._log_run(db, result)
        logger.info(
            "%s: embedded %d rows, kept %d unchanged, deleted %d; %d rows at Lance version %d",
            table, result.embedded, result.unchanged, result.deleted, result.total, result.lance_version,
        )
        return result

    def has_fts_index(self, table: str, column: str = TEXT) -> bool:
        """Whether ``table`` has a full-text index on ``column``."""
        if not self.exists(table):
            return False
        return any(column in idx.columns and "FTS" in str(idx.index_type).upper()
                   for idx in self._db().open_table(table).list_indices())

    def _existing(self, table: str, id_column: str) -> pa.Table | None:
        if not self.exists(table):
            return None
        return self.read(table, [id_column, CONTENT_HASH, MODEL_VERSION])

    def _embed(self, table: str, rows: pa.Table, encoder: Encoder, text_column: str) -> pa.Table:
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-9)
            logger.info("%s: embedded %d/%d texts (%.0f texts/s)", table, done, total, rate)

        vectors = encoder.encode(rows.column(text_column).to_pylist(), progress=progress)
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        now = datetime.now(UTC).replace(tzinfo=None)
        out = rows
        for name, column in (
            (MODEL_VERSION, pa.array([encoder.version] * len(rows), type=pa.string())),
            (EMBEDDED_AT, pa.array([now] * len(rows), type=pa.timestamp("us"))),
            (VECTOR, pa.FixedSizeListArray.from_arrays(flat, encoder.dim)),
        ):
            if name in out.column_names:
                out = out.drop_columns([name])
            out = out.append_column(name, column)
        return out

    def _log_run(self, db: Any, result: SyncResult) -> None:
        record = asdict(result)
        record["synced_at"] = datetime.now(UTC).replace(tzinfo=None)
        data = pa.Table.from_pylist([record])
        if (self.lance_dir / f"{SYNC_LOG_TABLE}.lance").exists():
            db.open_table(SYNC_LOG_TABLE).add(data)
        else:
            db.create_table(SYNC_LOG_TABLE, data)

    def assert_model_version(self, table: str, model_version: str) -> None:
        """Refuse to compare a query of one model version with vectors of another.

        Raises:
            SemanticModelVersionError: The table holds vectors of another model version.
        """
        stored = pc.unique(self.read(table, [MODEL_VERSION]).column(MODEL_VERSION)).to_pylist()
        check_model_versions(stored, model_version, f"table '{table}'")

    def search(
        self,
        table: str,
        vector: np.ndarray,
        model_version: str,
        k: int = 10,
        where: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Nearest neighbours of a query vector, with cosine ``similarity`` and 1-based ``rank``.

        Args:
            table: The vector table.
            vector: A unit-length query vector.
            model_version: The version of the model that embedded the query.
            k: How many rows to return.
            where: An optional SQL filter applied before the vector search.
            columns: Columns to return besides similarity and rank (default: all but the vector).

        Raises:
            SemanticModelVersionError: The table's vectors come from another model version.
        """
        if k < 1:
            raise SemanticDataError(f"k must be a positive integer, got {k}; pass k >= 1")
        self.assert_model_version(table, model_version)
        tbl = self._db().open_table(table)
        query = tbl.search(np.asarray(vector, dtype=np.float32)).distance_type("cosine").limit(k)
        if where:
            query = query.where(where, prefilter=True)
        hits = query.to_arrow()
        keep = list(columns) if columns else [c for c in hits.column_names if c not in (VECTOR, "_distance")]
        sim = cosine_from_distance(hits.column("_distance").to_numpy(), "cosine")
        out = hits.select(keep)
        out = out.append_column("similarity", pa.array(sim, type=pa.float64()))
        return out.append_column("rank", pa.array(np.arange(1, len(out) + 1), type=pa.int32()))


def sync_embeddings(
    rows: pa.Table,
    table: str,
    id_column: str,
    text_column: str = TEXT,
    output_columns: Sequence[str] | None = None,
    mirrored: pa.Table | None = None,
    full_text: bool = False,
) -> pa.Table:
    """Sync one entity's vectors in LanceDB and return the rows the DuckDB mirror must upsert.

    This is what a dbt Python model calls: the active config (set by the dbt plugin) says where
    LanceDB lives and which encoder to use.

    Args:
        rows: The staging rows.
        table: The LanceDB table name.
        id_column: The key column.
        text_column: The column to embed.
        output_columns: Columns to return besides the id, hash, model version, time and vector.
        mirrored: On an incremental run, the (id, content_hash, model_version) rows the DuckDB
            table already holds; only LanceDB rows missing from it or different are returned.
            ``None`` returns every row (first run or full refresh).
    """
    from semantic.config import active
    from semantic.encoder import load_encoder

    config = active()
    store = VectorStore(config.lance_dir)
    encoder = load_encoder(config.encoder_dir(), config.batch_size)
    store.sync(table, rows, encoder, id_column=id_column, text_column=text_column, full_text=full_text)
    extra = [c for c in (output_columns or []) if c != id_column]
    data = store.read(table, [id_column, *extra, CONTENT_HASH, MODEL_VERSION, EMBEDDED_AT, VECTOR])
    if mirrored is not None:
        have = set(
            zip(
                mirrored.column(id_column).to_pylist(),
                mirrored.column(CONTENT_HASH).to_pylist(),
                mirrored.column(MODEL_VERSION).to_pylist(),
            )
        )
        keys = zip(
            data.column(id_column).to_pylist(),
            data.column(CONTENT_HASH).to_pylist(),
            data.column(MODEL_VERSION).to_pylist(),
        )
        data = data.filter(pa.array([k not in have for k in keys], type=pa.bool_()))
        logger.info("%s: %d row(s) to upsert into the DuckDB mirror", table, len(data))
    return data.sort_by(id_column)
