"""The LanceDB vector store: one table per embedded entity, kept in sync with the warehouse.

A row is embedded again only when its ``content_hash`` or the model version changed; rows that
left the source are deleted. All embedding happens before anything is written, and each write is
a single Lance commit, so a failed run leaves the previous table version intact and readable.
LanceDB reports distances; this module is the one place they become cosine similarities.
A table that reaches ``vector_index_min_rows`` gets an ANN index, brought up to date after every
sync and checked against exact search (:mod:`semantic.vectors.index`).

Why this module is over 600 lines: it is one class, the only writer of LanceDB tables; its sync,
index upkeep and reads share the open-table handles and the per-table sync state, which split
across modules would have to become public. What the dbt models call lives in
:mod:`semantic.vectors.sync`, the embedding stage in :mod:`semantic.vectors.embedding`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semantic import faults
from semantic.errors import SemanticConfigError, SemanticDataError, SemanticModelVersionError
from semantic.vectors.embedding import (
    CONTENT_HASH,
    EMBEDDED_AT,
    MODEL_VERSION,
    TEXT,
    VECTOR,
    attach_vectors,
    embedded_schema,
)
from semantic.vectors.fingerprints import arrow_fingerprint
from semantic.vectors.graph import Graph, ensure_graph, open_graph, versions_with_graph
from semantic.vectors.index import (
    INDEX_LOG_TABLE,
    INDEX_TYPE,
    NPROBES,
    REBUILD_FRACTION,
    REFINE_FACTOR,
    IndexRun,
    IndexState,
    RecallCheck,
    check_min_rows,
    choose_nprobes,
    ensure_index,
    find_vector_index,
    index_log_record,
    index_metric,
    index_type_of,
    recall_at_k,
)
from semantic.vectors.retention import prune
from semantic.vectors.text_cache import TextVectorCache, text_hashes
from semantic.vectors.text_cache import enabled as text_cache_enabled
from semantic.vectors.text_cache import prune as prune_text_cache

if TYPE_CHECKING:  # pragma: no cover
    from semantic.encoding.encoder import Encoder

logger = logging.getLogger("semantic")

SYNC_LOG_TABLE = "sync_runs"
#: Folder (in the LanceDB folder) of each table's last sync state: what lets a no-change sync skip LanceDB.
SYNC_STATE_DIR = "_sync_state"
#: Folder (in the LanceDB folder) of each indexed table's probe count, chosen by the build (``tune_probes``).
SEARCH_SETTINGS_DIR = "_search_settings"
_DELETE_CHUNK = 500
_U64_MAX = 2**64 - 1
#: Rows embedded and written per step of a sync: bounds the vectors in memory (about 50 MB at 384 d).
EMBED_CHUNK_ROWS = 32_768
#: Rows per batch when a table is streamed (:meth:`VectorStore.scan`), and batches read ahead (Lance
#: reads 16 ahead by default: 400 MB of 384-d vectors buffered beside DuckDB's own memory).
SCAN_BATCH_ROWS = 16_384
SCAN_READAHEAD = 2


@dataclass(frozen=True)
class SyncResult:
    """What one sync did to one vector table.

    Attributes:
        table: The LanceDB table name.
        model_version: The encoder version of every row after the sync.
        embedded: Rows embedded in this run (new, changed, or re-embedded for a new model).
        encoded: Texts the encoder ran on for them: the distinct texts the text cache did not hold
            (:mod:`semantic.vectors.text_cache`).
        unchanged: Rows whose hash and model version matched, so were kept as they were.
        deleted: Rows removed because they left the source (or their text became empty).
        skipped_empty: Source rows with NULL or empty text, which get no vector.
        total: Rows in the table after the sync.
        lance_version: The Lance table version after the sync.
    """

    table: str
    model_version: str
    embedded: int
    encoded: int
    unchanged: int
    deleted: int
    skipped_empty: int
    total: int
    lance_version: int


_LOG_LOCK = threading.Lock()
#: SQL types of the columns :func:`append_log` may add to an older log.
_SQL_TYPES = {pa.int64(): "bigint", pa.float64(): "double", pa.string(): "string", pa.bool_(): "boolean"}


def sync_log_row(result: SyncResult) -> pa.Table:
    """The ``sync_runs`` row of one sync: its :class:`SyncResult` and when it ran."""
    record = asdict(result)
    record["synced_at"] = datetime.now(UTC).replace(tzinfo=None)
    return pa.Table.from_pylist([record])


def append_log(db: Any, table: str, rows: pa.Table) -> None:
    """Append rows to a LanceDB log table (created on first use).

    A log written by an older release lacks the columns added since (``sync_runs.encoded``): they are
    added to it first, NULL on its old rows, so an upgrade never stops a build.
    """
    with _LOG_LOCK:  # syncs of several tables in threads (dbt threads > 1) append to one log
        if table not in db.table_names():
            db.create_table(table, rows)
            return
        tbl = db.open_table(table)
        have = set(tbl.schema.names)
        added = {f.name: f"cast(null as {_SQL_TYPES.get(f.type, 'string')})" for f in rows.schema
                 if f.name not in have}
        if added:
            tbl.add_columns(added)
            tbl = db.open_table(table)
        tbl.add(rows.select(tbl.schema.names))


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


def check_ids(rows: pa.Table, id_column: str, what: str, fix_where: str = "in the staging model") -> None:
    """Refuse rows whose id column is missing, NULL or duplicated, naming them and the fix.

    Args:
        rows: The rows.
        id_column: The key column.
        what: The rows in words, for the message (``"the rows for 'assets'"``, ``"the source"``).
        fix_where: Where the user fixes them (``"in the staging model"``).

    Raises:
        SemanticDataError: The first problem found.
    """
    if id_column not in rows.column_names:
        raise SemanticDataError(
            f"{what} have no id column '{id_column}' (columns: {rows.column_names}); "
            "select the key column under that name"
        )
    ids = rows.column(id_column)
    n_null = ids.null_count
    if n_null:
        raise SemanticDataError(
            f"{n_null} row(s) of {what} have a NULL {id_column}; every row needs an id - "
            f"filter them out or fill them {fix_where}"
        )
    if pc.count_distinct(ids).as_py() == len(ids):
        return
    counts = pc.value_counts(ids)
    dup = counts.filter(pc.greater(counts.field("counts"), pa.scalar(1, pa.int64())))
    if len(dup):
        shown = ", ".join(str(v) for v in dup.field("values").to_pylist()[:20])
        raise SemanticDataError(
            f"{len(dup)} duplicate {id_column} value(s) in {what}: {shown}; "
            f"ids must be unique - deduplicate them {fix_where}"
        )


@dataclass(frozen=True)
class _SearchHandle:
    """An open table with what every search of it checks, valid while its versions token holds."""

    token: str
    dataset: Any
    model_versions: tuple[str | None, ...]
    index: Any | None
    columns: tuple[str, ...]
    nprobes: int
    graph: Graph | None = None


def _graph_search(handle: _SearchHandle, vector: np.ndarray, k: int, keep: list[str]) -> pa.Table:
    """Top ``k`` through the version's HNSW graph (exact cosine); those rows' columns from the graph's column copy."""
    assert handle.graph is not None
    offsets, sim = handle.graph.nearest(vector, k)
    out = handle.graph.rows_at(offsets, keep)
    if out is None:  # a graph without its column copy (written before it existed)
        order = np.argsort(offsets)  # Lance takes rows in offset order
        taken = handle.dataset.take(offsets[order], columns=keep)
        out = taken.take(pa.array(np.argsort(order), type=pa.int64()))  # back to best first
    out = out.append_column("similarity", pa.array(sim.astype(np.float64), type=pa.float64()))
    return out.append_column("rank", pa.array(np.arange(1, len(out) + 1), type=pa.int32()))


def _compare_rows(
    rows: pa.Table, existing: pa.Table, id_column: str, version: str, shared: Sequence[str]
) -> tuple[np.ndarray, list[Any], list[int]]:
    """What a sync must do with ``rows`` against the ``existing`` table's rows, compared by id.

    Returns:
        The rows to embed (a mask: no stored row of that id with the same content hash and model ``version``), the
        stored ids no longer in ``rows`` (sorted), and the positions of the rows to rewrite with their stored vector
        (text and model the same, one of the ``shared`` columns not: NULLs equal).

    In DuckDB, not Python dicts: half a million rows as Python tuples cost about 700 MB that the interpreter's
    allocator kept for the rest of the build.
    """
    import duckdb

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    key, content, model = q(id_column), q(CONTENT_HASH), q(MODEL_VERSION)
    with duckdb.connect() as con:
        con.register("_rows", rows.select([id_column, CONTENT_HASH, *shared]).append_column(
            "_position", pa.array(np.arange(len(rows), dtype=np.int64))))
        con.register("_stored", existing.select([id_column, CONTENT_HASH, MODEL_VERSION, *shared]))
        same = f"s.{content} = r.{content} and s.{model} = $version"
        kept = con.execute(
            f"select r._position, ({' or '.join(f's.{q(c)} is distinct from r.{q(c)}' for c in shared) or 'false'}) "
            f"from _rows r join _stored s on s.{key} = r.{key} where {same}", {"version": version}
        ).fetchnumpy()
        removed = [r[0] for r in con.sql(
            f"select {key} from _stored s where not exists (select 1 from _rows r where r.{key} = s.{key}) "
            f"order by {key}").fetchall()]
    stale = np.ones(len(rows), dtype=bool)
    positions = np.asarray(kept["_position"], dtype=np.int64)
    stale[positions] = False
    changed = np.asarray(kept[list(kept)[1]], dtype=bool)
    return stale, removed, sorted(positions[changed].tolist())


def _stream_then_fault(chunks: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield from chunks
    faults.point("lance_write")  # the fault-injection suite: every batch handed to LanceDB, nothing committed


class VectorStore:
    """A LanceDB folder holding the vector tables.

    Writes and reads open a fresh connection, so a long-lived process never reads a stale version.
    :meth:`search` keeps the open table, its model versions and its index per table and reuses
    them while no new version has been committed (:meth:`versions_token`), so a query costs the
    search itself, not a connection, an index listing and a scan of the model-version column.

    Args:
        lance_dir: The LanceDB folder (created on first write).
        pins: Versions to search instead of the latest, by table (a reader's: the versions the DuckDB
            file it reads was published with, :mod:`semantic.vectors.pins`); writes are unaffected.
    """

    def __init__(self, lance_dir: Path | str, pins: Mapping[str, int] | None = None) -> None:
        self.lance_dir = Path(lance_dir)
        self.pins = dict(pins or {})
        self._search_handles: dict[str, _SearchHandle] = {}

    def _db(self) -> Any:
        import lancedb

        self.lance_dir.mkdir(parents=True, exist_ok=True)
        return lancedb.connect(str(self.lance_dir))

    def table_path(self, table: str) -> Path:
        """Return the ``.lance`` dataset path of a table (what DuckDB's lance extension reads)."""
        return self.lance_dir / f"{table}.lance"

    def versioned_uri(self, table: str) -> str:
        """A ``file://`` URI of the table that names its latest (or pinned) version, for DuckDB's lance extension.

        The extension reads the latest version whatever the URI says; the version only makes the URI
        change with each commit, so the extension's per-connection dataset cache is not read stale.

        A table that does not exist yet gets its plain URI: DuckDB binds the URI when a macro that
        uses it is created, before the first build has written anything.
        """
        uri = self.table_path(table).resolve().as_uri()
        if not self.exists(table):
            return uri
        if table in self.pins:
            return f"{uri}?version={self.pins[table]}"
        version = self.latest_version(table)
        if version is None:
            version = self._db().open_table(table).version
        return f"{uri}?version={version}"

    def latest_version(self, table: str) -> int | None:
        """The table's latest committed version, read from its manifest file names (no import of LanceDB).

        Lance names manifests ``<version>.manifest``, or with v2 paths ``<2**64 - 1 - version>.manifest``
        (20 digits, so the newest sorts first). None when there is none or a name is not one of those.
        """
        folder = self.table_path(table) / "_versions"
        if not folder.is_dir():
            return None
        versions = []
        for path in folder.iterdir():
            stem, dot, suffix = path.name.partition(".")
            if suffix != "manifest" or not dot:
                continue
            if not stem.isdigit():
                return None
            versions.append(_U64_MAX - int(stem) if len(stem) == 20 else int(stem))
        return max(versions) if versions else None

    def exists(self, table: str) -> bool:
        """Whether the table has been written."""
        return self.table_path(table).exists()

    def read(self, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Read a whole table (or some columns of it, the others never loaded) as Arrow."""
        dataset = self._db().open_table(table).to_lance()
        return dataset.to_table(columns=list(columns) if columns else None)

    def schema(self, table: str, columns: Sequence[str]) -> pa.Schema:
        """The Arrow schema of some columns of a table, read from its manifest (no data)."""
        full = self._db().open_table(table).schema
        return pa.schema([full.field(c) for c in columns])

    def scan(
        self,
        table: str,
        columns: Sequence[str],
        id_column: str | None = None,
        ids: pa.Array | None = None,
    ) -> pa.RecordBatchReader:
        """Stream some columns of a table, optionally only the rows whose ``id_column`` is in ``ids``.

        The reader holds one batch at a time, so a dbt model can hand hundreds of thousands of
        vectors to DuckDB without having them all in memory.
        """
        dataset = self._db().open_table(table).to_lance()
        names = list(columns)
        schema = pa.schema([dataset.schema.field(c) for c in names])

        def batches() -> Any:
            for batch in dataset.to_batches(columns=names, batch_size=SCAN_BATCH_ROWS, batch_readahead=SCAN_READAHEAD,
                                            fragment_readahead=1):
                if ids is not None and id_column is not None:
                    batch = batch.filter(pc.is_in(batch.column(id_column), value_set=ids))
                if batch.num_rows:
                    yield batch

        return pa.RecordBatchReader.from_batches(schema, batches())

    def sync(
        self,
        table: str,
        rows: pa.Table,
        encoder: Encoder,
        id_column: str,
        text_column: str = TEXT,
        full_text: bool = False,
        vector_index_min_rows: int | None = None,
        versions_kept: int | None = None,
        graph_min_rows: int | None = None,
    ) -> SyncResult:
        """Bring a vector table in line with its source rows, embedding only what changed.

        Args:
            table: LanceDB table name.
            full_text: Also keep a BM25 full-text index on the text column (for hybrid search).
            rows: Source rows: the id, ``content_hash``, the text and any filter columns.
            encoder: The active encoder; its version is stamped on every vector.
            id_column: The key column.
            text_column: The column to embed.
            vector_index_min_rows: Build the ANN vector index once the table has this many rows
                (see :meth:`ensure_vector_index`); None builds none but keeps an existing one current.
            versions_kept: Keep only this many LanceDB versions of the table and of the sync log after
                the sync (:func:`semantic.vectors.retention.prune`; the published ones are kept too);
                None keeps every version.
            graph_min_rows: Rows from which the table's latest version also gets an HNSW graph for unfiltered
                searches (:mod:`semantic.vectors.graph`; dbt var ``graph_index_min_rows``, for the assets); None
                never, and removes any.

        Raises:
            SemanticDataError: ids are missing or duplicated, or a required column is absent.
        """
        for col in (text_column, CONTENT_HASH):
            if col not in rows.column_names:
                raise SemanticDataError(
                    f"rows for '{table}' have no '{col}' column (columns: {rows.column_names}); "
                    f"the staging model must provide '{text_column}' and '{CONTENT_HASH}'"
                )
        check_ids(rows, id_column, f"the rows for '{table}'")
        text = rows.column(text_column)
        has_text = pc.and_(pc.is_valid(text), pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0))
        has_text = pc.fill_null(has_text, False)
        skipped = len(rows) - pc.sum(has_text).as_py() if len(rows) else 0
        if skipped:
            logger.info("%s: %d row(s) have NULL or empty text and get no vector", table, skipped)
        rows = rows.filter(has_text)

        version = encoder.version
        # the same rows, model and settings as the last sync, and no write to the table since: done,
        # without opening LanceDB (a no-change `dbt build` costs this check only)
        key = {"rows": arrow_fingerprint(rows.drop_columns([text_column])), "model_version": version,
               "full_text": full_text, "vector_index_min_rows": vector_index_min_rows}
        if graph_min_rows is not None:  # no key when unset: the state of earlier syncs still holds
            key["graph_min_rows"] = graph_min_rows
        state = self._sync_state(table)
        if (state is not None and state.get("key") == key and state.get("versions") == self.versions_token(table)
                and self._graph_sound(table, graph_min_rows, int(state["total"]))):
            logger.info("%s: nothing changed since the last sync (%d rows, model %s, Lance version %d)",
                        table, state["total"], version, state["lance_version"])
            return SyncResult(table=table, model_version=version, embedded=0, encoded=0, unchanged=len(rows), deleted=0,
                              skipped_empty=int(skipped), total=int(state["total"]),
                              lance_version=int(state["lance_version"]))
        attributes = [c for c in rows.column_names if c not in (id_column, CONTENT_HASH, MODEL_VERSION, EMBEDDED_AT,
                                                                  VECTOR)]
        existing = self._existing(table, id_column, attributes)
        moved: list[int] = []
        if existing is None:
            stale = np.ones(len(rows), dtype=bool)
            removed: list[Any] = []
        else:
            # same text and model, other columns changed (a market, a brand, an active flag): the
            # row is rewritten with its stored vector, never re-embedded
            shared = [c for c in attributes if c in existing.column_names]
            stale, removed, moved = _compare_rows(rows, existing, id_column, version, shared)
        todo = rows.filter(pa.array(stale)) if len(rows) else rows
        logger.info(
            "%s: embedding %d of %d rows with model %s (%d unchanged, %d with changed columns only, %d to delete)",
            table, len(todo), len(rows), version, len(rows) - len(todo) - len(moved), len(moved), len(removed),
        )
        # embedded EMBED_CHUNK_ROWS at a time and streamed into one Lance commit (create or merge)

        schema = embedded_schema(todo.schema, encoder.dim)
        counts = {"embedded": 0, "encoded": 0, "cached": 0}
        cache = TextVectorCache(self.lance_dir, version, encoder.dim) if text_cache_enabled() and len(todo) else None
        chunks = self._embed_chunks(table, todo, encoder, text_column, counts, cache)
        if moved:
            restamped = self._restamped(table, rows.take(moved), id_column).select(schema.names).cast(schema)
            chunks = itertools.chain(chunks, restamped.to_batches())
        written = len(todo) + len(moved)
        chunks = _stream_then_fault(chunks)

        db = self._db()
        try:
            if existing is None:
                try:
                    tbl = db.create_table(table, data=pa.RecordBatchReader.from_batches(schema, chunks), schema=schema,
                                          mode="overwrite")
                except BaseException:
                    # a create that failed part-way leaves data files and no version: remove them, so
                    # the next run starts the table afresh instead of failing to open it
                    if self.exists(table) and not (self.table_path(table) / "_versions").is_dir():
                        shutil.rmtree(self.table_path(table), ignore_errors=True)
                    raise
            else:
                tbl = db.open_table(table)
                if written:
                    (
                        tbl.merge_insert(id_column)
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .execute(pa.RecordBatchReader.from_batches(schema, chunks))
                    )
                for start in range(0, len(removed), _DELETE_CHUNK):
                    part = removed[start : start + _DELETE_CHUNK]
                    tbl.delete(f"{id_column} IN ({', '.join(sql_literal(str(i)) for i in part)})")
        except BaseException:
            if cache is not None:
                cache.discard()
            raise
        if cache is not None:  # after the table's commit: the cache never holds what no table was given
            cache.commit()
            prune_text_cache(self.lance_dir)
        faults.point("lance_commit")  # the fault-injection suite: LanceDB committed, the DuckDB mirror not written
        n_embedded = counts["embedded"]
        if n_embedded:
            logger.info("%s: %d of %d embedded rows were encoded (%d distinct texts); %d came from the text cache "
                        "or another row of the same text", table, counts["encoded"], n_embedded, counts["encoded"],
                        n_embedded - counts["encoded"])
        if full_text and (written or len(removed) or not self.has_fts_index(table, text_column)):
            # BM25 full-text index for hybrid search; rebuilt so appended and changed rows are in it
            from lancedb.index import FTS

            tbl.create_index(text_column, config=FTS(), replace=True)
        result = SyncResult(
            table=table,
            model_version=version,
            embedded=n_embedded,
            encoded=counts["encoded"],
            unchanged=len(rows) - n_embedded,
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
        self.ensure_vector_index(table, vector_index_min_rows, graph_min_rows=graph_min_rows)
        if versions_kept is not None:  # before the state: its token lists the versions that remain
            for kept in (table, SYNC_LOG_TABLE):
                prune(self.table_path(kept), versions_kept)
        self._write_sync_state(table, {"key": key, "versions": self.versions_token(table), "total": result.total,
                                       "lance_version": result.lance_version})
        return result

    def _graph_sound(self, table: str, graph_min_rows: int | None, rows: int) -> bool:
        """False when the table should have a graph and its newest one (that of the latest version, when no write
        came since the last sync) does not open: the sync then goes the full way and builds it again."""
        if graph_min_rows is None or rows < graph_min_rows:
            return True
        versions = versions_with_graph(self.lance_dir, table)
        return bool(versions) and open_graph(self.lance_dir, table, versions[-1]) is not None

    def versions_token(self, table: str) -> str | None:
        """A cheap token of a table's committed versions (its ``_versions`` listing; None if absent).

        Any write to the table (rows, deletions, indexes, by this project or anyone else) adds a
        manifest and so changes the token; reading it imports nothing.
        """
        folder = self.table_path(table) / "_versions"
        if not folder.is_dir():
            return None
        names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".manifest"))
        return hashlib.md5("\n".join(names).encode()).hexdigest() if names else None

    def _sync_state_path(self, table: str) -> Path:
        return self.lance_dir / SYNC_STATE_DIR / f"{table}.json"

    def _sync_state(self, table: str) -> dict[str, Any] | None:
        path = self._sync_state_path(table)
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):  # no sync yet, or an unreadable file: sync fully
            return None
        return state if isinstance(state, dict) else None

    def _write_sync_state(self, table: str, state: dict[str, Any]) -> None:
        path = self._sync_state_path(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, sort_keys=True, default=str))
        tmp.replace(path)

    def vector_tables(self) -> list[str]:
        """Names of the tables that hold a ``vector`` column (not the ``sync_runs`` or index logs)."""
        if not self.lance_dir.is_dir():
            return []
        db = self._db()
        names = sorted(p.name[: -len(".lance")] for p in self.lance_dir.glob("*.lance"))
        return [n for n in names if VECTOR in db.open_table(n).schema.names]

    def ensure_vector_index(
        self, table: str, min_rows: int | None, *, rebuild_fraction: float = REBUILD_FRACTION,
        graph_min_rows: int | None = None,
    ) -> IndexRun:
        """Build the table's ANN index once it is big enough, and keep it covering every row.

        No index and at least ``min_rows`` rows: build an IVF_HNSW_SQ index (L2 over unit vectors,
        which ranks as cosine; ``partitions_for(rows)`` partitions). An index with unindexed rows
        (appended or changed since): they are indexed as a delta segment, unless more than
        ``rebuild_fraction`` of the rows are unindexed (a new model version re-embedded them), the
        table has quadrupled since training, or ``MAX_SEGMENTS`` segments accumulated: then the
        fragments are compacted and the index retrained. An existing index is kept current even
        below ``min_rows`` or when ``min_rows`` is None. Every build or optimisation is logged to the
        ``vector_indexes`` table.

        Args:
            table: The vector table.
            min_rows: Rows from which the table gets an index (dbt var ``vector_index_min_rows``);
                None never builds one.
            rebuild_fraction: Unindexed share above which the index is retrained, not optimised.
            graph_min_rows: Rows from which the latest version also gets an HNSW graph
                (:func:`semantic.vectors.graph.ensure_graph`), built after the index; None removes any.

        Raises:
            SemanticConfigError: ``min_rows`` or ``graph_min_rows`` is not a positive integer or None.
        """
        check_min_rows(min_rows)
        check_min_rows(graph_min_rows, "graph_index_min_rows")
        db = self._db()
        tbl = db.open_table(table)
        # the rules and actions are semantic.vectors.index's, shared with the distributed job
        run = ensure_index(tbl, table, min_rows, self._trained_partitions(db, table), rebuild_fraction)
        if run.action not in ("none", "current"):
            faults.point("index_build")  # the fault-injection suite: the index committed, not yet logged
            tbl.checkout_latest()
            log = index_log_record(run, find_vector_index(tbl), int(tbl.version))
            if (self.lance_dir / f"{INDEX_LOG_TABLE}.lance").exists():
                db.open_table(INDEX_LOG_TABLE).add(log)
            else:
                db.create_table(INDEX_LOG_TABLE, log)
        tbl.checkout_latest()
        ensure_graph(self.lance_dir, table, tbl.to_lance(), graph_min_rows)
        return run

    def _index_log(self, db: Any, table: str) -> list[dict[str, Any]]:
        if not (self.lance_dir / f"{INDEX_LOG_TABLE}.lance").exists():
            return []
        log = db.open_table(INDEX_LOG_TABLE).to_arrow()  # one row per build or optimisation: small
        return sorted((r for r in log.to_pylist() if r["table_name"] == table), key=lambda r: r["at"])

    def _trained_partitions(self, db: Any, table: str) -> int | None:
        built = [r for r in self._index_log(db, table) if r["action"] in ("created", "rebuilt")]
        return built[-1]["num_partitions"] if built else None

    def index_state(self, table: str) -> IndexState:
        """The vector index of a table now: rows indexed and not, partitions, when last optimised."""
        db = self._db()
        tbl = db.open_table(table)
        rows = tbl.count_rows()
        idx = find_vector_index(tbl)
        if idx is None:
            return IndexState(table, rows, None, None, None, 0, rows, 0, None, None)
        log = [r for r in self._index_log(db, table) if r["action"] in ("created", "optimised", "rebuilt")]
        return IndexState(
            table=table,
            total_rows=rows,
            index_name=idx.name,
            index_type=index_type_of(idx),
            metric=index_metric(idx),
            indexed_rows=int(idx.num_indexed_rows),
            unindexed_rows=int(idx.num_unindexed_rows),
            segments=int(idx.num_segments),
            num_partitions=self._trained_partitions(db, table),
            last_optimised_at=log[-1]["at"] if log else None,
        )

    def _probe_settings(self, table: str) -> dict[str, Any]:
        path = self.lance_dir / SEARCH_SETTINGS_DIR / f"{table}.json"
        return dict(json.loads(path.read_text())) if path.is_file() else {}

    def search_probes(self, table: str) -> int:
        """The IVF partitions an indexed search of ``table`` probes: the count the build chose
        (:meth:`tune_probes`), else ``NPROBES``."""
        return int(self._probe_settings(table).get("nprobes", NPROBES))

    def tune_probes(self, table: str, max_loss: float, sample: int = 200, k: int = 10, seed: int = 0
                    ) -> tuple[int, float, dict[int, float]]:
        """Choose and save the fewest probes whose recall@k loses at most ``max_loss`` against exact search
        (:func:`semantic.vectors.index.choose_nprobes`); every indexed search of the table then uses them."""
        if not 0.0 <= max_loss < 1.0:
            raise SemanticConfigError(f"ann_max_recall_loss must be in [0, 1), got {max_loss!r}; e.g. 0.02")
        tbl = self._db().open_table(table)
        probes, recall, tried = choose_nprobes(tbl, max_loss, sample, k, seed)
        path = self.lance_dir / SEARCH_SETTINGS_DIR / f"{table}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        # the measurement at the chosen probes, for this table version: ann_recall reuses it, not repeats it
        measured = {"recall_at_k": recall, "k": k, "sample": sample, "seed": seed,
                    "queries": min(sample, tbl.count_rows()) if tried else 0,
                    "table_version": self.versions_token(table)}
        tmp.write_text(json.dumps({"nprobes": probes, "max_loss": max_loss, **measured,
                                   "tried": {str(n): v for n, v in tried.items()}}, indent=1))
        os.replace(tmp, path)
        self._search_handles.pop(table, None)  # the next search opens a handle with the new probes
        return probes, recall, tried

    def ann_recall(self, table: str, sample: int = 200, k: int = 10, seed: int = 0) -> RecallCheck:
        """Recall@k of the indexed search against exact search, on ``sample`` of the table's own vectors.

        Cheap without an index: returns 1.0 (every search is exact) without searching.

        Raises:
            SemanticDataError: ``sample`` or ``k`` is not a positive integer, or the table does not exist.
        """
        for name, value in (("sample", sample), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SemanticDataError(f"ann_recall: {name} must be a positive integer, got {value!r}")
        if not self.exists(table):
            raise SemanticDataError(
                f"ann_recall: no LanceDB table '{table}' in {self.lance_dir}; vector tables: {self.vector_tables()}"
            )
        saved = self._probe_settings(table)
        probes = int(saved.get("nprobes", NPROBES))
        if (saved.get("queries") and [saved.get(key) for key in ("k", "sample", "seed")] == [k, sample, seed]
                and saved.get("table_version") == self.versions_token(table)):
            recall, queries = float(saved["recall_at_k"]), int(saved["queries"])  # tune_probes measured just this
        else:
            recall, queries = recall_at_k(self._db().open_table(table), sample, k, seed, nprobes=probes)
        if not queries:
            return RecallCheck(table, 1.0, k, 0, "no vector index: every search is exact")
        note = f"{INDEX_TYPE} search ({probes} probes) against exact top-{k}, {queries} sampled rows (seed {seed})"
        return RecallCheck(table, recall, k, queries, note)

    def has_fts_index(self, table: str, column: str = TEXT) -> bool:
        """Whether ``table`` has a full-text index on ``column``."""
        if not self.exists(table):
            return False
        return any(column in idx.columns and "FTS" in str(idx.index_type).upper()
                   for idx in self._db().open_table(table).list_indices())

    def _existing(self, table: str, id_column: str, attributes: Sequence[str] = ()) -> pa.Table | None:
        if not self.exists(table):
            return None
        names = self._db().open_table(table).schema.names
        return self.read(table, [id_column, CONTENT_HASH, MODEL_VERSION, *(c for c in attributes if c in names)])

    def _restamped(self, table: str, rows: pa.Table, id_column: str) -> pa.Table:
        """``rows`` (whose text and model are unchanged) with their stored vector, model version and time."""
        wanted = rows.column(id_column).combine_chunks()
        stored = self.scan(table, [id_column, MODEL_VERSION, EMBEDDED_AT, VECTOR], id_column, wanted).read_all()
        position = {i: j for j, i in enumerate(stored.column(id_column).to_pylist())}
        taken = stored.take(pa.array([position[i] for i in rows.column(id_column).to_pylist()], type=pa.int64()))
        out = rows
        for name in (MODEL_VERSION, EMBEDDED_AT, VECTOR):
            if name in out.column_names:
                out = out.drop_columns([name])
            out = out.append_column(name, taken.column(name))
        return out

    def _embed_chunks(
        self, table: str, rows: pa.Table, encoder: Encoder, text_column: str, counts: dict[str, int],
        cache: TextVectorCache | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Embed rows ``EMBED_CHUNK_ROWS`` at a time, longest texts first, yielding each chunk's batches.

        Sorting the whole call by text length first keeps every chunk's lengths alike (little
        padding), as one ``encode`` over all rows would, while only one chunk's vectors are in memory.
        With a ``cache``, each distinct text is encoded once: rows of the same text (sorted next to each
        other, and never split between chunks) share its vector, and a text the cache holds for this model
        version is not encoded at all; the vectors encoded here are held for ``cache.commit``. Without one
        (``$SEMANTIC_TEXT_CACHE=off``) every row is encoded.
        """

        if not len(rows):
            return
        hashes = text_hashes(rows.column(text_column).to_pylist())
        keys = pa.table({"n": pc.fill_null(pc.utf8_length(rows.column(text_column)), 0), "h": hashes})
        order = pc.sort_indices(keys, sort_keys=[("n", "descending"), ("h", "ascending")])
        rows, hashes = rows.take(order), hashes.take(order).to_numpy(zero_copy_only=False)
        started = time.monotonic()
        total = len(rows)
        start = 0
        while start < total:
            end = min(start + EMBED_CHUNK_ROWS, total)
            while cache is not None and end < total and hashes[end] == hashes[end - 1]:  # a text stays in one chunk
                end += 1
            chunk = rows.slice(start, end - start)

            def progress(done: int, todo: int, offset: int = start, size: int = end - start) -> None:
                done = offset + round(size * done / max(todo, 1))
                rate = done / max(time.monotonic() - started, 1e-9)
                logger.info("%s: embedded %d/%d texts (%.0f texts/s)", table, done, total, rate)

            if cache is not None:
                distinct, first, inverse = np.unique(hashes[start:end], return_index=True, return_inverse=True)
            else:  # the cache switched off: every row encoded, as before it existed (the baseline it is measured by)
                distinct, first = hashes[start:end], np.arange(end - start)
                inverse = first
            vectors = np.empty((len(distinct), encoder.dim), dtype=np.float32)
            found = cache.lookup(pa.array(distinct, pa.string())) if cache is not None else np.full(len(distinct), -1)
            hit = found >= 0
            if hit.any():
                vectors[hit] = cache.vectors(found[hit])  # type: ignore[union-attr]
            missing = np.flatnonzero(~hit)
            if len(missing):
                texts = chunk.column(text_column).take(pa.array(first[missing])).to_pylist()
                vectors[missing] = encoder.encode(texts, progress=progress)
                if cache is not None:
                    cache.hold(distinct[missing].tolist(), vectors[missing])
            else:
                progress(1, 1)
            faults.point("embed")  # the fault-injection suite: embedded, nothing handed to LanceDB yet
            embedded = attach_vectors(chunk, vectors[inverse.reshape(-1)], encoder.version, encoder.dim)
            counts["embedded"] += embedded.num_rows
            counts["encoded"] += len(missing)
            counts["cached"] += int(hit.sum())
            yield from embedded.to_batches()
            start = end

    def _log_run(self, db: Any, result: SyncResult) -> None:
        append_log(db, SYNC_LOG_TABLE, sync_log_row(result))

    def assert_model_version(self, table: str, model_version: str) -> None:
        """Refuse to compare a query of one model version with vectors of another.

        Raises:
            SemanticModelVersionError: The table holds vectors of another model version.
        """
        check_model_versions(self._search_handle(table).model_versions, model_version, f"table '{table}'")

    def _search_handle(self, table: str) -> _SearchHandle:
        pinned = self.pins.get(table)
        token = f"pinned {pinned}" if pinned is not None else self.versions_token(table)
        cached = self._search_handles.get(table)
        if cached is not None and token is not None and cached.token == token:
            return cached
        tbl = self._db().open_table(table)
        if pinned is not None:
            try:
                tbl.checkout(pinned)
            except Exception as e:  # noqa: BLE001 - lance's error names no fix
                raise SemanticDataError(
                    f"LanceDB table '{table}' has no version {pinned}, the one the DuckDB file being read was "
                    f"published with ({e}); it was removed (semantic forget, or by hand): reconnect to read the "
                    "file published since, or run `semantic doctor`"
                ) from None
        stored = pc.unique(tbl.to_lance().to_table(columns=[MODEL_VERSION]).column(MODEL_VERSION)).to_pylist()
        returned = tuple(name for name in tbl.schema.names if name != VECTOR)
        dataset = tbl.to_lance()
        handle = _SearchHandle(token or "", dataset, tuple(stored), find_vector_index(tbl), returned,
                               self.search_probes(table), open_graph(self.lance_dir, table, dataset.version))
        if token is not None:
            self._search_handles[table] = handle
        return handle

    def search(
        self,
        table: str,
        vector: np.ndarray,
        model_version: str,
        k: int = 10,
        where: str | pc.Expression | None = None,
        columns: Sequence[str] | None = None,
        exact: bool = False,
    ) -> pa.Table:
        """Nearest neighbours of a query vector, with cosine ``similarity`` and 1-based ``rank``.

        Unfiltered: through the version's HNSW graph when it has one (:mod:`semantic.vectors.graph`), else the
        IVF index when the table has one, else exactly. Filtered or ``exact``: an exact scan of the matching rows.

        Args:
            table: The vector table.
            vector: A unit-length query vector.
            model_version: The version of the model that embedded the query.
            k: How many rows to return.
            where: An optional filter applied before the vector search: SQL text, or a pyarrow compute expression
                (whose values stay data: what the SQL search passes).
            columns: Columns to return besides similarity and rank (default: all but the vector).
            exact: Scan every (matching) row even when there is an index or a graph.

        Raises:
            SemanticModelVersionError: The table's vectors come from another model version.
        """
        if k < 1:
            raise SemanticDataError(f"k must be a positive integer, got {k}; pass k >= 1")
        handle = self._search_handle(table)
        check_model_versions(handle.model_versions, model_version, f"table '{table}'")
        keep = list(columns) if columns else list(handle.columns)
        filtered = where is not None and not (isinstance(where, str) and not where.strip())
        if handle.graph is not None and not filtered and not exact:
            return _graph_search(handle, np.asarray(vector, dtype=np.float32), k, keep)
        # through the ANN index (refined, as vector_query) when there is one; a filtered search
        # scans the matching rows exactly. Lance's own scanner: LanceDB's query builder adds about
        # 2 ms a query at 1,000,000 rows (benchmarks/search_latency.py)
        nearest: dict[str, Any] = {"column": VECTOR, "q": np.asarray(vector, dtype=np.float32), "k": k}
        if filtered or exact or handle.index is None:
            metric = "cosine"
            nearest.update(metric=metric, use_index=False)
        else:
            metric = index_metric(handle.index)
            nearest.update(metric=metric, nprobes=handle.nprobes, refine_factor=REFINE_FACTOR)
        hits = handle.dataset.to_table(columns=[*keep, "_distance"], nearest=nearest,
                                       filter=where if filtered else None, prefilter=filtered)
        sim = cosine_from_distance(hits.column("_distance").to_numpy(), metric)
        out = hits.select(keep)
        out = out.append_column("similarity", pa.array(sim, type=pa.float64()))
        return out.append_column("rank", pa.array(np.arange(1, len(out) + 1), type=pa.int32()))
