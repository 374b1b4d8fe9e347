"""The ANN index lifecycle at scale: build, search against exact, a 5 % append, the incremental path.

Usage: nice .venv/bin/python benchmarks/ann_index.py [--rows 100000] [--dim 384] [--queries 200]

Synthetic unit vectors with cluster structure (a mixture of Gaussians around ``--clusters`` random
centres, since real embeddings are clustered and uniform random vectors have no meaningful
neighbours). Stages, each timed, all through semantic.vectors.store.VectorStore:

1. build: ``ensure_vector_index`` on the table (IVF_HNSW_SQ, squared L2 over unit vectors);
2. search: ``--queries`` held-out query vectors (new draws from the mixture, not table rows), one
   search per call: p50 / p95 latency of the exact flat scan (the baseline) and of the refined
   indexed search (``semantic.vectors.index.vector_query``), and recall@10 of the latter; the same
   with a selective prefilter (one of 20 brands), exact and through the index;
3. append 5 % (half from the existing clusters, half from new ones: drift the IVF centroids
   never saw); unindexed rows, recall and latency before the incremental step; then
   ``ensure_vector_index`` (the incremental path after a sync), its time, unindexed rows after,
   recall and latency again; and the dbt gate's own figure (``ann_recall``: the table's rows as
   queries, seeded).

Ratios are against the exact scan and the full build measured in the same run.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import lancedb
import numpy as np
import pyarrow as pa

from semantic.vectors.index import vector_query
from semantic.vectors.store import VectorStore


def mixture(n: int, centres: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    vectors = centres[rng.integers(0, len(centres), n)] + spread * rng.normal(size=(n, centres.shape[1]))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def rows_of(vectors: np.ndarray, start: int) -> pa.Table:
    ids = [f"A{i:07d}" for i in range(start, start + len(vectors))]
    return pa.table({
        "asset_id": ids,
        "brand": [f"brand{i % 20}" for i in range(start, start + len(vectors))],
        "content_hash": ids,
        "model_version": ["bench"] * len(vectors),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1]),
    })


def searched(tbl: object, queries: np.ndarray, k: int, exact: bool,
             brand: bool = False) -> tuple[list[list[str]], np.ndarray]:
    """Top-k ids per query, one search per call, and each call's latency in ms (``brand``: 1 of 20)."""
    ids, ms = [], []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        query, _ = vector_query(tbl, q, exact=exact)
        if brand:
            query = query.where(f"brand = 'brand{i % 20}'", prefilter=True)
        hits = query.limit(k).select(["asset_id", "_distance"]).to_arrow()
        ms.append((time.perf_counter() - t0) * 1000)
        ids.append(hits.column("asset_id").to_pylist())
    return ids, np.array(ms)


def recall(found: list[list[str]], truth: list[list[str]]) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.6, help="noise scale around a centre (cos ~ 1/(1+s^2))")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--append", type=float, default=0.05)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(args.clusters, args.dim))
    new_centres = rng.normal(size=(max(1, args.clusters // 20), args.dim))
    print(f"{args.rows:,} unit vectors, {args.dim} dims, {args.clusters:,} clusters (spread {args.spread}), "
          f"{args.queries} held-out queries, k={args.k}")
    print(f"{'stage':44s} {'seconds':>8s} {'recall@10':>10s} {'p50 ms':>8s} {'p95 ms':>8s}  note")

    def line(stage: str, seconds: float | None, rec: float | None, ms: np.ndarray | None, note: str = "") -> None:
        s = f"{seconds:8.1f}" if seconds is not None else " " * 8
        r = f"{rec:10.3f}" if rec is not None else " " * 10
        p = f"{np.percentile(ms, 50):8.1f} {np.percentile(ms, 95):8.1f}" if ms is not None else " " * 17
        print(f"{stage:44s} {s} {r} {p}  {note}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        db = lancedb.connect(tmp)
        db.create_table("assets", rows_of(mixture(args.rows, centres, args.spread, rng), 0))
        store = VectorStore(tmp)
        tbl = db.open_table("assets")
        queries = mixture(args.queries, centres, args.spread, rng)

        truth, exact_ms = searched(tbl, queries, args.k, exact=True)
        line("exact flat scan (baseline)", None, 1.0, exact_ms)
        run = store.ensure_vector_index("assets", min_rows=1)
        build_s = run.seconds
        tbl = db.open_table("assets")  # a handle opened before the build does not see the index
        state = store.index_state("assets")
        line("build index", build_s, None, None,
             f"{state.index_type}, {state.num_partitions} partitions, {state.indexed_rows:,} rows")
        found, ann_ms = searched(tbl, queries, args.k, exact=False)
        line("indexed search (refined)", None, recall(found, truth), ann_ms,
             f"p50 {np.percentile(ann_ms, 50) / np.percentile(exact_ms, 50):.2f}x exact")
        gate = store.ann_recall("assets", sample=args.queries, k=args.k)
        line("  dbt gate figure (ann_recall, own rows)", None, gate.recall, None, gate.note)
        brand_truth, brand_exact_ms = searched(tbl, queries, args.k, exact=True, brand=True)
        line("prefiltered (1 of 20 brands): exact scan", None, 1.0, brand_exact_ms,
             "what store.search and clustering.neighbours do under a filter")
        found, brand_ann_ms = searched(tbl, queries, args.k, exact=False, brand=True)
        line("prefiltered (1 of 20 brands): through index", None, recall(found, brand_truth), brand_ann_ms,
             f"p50 {np.percentile(brand_ann_ms, 50) / np.percentile(brand_exact_ms, 50):.2f}x the filtered scan")

        n_new = int(args.rows * args.append)
        drifted = mixture(n_new - n_new // 2, new_centres, args.spread, rng)
        appended = np.concatenate([mixture(n_new // 2, centres, args.spread, rng), drifted])
        db.open_table("assets").add(rows_of(appended, args.rows))
        queries = np.concatenate([queries[: args.queries // 2],
                                  mixture(args.queries - args.queries // 2, new_centres, args.spread, rng)])
        tbl = db.open_table("assets")
        truth, exact_ms = searched(tbl, queries, args.k, exact=True)
        before = store.index_state("assets")
        line(f"append {args.append:.0%} ({n_new:,} rows, half new clusters)", None, None, exact_ms,
             f"exact scan now; {before.unindexed_rows:,} rows unindexed")
        found, ann_ms = searched(tbl, queries, args.k, exact=False)
        line("  indexed search before ensure", None, recall(found, truth), ann_ms,
             "unindexed rows searched flat beside the index")

        run = store.ensure_vector_index("assets", min_rows=1)
        after = store.index_state("assets")
        tbl = db.open_table("assets")
        found, ann_ms = searched(tbl, queries, args.k, exact=False)
        line(f"ensure_vector_index ({run.action})", run.seconds, recall(found, truth), ann_ms,
             f"unindexed {run.unindexed_before:,} -> {after.unindexed_rows:,}; {after.segments} segments; "
             f"{run.seconds / build_s:.2f}x the build")
        gate = store.ann_recall("assets", sample=args.queries, k=args.k)
        line("  dbt gate figure (ann_recall, own rows)", None, gate.recall, None, gate.note)

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
