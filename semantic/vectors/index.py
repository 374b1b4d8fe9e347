"""The ANN index of a LanceDB vector table: IVF_HNSW_SQ (LanceDB ``IvfHnswSq``), searched with a refine step.

**Index.** IVF partitions (k-means, about sqrt(rows) / 4 of them) with an HNSW graph over 8-bit
scalar-quantised vectors inside each; a query probes LanceDB's default 20 partitions and re-ranks
``REFINE_FACTOR`` x k candidates on the full-precision vectors, so the distances it returns are
exact and the ranking close to exact (recall@10 0.99 at 1,000,000 vectors, issue 7). IVF_PQ with
default settings stayed at recall 0.68 there, so it is not used.

**Metric.** The index is built with squared L2 over the unit vectors the store holds:
``|a - b|^2 = 2 - 2 cos(a, b)``, so it ranks exactly as cosine. It is not built with LanceDB's
``cosine`` metric because of what the searches then report as ``_distance``: DuckDB's lance
extension cannot choose a metric and reports squared L2 on a table without an index, but on a
cosine-indexed table it reports ``1 - cos`` (with refine, or while rows are unindexed) or about
``2 - 2 cos`` (fully indexed, no refine), so one SQL formula cannot turn it into a similarity. With
an L2 index every path reports ``2 - 2 cos``. Queries use the index's own metric
(:func:`vector_query`): a query in another metric makes LanceDB fall back to a flat scan.

**Lifecycle** (:func:`ensure_index`, which ``VectorStore.ensure_vector_index`` and the
distributed job call): built once a table reaches ``min_rows``; rows appended or changed
afterwards sit in unindexed fragments (still searched, by a flat scan) until the next sync indexes
them as a delta segment with the existing partitions (Lance's index-only ``optimize_indices``,
:func:`append_to_index`; about 0.03 s for 1,000 new rows at 21,000); retrained from scratch, after
compacting the fragments, when most rows are new (a new model version re-embeds everything, and
the old partitions no longer fit), when the table has quadrupled since training, or when
``MAX_SEGMENTS`` segments have piled up. Each action is logged to the LanceDB table
``vector_indexes`` (beside the table, local or on object storage), which is where "last
optimised" comes from.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from semantic.errors import SemanticConfigError

logger = logging.getLogger("semantic")

INDEX_TYPE = "IVF_HNSW_SQ"
INDEX_METRIC = "l2"
REFINE_FACTOR = 5
NPROBES = 10
"""IVF partitions probed per query. Without it DuckDB's lance extension probed enough to take 12-20 ms
at 50,000 rows; 10 probes took 5 ms there at the same recall (benchmarks/search_latency.py)."""
"""Candidates re-ranked on full vectors per result row (k * 5); also makes ``_distance`` exact."""
REBUILD_FRACTION = 0.5
"""Retrain instead of optimising when more than this share of the rows is unindexed."""
MAX_SEGMENTS = 8
"""Retrain when optimising has left more delta segments than this (each one is searched)."""
INDEX_LOG_TABLE = "vector_indexes"
INDEX_LOG_SCHEMA = pa.schema(
    [
        ("table_name", pa.string()),
        ("action", pa.string()),
        ("index_type", pa.string()),
        ("metric", pa.string()),
        ("num_partitions", pa.int64()),
        ("total_rows", pa.int64()),
        ("unindexed_before", pa.int64()),
        ("unindexed_after", pa.int64()),
        ("seconds", pa.float64()),
        ("lance_version", pa.int64()),
        ("at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class IndexState:
    """The vector index of one table as it is now.

    Attributes:
        table: The LanceDB table name.
        total_rows: Rows in the table.
        index_name: The LanceDB index name, None when the table has no vector index.
        index_type: e.g. ``IVF_HNSW_SQ``.
        metric: The index's distance (``l2`` over unit vectors: cosine ranking).
        indexed_rows: Rows the index covers.
        unindexed_rows: Rows searched by a flat scan beside the index (all rows when there is none).
        segments: Index segments (1 after a build, one more per optimisation that added rows).
        num_partitions: IVF partitions, from the ``vector_indexes`` log (None if built elsewhere).
        last_optimised_at: When the index was last built or brought up to date (UTC, from the log).
    """

    table: str
    total_rows: int
    index_name: str | None
    index_type: str | None
    metric: str | None
    indexed_rows: int
    unindexed_rows: int
    segments: int
    num_partitions: int | None
    last_optimised_at: datetime | None

    @property
    def has_index(self) -> bool:
        """Whether the table has a vector index."""
        return self.index_name is not None


@dataclass(frozen=True)
class IndexRun:
    """What one ``ensure_vector_index`` call did.

    Attributes:
        table: The LanceDB table name.
        action: ``none`` (no index, below min_rows), ``current`` (nothing unindexed), ``created``,
            ``optimised`` (unindexed rows added to the index) or ``rebuilt`` (retrained).
        reason: Why, in words (for the log).
        total_rows: Rows in the table.
        unindexed_before: Unindexed rows before the call.
        unindexed_after: Unindexed rows after it.
        num_partitions: IVF partitions of the index after the call (None without one).
        seconds: Time spent building or optimising.
    """

    table: str
    action: str
    reason: str
    total_rows: int
    unindexed_before: int
    unindexed_after: int
    num_partitions: int | None
    seconds: float


@dataclass(frozen=True)
class RecallCheck:
    """ANN against exact top-k on a seeded sample of a table's own vectors.

    Attributes:
        table: The LanceDB table name.
        recall: Mean share of each query's exact top-k that the indexed search returned (1.0
            without an index: every search is exact).
        k: Neighbours compared per query (the query row itself excluded).
        queries: Query rows sampled (0 when there is no index).
        note: What was measured, or why nothing was.
    """

    table: str
    recall: float
    k: int
    queries: int
    note: str


def partitions_for(rows: int) -> int:
    """IVF partitions for a table of ``rows``: about sqrt(rows) / 4, at least 1.

    Few, large partitions suit IVF_HNSW: the HNSW graph inside each one does the fine search, and
    the default 20 probes then cover a quarter of a 100,000-row table.
    """
    return max(1, round(math.sqrt(max(rows, 1)) / 4))


def _snake(index_type: Any) -> str:
    text = str(index_type)
    return text if "_" in text or text.isupper() else re.sub(r"(?<!^)(?=[A-Z])", "_", text).upper()


def find_vector_index(tbl: Any, column: str = "vector") -> Any | None:
    """The LanceDB ``IndexConfig`` of the vector (IVF) index on ``column`` of an open table, or None."""
    for idx in tbl.list_indices():
        if column in idx.columns and _snake(idx.index_type).startswith("IVF"):
            return idx
    return None


def index_metric(idx: Any) -> str:
    """The distance an index was built with, lower case (``l2``, ``cosine`` or ``dot``)."""
    details = idx.index_details if isinstance(idx.index_details, dict) else {}
    return str(details.get("metric_type", INDEX_METRIC)).lower()


def index_type_of(idx: Any) -> str:
    """An index's type as LanceDB's statistics spell it (``IVF_HNSW_SQ``)."""
    return _snake(idx.index_type)


def vector_query(tbl: Any, vectors: np.ndarray, column: str = "vector", exact: bool = False,
                 nprobes: int | None = None) -> tuple[Any, str]:
    """Start a LanceDB vector search that uses the table's index when it has one.

    With an index: the index's metric (a query in another metric falls back to a flat scan) and
    ``REFINE_FACTOR``; without one, or with ``exact``: an exact cosine scan. Convert ``_distance``
    with ``store.cosine_from_distance(d, metric)``.

    Pass ``exact=True`` for a selective prefilter (a brand, a block): the index's probes then miss
    the filtered rows' neighbours in other partitions (recall@10 0.83 with 1 of 20 brands at
    100,000 rows, benchmarks/ann_index.py), and for a large batch of queries, which one shared
    flat scan answers faster than one index search per query (benchmarks/cluster_cost.py).

    Args:
        tbl: An open LanceDB table.
        vectors: One unit-length query vector or a matrix of them (one search per row).
        column: The vector column.
        exact: Scan every (filtered) row even when there is an index.
        nprobes: IVF partitions to probe (default ``NPROBES``; the build picks one per table so the
            recall lost to the index stays under a var, :func:`choose_nprobes`).

    Returns:
        The query builder (add ``limit``, ``where``, ``select``) and the metric of its ``_distance``.
    """
    query = tbl.search(np.asarray(vectors, dtype=np.float32), vector_column_name=column)
    idx = None if exact else find_vector_index(tbl, column)
    if idx is None:
        # bypass: a cosine query on an L2-indexed table would fall back to a scan, with a warning
        return query.distance_type("cosine").bypass_vector_index(), "cosine"
    metric = index_metric(idx)
    return query.distance_type(metric).nprobes(nprobes or NPROBES).refine_factor(REFINE_FACTOR), metric


def _top(hits: pa.Table, n_queries: int) -> list[list[int]]:
    rows: list[list[int]] = [[] for _ in range(n_queries)]
    qi = hits.column("query_index").to_pylist() if "query_index" in hits.column_names else [0] * hits.num_rows
    for q, rid in zip(qi, hits.column("_rowid").to_pylist()):
        rows[q].append(rid)
    return rows


def recall_at_k(tbl: Any, sample: int, k: int = 10, seed: int = 0, column: str = "vector",
                nprobes: int | None = None) -> tuple[float, int]:
    """Recall@k of the indexed search against an exact one, for a seeded sample of the table's rows.

    Each sampled row's vector is a query; the row itself is left out of both result lists. A hit
    counts when its exact distance is within the exact k-th distance, so rows tied with the k-th
    neighbour (identical texts embed identically) count whichever of them the index returns.

    Returns:
        (recall, queries). Without an index the search is exact: (1.0, 0), nothing searched.
    """
    idx = find_vector_index(tbl, column)
    total = tbl.count_rows()
    if idx is None or total < 2:
        return 1.0, 0
    n = min(sample, total)
    offsets = sorted(np.random.default_rng(seed).choice(total, size=n, replace=False).tolist())
    picked = tbl.take_offsets(offsets).select([column]).with_row_id().to_arrow()
    queries = np.asarray(picked.column(column).to_pylist(), dtype=np.float32)
    own = picked.column("_rowid").to_pylist()
    ann, _ = vector_query(tbl, queries, column, nprobes=nprobes)
    approx = ann.limit(k + 1).select([column, "_distance"]).with_row_id(True).to_arrow()
    metric = index_metric(idx)
    exact = (
        tbl.search(queries, vector_column_name=column).distance_type(metric).bypass_vector_index()
        .limit(k + 1).select([column, "_distance"]).with_row_id(True).to_arrow()
    )
    found = _top(approx, len(queries))
    truth = _top(exact, len(queries))
    vec_of = dict(zip(approx.column("_rowid").to_pylist(), approx.column(column).to_pylist()))
    vec_of.update(zip(exact.column("_rowid").to_pylist(), exact.column(column).to_pylist()))
    shares = []
    for q, query in enumerate(queries):
        want = [r for r in truth[q] if r != own[q]][:k]
        got = [r for r in found[q] if r != own[q]][:k]
        if not want:
            continue
        dist = {r: float(np.sum((np.asarray(vec_of[r], np.float32) - query) ** 2)) for r in {*want, *got}}
        bound = max(dist[r] for r in want) + 1e-5
        shares.append(sum(dist[r] <= bound for r in got) / len(want))
    return (float(np.mean(shares)) if shares else 1.0), len(queries)


#: The probe counts tried, fewest first: each doubles the partitions searched (and roughly the time).
PROBE_STEPS = (10, 20, 40, 80, 160)


def choose_nprobes(tbl: Any, max_loss: float, sample: int, k: int = 10, seed: int = 0, column: str = "vector"
                   ) -> tuple[int, float, dict[int, float]]:
    """The fewest probes of :data:`PROBE_STEPS` whose recall@k against exact search loses at most ``max_loss``.

    Returns:
        (probes, the recall at them, the recall at every count tried). When even the most probes lose more,
        the most probes and their recall: the caller reports the loss (and a rebuild with more partitions,
        or exact search, is the fix). Without an index: (``NPROBES``, 1.0, {}).
    """
    if find_vector_index(tbl, column) is None:
        return NPROBES, 1.0, {}
    tried: dict[int, float] = {}
    for probes in PROBE_STEPS:
        tried[probes], _ = recall_at_k(tbl, sample, k, seed, column, nprobes=probes)
        if 1.0 - tried[probes] <= max_loss:
            return probes, tried[probes], tried
    return PROBE_STEPS[-1], tried[PROBE_STEPS[-1]], tried


# --- the lifecycle on any open LanceDB table (local folder or object storage) ----------------------


def check_min_rows(min_rows: int | None, option: str = "vector_index_min_rows") -> None:
    """Refuse a ``min_rows`` that is not a positive integer or None.

    Raises:
        SemanticConfigError: Naming ``option`` and what to pass.
    """
    if min_rows is not None and (isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1):
        raise SemanticConfigError(
            f"{option} must be a positive integer (or null for no index), got {min_rows!r}; "
            f"pass e.g. {option} 20000"
        )


def index_decision(total_rows: int, idx: Any | None, trained_partitions: int | None, min_rows: int | None,
                   rebuild_fraction: float = REBUILD_FRACTION) -> tuple[str, str]:
    """What keeping a table's index current takes, by the rules of this module's docstring.

    Args:
        total_rows: Rows in the table.
        idx: Its vector index (:func:`find_vector_index`), or None.
        trained_partitions: IVF partitions the index was trained with (from the index log), or None.
        min_rows: Rows from which the table gets an index; None never builds one (but keeps one current).
        rebuild_fraction: Unindexed share above which the index is retrained, not optimised.

    Returns:
        ``(action, reason)``: action ``none`` (exact search), ``current``, ``created``, ``rebuilt``
        or ``optimised`` (unindexed rows added as a delta segment).
    """
    if idx is None:
        if min_rows is None or total_rows < min_rows:
            reason = "no index wanted" if min_rows is None else f"{total_rows} rows < index min rows {min_rows}"
            return "none", f"exact search: {reason}"
        return "created", f"{total_rows} rows >= index min rows {min_rows}"
    unindexed = int(idx.num_unindexed_rows)
    if not unindexed:
        return "current", "every row is indexed"
    if unindexed > rebuild_fraction * total_rows:
        return "rebuilt", f"{unindexed} of {total_rows} rows unindexed (> {rebuild_fraction:.0%})"
    if trained_partitions is not None and partitions_for(total_rows) >= 2 * trained_partitions:
        return "rebuilt", (f"table grew to {total_rows} rows since the index was trained with "
                           f"{trained_partitions} partitions")
    if int(idx.num_segments) >= MAX_SEGMENTS:
        return "rebuilt", f"{idx.num_segments} index segments (>= {MAX_SEGMENTS})"
    return "optimised", f"{unindexed} unindexed rows added to the index as a delta segment"


def build_index(tbl: Any, partitions: int, replace: bool, column: str = "vector") -> None:
    """Build the IVF_HNSW_SQ index (squared L2 over unit vectors, which ranks as cosine) on an open table."""
    from lancedb.index import IvfHnswSq

    tbl.create_index(column, config=IvfHnswSq(distance_type="l2", num_partitions=partitions),
                     replace=replace)


def append_to_index(tbl: Any, index_name: str) -> None:
    """Index a table's unindexed rows as a new delta segment, the existing partitions kept.

    Lance's index-only optimisation (``optimize_indices(num_indices_to_merge=0)``) on the table's
    dataset, so it works wherever the table is (a local folder or ``s3://``): about 0.03 s for
    1,000 new rows at 21,000.
    """
    tbl.to_lance().optimize.optimize_indices(num_indices_to_merge=0, index_names=[index_name])


def ensure_index(tbl: Any, table: str, min_rows: int | None, trained_partitions: int | None = None,
                 rebuild_fraction: float = REBUILD_FRACTION, column: str = "vector") -> IndexRun:
    """Build a table's ANN index once it has ``min_rows`` rows, and keep it covering every row.

    The rules of :func:`index_decision`; a retrain first drops the index and compacts the
    fragments (LanceDB ``optimize``, which also prunes versions older than 7 days). Log the
    returned run with :func:`index_log_record` where the table's logs live.

    Args:
        tbl: An open LanceDB table (``lancedb.connect(uri, storage_options=...)`` for object storage).
        table: Its name (for the run and the log).
        min_rows: Rows from which the table gets an index; None never builds one.
        trained_partitions: IVF partitions of the current index's training, from the index log.
        rebuild_fraction: Unindexed share above which the index is retrained.
        column: The vector column.

    Raises:
        SemanticConfigError: ``min_rows`` is not a positive integer or None.
    """
    check_min_rows(min_rows)
    rows = tbl.count_rows()
    idx = find_vector_index(tbl, column)
    action, reason = index_decision(rows, idx, trained_partitions, min_rows, rebuild_fraction)
    before = rows if idx is None else int(idx.num_unindexed_rows)
    if action in ("none", "current"):
        return IndexRun(table, action, reason, rows, before, before, trained_partitions, 0.0)
    started = time.monotonic()
    partitions = trained_partitions
    if action == "created":
        partitions = partitions_for(rows)
        build_index(tbl, partitions, replace=False, column=column)
    elif action == "rebuilt":
        assert idx is not None
        partitions = partitions_for(rows)
        tbl.drop_index(idx.name)
        tbl.optimize()  # compact the fragments syncs left (no vector index to remap now)
        build_index(tbl, partitions, replace=True, column=column)
    else:
        assert idx is not None
        append_to_index(tbl, idx.name)
        tbl.checkout_latest()
        left = find_vector_index(tbl, column)
        if left is not None and int(left.num_unindexed_rows):
            logger.warning("%s: %d rows still unindexed after the delta append; running LanceDB optimize()",
                           table, int(left.num_unindexed_rows))
            tbl.optimize()
            reason += " (completed by LanceDB optimize)"
    tbl.checkout_latest()
    after = find_vector_index(tbl, column)
    run = IndexRun(table, action, reason, rows, before, int(after.num_unindexed_rows) if after is not None else rows,
                   partitions, time.monotonic() - started)
    logger.info("%s: vector index %s in %.1f s (%s); %d unindexed rows before, %d after",
                table, action, run.seconds, reason, run.unindexed_before, run.unindexed_after)
    return run


def index_log_record(run: IndexRun, idx: Any | None, lance_version: int) -> pa.Table:
    """One row of the ``vector_indexes`` log (:data:`INDEX_LOG_SCHEMA`) for an index run."""
    record = {
        "table_name": run.table,
        "action": run.action,
        "index_type": index_type_of(idx) if idx is not None else None,
        "metric": index_metric(idx) if idx is not None else None,
        "num_partitions": run.num_partitions,
        "total_rows": run.total_rows,
        "unindexed_before": run.unindexed_before,
        "unindexed_after": run.unindexed_after,
        "seconds": run.seconds,
        "lance_version": lance_version,
        "at": datetime.now(UTC).replace(tzinfo=None),
    }
    return pa.Table.from_pylist([record], schema=INDEX_LOG_SCHEMA)


def trained_partitions(log: pa.Table | None, table: str) -> int | None:
    """IVF partitions of a table's latest index build (``created``/``rebuilt``) in a ``vector_indexes`` log."""
    if log is None:
        return None
    built = sorted((r for r in log.to_pylist() if r["table_name"] == table and r["action"] in ("created", "rebuilt")),
                   key=lambda r: r["at"])
    return built[-1]["num_partitions"] if built else None
