"""Near-duplicate clustering at scale: candidates, clusters and an incremental run, same process.

Usage: .venv/bin/python benchmarks/cluster_cost.py [--n-assets 100000] [--k 10] [--blocks 20]

Synthetic unit vectors (384 dims): groups of 1-6 near-copies around random centres, spread over
``--blocks`` brands. Stages, each with wall time:

1. candidates: every asset's top-k within its brand, in memory (semantic.decisions.clustering.
   block_neighbours, what int_asset_neighbours runs: used for the clusters); the same through LanceDB,
   batched flat searches with a prefilter (clustering.neighbours, the path before), as the baseline;
   with --with-index also through an IVF_HNSW_SQ index (build time printed separately);
2. clusters: connected components with the chaining guard, then stable ids (semantic.decisions.clustering);
3. incremental: 1 % new assets, only they are searched, clusters rebuilt with the previous ids.

Ratios: in-memory candidates against LanceDB's, the incremental run against the full run, and the
indexed search against the flat one.
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import IvfHnswSq

from semantic.decisions.clustering import Previous, assign, block_neighbours, clusters, neighbours


def synthetic(n: int, dim: int, blocks: int, seed: int) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, size=n)  # copies per group
    group = np.repeat(np.arange(len(sizes)), sizes)[:n]
    centres = rng.normal(size=(group.max() + 1, dim)).astype(np.float32)
    vectors = centres[group] + 0.15 * rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    brands = [f"brand{g % blocks}" for g in group]
    return [f"A{i:07d}" for i in range(n)], vectors, brands, group


def table_of(db: object, ids: list[str], vectors: np.ndarray, brands: list[str]) -> object:
    flat = pa.array(vectors.ravel(), type=pa.float32())
    data = pa.table({"asset_id": ids, "brand": brands,
                     "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])})
    return db.create_table("assets", data, mode="overwrite")  # type: ignore[attr-defined]


def edges_of(found: pa.Table, threshold: float) -> list[tuple[str, str, float]]:
    a, b, s = (found.column(c).to_pylist() for c in ("asset_id", "neighbour_id", "similarity"))
    return [(x, y, z) for x, y, z in zip(a, b, s) if z >= threshold]


def indexed_search(table: object, ids: list[str], vectors: np.ndarray, brands: list[str],
                   args: argparse.Namespace, found: pa.Table) -> float:
    """The same candidates through an IVF_HNSW_SQ index: build time, search time, recall of flat."""
    t0 = time.perf_counter()
    partitions = max(1, int(np.sqrt(args.n_assets) / 4))
    table.create_index("vector", config=IvfHnswSq(distance_type="cosine", num_partitions=partitions))  # type: ignore[attr-defined]
    index_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    indexed = neighbours(table, "asset_id", ids, vectors, args.k, blocks=brands, block_on="brand", exact=False)
    ann_s = time.perf_counter() - t0
    exact = set(zip(found.column("asset_id").to_pylist(), found.column("neighbour_id").to_pylist()))
    approx = set(zip(indexed.column("asset_id").to_pylist(), indexed.column("neighbour_id").to_pylist()))
    print(f"index build (IVF_HNSW_SQ):      {index_s:8.1f} s")
    print(f"candidates, indexed:            {ann_s:8.1f} s  (recall of the flat top-{args.k}: "
          f"{len(exact & approx) / max(len(exact), 1):.3f})")
    return ann_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-assets", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--with-index", action="store_true",
                        help="also search through an IVF_HNSW_SQ index (slow with a prefilter: see the README)")
    args = parser.parse_args()

    ids, vectors, brands, group = synthetic(args.n_assets, args.dim, args.blocks, seed=0)
    print(f"{args.n_assets:,} assets, {args.dim} dims, {args.blocks} brands, k={args.k}, threshold {args.threshold}")
    with tempfile.TemporaryDirectory() as tmp:
        db = lancedb.connect(tmp)
        table = table_of(db, ids, vectors, brands)

        t0 = time.perf_counter()
        found = block_neighbours(ids, vectors, brands, range(len(ids)), args.k)
        memory_s = time.perf_counter() - t0
        print(f"candidates, in memory:          {memory_s:8.1f} s  ({found.num_rows:,} pairs compared)")
        t0 = time.perf_counter()
        lance = neighbours(table, "asset_id", ids, vectors, args.k, blocks=brands, block_on="brand")
        flat_s = time.perf_counter() - t0
        same = set(zip(found.column("asset_id").to_pylist(), found.column("neighbour_id").to_pylist())) & set(
            zip(lance.column("asset_id").to_pylist(), lance.column("neighbour_id").to_pylist()))
        print(f"candidates, LanceDB flat scans: {flat_s:8.1f} s  (the same pairs: {len(same) / lance.num_rows:.4f})")

        ann_s = None
        if args.with_index:
            ann_s = indexed_search(table, ids, vectors, brands, args, found)

        t0 = time.perf_counter()
        vec = dict(zip(ids, vectors))
        edges = edges_of(found, args.threshold)
        groups = clusters(ids, edges, vec, args.threshold - 0.10)
        first = assign(groups, {}, {})
        cluster_s = time.perf_counter() - t0
        true_pairs = sum(int(c) * (int(c) - 1) // 2 for c in np.bincount(group))
        print(f"clusters + stable ids:          {cluster_s:8.1f} s  ({len(groups):,} clusters from "
              f"{len(edges):,} edges; {true_pairs:,} planted pairs)")
        full_s = memory_s + cluster_s

        n_new = max(1, args.n_assets // 100)
        new_ids, new_vectors, new_brands, _ = synthetic(n_new, args.dim, args.blocks, seed=1)
        new_ids = [f"N{i:07d}" for i in range(n_new)]
        # half the new assets are near-copies of existing ones
        copy_of = np.random.default_rng(2).integers(0, args.n_assets, size=n_new // 2)
        noisy = vectors[copy_of] + 0.05 * np.random.default_rng(3).normal(size=(len(copy_of), args.dim))
        new_vectors[: len(copy_of)] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        for i, j in enumerate(copy_of):
            new_brands[i] = brands[j]
        prev = {r["asset_id"]: Previous(r["cluster_id"], r["cluster_first_seen_at"]) for r in first.to_pylist()}
        t0 = time.perf_counter()
        flat = pa.array(new_vectors.ravel(), type=pa.float32())
        table.add(pa.table({"asset_id": new_ids, "brand": new_brands,  # type: ignore[attr-defined]
                            "vector": pa.FixedSizeListArray.from_arrays(flat, args.dim)}))
        more = block_neighbours(ids + new_ids, np.vstack([vectors, new_vectors]), brands + new_brands,
                                range(len(ids), len(ids) + n_new), args.k)
        vec.update(zip(new_ids, new_vectors))
        groups2 = clusters(ids + new_ids, edges + edges_of(more, args.threshold), vec, args.threshold - 0.10)
        second = assign(groups2, prev, {})
        inc_s = time.perf_counter() - t0
        after = dict(zip(second.column("asset_id").to_pylist(), second.column("cluster_id").to_pylist()))
        kept = sum(after[a] == p.cluster_id for a, p in prev.items())
        print(f"incremental (+{n_new:,} assets):     {inc_s:8.1f} s  ({more.num_rows:,} pairs compared; "
              f"{kept:,} of {len(prev):,} existing assets kept their cluster id, the rest merged)")

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"candidates in memory / LanceDB flat scans = {memory_s / flat_s:.3f}")
    print(f"full run (candidates in memory + clusters): {full_s:.1f} s; incremental / full = {inc_s / full_s:.3f}")
    if ann_s is not None:
        print(f"indexed / flat candidate search = {ann_s / flat_s:.2f}")
    print(f"peak memory (max RSS): {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
