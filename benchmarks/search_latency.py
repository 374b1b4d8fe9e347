"""Search latency at 1,000,000 vectors: the Python API and the SQL search function, against exact.

Usage: nice .venv/bin/python benchmarks/search_latency.py [--rows 1000000] [--queries 100] [--keep DIR]

Synthetic 384-d unit vectors around ``--clusters`` centres (real embeddings are clustered) in a
LanceDB ``assets`` table with the columns ``semantic_search`` reads. Stages, same run:

1. index build: ``VectorStore.ensure_vector_index`` (IVF_HNSW_SQ, the store's settings), timed; then
   the HNSW graph of :mod:`semantic.vectors.graph` (``graph_min_rows``), timed, with the process's
   resident memory before and after;
2. ground truth: each held-out query's exact top 10 by a NumPy matrix product;
3. Python, the options side by side: LanceDB's index at its default probes and at fewer probes or
   less re-ranking (``--lance-options``), the Python API ``VectorStore.search`` through the IVF
   index (the graph hidden) and through the graph (what it uses when the table has one): p50 / p95
   latency and recall@10 against the exact top 10; LanceDB's exact flat scan (``exact=True``) as the
   baseline latency;
4. SQL: ``select ... from semantic_search(?, k := 10)`` on a DuckDB connection with the project's
   functions registered, one query per call: p50 / p95 and recall@10, with the graph and without it.
   The query text maps to its precomputed vector (a lookup encoder), so the figure is the search path
   (macro, model-version check, graph or index); encoding one short query with the real encoder adds
   its own cost, printed separately when ``--encode`` is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import lancedb
import numpy as np
import pyarrow as pa

from semantic.config import SemanticConfig
from semantic.vectors.index import vector_query
from semantic.vectors.store import VectorStore
from semantic.warehouse.functions import register


class LookupEncoder:
    """The encoder interface over precomputed query vectors (query text ``q<i>`` -> vector i)."""

    version = "bench"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors
        self.dim = vectors.shape[1]

    def encode(self, texts: Sequence[str | None], progress: Any = None) -> np.ndarray:
        return np.stack([self.vectors[int(t[1:])] for t in texts if t]).astype(np.float32)


def mixture(n: int, centres: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, centres.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks: 1M x 384 float64 noise would be 3 GB
        m = min(100_000, n - start)
        block = centres[rng.integers(0, len(centres), m)] + spread * rng.normal(size=(m, centres.shape[1]))
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def rss_mib() -> tuple[float, float]:
    """(resident, peak resident) memory of this process now, MiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def pct(times: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(times) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=5000)
    parser.add_argument("--spread", type=float, default=0.6)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--encode", action="store_true", help="also time encoding one query with the real encoder")
    parser.add_argument("--exact-queries", type=int, default=20, help="queries timed for the exact-scan baseline")
    parser.add_argument("--keep", type=Path, help="build the table in this folder and reuse it when it is there")
    parser.add_argument("--lance-options", default="10:5,10:2,5:5",
                        help="LanceDB settings to time beside the store's, as probes:refine_factor pairs")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(args.clusters, args.dim))
    vectors = mixture(args.rows, centres, args.spread, rng)
    queries = mixture(args.queries, centres, args.spread, rng)
    n, k = args.rows, args.k
    rows: list[tuple[str, str, str, str]] = []

    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep or scratch)
        reuse = args.keep is not None and (args.keep / "assets.lance").is_dir()
        data = None if reuse else pa.table({
            "asset_id": pa.array([f"a{i:07d}" for i in range(n)]),
            **{c: pa.nulls(n, pa.string()) for c in ("brand", "channel", "market", "asset_type")},
            "created_at": pa.nulls(n, pa.date32()),
            "content_hash": pa.nulls(n, pa.string()),
            "model_version": pa.array(["bench"] * n),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), args.dim),
        })
        store = VectorStore(tmp)
        if data is not None:
            lancedb.connect(tmp).create_table("assets", data)
            del data
            started = time.perf_counter()
            built = store.ensure_vector_index("assets", min_rows=1)
            build_s = time.perf_counter() - started
            rows.append(("index build", f"{build_s:.1f} s", "", f"{built.num_partitions} partitions, {n:,} rows"))
        else:
            rows.append(("index build", "reused", "", f"{store.index_state('assets').num_partitions} partitions, "
                         f"{n:,} rows in {tmp}"))

        before = rss_mib()
        started = time.perf_counter()
        store.ensure_vector_index("assets", min_rows=1, graph_min_rows=1)
        graph_s = time.perf_counter() - started
        after = rss_mib()
        from semantic.vectors.graph import graph_root, versions_with_graph

        disk = sum(f.stat().st_size for f in graph_root(tmp, "assets").rglob("*") if f.is_file()) / 2**20
        rows.append(("HNSW graph build (semantic.vectors.graph)", f"{graph_s:.1f} s", "",
                     f"{disk:,.0f} MiB on disk; resident {before[0]:,.0f} -> {after[0]:,.0f} MiB, peak "
                     f"{before[1]:,.0f} -> {after[1]:,.0f} MiB; version(s) {versions_with_graph(tmp, 'assets')}"))

        truth = []
        for q in queries:
            sims = vectors @ q
            truth.append(set(np.argpartition(-sims, k)[:k].tolist()))
        ids = {f"a{i:07d}": i for i in range(n)}
        tbl = lancedb.connect(tmp).open_table("assets")

        def python(exact: bool, probes: int | None = None, refine: int | None = None) -> tuple[list[float], float]:
            times, found = [], 0.0
            for q, t in list(zip(queries, truth))[: args.exact_queries if exact else None]:
                t0 = time.perf_counter()
                query, _ = vector_query(tbl, q, exact=exact, nprobes=probes)
                if refine is not None and not exact:
                    query = query.refine_factor(refine)
                hits = query.limit(k).select(["asset_id"]).to_arrow()
                times.append(time.perf_counter() - t0)
                found += len({ids[a] for a in hits.column("asset_id").to_pylist()} & t) / k
            return times, found / len(times)

        def store_search(graph: bool) -> tuple[list[float], float]:
            store._search_handles.pop("assets", None)  # a fresh handle: it opens the version's graph
            handle = store._search_handle("assets")
            if not graph:  # the same handle with the graph hidden: the IVF index answers
                store._search_handles["assets"] = dataclasses.replace(handle, graph=None)
            elif handle.graph is None:
                sys.exit("the table has no graph: the graph build above did not leave one")
            times, found = [], 0.0
            for q, t in zip(queries, truth):
                t0 = time.perf_counter()
                hits = store.search("assets", q, "bench", k=k, columns=["asset_id"])
                times.append(time.perf_counter() - t0)
                found += len({ids[a] for a in hits.column("asset_id").to_pylist()} & t) / k
            return times, found / len(queries)

        python(False)  # warm the index and file caches
        exact_t, exact_r = python(True)
        rows.append(("Python, LanceDB exact flat scan (baseline)", f"{pct(exact_t, 50):.1f} ms",
                     f"{exact_r:.3f}", f"p95 {pct(exact_t, 95):.1f} ms"))
        for option in args.lance_options.split(","):
            probes, refine = (int(x) for x in option.split(":"))
            ann_t, ann_r = python(False, probes, refine)
            rows.append((f"Python, LanceDB IVF_HNSW_SQ, {probes} probes, refine {refine}",
                         f"{pct(ann_t, 50):.2f} ms", f"{ann_r:.3f}",
                         f"p95 {pct(ann_t, 95):.2f} ms; {pct(ann_t, 50) / pct(exact_t, 50):.4f}x exact"))
        for graph in (False, True):
            store_search(graph)  # warm: opens the table, reads its model versions, index and graph once
            api_t, api_r = store_search(graph)
            rows.append((f"Python API VectorStore.search ({'HNSW graph' if graph else 'IVF index'})",
                         f"{pct(api_t, 50):.2f} ms", f"{api_r:.3f}",
                         f"p95 {pct(api_t, 95):.2f} ms; model-version check included"))

        from semantic.vectors import store as store_module

        for graph in (False, True):
            conn = duckdb.connect()
            opened = store_module.open_graph
            if not graph:  # the SQL search's store opens no graph: the IVF index answers
                store_module.open_graph = lambda *a, **kw: None  # type: ignore[assignment]
            register(conn, SemanticConfig.from_plugin({"lance_dir": tmp}), encoder=LookupEncoder(queries))  # type: ignore[arg-type]
            sql = f"select asset_id from semantic_search(?, k := {k})"
            conn.execute(sql, ["q0"]).fetchall()  # warm
            times, found = [], 0.0
            for i, t in enumerate(truth):
                t0 = time.perf_counter()
                hits = conn.execute(sql, [f"q{i}"]).fetchall()
                times.append(time.perf_counter() - t0)
                found += len({ids[h[0]] for h in hits} & t) / k
            store_module.open_graph = opened  # type: ignore[assignment]
            rows.append((f"SQL semantic_search ({'HNSW graph' if graph else 'IVF index'})", f"{pct(times, 50):.2f} ms",
                         f"{found / len(truth):.3f}", f"p95 {pct(times, 95):.2f} ms; query vector precomputed"))
        if args.encode:
            from semantic.config import default_model_dir
            from semantic.encoding.encoder import load_encoder

            encoder = load_encoder(default_model_dir())
            encoder.encode(["warm up the model"])
            enc_t = []
            for i in range(50):
                t0 = time.perf_counter()
                encoder.encode([f"insulated winter jacket for hiking number {i}"])
                enc_t.append(time.perf_counter() - t0)
            rows.append(("encoding one short query (real encoder)", f"{pct(enc_t, 50):.1f} ms", "",
                         "add to the SQL figure for a text query"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    width = max(len(r[0]) for r in rows)
    print(f"{'stage':<{width}}  {'p50 / time':>11}  {'recall@10':>9}  note")
    for name, t, r, note in rows:
        print(f"{name:<{width}}  {t:>11}  {r:>9}  {note}")
    print(f"peak memory (max RSS): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
