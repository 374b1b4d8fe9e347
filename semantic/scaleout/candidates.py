"""Near-duplicate candidates of a shared Lance table: partitioned top-k queries against its ANN index.

Each partition (a group of the table's fragments) is one task, on Ray or in this process, that
reads its rows' vectors and runs :func:`semantic.decisions.clustering.neighbours` against the whole table:
through the table's IVF_HNSW_SQ index when it has one (:func:`semantic.vectors.index.vector_query`:
``NPROBES`` IVF partitions probed, ``REFINE_FACTOR`` x k candidates re-ranked on the full vectors,
so similarities are exact), else by a flat, exact scan, which is what a table below the job's
``--index-min-rows`` gets. Each row asks for k + 1 and drops itself. The output,
``asset_id, neighbour_id, similarity, rank``, is what ``int_asset_neighbours``, the duplicate
mart and :func:`semantic.decisions.clustering.cluster_table` consume, whichever search produced it.

**Incremental** (:func:`plan_candidates`). The candidate table records, in its Lance config, the
source table and version, model version, k and key column it was computed from. When they still
hold, a run queries only

- the rows whose ``(id, content_hash)`` is not in the recorded version (new or re-embedded), and
- the unchanged rows whose stored candidates name a neighbour that was deleted or re-embedded
  since (their list has a hole, or a neighbour that moved away);

it deletes the stored rows of those assets and of the assets deleted since, and keeps every other
stored row as it was. An unchanged asset is not queried again when a new asset lands close to it:
pairs are symmetric downstream (the duplicate mart takes ``least``/``greatest`` of each pair), so
the pair is found from the new asset's side, the rule of
:func:`semantic.decisions.clustering.refresh_neighbours`; the old asset's own top-k list can miss the
newcomer until a full run (``incremental=False``). A run is full when there is no candidate table,
its record does not match (another k, key, model version or source table), or the recorded version
is gone (compaction prunes versions older than 7 days). The changes land in one Lance commit
(deletion files and new fragments), then the record moves to the version just read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semantic.errors import SemanticConfigError
from semantic.scaleout.engines import check_engine, open_existing, run_engine
from semantic.scaleout.object_storage import storage_options
from semantic.vectors.embedding import CONTENT_HASH, MODEL_VERSION, VECTOR
from semantic.vectors.store import check_model_versions
from semantic.vectors.sync_plan import ROWADDR, table_location

logger = logging.getLogger("semantic")

#: Rows from which candidates are searched through the ANN index rather than by exact scans. At
#: 10,000 and 30,000 rows exact was 3.4x and 1.8x faster (1 worker); the trend crosses near
#: 100,000, and at tens of millions only the index is feasible.
ANN_MIN_ROWS = 100_000

_RECORD = ("source", "source_version", "model_version", "k", "id_column")
"""Keys (prefixed ``semantic.``) of the candidate table's Lance config that an incremental run checks."""


@dataclass(frozen=True)
class CandidatePlan:
    """Which rows a candidates run queries, and which stored candidate rows it replaces.

    Attributes:
        query: Fragment id of the table -> ids to query in it; None: every row (a full run).
        drop: Fragment id of the candidate table -> asset ids whose stored rows are deleted.
        fresh: Rows new or re-embedded since the stored candidates.
        stale: Unchanged rows queried again because a stored neighbour was deleted or re-embedded.
        gone: Assets deleted since the stored candidates.
    """

    query: dict[int, list[str]] | None
    drop: dict[int, list[str]]
    fresh: int
    stale: int
    gone: int

    @property
    def queried(self) -> int | None:
        """Rows this run queries (None: all)."""
        return None if self.query is None else sum(len(v) for v in self.query.values())


def plan_candidates(current: pa.Table, previous: pa.Table | None, stored: pa.Table | None,
                    id_column: str) -> CandidatePlan:
    """Decide which rows to query and which stored candidate rows to replace (the module's rule).

    Args:
        current: ``id, content_hash, _rowaddr`` of the table now.
        previous: ``id, content_hash`` of the table at the version the stored candidates were
            computed from; None for a full run.
        stored: ``asset_id, neighbour_id, _rowaddr`` of the stored candidate table; None for a full run.
        id_column: The table's key column.

    Returns:
        The plan; ``query`` is None for a full run.
    """
    if previous is None or stored is None:
        return CandidatePlan(None, {}, current.num_rows, 0, 0)
    ids = current.column(id_column)
    was = previous.select([id_column, CONTENT_HASH]).append_column(
        "_was", pa.array(np.ones(previous.num_rows, dtype=bool)))
    joined = current.select([id_column, CONTENT_HASH]).join(was, [id_column, CONTENT_HASH], join_type="left outer")
    fresh = joined.filter(pc.is_null(joined.column("_was"))).column(id_column).combine_chunks()
    gone = previous.filter(pc.invert(pc.is_in(previous.column(id_column), value_set=ids))).column(id_column)
    moved = pa.concat_arrays([fresh, gone.combine_chunks()]).cast(pa.string())
    named = stored.filter(pc.is_in(stored.column("neighbour_id"), value_set=moved)).column("asset_id")
    stale = pc.unique(named.combine_chunks())
    stale = stale.filter(pc.and_(pc.is_in(stale, value_set=ids), pc.invert(pc.is_in(stale, value_set=fresh))))
    query_ids = pa.concat_arrays([fresh.cast(pa.string()), stale])
    to_query = current.filter(pc.is_in(ids, value_set=query_ids))
    dropped = pa.concat_arrays([query_ids, gone.combine_chunks().cast(pa.string())])
    to_drop = stored.filter(pc.is_in(stored.column("asset_id"), value_set=dropped))
    return CandidatePlan(
        query=_by_fragment(to_query.column(id_column), to_query.column(ROWADDR)),
        drop=_by_fragment(to_drop.column("asset_id"), to_drop.column(ROWADDR)),
        fresh=len(fresh),
        stale=len(stale),
        gone=len(gone),
    )


def near_duplicate_candidates(
    uri: str,
    k: int,
    *,
    id_column: str = "asset_id",
    engine: str = "ray",
    workers: int = 2,
    exact: bool = False,
    out_uri: str | None = None,
    incremental: bool = True,
    ray_address: str | None = None,
    ann_min_rows: int = ANN_MIN_ROWS,
) -> pa.Table:
    """Top-``k`` neighbours of every row of a Lance table, queried partition by partition on the workers.

    Through the table's ANN index when it has one (the distributed job builds it from
    ``--index-min-rows`` rows), else by exact scans; see the module docstring, also for what an
    incremental run queries and keeps.

    Args:
        uri: The Lance table written by :func:`semantic.scaleout.distributed.sync`.
        k: Neighbours per row.
        id_column: The table's key column.
        engine: ``ray`` or ``local``.
        workers: Ray workers (the table's fragments are split into ``2 * workers`` partitions).
        exact: Scan every row even when the table has an index (the oracle the ANN path is measured against).
        ann_min_rows: Below this many rows the candidates come from exact scans even when the table
            has an index: one batched flat scan per partition beats ~3 ms per row through the index
            up to about 100,000 rows here (benchmarks/distributed_candidates.py).
        out_uri: Also write the result to this Lance table, for DuckDB; an incremental run updates it.
        incremental: With ``out_uri``, query only new and changed rows when the stored candidates
            allow it (module docstring); False queries every row and overwrites ``out_uri``.
        ray_address: A running Ray cluster to use.

    Returns:
        ``asset_id, neighbour_id, similarity, rank`` (rank 1 = nearest) for every row of the table:
        after an incremental run, what ``out_uri`` holds (kept and new rows).

    Raises:
        SemanticConfigError: A bad URI, engine, worker count or ``k``.
        SemanticModelVersionError: The table mixes model versions.
    """
    import lance

    table_location(uri)
    if out_uri is not None:
        table_location(out_uri)
    check_engine(engine, workers, 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SemanticConfigError(f"k must be a positive integer, got {k!r}; pass e.g. --neighbours-k 10")
    started = time.monotonic()
    ds = lance.dataset(uri, storage_options=storage_options(uri))
    keys = ds.to_table(columns=[id_column, CONTENT_HASH, MODEL_VERSION], with_row_address=True)
    versions = pc.unique(keys.column(MODEL_VERSION)).to_pylist()
    if versions:
        check_model_versions(versions, versions[0], f"table {uri}")
    record = {"source": uri, "source_version": str(ds.version), "model_version": str(versions[0] if versions else ""),
              "k": str(k), "id_column": id_column}
    out, previous, stored, why = _stored_run(uri, out_uri, record, incremental)
    plan = plan_candidates(keys, previous, stored, id_column)
    exact = exact or keys.num_rows < ann_min_rows
    parts = _partitions(ds, plan, workers)
    with run_engine(engine, workers, 1, ray_address) as run:
        pieces = run.tasks(neighbours_of_fragments,
                           [(uri, ds.version, fids, id_column, k, exact, only) for fids, only in parts])
        found = pa.concat_tables(pieces) if pieces else neighbour_schema().empty_table()
        result = found
        if out_uri is not None:
            result = _write(run, out_uri, found, plan, out, record)
    queried = plan.queried if plan.queried is not None else keys.num_rows
    logger.info(
        "%s: %d candidate rows; queried %d of %d rows (%s) in %d partition(s) on %d %s worker(s) by %s search in "
        "%.1f s", uri, result.num_rows, queried, keys.num_rows,
        why if plan.query is None else f"incremental: {plan.fresh} new or changed, {plan.stale} with a changed "
        f"neighbour, {plan.gone} deleted", len(parts), workers, engine, "exact" if exact else "index-or-exact",
        time.monotonic() - started,
    )
    return result


def neighbours_of_fragments(uri: str, version: int, fragment_ids: Sequence[int], id_column: str, k: int,
                            exact: bool, ids: Sequence[str] | None = None) -> pa.Table:
    """Top-``k`` neighbours, in the whole table, of the rows in some of its fragments (one task's share).

    Args:
        uri: The Lance table.
        version: The table version every task reads.
        fragment_ids: The fragments whose rows are queried.
        id_column: The key column.
        k: Neighbours per row.
        exact: Scan even when the table has an ANN index.
        ids: Only these rows of the fragments (an incremental run); None for all of them.
    """
    import lance
    import lancedb

    from semantic.decisions.clustering import neighbours

    opts = storage_options(uri)
    ds = lance.dataset(uri, version=version, storage_options=opts)
    wanted = set(fragment_ids)
    only = pc.field(id_column).isin(pa.array(list(ids), pa.string())) if ids is not None else None
    rows = ds.scanner(columns=[id_column, VECTOR], filter=only,
                      fragments=[f for f in ds.get_fragments() if f.fragment_id in wanted]).to_table()
    if rows.num_rows == 0:
        return neighbour_schema().empty_table()
    base, name = table_location(uri)
    table = lancedb.connect(base, storage_options=opts).open_table(name)
    table.checkout(version)
    dim = rows.schema.field(VECTOR).type.list_size
    vectors = rows.column(VECTOR).combine_chunks().flatten().to_numpy().reshape(-1, dim).astype(np.float32)
    return neighbours(table, id_column, rows.column(id_column).to_pylist(), vectors, k, exact=exact,
                      log_level=logging.DEBUG)


def neighbour_schema() -> pa.Schema:
    """``asset_id, neighbour_id, similarity, rank``: the candidate table's columns."""
    return pa.schema([("asset_id", pa.string()), ("neighbour_id", pa.string()), ("similarity", pa.float64()),
                      ("rank", pa.int32())])


def _by_fragment(ids: pa.ChunkedArray, rowaddr: pa.ChunkedArray) -> dict[int, list[str]]:
    """Ids grouped by the fragment (high 32 bits of the row address) that holds them, each id once."""
    out: dict[int, dict[str, None]] = {}
    fragments = pc.shift_right(rowaddr.cast(pa.uint64()), 32).to_pylist()
    for fid, key in zip(fragments, ids.to_pylist()):
        out.setdefault(int(fid), {})[str(key)] = None
    return {fid: list(keys) for fid, keys in out.items()}


def _partitions(ds: Any, plan: CandidatePlan, workers: int) -> list[tuple[list[int], list[str] | None]]:
    """The tasks' shares: groups of fragments (about ``2 * workers``), with the ids to query in them."""
    fids = [f.fragment_id for f in ds.get_fragments()] if plan.query is None else sorted(plan.query)
    n_parts = min(len(fids), max(workers * 2, 1))
    parts = []
    for i in range(n_parts):
        share = fids[i::n_parts]
        only = None if plan.query is None else [key for f in share for key in plan.query[f]]
        parts.append((share, only))
    return parts


def _stored_run(uri: str, out_uri: str | None, record: dict[str, str], incremental: bool
                ) -> tuple[Any, pa.Table | None, pa.Table | None, str]:
    """The stored candidate table, the source's keys at its recorded version and its rows; or why a full run."""
    import lance

    if out_uri is None:
        return None, None, None, "full: no candidate table to update"
    out = open_existing(out_uri, storage_options(out_uri))
    if out is None:
        return None, None, None, "full: no stored candidates yet"
    if not incremental:
        return out, None, None, "full: incremental=False"
    config = out.config()
    differ = [key for key in _RECORD if key != "source_version" and config.get(f"semantic.{key}") != record[key]]
    if differ:
        was = {key: config.get(f"semantic.{key}") for key in differ}
        return out, None, None, f"full: the stored candidates were computed with {was}"
    try:
        then = lance.dataset(uri, version=int(config["semantic.source_version"]), storage_options=storage_options(uri))
        previous = then.to_table(columns=[record["id_column"], CONTENT_HASH])
    except (KeyError, ValueError, OSError) as e:
        return out, None, None, f"full: version {config.get('semantic.source_version')} of {uri} is gone ({e})"
    stored = out.to_table(columns=["asset_id", "neighbour_id"], with_row_address=True)
    return out, previous, stored, "incremental"


def _write(run: Any, out_uri: str, found: pa.Table, plan: CandidatePlan, out: Any, record: dict[str, str]) -> pa.Table:
    """Store the candidates in one commit (overwrite, or deletions + new fragments), then the record."""
    import lance
    from lance.fragment import write_fragments

    opts = storage_options(out_uri)
    found = found.cast(neighbour_schema())
    if plan.query is None or out is None:
        ds = lance.write_dataset(found, out_uri, schema=neighbour_schema(), mode="overwrite", storage_options=opts)
        incremental = False
    else:
        updated, emptied = [], []
        for fid, meta in run.deletes(out_uri, out.version, plan.drop, "asset_id"):
            if meta is None:
                emptied.append(fid)
            else:
                updated.append(meta)
        new = write_fragments(found, out_uri, schema=neighbour_schema(), storage_options=opts) if found.num_rows else []
        ds = out
        if updated or emptied or new:
            operation = lance.LanceOperation.Update(removed_fragment_ids=sorted(emptied), updated_fragments=updated,
                                                    new_fragments=new)
            ds = lance.LanceDataset.commit(out_uri, operation, read_version=out.version, storage_options=opts)
        incremental = True
    wanted: dict[str, str | None] = {f"semantic.{key}": record[key] for key in _RECORD}
    if any(ds.config().get(key) != value for key, value in wanted.items()):
        ds.update_config(wanted)
    return ds.to_table() if incremental else found
