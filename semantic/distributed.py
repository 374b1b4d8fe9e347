"""The embedding sync and near-duplicate candidates on Ray Data, into a Lance table on object storage.

The same sync as the embedded path (:meth:`semantic.store.VectorStore.sync`: a row is embedded
again only when its ``content_hash`` or the model version changed, rows that left the source are
deleted), run by Ray Data (Moritz et al., 2018; ``ray.data``) over a Parquet source:

1. **Plan** (driver, Arrow joins over ids and hashes only): which rows to embed, which stored rows
   to delete, and in which Lance fragments those live.
2. **Embed and write** (Ray actors, one model load each through ``load_encoder``'s process cache):
   each batch goes through :func:`semantic.embedding.embed_batch` and is written as new Lance
   fragment files (``lance.fragment.write_fragments``); deletion files for the fragments holding
   changed or removed rows are written by Ray tasks. None of this is visible to readers yet.
3. **Commit** (driver): one Lance commit, ``Overwrite`` for a new table or a full re-embed,
   ``Update`` (deletions + new fragments) otherwise, against the version read in step 1. A job that
   fails before it leaves the table at its previous version, readable; a concurrent writer makes the
   commit fail instead of losing rows.

Near-duplicate candidates are one Ray task per group of fragments: each reads its rows' vectors
and runs :func:`semantic.clustering.neighbours` (batched LanceDB search) against the whole shared
table, so the output has the shape ``int_asset_neighbours`` is built from.

``engine="local"`` runs the same stages in this process, without Ray (and with an injected encoder
in tests).
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semantic.embedding import BatchEncoder, embed_batch, embedded_schema, with_content_hash, with_text
from semantic.errors import SemanticConfigError, SemanticDataError, SemanticError
from semantic.object_storage import arrow_filesystem, storage_options
from semantic.store import CONTENT_HASH, MODEL_VERSION, VECTOR, check_ids, check_model_versions, sql_literal

logger = logging.getLogger("semantic")

ENGINES = ("ray", "local")
ROWS_PER_FRAGMENT = 100_000
"""Most rows one embedding call takes and writes as one Lance fragment."""
_HAS_TEXT = "_has_text"
_ROWADDR = "_rowaddr"


@dataclass(frozen=True)
class JobResult:
    """What one distributed sync did to one Lance table.

    Attributes:
        uri: The Lance table (``s3://bucket/path/assets.lance`` or a local path).
        model_version: The encoder version of every row after the job.
        engine: ``ray`` or ``local``.
        workers: Embedding workers (Ray actors).
        embedded: Rows embedded in this job (new, changed, or re-embedded for a new model).
        unchanged: Rows whose hash and model version matched, kept as they were.
        deleted: Stored rows removed because they left the source (or their text became empty).
        skipped_empty: Source rows with NULL or blank text, which get no vector.
        total: Rows in the table after the job.
        lance_version: The table version after the job (unchanged when there was nothing to do).
        seconds: Wall time of the whole job, Ray start excluded.
        embed_seconds: Wall time of the embed-and-write stage.
    """

    uri: str
    model_version: str
    engine: str
    workers: int
    embedded: int
    unchanged: int
    deleted: int
    skipped_empty: int
    total: int
    lance_version: int
    seconds: float
    embed_seconds: float


@dataclass(frozen=True)
class SyncPlan:
    """What a sync must do, decided from ids and hashes alone (:func:`plan_sync`).

    Attributes:
        todo: Ids of the source rows to embed.
        deletes: Fragment id -> stored ids to delete from it (changed rows and rows that left).
        replace_all: Every stored row goes: write a fresh table version (``Overwrite``).
        unchanged: Source rows kept as stored.
        removed: Stored rows with no source row left (a subset of ``deletes``).
        skipped_empty: Source rows with no text.
        source_rows: Source rows with text.
    """

    todo: pa.Array
    deletes: dict[int, list[str]]
    replace_all: bool
    unchanged: int
    removed: int
    skipped_empty: int
    source_rows: int


def table_location(uri: str) -> tuple[str, str]:
    """The LanceDB database URI and table name of a ``.lance`` table URI.

    Raises:
        SemanticConfigError: The URI does not end in ``<table>.lance``.
    """
    base, _, leaf = uri.rstrip("/").rpartition("/")
    if not leaf.endswith(".lance") or len(leaf) <= len(".lance") or not base:
        raise SemanticConfigError(
            f"--lance {uri!r} does not name a Lance table; pass a URI ending in <table>.lance, "
            "e.g. s3://bucket/vectors/assets.lance"
        )
    return base, leaf[: -len(".lance")]


def source_keys(rows: pa.Table, id_column: str, text_column: str) -> pa.Table:
    """``id, content_hash, _has_text`` of source rows (the hash computed from the text when absent)."""
    for col in (id_column, text_column):
        if col not in rows.column_names:
            raise SemanticDataError(
                f"the source has no column '{col}' (columns: {rows.column_names}); pass "
                "--id-column / --text-column naming the key and the text"
            )
    rows = with_content_hash(rows.select([c for c in (id_column, text_column, CONTENT_HASH) if c in rows.column_names]),
                             text_column)
    has_text = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(rows.column(text_column))), 0), False)
    return pa.table({id_column: rows.column(id_column), CONTENT_HASH: rows.column(CONTENT_HASH), _HAS_TEXT: has_text})


def prepare_rows(rows: pa.Table, id_column: str, text_column: str, todo: pa.Array | None,
                 columns: Sequence[str]) -> pa.Table:
    """Source rows ready to embed: hash added if absent, blank texts dropped, only ``todo`` ids kept."""
    rows = with_content_hash(rows, text_column)
    rows, _ = with_text(rows, text_column)
    if todo is not None:
        rows = rows.filter(pc.is_in(rows.column(id_column), value_set=todo))
    return rows.select(list(columns))


def plan_sync(keys: pa.Table, existing: pa.Table | None, id_column: str, model_version: str) -> SyncPlan:
    """Decide what to embed and delete, as the embedded path's ``VectorStore.sync`` does.

    Args:
        keys: :func:`source_keys` of the whole source.
        existing: ``id, content_hash, model_version, _rowaddr`` of the stored table, or None.
        id_column: The key column.
        model_version: The version of the encoder that will embed.

    Raises:
        SemanticDataError: Source ids are NULL or duplicated.
    """
    check_ids(keys, id_column, "the source", fix_where="before exporting the source")
    live = keys.filter(keys.column(_HAS_TEXT)).select([id_column, CONTENT_HASH])
    skipped = keys.num_rows - live.num_rows
    if existing is None or existing.num_rows == 0:
        return SyncPlan(live.column(id_column).combine_chunks(), {}, existing is not None, 0, 0, skipped, live.num_rows)
    stored = existing.rename_columns([id_column, "_stored_hash", "_stored_version", _ROWADDR])
    joined = live.join(stored, id_column, join_type="left outer")
    same = pc.fill_null(
        pc.and_(pc.equal(joined.column(CONTENT_HASH), joined.column("_stored_hash")),
                pc.equal(joined.column("_stored_version"), pa.scalar(model_version))),
        False,
    )
    todo = joined.filter(pc.invert(same)).column(id_column).combine_chunks()
    stale = joined.filter(pc.and_(pc.invert(same), pc.is_valid(joined.column(_ROWADDR))))
    gone = stored.join(live.select([id_column]), id_column, join_type="left anti")
    deletes: dict[int, list[str]] = defaultdict(list)
    for part in (stale, gone):
        fragments = pc.shift_right(part.column(_ROWADDR).cast(pa.uint64()), 32).to_pylist()
        for fid, key in zip(fragments, part.column(id_column).to_pylist()):
            deletes[int(fid)].append(key)
    n_deleted = stale.num_rows + gone.num_rows
    return SyncPlan(
        todo=todo,
        deletes=dict(deletes),
        replace_all=n_deleted == existing.num_rows,
        unchanged=live.num_rows - len(todo),
        removed=gone.num_rows,
        skipped_empty=skipped,
        source_rows=live.num_rows,
    )


class FragmentWriter:
    """Embeds batches and writes each as new fragment files of a Lance table (uncommitted).

    A Ray Data actor class: constructed once per worker, so the model is loaded once per worker.

    Args:
        uri: The Lance table.
        schema: The table's schema (every worker writes exactly this).
        text_column: The column to embed.
        model_dir: The model directory; the encoder comes from ``load_encoder(model_dir, batch_size)``.
        batch_size: Texts per forward pass.
        encoder: An encoder to use instead (the local engine, tests).
        core_slots: A Ray actor handing out CPU cores per node, to pin this worker to ``cpus`` of them.
        cpus: Cores this worker may use (its encoder threads).
    """

    def __init__(
        self,
        uri: str,
        schema: pa.Schema,
        text_column: str,
        model_dir: str | None = None,
        batch_size: int = 64,
        encoder: BatchEncoder | None = None,
        core_slots: Any = None,
        cpus: int = 1,
    ) -> None:
        if core_slots is not None:
            _pin_cores(core_slots, cpus)
        if encoder is None:
            from semantic.encoder import load_encoder

            assert model_dir is not None, "FragmentWriter needs a model_dir or an encoder"
            encoder = load_encoder(model_dir, batch_size)
        self.encoder = encoder
        self.uri = uri
        self.schema = schema
        self.text_column = text_column

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Embed ``batch``, write it as fragment files; return one row per fragment (pickled metadata, rows)."""
        from lance.fragment import write_fragments

        if batch.num_rows == 0:
            return pa.table({"fragment": pa.array([], pa.binary()), "rows": pa.array([], pa.int64())})
        embedded = embed_batch(batch, self.encoder, self.text_column).select(self.schema.names).cast(self.schema)
        fragments = write_fragments(embedded, self.uri, schema=self.schema, max_rows_per_file=ROWS_PER_FRAGMENT,
                                    storage_options=storage_options(self.uri))
        return pa.table({
            "fragment": pa.array([pickle.dumps(f) for f in fragments], pa.binary()),
            "rows": pa.array([f.physical_rows for f in fragments], pa.int64()),
        })


def delete_from_fragment(uri: str, version: int, fragment_id: int, id_column: str, ids: Sequence[str]) -> bytes:
    """Write a deletion file for ``ids`` in one fragment (uncommitted); pickled metadata, or None if emptied."""
    import lance

    ds = lance.dataset(uri, version=version, storage_options=storage_options(uri))
    fragment = ds.get_fragment(fragment_id)
    if fragment is None:
        raise SemanticError(f"{uri} has no fragment {fragment_id} at version {version}; run the job again")
    meta = fragment.delete(f"{id_column} IN ({', '.join(sql_literal(str(i)) for i in ids)})")
    return pickle.dumps(meta)


def sync(
    source: str,
    uri: str,
    *,
    id_column: str = "asset_id",
    text_column: str = "text",
    engine: str = "ray",
    workers: int = 2,
    cpus_per_worker: int = 1,
    model_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    encoder: BatchEncoder | None = None,
    ray_address: str | None = None,
) -> JobResult:
    """Sync a Lance table on object storage with a Parquet source, embedding only new and changed rows.

    Args:
        source: A Parquet file or folder (local or ``s3://``) with the id, the text and optionally
            ``content_hash`` (md5 of the text, as the staging models compute it) and other columns,
            which are stored beside the vector.
        uri: The Lance table, ``s3://bucket/path/<table>.lance`` (credentials from the environment,
            :mod:`semantic.object_storage`) or a local path.
        id_column: The key column.
        text_column: The column to embed.
        engine: ``ray`` (Ray Data; a local cluster unless ``ray_address`` or ``$RAY_ADDRESS``) or
            ``local`` (this process).
        workers: Embedding workers (Ray actors), each with ``cpus_per_worker`` cores.
        model_dir: The model directory (default: the active config's encoder).
        batch_size: Texts per forward pass.
        encoder: With ``engine="local"``, an encoder to use instead of loading ``model_dir``.
        ray_address: A running Ray cluster to use.

    Raises:
        SemanticConfigError: An unknown engine, a bad URI or worker count.
        SemanticDataError: Source ids are NULL or duplicated, or its schema differs from the table's.
    """
    import lance

    table_location(uri)
    _check_engine(engine, workers, cpus_per_worker)
    if encoder is not None and engine != "local":
        raise SemanticConfigError("an injected encoder only works with engine='local'; Ray workers load model_dir")
    if encoder is None:
        from semantic.encoder import load_encoder

        if model_dir is None:
            from semantic.config import active

            model_dir = active().encoder_dir()
        encoder = load_encoder(Path(model_dir), batch_size)  # the version and dim only: no model load here
    version, dim = encoder.version, encoder.dim
    opts = storage_options(uri)
    with _engine(engine, workers, cpus_per_worker, ray_address) as run:
        started = time.monotonic()
        keys = run.keys(source, id_column, text_column)
        current = _open_existing(uri, opts)
        existing = None
        if current is not None:
            existing = current.to_table(columns=[id_column, CONTENT_HASH, MODEL_VERSION], with_row_address=True)
        plan = plan_sync(keys, existing, id_column, version)
        columns = run.source_columns(source, text_column)
        schema = embedded_schema(run.source_schema(source, text_column), dim)
        if current is not None and not plan.replace_all and not _same_schema(current.schema, schema):
            raise SemanticDataError(
                f"the source's columns {schema.names} (types {[str(t) for t in schema.types]}) differ from the table "
                f"{uri}: {current.schema.names} ({[str(t) for t in current.schema.types]}); export the source with "
                "the table's columns, or write to a new --lance URI"
            )
        if current is not None and not plan.replace_all:
            schema = current.schema
        logger.info(
            "%s: embedding %d of %d rows with model %s on %d %s worker(s) (%d unchanged, %d to delete)",
            uri, len(plan.todo), plan.source_rows, version, run.workers, engine, plan.unchanged,
            sum(len(v) for v in plan.deletes.values()),
        )
        embed_started = time.monotonic()
        fragments: list[Any] = []
        if len(plan.todo):
            todo = None if current is None or plan.replace_all else plan.todo
            fragments, rows = run.embed(source, uri, schema, columns, todo, len(plan.todo), id_column, text_column,
                                        str(model_dir) if model_dir is not None else None, batch_size, encoder)
            if rows != len(plan.todo):
                raise SemanticError(
                    f"{uri}: the job embedded {rows} rows but planned {len(plan.todo)}; the source changed while "
                    "the job ran. Nothing was committed: run it again"
                )
        embed_seconds = time.monotonic() - embed_started
        updated: list[Any] = []
        emptied: list[int] = []
        if current is not None and plan.deletes and not plan.replace_all:
            for fid, meta in run.deletes(uri, current.version, plan.deletes, id_column):
                if meta is None:
                    emptied.append(fid)
                else:
                    updated.append(meta)
        if current is None:
            operation: Any = lance.LanceOperation.Overwrite(schema, fragments)
        elif plan.replace_all:
            operation = lance.LanceOperation.Overwrite(schema, fragments)
        elif fragments or updated or emptied:
            operation = lance.LanceOperation.Update(
                removed_fragment_ids=sorted(emptied), updated_fragments=updated, new_fragments=fragments
            )
        else:
            operation = None
        if operation is not None:
            current = lance.LanceDataset.commit(uri, operation, read_version=current.version if current else None,
                                                storage_options=opts)
        assert current is not None
        result = JobResult(
            uri=uri, model_version=version, engine=engine, workers=run.workers, embedded=len(plan.todo),
            unchanged=plan.unchanged, deleted=plan.removed,
            skipped_empty=plan.skipped_empty, total=current.count_rows(), lance_version=int(current.version),
            seconds=time.monotonic() - started, embed_seconds=embed_seconds,
        )
    logger.info(
        "%s: embedded %d rows (%.0f rows/s), kept %d unchanged, deleted %d; %d rows at Lance version %d",
        uri, result.embedded, result.embedded / max(result.embed_seconds, 1e-9), result.unchanged, result.deleted,
        result.total, result.lance_version,
    )
    return result


def near_duplicate_candidates(
    uri: str,
    k: int,
    *,
    id_column: str = "asset_id",
    engine: str = "ray",
    workers: int = 2,
    exact: bool = True,
    out_uri: str | None = None,
    ray_address: str | None = None,
) -> pa.Table:
    """Top-``k`` neighbours of every row of a Lance table, searched partition by partition on the workers.

    Each partition (a group of the table's fragments) is a task that reads its rows' vectors and
    runs :func:`semantic.clustering.neighbours` against the whole table: a flat scan by default,
    the table's ANN index with ``exact=False`` (what 50 million rows need).

    Args:
        uri: The Lance table written by :func:`sync`.
        k: Neighbours per row.
        out_uri: Also write the result to this Lance table (overwritten, one commit), for DuckDB.

    Returns:
        ``asset_id, neighbour_id, similarity, rank`` like ``clustering.neighbours`` (rank 1 = nearest).

    Raises:
        SemanticModelVersionError: The table mixes model versions.
    """
    import lance

    table_location(uri)
    if out_uri is not None:
        table_location(out_uri)
    _check_engine(engine, workers, 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SemanticConfigError(f"k must be a positive integer, got {k!r}; pass e.g. --neighbours-k 10")
    opts = storage_options(uri)
    ds = lance.dataset(uri, storage_options=opts)
    versions = pc.unique(ds.to_table(columns=[MODEL_VERSION]).column(MODEL_VERSION)).to_pylist()
    if versions:
        check_model_versions(versions, versions[0], f"table {uri}")
    fragment_ids = [f.fragment_id for f in ds.get_fragments()]
    n_parts = min(len(fragment_ids), max(workers * 2, 1))
    parts = [fragment_ids[i::n_parts] for i in range(n_parts)] if n_parts else []
    started = time.monotonic()
    with _engine(engine, workers, 1, ray_address) as run:
        pieces = run.neighbours(uri, ds.version, parts, id_column, k, exact)
    found = pa.concat_tables(pieces) if pieces else _neighbour_schema().empty_table()
    logger.info("%s: %d candidate rows from %d partition(s) on %d %s worker(s) in %.1f s", uri, found.num_rows,
                len(parts), workers, engine, time.monotonic() - started)
    if out_uri is not None:
        lance.write_dataset(found, out_uri, mode="overwrite", storage_options=storage_options(out_uri))
    return found


def neighbours_of_fragments(uri: str, version: int, fragment_ids: Sequence[int], id_column: str, k: int,
                            exact: bool) -> pa.Table:
    """Top-``k`` neighbours, in the whole table, of the rows in some of its fragments (one worker's share)."""
    import lance
    import lancedb

    from semantic.clustering import neighbours

    opts = storage_options(uri)
    ds = lance.dataset(uri, version=version, storage_options=opts)
    rows = ds.scanner(columns=[id_column, VECTOR],
                      fragments=[f for f in ds.get_fragments() if f.fragment_id in set(fragment_ids)]).to_table()
    if rows.num_rows == 0:
        return _neighbour_schema().empty_table()
    base, name = table_location(uri)
    table = lancedb.connect(base, storage_options=opts).open_table(name)
    table.checkout(version)
    dim = rows.schema.field(VECTOR).type.list_size
    vectors = rows.column(VECTOR).combine_chunks().flatten().to_numpy().reshape(-1, dim).astype(np.float32)
    return neighbours(table, id_column, rows.column(id_column).to_pylist(), vectors, k, exact=exact,
                      log_level=logging.DEBUG)


# --- engines -----------------------------------------------------------------------------------


class _Local:
    """The stages in this process (no Ray)."""

    def __init__(self) -> None:
        self.workers = 1

    @staticmethod
    def _dataset(source: str) -> Any:
        import pyarrow.dataset as pds

        fs, path = arrow_filesystem(source)
        return pds.dataset(path, filesystem=fs, format="parquet")

    def source_schema(self, source: str, text_column: str) -> pa.Schema:
        schema = self._dataset(source).schema
        return schema if CONTENT_HASH in schema.names else schema.append(pa.field(CONTENT_HASH, pa.string()))

    def source_columns(self, source: str, text_column: str) -> list[str]:
        return self.source_schema(source, text_column).names

    def keys(self, source: str, id_column: str, text_column: str) -> pa.Table:
        data = self._dataset(source)
        cols = [c for c in (id_column, text_column, CONTENT_HASH) if c in data.schema.names]
        return source_keys(data.to_table(columns=cols), id_column, text_column)

    def embed(self, source: str, uri: str, schema: pa.Schema, columns: list[str], todo: pa.Array | None,
              n_todo: int, id_column: str, text_column: str, model_dir: str | None, batch_size: int,
              encoder: BatchEncoder | None) -> tuple[list[Any], int]:
        writer = FragmentWriter(uri, schema, text_column, model_dir, batch_size, encoder=encoder)
        out: list[Any] = []
        rows = 0
        for batch in _rebatch(self._dataset(source).to_batches(), id_column, text_column, todo, columns):
            written = writer(batch)
            out += [pickle.loads(b) for b in written.column("fragment").to_pylist()]
            rows += int(pc.sum(written.column("rows")).as_py() or 0)
        return out, rows

    def deletes(self, uri: str, version: int, deletes: dict[int, list[str]], id_column: str) -> list[tuple[int, Any]]:
        return [(fid, pickle.loads(delete_from_fragment(uri, version, fid, id_column, ids)))
                for fid, ids in sorted(deletes.items())]

    def neighbours(self, uri: str, version: int, parts: list[list[int]], id_column: str, k: int,
                   exact: bool) -> list[pa.Table]:
        return [neighbours_of_fragments(uri, version, part, id_column, k, exact) for part in parts]


def _rebatch(batches: Iterator[pa.RecordBatch], id_column: str, text_column: str, todo: pa.Array | None,
             columns: list[str]) -> Iterator[pa.Table]:
    pending: list[pa.Table] = []
    n = 0
    for batch in batches:
        part = prepare_rows(pa.Table.from_batches([batch]), id_column, text_column, todo, columns)
        pending.append(part)
        n += part.num_rows
        if n >= ROWS_PER_FRAGMENT:
            yield pa.concat_tables(pending)
            pending, n = [], 0
    if n:
        yield pa.concat_tables(pending)


class _Ray:
    """The stages on Ray Data: reads and deletions as tasks, embedding on a pool of actors."""

    def __init__(self, workers: int, cpus_per_worker: int) -> None:
        import ray

        self.ray = ray
        self.workers = workers
        self.cpus = cpus_per_worker
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False

    def _read(self, source: str, columns: list[str] | None = None, blocks: int | None = None) -> Any:
        fs, path = arrow_filesystem(source)
        return self.ray.data.read_parquet(path, filesystem=fs, columns=columns, override_num_blocks=blocks,
                                          num_cpus=0.25)

    def source_schema(self, source: str, text_column: str) -> pa.Schema:
        return _Local().source_schema(source, text_column)

    def source_columns(self, source: str, text_column: str) -> list[str]:
        return self.source_schema(source, text_column).names

    def keys(self, source: str, id_column: str, text_column: str) -> pa.Table:
        names = _Local._dataset(source).schema.names
        cols = [c for c in (id_column, text_column, CONTENT_HASH) if c in names]
        ds = self._read(source, cols, blocks=self.workers * 2).map_batches(
            source_keys, fn_kwargs={"id_column": id_column, "text_column": text_column}, batch_format="pyarrow",
            num_cpus=0.25,
        )
        parts = self.ray.get(ds.to_arrow_refs())
        return pa.concat_tables(parts) if parts else source_keys(pa.table({id_column: [], text_column: []}),
                                                                  id_column, text_column)

    def embed(self, source: str, uri: str, schema: pa.Schema, columns: list[str], todo: pa.Array | None,
              n_todo: int, id_column: str, text_column: str, model_dir: str | None, batch_size: int,
              encoder: BatchEncoder | None) -> tuple[list[Any], int]:
        ray = self.ray
        per_call = max(1, min(ROWS_PER_FRAGMENT, math.ceil(n_todo / self.workers)))
        todo_ref = [ray.put(todo)] if todo is not None else None
        slots = _core_slots(ray)
        ds = (
            self._read(source, blocks=max(self.workers * 2, math.ceil(n_todo / per_call)))
            .map_batches(_prepare_remote, fn_kwargs={"id_column": id_column, "text_column": text_column,
                                                     "todo_ref": todo_ref, "columns": columns},
                         batch_format="pyarrow", num_cpus=0.25)
            # streaming: blocks of at most per_call rows, so every worker gets a share of a single file
            .repartition(target_num_rows_per_block=per_call)
            .map_batches(FragmentWriter, batch_size=per_call, batch_format="pyarrow",
                         compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=self.cpus,
                         fn_constructor_kwargs={
                             "uri": uri, "schema": schema, "text_column": text_column, "model_dir": model_dir,
                             "batch_size": batch_size, "core_slots": slots, "cpus": self.cpus})
        )
        try:
            parts = ray.get(ds.to_arrow_refs())
        finally:
            ray.kill(slots)
        written = pa.concat_tables(parts) if parts else None
        if written is None or written.num_rows == 0:
            return [], 0
        return ([pickle.loads(b) for b in written.column("fragment").to_pylist()],
                int(pc.sum(written.column("rows")).as_py() or 0))

    def deletes(self, uri: str, version: int, deletes: dict[int, list[str]], id_column: str) -> list[tuple[int, Any]]:
        task = self.ray.remote(num_cpus=0.25)(delete_from_fragment)
        fids = sorted(deletes)
        metas = self.ray.get([task.remote(uri, version, fid, id_column, deletes[fid]) for fid in fids])
        return [(fid, pickle.loads(m)) for fid, m in zip(fids, metas)]

    def neighbours(self, uri: str, version: int, parts: list[list[int]], id_column: str, k: int,
                   exact: bool) -> list[pa.Table]:
        task = self.ray.remote(num_cpus=self.cpus)(neighbours_of_fragments)
        return list(self.ray.get([task.remote(uri, version, part, id_column, k, exact) for part in parts]))


def _prepare_remote(batch: pa.Table, id_column: str, text_column: str, todo_ref: list[Any] | None,
                    columns: list[str]) -> pa.Table:
    todo = None
    if todo_ref is not None:
        import ray

        todo = ray.get(todo_ref[0])
    return prepare_rows(batch, id_column, text_column, todo, columns)


def _core_slots(ray: Any) -> Any:
    """A Ray actor that hands each embedding worker its own cores on its node (see :func:`_pin_cores`)."""

    @ray.remote(num_cpus=0)
    class CoreSlots:
        def __init__(self) -> None:
            self.taken: dict[str, int] = defaultdict(int)

        def claim(self, node: str, n: int) -> int:
            start = self.taken[node]
            self.taken[node] += n
            return start

    return CoreSlots.remote()  # type: ignore[attr-defined]


def _pin_cores(core_slots: Any, cpus: int) -> None:
    """Pin this worker process to ``cpus`` cores not claimed by another worker on its node.

    The encoder sizes its thread pool from the process's CPU affinity, so two workers on one node
    run side by side instead of each spreading over every core. A worker that finds no free cores
    (more workers than cores) keeps the whole machine.
    """
    import ray

    cores = sorted(os.sched_getaffinity(0))
    node = ray.get_runtime_context().get_node_id()
    start = ray.get(core_slots.claim.remote(node, cpus))
    if start + cpus <= len(cores) and cpus < len(cores):
        os.sched_setaffinity(0, cores[start : start + cpus])


@contextmanager
def _engine(engine: str, workers: int, cpus_per_worker: int, address: str | None) -> Iterator[Any]:
    if engine == "local":
        yield _Local()
        return
    try:
        import ray
    except ImportError as e:  # pragma: no cover - ray is pinned in requirements.lock
        raise SemanticConfigError("engine 'ray' needs Ray: `pip install 'ray[data]==2.60.0'`") from e
    started_here = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, include_dashboard=False, configure_logging=False, log_to_driver=False)
        else:
            # a local cluster: one slot per worker core, one more for reads, deletions and the plan
            ray.init(num_cpus=workers * cpus_per_worker + 1, object_store_memory=256 * 1024**2,
                     include_dashboard=False, configure_logging=False, log_to_driver=False)
        started_here = True
    try:
        yield _Ray(workers, cpus_per_worker)
    finally:
        if started_here:
            ray.shutdown()


def _open_existing(uri: str, opts: dict[str, str]) -> Any:
    """The table at ``uri``, or None when there is none yet (any other failure to open it is raised)."""
    import lance

    try:
        return lance.dataset(uri, storage_options=opts)
    except (ValueError, OSError) as e:
        if "not found" in str(e).lower():
            return None
        raise SemanticError(
            f"cannot open the Lance table {uri} ({e}); check the URI, the credentials in the environment "
            "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and SEMANTIC_S3_ENDPOINT"
        ) from e


def _check_engine(engine: str, workers: int, cpus_per_worker: int) -> None:
    if engine not in ENGINES:
        raise SemanticConfigError(f"engine {engine!r} is not supported; accepted: {', '.join(ENGINES)}")
    for name, value in (("workers", workers), ("cpus_per_worker", cpus_per_worker)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SemanticConfigError(f"{name} must be a positive integer, got {value!r}")


def _same_schema(a: pa.Schema, b: pa.Schema) -> bool:
    return a.names == b.names and all(x.equals(y) for x, y in zip(a.types, b.types))


def _neighbour_schema() -> pa.Schema:
    return pa.schema([("asset_id", pa.string()), ("neighbour_id", pa.string()), ("similarity", pa.float64()),
                      ("rank", pa.int32())])
