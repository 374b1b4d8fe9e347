"""The embedding sync and near-duplicate candidates on Ray Data, into a Lance table on object storage.

The same sync as the embedded path (:meth:`semantic.vectors.store.VectorStore.sync`: a row is embedded
again only when its ``content_hash`` or the model version changed, rows that left the source are
deleted), run by Ray Data (Moritz et al., 2018; ``ray.data``) over a Parquet source:

1. **Plan** (driver, Arrow joins over ids and hashes only; :mod:`semantic.vectors.sync_plan`): which rows
   to embed, which stored rows to delete, and in which Lance fragments those live.
2. **Embed and write** (Ray actors, one model load each through ``load_encoder``'s process cache;
   :mod:`semantic.scaleout.engines`): each batch goes through :func:`semantic.vectors.embedding.embed_batch` and is
   written as new Lance fragment files (``lance.fragment.write_fragments``); deletion files for the
   fragments holding changed or removed rows are written by Ray tasks. None of this is visible to
   readers yet.
3. **Commit** (driver): one Lance commit, ``Overwrite`` for a new table or a full re-embed,
   ``Update`` (deletions + new fragments) otherwise, against the version read in step 1. A job that
   fails before it leaves the table at its previous version, readable; a concurrent writer makes the
   commit fail instead of losing rows.
4. **Index** (driver): from ``index_min_rows`` rows the table gets the IVF_HNSW_SQ index of the
   embedded path, kept current by the same rules (delta segments, retrains;
   :func:`semantic.vectors.index.ensure_index`), stored with the table. Each index action is logged
   to the LanceDB table ``vector_indexes`` and each sync to ``sync_runs``, beside the table, with
   the embedded path's columns.

Near-duplicate candidates (:mod:`semantic.scaleout.candidates`) are one Ray task per group of fragments,
querying the shared index (or scanning, below ``index_min_rows``), incrementally when the stored
candidates allow it.

``engine="local"`` runs the same stages in this process, without Ray (and with an injected encoder
in tests).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from semantic.errors import SemanticConfigError, SemanticDataError, SemanticError
from semantic.scaleout.candidates import (
    CandidatePlan,
    near_duplicate_candidates,
    neighbour_schema,
    neighbours_of_fragments,
    plan_candidates,
)
from semantic.scaleout.engines import (
    ENGINES,
    ROWS_PER_FRAGMENT,
    FragmentWriter,
    check_engine,
    delete_from_fragment,
    open_existing,
    run_engine,
)
from semantic.scaleout.object_storage import storage_options
from semantic.vectors.embedding import CONTENT_HASH, MODEL_VERSION, BatchEncoder, embedded_schema
from semantic.vectors.index import (
    INDEX_LOG_TABLE,
    IndexRun,
    check_min_rows,
    ensure_index,
    find_vector_index,
    index_log_record,
    trained_partitions,
)
from semantic.vectors.store import SYNC_LOG_TABLE, SyncResult, append_log, sync_log_row
from semantic.vectors.sync_plan import SyncPlan, plan_sync, prepare_rows, source_keys, table_location

__all__ = [
    "ENGINES", "INDEX_MIN_ROWS", "ROWS_PER_FRAGMENT", "CandidatePlan", "FragmentWriter", "JobResult", "SyncPlan",
    "delete_from_fragment", "ensure_shared_index", "near_duplicate_candidates", "neighbour_schema",
    "neighbours_of_fragments", "plan_candidates", "plan_sync", "prepare_rows", "source_keys", "sync",
    "table_location",
]

logger = logging.getLogger("semantic")

INDEX_MIN_ROWS = 20_000
"""Rows from which the shared table gets its ANN index: the embedded path's ``vector_index_min_rows``."""


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
        lance_version: The table version the sync committed (unchanged when there was nothing to do);
            building or optimising the index adds versions after it.
        seconds: Wall time of the whole job, from the plan to the index, Ray start excluded.
        embed_seconds: Wall time of the embed-and-write stage.
        index_action: What keeping the ANN index current did: ``none`` (below ``index_min_rows``:
            exact search), ``current``, ``created``, ``optimised`` or ``rebuilt``.
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
    index_action: str = "none"


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
    index_min_rows: int | None = INDEX_MIN_ROWS,
) -> JobResult:
    """Sync a Lance table on object storage with a Parquet source, embedding only new and changed rows.

    Args:
        source: A Parquet file or folder (local or ``s3://``) with the id, the text and optionally
            ``content_hash`` (md5 of the text, as the staging models compute it) and other columns,
            which are stored beside the vector.
        uri: The Lance table, ``s3://bucket/path/<table>.lance`` (credentials from the environment,
            :mod:`semantic.scaleout.object_storage`) or a local path.
        id_column: The key column.
        text_column: The column to embed.
        engine: ``ray`` (Ray Data; a local cluster unless ``ray_address`` or ``$RAY_ADDRESS``) or
            ``local`` (this process).
        workers: Embedding workers (Ray actors), each with ``cpus_per_worker`` cores.
        model_dir: The model directory (default: the active config's encoder).
        batch_size: Texts per forward pass.
        encoder: With ``engine="local"``, an encoder to use instead of loading ``model_dir``.
        ray_address: A running Ray cluster to use.
        index_min_rows: Rows from which the table gets its ANN index, kept current after every
            job (:func:`ensure_shared_index`); None builds none but keeps an existing one current.

    Raises:
        SemanticConfigError: An unknown engine, a bad URI, worker count or ``index_min_rows``.
        SemanticDataError: Source ids are NULL or duplicated, or its schema differs from the table's.
    """
    import lance

    table_location(uri)
    check_engine(engine, workers, cpus_per_worker)
    check_min_rows(index_min_rows, "--index-min-rows")
    if encoder is not None and engine != "local":
        raise SemanticConfigError("an injected encoder only works with engine='local'; Ray workers load model_dir")
    if encoder is None:
        from semantic.encoding.encoder import load_encoder
        from semantic.encoding.registry import encoder_dir

        if model_dir is None:
            from semantic.config import active

            model_dir = encoder_dir(active())
        encoder = load_encoder(Path(model_dir), batch_size)  # the version and dim only: no model load here
    version, dim = encoder.version, encoder.dim
    opts = storage_options(uri)
    with run_engine(engine, workers, cpus_per_worker, ray_address) as run:
        started = time.monotonic()
        keys = run.keys(source, id_column, text_column)
        current = open_existing(uri, opts)
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
        committed = JobResult(
            uri=uri, model_version=version, engine=engine, workers=run.workers, embedded=len(plan.todo),
            unchanged=plan.unchanged, deleted=plan.removed,
            skipped_empty=plan.skipped_empty, total=current.count_rows(), lance_version=int(current.version),
            seconds=0.0, embed_seconds=embed_seconds,
        )
    _log_sync_run(uri, committed)
    index = ensure_shared_index(uri, index_min_rows)
    result = replace(committed, seconds=time.monotonic() - started, index_action=index.action)
    logger.info(
        "%s: embedded %d rows (%.0f rows/s), kept %d unchanged, deleted %d; %d rows at Lance version %d; "
        "vector index %s", uri, result.embedded, result.embedded / max(result.embed_seconds, 1e-9), result.unchanged,
        result.deleted, result.total, result.lance_version, result.index_action,
    )
    return result


def ensure_shared_index(uri: str, min_rows: int | None) -> IndexRun:
    """Build the ANN index of a shared Lance table from ``min_rows`` rows and keep it current.

    The embedded path's index and rules (:func:`semantic.vectors.index.ensure_index`), on the table
    where it lives (``s3://`` or local); a build or optimisation is logged to the LanceDB table
    ``vector_indexes`` beside it, whose latest build also gives the partitions it was trained with.

    Args:
        uri: The Lance table.
        min_rows: Rows from which the table gets an index; None never builds one.

    Raises:
        SemanticConfigError: ``min_rows`` is not a positive integer or None.
    """
    import lancedb

    check_min_rows(min_rows, "--index-min-rows")
    base, name = table_location(uri)
    db = lancedb.connect(base, storage_options=storage_options(uri))
    log = db.open_table(INDEX_LOG_TABLE).to_arrow() if INDEX_LOG_TABLE in db.table_names() else None
    tbl = db.open_table(name)
    run = ensure_index(tbl, name, min_rows, trained_partitions(log, name))
    if run.action not in ("none", "current"):
        tbl = db.open_table(name)
        append_log(db, INDEX_LOG_TABLE, index_log_record(run, find_vector_index(tbl), int(tbl.version)))
    return run


def _log_sync_run(uri: str, result: JobResult) -> None:
    """One ``sync_runs`` row beside the table, with the columns ``VectorStore.sync`` writes."""
    import lancedb

    base, name = table_location(uri)
    row = sync_log_row(SyncResult(
        table=name, model_version=result.model_version, embedded=result.embedded, encoded=result.embedded,
        unchanged=result.unchanged, deleted=result.deleted, skipped_empty=result.skipped_empty, total=result.total,
        lance_version=result.lance_version,
    ))
    append_log(lancedb.connect(base, storage_options=storage_options(uri)), SYNC_LOG_TABLE, row)


def _same_schema(a: pa.Schema, b: pa.Schema) -> bool:
    return a.names == b.names and all(x.equals(y) for x, y in zip(a.types, b.types))
