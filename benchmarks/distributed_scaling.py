"""Scaling of the distributed embedding job: 1 and 2 Ray workers (one core each) on the same texts, same run.

Usage: nice .venv/bin/python benchmarks/distributed_scaling.py [--n-assets 8000] [--small 400] [--target 50000000]

Each configuration embeds the same demo assets (``semantic.demo``, seed 7) into a fresh Lance table
with ``semantic.scaleout.distributed.sync``. A job has a fixed cost (actor start, model load, plan, commit),
so each configuration also runs a small job first; the steady rate is
``(n - small) / (t_n - t_small)``, which is what a 50-million-asset load runs at. Printed: the
wall time of both jobs, the steady rate, the rate per worker, the scaling efficiency against one
worker, and the worker-hours (one worker = one core) for ``--target`` assets. The single-process
path (``engine="local"``, the encoder on every core) is printed for reference.
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from semantic.config import default_model_dir
from semantic.demo import generate
from semantic.scaleout.distributed import sync


def demo_source(folder: Path, n: int) -> Path:
    generate(folder, seed=7, n_assets=n)
    with open(folder / "demo_assets.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    path = folder / "assets.parquet"
    pq.write_table(pa.table({c: [r[c] for r in rows] for c in ("asset_id", "brand", "market", "text")}), path,
                   row_group_size=1000)
    return path


def timed(source: Path, out: Path, engine: str, workers: int) -> tuple[float, int]:
    started = time.monotonic()
    result = sync(str(source), str(out), engine=engine, workers=workers, model_dir=default_model_dir())
    return time.monotonic() - started, result.embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-assets", type=int, default=8000)
    parser.add_argument("--small", type=int, default=400, help="rows of the job that measures the fixed cost")
    parser.add_argument("--target", type=int, default=50_000_000, help="assets to project worker-hours for")
    args = parser.parse_args()
    logging.getLogger("ray").setLevel(logging.WARNING)
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = demo_source(root / "big", args.n_assets)
        small = demo_source(root / "small", args.small)
        rows = []
        ray.init(num_cpus=3, object_store_memory=256 * 1024**2, include_dashboard=False, configure_logging=False,
                 log_to_driver=False)
        try:
            for workers in (1, 2):
                t_small, n_small = timed(small, root / f"s{workers}.lance", "ray", workers)
                t_big, n_big = timed(big, root / f"b{workers}.lance", "ray", workers)
                rows.append(("ray", workers, n_small, t_small, n_big, t_big))
        finally:
            ray.shutdown()
        t_small, n_small = timed(small, root / "sl.lance", "local", 1)
        t_big, n_big = timed(big, root / "bl.lance", "local", 1)
        rows.append(("local", 1, n_small, t_small, n_big, t_big))

    print(f"\n{args.n_assets} demo assets (fixed cost from a {args.small}-asset job), one core per Ray worker\n")
    print("| engine | workers | small job | full job | steady rate (assets/s) | per worker | efficiency | "
          f"worker-hours for {args.target:,} |")
    print("|---|---|---|---|---|---|---|---|")
    base = None
    for engine, workers, n_small, t_small, n_big, t_big in rows:
        rate = (n_big - n_small) / max(t_big - t_small, 1e-9)
        per_worker = rate / workers
        if engine == "ray" and workers == 1:
            base = rate
        efficiency = f"{rate / (workers * base):.2f}" if engine == "ray" and base else "-"
        hours = args.target / per_worker / 3600
        label = "local (1 process, all cores)" if engine == "local" else "ray"
        print(f"| {label} | {workers} | {t_small:.1f} s | {t_big:.1f} s | {rate:.0f} | {per_worker:.0f} | "
              f"{efficiency} | {hours:,.0f} |")


if __name__ == "__main__":
    main()
