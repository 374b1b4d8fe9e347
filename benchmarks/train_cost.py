"""Training cost: wall time and peak memory of one epoch on a task folder, against inference.

Usage: .venv/bin/python benchmarks/train_cost.py --data ../shared/data/pairs/abt_buy [--loss contrastive]

Prints the pairs trained on, wall time, pairs per second, the peak resident memory of the
process, and the ratio of training time to embedding the same texts once (the baseline).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from semantic.config import default_model_dir
from semantic.encoding.encoder import load_encoder
from semantic.encoding.training import TrainingConfig, load_task, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--loss", default="contrastive", choices=["mnrl", "contrastive", "triplet"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", help="keep the tuned model in this directory (default: a temporary one)")
    args = parser.parse_args()

    task = load_task(args.data)
    texts = sorted(set(task.train.texts_a + task.train.texts_b))
    encoder = load_encoder(default_model_dir())
    start = time.perf_counter()
    encoder.encode(texts)
    embed_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "model"
        start = time.perf_counter()
        train([task], out, default_model_dir(), TrainingConfig(loss=args.loss, epochs=args.epochs))
        train_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"task {task.name}: {len(task.train)} pairs ({len(texts)} distinct texts), loss {args.loss}, "
          f"{args.epochs} epoch(s)")
    print(f"baseline: embedding the {len(texts)} texts once took {embed_s:.1f} s")
    print(f"training (mining, epochs, validation, guard, save) took {train_s:.1f} s "
          f"({len(task.train) * args.epochs / train_s:.1f} pairs/s); ratio to the baseline {train_s / embed_s:.1f}x")
    print(f"peak resident memory: {peak_mb:.0f} MiB")


if __name__ == "__main__":
    main()
