"""What the dbt models that embed call: sync one entity's vectors, and report the ANN indexes.

:func:`embed_entity` is the whole body of every embedding Python model (``int_assets_embedded``,
``int_briefs_embedded``, ``int_asset_sentences_embedded``, ``int_compliance_references_embedded``,
``int_labelled_texts_embedded``): the entity's name picks its LanceDB table, key and the columns the
DuckDB mirror keeps (:data:`ENTITIES`). :func:`sync_embeddings` does the work for any rows;
:func:`vector_index_report` is ``dim_vector_indexes``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from semantic.config import active
from semantic.encoding.encoder import load_encoder
from semantic.encoding.registry import encoder_dir
from semantic.errors import SemanticConfigError
from semantic.vectors.embedding import (
    CONTENT_HASH,
    EMBEDDED_AT,
    MODEL_VERSION,
    TEXT,
    VECTOR,
    embedded_schema,
    with_text,
)
from semantic.vectors.memory import release_duckdb_cache, release_freed_memory
from semantic.vectors.retention import check_versions_kept
from semantic.vectors.store import VectorStore

logger = logging.getLogger("semantic")


@dataclass(frozen=True)
class Entity:
    """One embedded entity: where its rows come from and how they are kept.

    Attributes:
        table: The LanceDB table (and the entity's name).
        id_column: The key column.
        output_columns: Columns the DuckDB mirror keeps besides the id, hash, model version, time and vector.
        full_text: Also keep a BM25 full-text index on the text (``semantic_hybrid_search``).
    """

    table: str
    id_column: str
    output_columns: tuple[str, ...] = ()
    full_text: bool = False


#: Every entity an embedding model syncs, by name (the model ``int_<name>_embedded``).
ENTITIES: dict[str, Entity] = {
    e.table: e
    for e in (
        Entity("assets", "asset_id", ("campaign_id", "brand", "channel", "market", "asset_type"),
               full_text=True),
        Entity("briefs", "brief_id", ("campaign_id", "brand", "market")),
        Entity("asset_sentences", "sentence_id", ("asset_id", "market", "position")),
        Entity("compliance_references", "reference_id", ("rule_id", "severity", "market", "is_active")),
        Entity("labelled_texts", "text_id"),
    )
}


def embed_entity(
    dbt: Any, session: Any, name: str, rows: Any, vector_index_min_rows: int | str | None = None,
    versions_kept: int | str | None = None, graph_index_min_rows: int | str | None = None,
) -> pa.Table:
    """The body of an embedding dbt Python model: sync entity ``name``'s vectors, return the rows to upsert.

    Args:
        dbt: The model's ``dbt`` object (incremental state, ``this``, model config).
        session: The model's DuckDB connection (reads what the mirror already holds).
        name: A key of :data:`ENTITIES`.
        rows: The staging relation (``dbt.ref("stg_semantic__<entity>")``; the model calls ``dbt.ref``
            itself so that dbt sees the dependency).
        vector_index_min_rows: The model config of that name, for a table with an ANN index (the model
            reads it with ``dbt.config.get`` itself: dbt passes a Python model only the config keys it
            sees the model's own code ask for).
        versions_kept: The model config ``lance_versions_kept`` (dbt var of that name): LanceDB versions
            of the table kept after the sync (see :func:`semantic.vectors.retention.prune`).
        graph_index_min_rows: The model config of that name (dbt var ``graph_index_min_rows``): rows from which
            the table also gets an HNSW graph for unfiltered searches (:mod:`semantic.vectors.graph`).
    """
    try:
        entity = ENTITIES[name]
    except KeyError:
        raise SemanticConfigError(f"no embedded entity {name!r}; known: {', '.join(sorted(ENTITIES))}") from None
    release_duckdb_cache(session)  # the blocks of the tables before this one: this sync writes its own
    mirrored = None
    if dbt.is_incremental:
        mirrored = session.sql(f"select * exclude (vector, embedded_at) from {dbt.this}").to_arrow_table()
    return sync_embeddings(
        rows.to_arrow_table(),
        table=entity.table,
        id_column=entity.id_column,
        output_columns=list(entity.output_columns),
        mirrored=mirrored,
        full_text=entity.full_text,
        vector_index_min_rows=vector_index_min_rows,
        versions_kept=versions_kept,
        graph_index_min_rows=graph_index_min_rows,
    )


def _min_rows(value: int | str | None, var: str = "vector_index_min_rows", example: int = 20000) -> int | None:
    """A min-rows var as dbt renders it into a model config (``"20000"``, ``"None"``)."""
    if value is None or str(value).strip().lower() in ("none", "null", ""):
        return None
    try:
        return int(str(value).strip())
    except ValueError as e:
        raise SemanticConfigError(
            f"{var} must be a positive integer or null, got {value!r}; "
            f"set e.g. `{var}: {example}` in dbt_project.yml vars"
        ) from e


def _rows_missing(rows: pa.Table, have: pa.Table, id_column: str) -> pa.Array:
    """The ids of ``rows`` whose values (every column, NULLs equal) are not a row of ``have``."""
    import duckdb

    with duckdb.connect() as con:
        con.register("_rows", rows)
        con.register("_have", have.select(rows.column_names))
        key = '"' + id_column.replace('"', '""') + '"'
        found = con.sql(f"select {key} from (select * from _rows except select * from _have)").to_arrow_table()
    return found.column(0).combine_chunks().cast(rows.schema.field(id_column).type)


def sync_embeddings(
    rows: pa.Table,
    table: str,
    id_column: str,
    text_column: str = TEXT,
    output_columns: Sequence[str] | None = None,
    mirrored: pa.Table | None = None,
    full_text: bool = False,
    vector_index_min_rows: int | str | None = None,
    versions_kept: int | str | None = None,
    graph_index_min_rows: int | str | None = None,
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
        mirrored: On an incremental run, the rows the DuckDB table already holds (the id,
            content_hash, model_version and any of ``output_columns``); only LanceDB rows missing
            from it or different in one of those columns are returned.
            ``None`` returns every row (first run or full refresh).
        full_text: Also keep a BM25 full-text index on the text column.
        vector_index_min_rows: Rows from which the table gets an ANN index (dbt var
            ``vector_index_min_rows``, as dbt passes it: a number, or None / "None" for no index).
            See ``VectorStore.ensure_vector_index``.
        versions_kept: LanceDB versions of the table kept after the sync, the newest first (dbt var
            ``lance_versions_kept``; None: :data:`semantic.vectors.retention.DEFAULT_VERSIONS_KEPT`).
        graph_index_min_rows: Rows from which the table also gets an HNSW graph (dbt var ``graph_index_min_rows``;
            None: none). See :mod:`semantic.vectors.graph`.
    """
    release_freed_memory()
    config = active()
    store = VectorStore(config.lance_dir)
    encoder = load_encoder(encoder_dir(config), config.batch_size)
    result = store.sync(table, rows, encoder, id_column=id_column, text_column=text_column, full_text=full_text,
                        vector_index_min_rows=_min_rows(vector_index_min_rows),
                        versions_kept=check_versions_kept(versions_kept),  # time travel a few builds back
                        graph_min_rows=_min_rows(graph_index_min_rows, "graph_index_min_rows", 100000))
    extra = [c for c in (output_columns or []) if c != id_column]
    columns = [id_column, *extra, CONTENT_HASH, MODEL_VERSION, EMBEDDED_AT, VECTOR]
    if mirrored is None:
        return store.scan(table, columns)
    # a row is upserted when the mirror lacks it or holds other values in any compared column
    # (text hash, model version, or a column such as market that changed without the text)
    compared = [c for c in (id_column, *extra, CONTENT_HASH, MODEL_VERSION) if c in mirrored.column_names]
    have = mirrored.select(compared)
    if not result.embedded and not result.deleted:
        # LanceDB holds exactly the source rows with text, at this model version: when the mirror
        # holds them too there is nothing to upsert, and LanceDB need not be read at all
        source, _ = with_text(rows, text_column)
        source = source.append_column(MODEL_VERSION, pa.array([encoder.version] * len(source), pa.string()))
        if len(have) == len(source) and not len(_rows_missing(source.select(compared), have, id_column)):
            logger.info("%s: the DuckDB mirror is up to date", table)
            schema = embedded_schema(rows.select([id_column, *extra, CONTENT_HASH]).schema, encoder.dim)
            return pa.schema([schema.field(c) for c in columns]).empty_table()
    # the comparison reads no vectors; only the rows to upsert are streamed with theirs
    ids = _rows_missing(store.read(table, compared), have, id_column)
    logger.info("%s: %d row(s) to upsert into the DuckDB mirror", table, len(ids))
    if not len(ids):
        return store.schema(table, columns).empty_table()
    return store.scan(table, columns, id_column=id_column, ids=ids)


def vector_index_report(sample: int, lance_dir: Path | str | None = None, max_loss: float | None = None) -> pa.Table:
    """One row per LanceDB vector table: its ANN index state and recall@10 against exact (``dim_vector_indexes``).

    Args:
        sample: Rows of each indexed table used as queries for the recall check.
        lance_dir: The LanceDB folder (default: the active config's).
        max_loss: Recall@10 an indexed table's search may lose to exact search (dbt var
            ``ann_max_recall_loss``): the fewest probes that keep the loss under it are chosen and saved
            for every later search of the table (:meth:`VectorStore.tune_probes`). None keeps the probes.
    """
    if lance_dir is None:
        lance_dir = active().lance_dir
    store = VectorStore(lance_dir)
    records = []
    for table in store.vector_tables():
        state = store.index_state(table)
        if max_loss is not None and state.has_index:
            store.tune_probes(table, max_loss, sample=sample, k=10)
        check = store.ann_recall(table, sample=sample, k=10)
        records.append(
            {
                "table_name": table,
                "has_index": state.has_index,
                "index_name": state.index_name,
                "index_type": state.index_type,
                "metric": state.metric,
                "total_rows": state.total_rows,
                "indexed_rows": state.indexed_rows,
                "unindexed_rows": state.unindexed_rows,
                "index_segments": state.segments,
                "num_partitions": state.num_partitions,
                "last_optimised_at": state.last_optimised_at,
                "nprobes": store.search_probes(table) if state.has_index else None,
                "ann_recall_at_10": check.recall,
                "recall_sample": check.queries,
                "recall_note": check.note,
            }
        )
    schema = pa.schema(
        [
            ("table_name", pa.string()), ("has_index", pa.bool_()), ("index_name", pa.string()),
            ("index_type", pa.string()), ("metric", pa.string()), ("total_rows", pa.int64()),
            ("indexed_rows", pa.int64()), ("unindexed_rows", pa.int64()), ("index_segments", pa.int64()),
            ("num_partitions", pa.int64()), ("last_optimised_at", pa.timestamp("us")),
            ("nprobes", pa.int64()), ("ann_recall_at_10", pa.float64()), ("recall_sample", pa.int64()),
            ("recall_note", pa.string()),
        ]
    )
    return pa.Table.from_pylist(records, schema=schema)
