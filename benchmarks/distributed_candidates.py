"""Near-duplicate candidates of the distributed job: ANN index against exact search, 1 and 2 Ray workers.

Usage: nice .venv/bin/python benchmarks/distributed_candidates.py [--n 100000] [--dim 384] [--k 10]
       [--sample 1000] [--exact]

Writes ``--n`` synthetic clustered unit vectors (500 centres, seeded; no encoder needed) as a Lance
table in a temporary folder, builds its IVF_HNSW_SQ index with the job's own
``semantic.scaleout.distributed.ensure_shared_index`` (what ``semantic embed`` does from
``--index-min-rows`` rows), then times ``near_duplicate_candidates`` (top-k of every row,
partitioned over the table's fragments) on a local Ray cluster with 1 and 2 workers of one core
each. Recall@k of the ANN candidates is measured against a NumPy brute-force top-k for a seeded
sample of ``--sample`` rows (a neighbour tied with the exact k-th within 1e-5 counts). With
``--exact`` the flat-scan path (``exact=True``) is timed too, which is what a table below
``--index-min-rows`` gets.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from semantic.scaleout.distributed import ensure_shared_index, near_duplicate_candidates

ROWS_PER_FRAGMENT = 10_000
"""Fragment size of the synthetic table (the job writes up to 100,000): enough fragments to partition."""


def clustered(n: int, dim: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` unit vectors around 500 random centres (neighbours are meaningful), and their ids."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(500, dim))
    vectors = centres[rng.integers(0, 500, n)] + 0.8 * rng.normal(size=(n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [f"a{i:08d}" for i in range(n)], vectors.astype(np.float32)


def write_table(uri: str, ids: list[str], vectors: np.ndarray) -> None:
    import lance

    dim = vectors.shape[1]
    table = pa.table({
        "asset_id": ids,
        "content_hash": ids,
        "model_version": ["synthetic"] * len(ids),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
    })
    lance.write_dataset(table, uri, max_rows_per_file=ROWS_PER_FRAGMENT)


def recall_at_k(found: pa.Table, ids: list[str], vectors: np.ndarray, sample: np.ndarray, k: int) -> float:
    """Mean share of each sampled row's exact top-k (brute force) among its candidates."""
    position = {a: i for i, a in enumerate(ids)}
    got: dict[str, list[str]] = {}
    for a, b in zip(found.column("asset_id").to_pylist(), found.column("neighbour_id").to_pylist()):
        got.setdefault(a, []).append(b)
    shares = []
    for i in sample:
        sims = vectors @ vectors[i]
        sims[i] = -np.inf
        top = np.argpartition(-sims, k)[:k]
        bound = float(np.min(sims[top])) - 1e-5
        hits = got.get(ids[i], [])
        shares.append(sum(1 for h in hits if sims[position[h]] >= bound) / k)
    return float(np.mean(shares))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="rows of the synthetic table")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension (384: the packaged encoder)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--sample", type=int, default=1000, help="rows whose recall is checked against brute force")
    parser.add_argument("--exact", action="store_true", help="also time the exact (flat scan) path")
    args = parser.parse_args()
    logging.getLogger("ray").setLevel(logging.WARNING)
    import ray

    ids, vectors = clustered(args.n, args.dim)
    sample = np.sort(np.random.default_rng(1).choice(args.n, min(args.sample, args.n), replace=False))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        uri = str(Path(tmp) / "assets.lance")
        write_table(uri, ids, vectors)
        started = time.monotonic()
        index = ensure_shared_index(uri, min_rows=1)
        build = time.monotonic() - started
        ray.init(num_cpus=3, object_store_memory=256 * 1024**2, include_dashboard=False, configure_logging=False,
                 log_to_driver=False)
        try:
            for exact in (False, True) if args.exact else (False,):
                for workers in (1, 2):
                    started = time.monotonic()
                    found = near_duplicate_candidates(uri, args.k, engine="ray", workers=workers, exact=exact,
                                                      ann_min_rows=1)
                    seconds = time.monotonic() - started
                    rows.append(("exact" if exact else "ANN (IVF_HNSW_SQ)", workers, seconds,
                                 recall_at_k(found, ids, vectors, sample, args.k)))
        finally:
            ray.shutdown()

    print(f"\n{args.n:,} clustered vectors, {args.dim} d, top-{args.k} candidates of every row; index "
          f"{index.action} with {index.num_partitions} partitions in {build:.1f} s; recall@{args.k} on "
          f"{len(sample):,} sampled rows against brute force\n")
    print(f"| search | workers | wall time | rows/s | recall@{args.k} |")
    print("|---|---|---|---|---|")
    for search, workers, seconds, recall in rows:
        print(f"| {search} | {workers} | {seconds:.1f} s | {args.n / seconds:,.0f} | {recall:.4f} |")


if __name__ == "__main__":
    main()
