"""Incremental embedding cost: a full sync against no-change and 1 %-changed syncs, same run.

Usage: .venv/bin/python benchmarks/sync_cost.py [--n-assets 3000] [--changed 0.01]

Prints wall time and texts per second for each sync and the ratio of each to the full sync;
the point is that cost follows the number of changed rows, not the table size.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from semantic.config import default_model_dir
from semantic.demo import generate
from semantic.encoding.encoder import load_encoder
from semantic.vectors.store import VectorStore


def load_assets(seeds: Path) -> pa.Table:
    with open(seeds / "demo_assets.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return pa.table(
        {
            "asset_id": [r["asset_id"] for r in rows],
            "brand": [r["brand"] for r in rows],
            "text": [r["text"] for r in rows],
            "content_hash": [hashlib.md5(r["text"].encode()).hexdigest() for r in rows],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-assets", type=int, default=3000)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()

    encoder = load_encoder(default_model_dir())
    encoder.encode(["warm-up"])
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        generate(seeds, seed=1, n_assets=args.n_assets)
        table = load_assets(seeds)
        store = VectorStore(Path(tmp) / "lance")

        def timed(label: str, rows: pa.Table) -> float:
            start = time.perf_counter()
            result = store.sync("assets", rows, encoder, id_column="asset_id")
            took = time.perf_counter() - start
            print(f"{label:<22} embedded {result.embedded:>6} of {result.total:>6} rows in {took:7.2f} s"
                  f"  ({result.embedded / took:7.1f} texts/s)")
            return took

        full = timed("full sync", table)
        none = timed("no change", table)
        n_changed = max(1, int(len(table) * args.changed))
        texts = table.column("text").to_pylist()
        texts[:n_changed] = [t + " (updated)" for t in texts[:n_changed]]
        hashes = [hashlib.md5(t.encode()).hexdigest() for t in texts]
        changed = table.set_column(2, "text", pa.array(texts)).set_column(3, "content_hash", pa.array(hashes))
        part = timed(f"{args.changed:.0%} changed", changed)
        print(f"ratio no-change / full: {none / full:.4f}")
        print(f"ratio {args.changed:.0%}-changed / full: {part / full:.4f}  (ideal ~{args.changed:.4f} + fixed cost)")


if __name__ == "__main__":
    main()
