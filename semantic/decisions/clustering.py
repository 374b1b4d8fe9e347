"""Near-duplicate candidates from the LanceDB index, and stable clusters built from them.

**Candidates.** Each query asset's top-k neighbours inside its block (the rows sharing the blocking
column's value) come from :func:`block_neighbours`: the build holds every asset's vector already, so
a chunk of queries is one matrix product against the block, exact up to ``EXACT_BLOCK_ROWS`` rows
and through an in-memory HNSW graph past it. Only new or changed assets are queried on an
incremental run: pairs are symmetric downstream, so a new asset close to an old one is found from
the new asset's side. :func:`neighbours` (one batched LanceDB search per block, with a prefilter)
serves callers that do not hold the vectors: the scale-out candidates and the benchmark.

**Clusters.** Pairs at or above the threshold are joined by connected components, with a guard
against chaining (A≈B≈C≈D where A and D are unrelated): a cluster is accepted only when its
*diameter*, the lowest cosine between any two of its members, is at least ``min_similarity``;
otherwise the weakest link inside it is cut and each part is checked again. Components larger than
``MAX_EXACT`` members use their links' similarities instead of all member pairs.

**Stable ids.** A cluster id is ``cl_<asset id of its founding member>``. A component that holds
members of earlier clusters keeps the oldest of their ids (earliest ``first_seen_at``, then the
id), so a new asset joining a cluster does not rename it; every member that came from another
cluster records it in ``previous_cluster_id`` with ``merged_at``. When an earlier cluster is split,
the part holding most of its members keeps the id and the others get new ones.

**Canonical asset.** The member created first (``created_at``), then the smallest asset id: the
original that the others copy.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger("semantic")

MAX_EXACT = 2000
"""Largest component whose diameter is computed over every member pair."""
EXACT_BLOCK_ROWS = 100_000
"""Largest block whose neighbours :func:`block_neighbours` finds exactly (one matrix product per
chunk of queries); a larger block is searched through an in-memory HNSW graph, so the cost grows
with the block's rows instead of their square."""
QUERY_CHUNK_BYTES = 128 * 2**20
"""Memory for one chunk's similarity matrix (queries x block rows, float32)."""


# --- candidates ------------------------------------------------------------------------------


def neighbours(
    table: Any,
    id_column: str,
    ids: Sequence[str],
    vectors: np.ndarray,
    k: int,
    blocks: Sequence[Any] | None = None,
    block_on: str | None = None,
    batch_size: int = 1024,
    where: str | None = None,
    exclude_self: bool = True,
    log_level: int = logging.INFO,
    exact: bool = True,
) -> pa.Table:
    """Top-``k`` neighbours (other than itself) of each query row, from a LanceDB table.

    Args:
        table: An open LanceDB table with ``id_column`` and a cosine-searchable ``vector``.
        ids, vectors: The query rows (unit-length vectors, in the table's model version).
        k: Neighbours per query row.
        blocks: Each query row's value of ``block_on``; neighbours must share it.
        block_on: The blocking column of ``table``, or None to search the whole table.
        where: A further prefilter on ``table`` (literals quoted with ``store.sql_literal``).
        exclude_self: Drop a hit whose id is the query's own (the query rows are in ``table``).
        log_level: Level of the line that counts the compared pairs (the dbt log shows INFO).
        exact: Scan even when ``table`` has an ANN index (the default: one flat scan answers a
            whole batch, and under a blocking prefilter the index was 19x slower and found 0.82 of
            the exact top-10 at 20,000 assets; ``benchmarks/cluster_cost.py --with-index``).

    Returns:
        Arrow table ``asset_id, neighbour_id, similarity, rank`` (rank 1 = most similar).
    """
    from semantic.vectors.index import vector_query
    from semantic.vectors.store import cosine_from_distance, sql_literal

    if k < 1:
        from semantic.errors import SemanticDataError

        raise SemanticDataError(f"k must be a positive integer, got {k}; pass k >= 1")
    groups: dict[Any, list[int]] = defaultdict(list)
    for i, block in enumerate(blocks if blocks is not None and block_on else [None] * len(ids)):
        groups[block].append(i)
    out_a: list[str] = []
    out_b: list[str] = []
    out_s: list[float] = []
    out_r: list[int] = []
    for block, rows in groups.items():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            query, metric = vector_query(table, vectors[chunk], exact=exact)
            clauses = [where] if where else []
            if block_on:
                clauses.append(f"{block_on} = {sql_literal(block)}" if block is not None else f"{block_on} IS NULL")
            if clauses:
                query = query.where(" AND ".join(f"({c})" for c in clauses), prefilter=True)
            hits = query.limit(k + 1 if exclude_self else k).select([id_column, "_distance"]).to_arrow()
            if len(chunk) == 1 and "query_index" not in hits.column_names:
                hits = hits.append_column("query_index", pa.array([0] * hits.num_rows, pa.int32()))
            sims = cosine_from_distance(hits.column("_distance").to_numpy(), metric)
            found: dict[int, list[tuple[float, str]]] = defaultdict(list)
            for qi, nid, sim in zip(hits.column("query_index").to_pylist(), hits.column(id_column).to_pylist(), sims):
                if not (exclude_self and nid == ids[chunk[qi]]):
                    found[qi].append((float(sim), nid))
            for qi, hits_of_row in found.items():
                hits_of_row.sort(key=lambda t: (-t[0], t[1]))
                for rank, (sim, nid) in enumerate(hits_of_row[:k], start=1):
                    out_a.append(ids[chunk[qi]])
                    out_b.append(nid)
                    out_s.append(sim)
                    out_r.append(rank)
    logger.log(log_level, "nearest neighbours: %d query assets x top-%d = %d compared pairs", len(ids), k, len(out_a))
    return pa.table(
        {
            "asset_id": pa.array(out_a, pa.string()),
            "neighbour_id": pa.array(out_b, pa.string()),
            "similarity": pa.array(out_s, pa.float64()),
            "rank": pa.array(out_r, pa.int32()),
        }
    )


def block_neighbours(
    ids: Sequence[str],
    vectors: np.ndarray,
    blocks: Sequence[Any] | None,
    query_rows: Sequence[int],
    k: int,
    exact_max_rows: int = EXACT_BLOCK_ROWS,
) -> pa.Table:
    """Top-``k`` neighbours (other than itself) of some rows among all rows sharing their block, in memory.

    ``int_asset_neighbours`` holds every asset's vector already, so this replaces one LanceDB flat
    scan per query (each one reading the whole block through a prefilter) with one matrix product
    per chunk of queries: the 100,000-asset demo's 73 s became a few seconds
    (``benchmarks/build_cost.py``). A block larger than ``exact_max_rows`` is searched through an
    HNSW graph built for it (usearch, float32, cosine; recall@10 about 0.99), so no block costs the
    square of its rows.

    Args:
        ids: Every row's id.
        vectors: Every row's vector (rows x dims); cosine is taken, so they need not be unit length.
        blocks: Every row's block value (None: one block), or None for no blocking.
        query_rows: Positions of the rows to find neighbours for.
        k: Neighbours per query row.
        exact_max_rows: Largest block searched exactly.

    Returns:
        Arrow table ``asset_id, neighbour_id, similarity, rank`` (rank 1 = most similar; ties by id).
    """
    if k < 1:
        from semantic.errors import SemanticDataError

        raise SemanticDataError(f"k must be a positive integer, got {k}; pass k >= 1")
    unit = unit_rows(vectors)
    members: dict[Any, list[int]] = defaultdict(list)
    for i, block in enumerate(blocks if blocks is not None else [None] * len(ids)):
        members[block].append(i)
    wanted: dict[Any, list[int]] = defaultdict(list)
    for i in query_rows:
        wanted[blocks[i] if blocks is not None else None].append(int(i))
    out_a: list[str] = []
    out_b: list[str] = []
    out_s: list[float] = []
    out_r: list[int] = []
    for block, queries in wanted.items():
        rows = np.asarray(members[block], dtype=np.int64)
        if len(rows) > exact_max_rows:
            cand_pos, cand_sim = _graph_candidates(unit[rows], unit[queries], k + 1)
        else:
            cand_pos, cand_sim = exact_top_n(unit[rows], unit[queries], k + 1)
        for qi, q in enumerate(queries):
            hits = [(float(s), ids[rows[p]]) for p, s in zip(cand_pos[qi], cand_sim[qi])
                    if p >= 0 and rows[p] != q and ids[rows[p]] != ids[q]]
            hits.sort(key=lambda t: (-t[0], t[1]))
            for rank, (sim, nid) in enumerate(hits[:k], start=1):
                out_a.append(ids[q])
                out_b.append(nid)
                out_s.append(sim)
                out_r.append(rank)
    logger.info("nearest neighbours: %d query assets x top-%d = %d compared pairs", len(query_rows), k, len(out_a))
    return pa.table(
        {
            "asset_id": pa.array(out_a, pa.string()),
            "neighbour_id": pa.array(out_b, pa.string()),
            "similarity": pa.array(out_s, pa.float64()),
            "rank": pa.array(out_r, pa.int32()),
        }
    )


def vector_rows(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow column of vectors (fixed-size or variable lists) as a float32 matrix, one row per entry; a NULL
    vector is a row of NaN. Through the flat values, never Python lists: 75,000 vectors as lists of floats
    took 1.2 GB more memory than the vectors themselves."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(column)
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)  # valid rows only
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    found = int(valid.sum())
    if found and (flat.size % found or (not pa.types.is_fixed_size_list(column.type)
                                        and len(pc.unique(pc.drop_null(pc.list_value_length(column)))) > 1)):
        raise ValueError("the vectors are not all of one length")
    dim = flat.size // found if found else (column.type.list_size if pa.types.is_fixed_size_list(column.type) else 0)
    if found == n:
        return flat.reshape(n, dim)
    out = np.full((n, dim), np.nan, dtype=np.float32)
    out[valid] = flat.reshape(found, dim)
    return out


def unit_rows(vectors: Any) -> np.ndarray:
    """``vectors`` as float32 rows of unit length (no copy when they are already: the encoder's are)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.allclose(norms, 1.0, atol=1e-4):
        return vectors
    return vectors / np.where(norms > 0, norms, 1.0).astype(np.float32)


def exact_top_n(block: np.ndarray, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` most similar block rows of each query (positions and dot products, in top-k order),
    by matrix products in chunks of :data:`QUERY_CHUNK_BYTES`. The returned dot products are computed
    again in float64 for the rows found, so they do not depend on how the queries were chunked (a
    float32 product of one query and of 256 round differently).

    torch's matrix product and top-k (both multi-threaded): on two cores a 14,300-row block against
    all its rows took 1.6 s, against 9.2 s for numpy's product and ``argpartition``.
    """
    import torch

    n = min(n, len(block))
    chunk = max(1, QUERY_CHUNK_BYTES // (4 * max(1, len(block))))
    rows = torch.from_numpy(np.ascontiguousarray(block))
    asked = torch.from_numpy(np.ascontiguousarray(queries))
    positions = np.empty((len(queries), n), dtype=np.int64)
    sims = np.empty((len(queries), n), dtype=np.float64)
    with torch.no_grad():
        for start in range(0, len(queries), chunk):
            top = torch.topk(asked[start : start + chunk] @ rows.T, n, dim=1).indices.numpy()
            positions[start : start + chunk] = top
            sims[start : start + chunk] = np.einsum("qnd,qd->qn", block[top].astype(np.float64),
                                                    queries[start : start + chunk].astype(np.float64))
    return positions, sims


def _graph_candidates(block: np.ndarray, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` nearest block positions of each query from an HNSW graph of the block (-1: none)."""
    from semantic.encoding.backends import available_cores
    from semantic.vectors.graph import import_usearch

    Index = import_usearch()
    threads = available_cores()
    graph = Index(ndim=block.shape[1], metric="ip", dtype="f32", connectivity=16, expansion_add=128,
                  expansion_search=max(200, 4 * n))
    graph.add(np.arange(len(block), dtype=np.uint64), block, threads=threads)
    found = graph.search(queries, n, threads=threads)
    keys = np.asarray(found.keys).reshape(len(queries), -1)[:, :n].astype(np.int64)
    distances = np.asarray(found.distances).reshape(len(queries), -1)[:, :n]
    counts = np.asarray(found.counts).reshape(-1)
    keys[np.arange(keys.shape[1])[None, :] >= counts[:, None]] = -1
    return keys, (1.0 - distances).astype(np.float32)


# --- components with a chaining guard --------------------------------------------------------


def connected_components(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected components (each sorted) of an undirected graph, by union-find."""
    parent: dict[str, str] = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in parent:
        groups[find(n)].append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def split_chains(
    members: list[str], edges: list[tuple[str, str, float]], vectors: Mapping[str, np.ndarray], min_similarity: float
) -> list[list[str]]:
    """Cut the weakest link of a component until every part's diameter is >= ``min_similarity``.

    Cutting links weakest first splits a component exactly where its maximum spanning tree's
    weakest link goes, so this walks the single-linkage tree (Kruskal, strongest link first) top
    down instead of cutting one link at a time: a part is kept when it has at most two members or
    its diameter reaches ``min_similarity``, else its two halves are checked. Diameters are computed
    bottom up: a merged part's is the lowest of its halves' and of the cosines across them (every
    member pair is counted once, O(n^2) in all); parts over ``MAX_EXACT`` members, or with a member
    without a vector, use the weakest link that joined them instead (every link is at or above the
    match threshold, so there only a ``min_similarity`` above it splits). Iterative, so a chain of
    thousands of links cannot exhaust the stack.
    """
    if len(members) <= 2:
        return [members]
    index = {m: i for i, m in enumerate(members)}
    n = len(members)
    exact_ok = all(m in vectors for m in members)
    matrix = np.stack([np.asarray(vectors[m], dtype=np.float32) for m in members]) if exact_ok else None
    # tree nodes: 0..n-1 are members; each merge adds one node
    left: list[int] = [-1] * n
    right: list[int] = [-1] * n
    size: list[int] = [1] * n
    weakest_inside: list[float] = [np.inf] * n  # lowest link with both ends inside the node
    diameter: list[float] = [np.inf] * n
    rows: list[np.ndarray | None] = [np.array([i]) for i in range(n)]
    parent = list(range(n))
    node_of = list(range(n))  # union-find root -> its current tree node

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, sim in sorted(edges, key=lambda e: (e[2], e[0], e[1]), reverse=True):
        ra, rb = find(index[a]), find(index[b])
        if ra == rb:  # a link inside a part already joined by stronger ones
            node = node_of[ra]
            weakest_inside[node] = min(weakest_inside[node], sim)
            continue
        la, lb = node_of[ra], node_of[rb]
        node = len(left)
        left.append(la)
        right.append(lb)
        size.append(size[la] + size[lb])
        weakest_inside.append(min(sim, weakest_inside[la], weakest_inside[lb]))
        ia, ib = rows[la], rows[lb]
        if matrix is not None and ia is not None and ib is not None and size[node] <= MAX_EXACT:
            across = float((matrix[ia] @ matrix[ib].T).min())
            diameter.append(min(diameter[la], diameter[lb], across))
            rows.append(np.concatenate([ia, ib]))
        else:
            diameter.append(weakest_inside[node])
            rows.append(None)
        rows[la] = rows[lb] = None  # only the newest node of a part needs its rows
        parent[max(ra, rb)] = min(ra, rb)
        node_of[min(ra, rb)] = node
    roots = {node_of[find(i)] for i in range(n)}
    out: list[list[str]] = []
    stack = sorted(roots)
    while stack:
        node = stack.pop()
        if size[node] <= 2 or diameter[node] >= min_similarity:
            leaves, todo = [], [node]
            while todo:
                x = todo.pop()
                if x < n:
                    leaves.append(members[x])
                else:
                    todo += [left[x], right[x]]
            out.append(sorted(leaves))
        else:
            stack += [left[node], right[node]]
    return sorted(out, key=lambda g: g[0])


def clusters(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str, float]],
    vectors: Mapping[str, np.ndarray],
    min_similarity: float,
) -> list[list[str]]:
    """Components of the match graph, chains split (see the module docstring)."""
    by_component: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    comps = connected_components(nodes, [(a, b) for a, b, _ in edges])
    root = {n: c[0] for c in comps for n in c}
    for e in edges:
        by_component[root[e[0]]].append(e)
    out = []
    for comp in comps:
        out += split_chains(comp, by_component[comp[0]], vectors, min_similarity)
    return sorted(out, key=lambda g: g[0])


# --- stable ids --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    """An asset's assignment from the last run."""

    cluster_id: str
    first_seen_at: datetime
    previous_cluster_id: str | None = None
    merged_at: datetime | None = None


def assign(
    groups: Sequence[Sequence[str]],
    previous: Mapping[str, Previous],
    created_at: Mapping[str, Any],
    now: datetime | None = None,
) -> pa.Table:
    """Stable ids, canonical assets and merge records for ``groups`` (see the module docstring).

    Returns:
        Arrow table ``asset_id, cluster_id, canonical_asset_id, cluster_size, cluster_first_seen_at,
        previous_cluster_id, merged_at``.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    first_seen: dict[str, datetime] = {}
    for p in previous.values():
        first_seen[p.cluster_id] = min(first_seen.get(p.cluster_id, p.first_seen_at), p.first_seen_at)

    def canonical_of(group: Sequence[str]) -> str:
        return min(group, key=lambda a: (str(created_at.get(a) or "9999"), a))

    # Claims: each group claims the oldest earlier id among its members; a split id goes to the
    # part holding most of its old members.
    claims: dict[str, list[tuple[int, int]]] = defaultdict(list)
    candidate_ids = []
    for gi, group in enumerate(groups):
        ids = sorted({previous[a].cluster_id for a in group if a in previous}, key=lambda c: (first_seen[c], c))
        candidate_ids.append(ids)
        for cid in ids:
            claims[cid].append((sum(1 for a in group if a in previous and previous[a].cluster_id == cid), -gi))
    winner = {cid: -max(c)[1] for cid, c in claims.items()}
    rows = []
    merges = splits = 0
    taken = set(first_seen)  # never hand out an id that meant another cluster before
    for gi, group in enumerate(groups):
        owned = [cid for cid in candidate_ids[gi] if winner[cid] == gi]
        canonical = canonical_of(group)
        if owned:
            cid, seen = owned[0], first_seen[owned[0]]
            merges += len(owned) - 1
        else:
            cid, seen, n = f"cl_{canonical}", now, 1
            splits += bool(candidate_ids[gi])
            while cid in taken:
                n += 1
                cid = f"cl_{canonical}.{n}"
            taken.add(cid)
        for a in group:
            before = previous.get(a)
            came_from: str | None
            merged_at: datetime | None
            moved = before is not None and before.cluster_id != cid
            if before is not None and moved:
                came_from, merged_at = before.cluster_id, now
            elif before is not None:
                came_from, merged_at = before.previous_cluster_id, before.merged_at
            else:
                came_from, merged_at = None, None
            rows.append(
                {
                    "asset_id": a,
                    "cluster_id": cid,
                    "canonical_asset_id": canonical,
                    "cluster_size": len(group),
                    "cluster_first_seen_at": seen,
                    "previous_cluster_id": came_from,
                    "merged_at": merged_at,
                }
            )
    if merges or splits:
        logger.info("clusters: %d merge(s) kept the oldest id, %d split part(s) got new ids", merges, splits)
    schema = pa.schema(
        [
            ("asset_id", pa.string()),
            ("cluster_id", pa.string()),
            ("canonical_asset_id", pa.string()),
            ("cluster_size", pa.int64()),
            ("cluster_first_seen_at", pa.timestamp("us")),
            ("previous_cluster_id", pa.string()),
            ("merged_at", pa.timestamp("us")),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


# --- the warehouse side ----------------------------------------------------------------------


def refresh_neighbours(
    assets: pa.Table, done: pa.Table | None, k: int, block_on: str | None, lance_dir: Any, table: str = "assets"
) -> pa.Table:
    """``int_asset_neighbours``: top-k rows for the assets that are new or changed since ``done``.

    Args:
        assets: ``int_assets_embedded`` (asset_id, content_hash, model_version, vector, block column).
        done: (asset_id, content_hash, model_version) of the rows already matched, or None.
        k: Neighbours per asset.
        block_on: Column both assets must share, or None.
        lance_dir: The LanceDB folder holding ``table``.
    """
    from semantic.vectors.memory import release_freed_memory
    from semantic.vectors.store import VectorStore

    release_freed_memory()
    if block_on and block_on not in assets.column_names:
        from semantic.errors import SemanticConfigError

        raise SemanticConfigError(
            f"near_duplicate_block_on {block_on!r} is not a column of the assets "
            f"({', '.join(assets.column_names)}); pick one of them or none"
        )
    seen = set()
    if done is not None:
        seen = set(zip(*(done.column(c).to_pylist() for c in ("asset_id", "content_hash", "model_version"))))
    keys = zip(*(assets.column(c).to_pylist() for c in ("asset_id", "content_hash", "model_version")))
    todo = [i for i, key in enumerate(keys) if key not in seen]
    logger.info("near-duplicate candidates: %d of %d assets are new or changed", len(todo), assets.num_rows)
    now = datetime.now(UTC).replace(tzinfo=None)
    if todo:
        rows = assets.take(pa.array(todo, pa.int64()))
        versions = set(rows.column("model_version").to_pylist())
        store = VectorStore(lance_dir)
        for version in versions:  # the vectors are the table's current version's, not a stale copy
            store.assert_model_version(table, version)
        # candidates: every asset embedded by the same model version (a row of another version is stale)
        same = pc.is_in(assets.column("model_version"), pa.array(sorted(versions), pa.string()))
        candidates = assets.filter(same) if not pc.all(same).as_py() else assets
        vectors = vector_rows(candidates.column("vector"))
        candidate_ids = candidates.column("asset_id").to_pylist()
        ids = rows.column("asset_id").to_pylist()
        position = {a: i for i, a in enumerate(candidate_ids)}
        found = block_neighbours(
            candidate_ids,
            vectors,
            candidates.column(block_on).to_pylist() if block_on else None,
            [position[a] for a in ids],
            k,
        )
        meta = {
            a: (h, v)
            for a, h, v in zip(ids, rows.column("content_hash").to_pylist(), rows.column("model_version").to_pylist())
        }
    else:
        found = neighbours_schema().empty_table()
        meta = {}
    query_ids = found.column("asset_id").to_pylist()
    # An asset with no neighbour at all still gets a row, so it is not queried again next run.
    matched = set(query_ids)
    lonely = [a for a in meta if a not in matched]
    out = {
        "asset_id": query_ids + lonely,
        "neighbour_id": found.column("neighbour_id").to_pylist() + [None] * len(lonely),
        "similarity": found.column("similarity").to_pylist() + [None] * len(lonely),
        "rank": found.column("rank").to_pylist() + [None] * len(lonely),
    }
    all_ids = out["asset_id"]
    out["content_hash"] = [meta[a][0] for a in all_ids]
    out["model_version"] = [meta[a][1] for a in all_ids]
    out["matched_at"] = [now] * len(all_ids)
    return pa.Table.from_pydict(out, schema=neighbours_schema())


def neighbours_schema() -> pa.Schema:
    return pa.schema(
        [
            ("asset_id", pa.string()),
            ("neighbour_id", pa.string()),
            ("similarity", pa.float64()),
            ("rank", pa.int32()),
            ("content_hash", pa.string()),
            ("model_version", pa.string()),
            ("matched_at", pa.timestamp("us")),
        ]
    )


def cluster_table(
    assets: pa.Table, pairs: pa.Table, vectors: pa.Table, previous: pa.Table | None, min_similarity: float
) -> pa.Table:
    """``dim_asset_clusters``: every embedded asset with its stable cluster id and canonical asset.

    Args:
        assets: asset_id, created_at of every embedded asset.
        pairs: asset_id_a, asset_id_b, similarity of the pairs at or above the threshold.
        vectors: asset_id, vector of the assets in ``pairs`` (for the chaining guard).
        previous: The last run's table, or None.
        min_similarity: The lowest cosine allowed between two members of one cluster.
    """
    from semantic.vectors.memory import release_freed_memory

    release_freed_memory()
    ids = assets.column("asset_id").to_pylist()
    created = dict(zip(ids, (str(c) if c is not None else None for c in assets.column("created_at").to_pylist())))
    matrix = vector_rows(vectors.column("vector"))
    has_vector = ~np.isnan(matrix).any(axis=1)
    vec = {a: matrix[i] for i, a in enumerate(vectors.column("asset_id").to_pylist()) if has_vector[i]}
    edges = [
        (a, b, s)
        for a, b, s in zip(*(pairs.column(c).to_pylist() for c in ("asset_id_a", "asset_id_b", "similarity")))
        if a in created and b in created
    ]
    prev: dict[str, Previous] = {}
    if previous is not None:
        for r in previous.to_pylist():
            prev[r["asset_id"]] = Previous(
                r["cluster_id"], r["cluster_first_seen_at"], r["previous_cluster_id"], r["merged_at"]
            )
    groups = clusters(ids, edges, vec, min_similarity)
    logger.info(
        "clusters: %d assets in %d clusters (%d with more than one asset) from %d pairs",
        len(ids),
        len(groups),
        sum(len(g) > 1 for g in groups),
        len(edges),
    )
    return assign(groups, prev, created)
