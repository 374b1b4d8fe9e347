"""Production and evaluation are one path: near-duplicates through the source contract vs `semantic evaluate`.

A project written by `semantic init` maps a one-table dedup set's records as its assets and a pairs
folder of the same domain as its labelled pairs (train/valid/test, given as texts). `semantic build`
trains the encoder in dbt, calibrates, decides and clusters; this script then scores
`fct_asset_near_duplicates` against the gold pairs and runs what `semantic evaluate --model <the tuned
version> --data <dedup> --calibrate-with <pairs>` reports for the same model, side by side.

    .venv/bin/python benchmarks/contract_dedup.py                       # ../shared/data/dedup/abt_buy + pairs/abt_buy
    .venv/bin/python benchmarks/contract_dedup.py --epochs 1 --keep /tmp/abt_project

Both sides calibrate on the `valid` split only (what `semantic evaluate` does), take the top 10
candidates per record without blocking, and aim at precision 0.95. The build trains no pair reranker unless
``--reranker``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def main() -> int:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import Registry
    from semantic.evaluation.benchmark import dedup_task, encoder_embed, pairwise_prf
    from semantic.warehouse.scaffold import write_starter

    data = Path(os.environ.get("SEMANTIC_EVAL_DATA", ROOT.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dedup", type=Path, default=data / "dedup" / "abt_buy")
    parser.add_argument("--pairs", type=Path, default=data / "pairs" / "abt_buy")
    parser.add_argument("--epochs", type=int, default=1, help="semantic_train_epochs (dbt's default is 3)")
    parser.add_argument("--loss", default="mnrl", help="semantic_train_loss")
    parser.add_argument("--reranker", action="store_true",
                        help="also train the pair reranker in the build (off by default: on abt_buy's 5,743 train "
                             "pairs it runs past 20 minutes on 2 cores)")
    parser.add_argument("--keep", type=Path, help="build the project here and keep it (default: a temp folder)")
    args = parser.parse_args()
    if not (args.dedup / "records.csv").is_file() or not (args.pairs / "train.csv").is_file():
        print(f"skipped: {args.dedup} or {args.pairs} not found (set SEMANTIC_EVAL_DATA)")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        project = args.keep or Path(tmp) / "dedup_project"
        write_starter(project, package=str(ROOT), name="dedup_project")
        inputs = project / "data" / "inputs"
        records = read(args.dedup / "records.csv")
        pq.write_table(pa.table({"asset_id": [r["id"] for r in records], "text": [r["text"] for r in records]}),
                       inputs / "assets.parquet")
        pairs = [(split, row) for split in ("train", "valid", "test") for row in read(args.pairs / f"{split}.csv")]
        pq.write_table(pa.table({
            "task": ["duplicate"] * len(pairs), "text_a": [r["text_a"] for _, r in pairs],
            "text_b": [r["text_b"] for _, r in pairs], "label": [int(r["label"]) for _, r in pairs],
            "split": [s for s, _ in pairs]}), inputs / "labelled_pairs.parquet")
        config = project / "dbt_project.yml"
        config.write_text(config.read_text().replace(
            "  # semantic_input_labelled_pairs:", "  semantic_input_labelled_pairs:"))
        settings = {"semantic_train_epochs": args.epochs, "semantic_train_loss": args.loss,
                    "near_duplicate_block_on": None, "calibration_splits": ["valid"],
                    "semantic_train_reranker": args.reranker}
        env = dict(os.environ, HF_HUB_OFFLINE="1", DBT_SEND_ANONYMOUS_USAGE_STATS="False",
                   DBT_PROFILES_DIR=str(project), SEMANTIC_HOME=str(project))
        for key in ("SEMANTIC_DB", "SEMANTIC_LANCE_DIR", "SEMANTIC_MODELS_DIR", "SEMANTIC_MODEL_DIR"):
            env.pop(key, None)
        start = time.perf_counter()
        build = subprocess.run([str(BIN / "semantic"), "build", "--vars", json.dumps(settings)], cwd=project, env=env,
                               capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if build.returncode != 0:
            print(build.stdout[-6000:] + build.stderr[-3000:])
            return 1
        known = {r["id"] for r in records}
        gold = {(min(g["id_a"], g["id_b"]), max(g["id_a"], g["id_b"])) for g in read(args.dedup / "gold_pairs.csv")
                if g["id_a"] in known and g["id_b"] in known}
        with duckdb.connect(str(project / "data" / "semantic_assets.duckdb"), read_only=True) as con:
            accepted = {tuple(r) for r in con.execute(
                "select asset_id_a, asset_id_b from fct_asset_near_duplicates").fetchall()}
            scorer, = con.execute("select distinct scorer from int_duplicate_pair_scores").fetchone()
            clustered = {(min(a, b), max(a, b)) for a, b in con.execute(
                "select x.asset_id, y.asset_id from dim_asset_clusters x join dim_asset_clusters y "
                "using (cluster_id) where x.asset_id < y.asset_id").fetchall()}
            version, = con.execute("select version from dim_encoder_versions where is_active").fetchone()
        production = pairwise_prf(accepted, gold)
        production_clustered = pairwise_prf(clustered, gold)
        model_dir = Registry(project / "data" / "models").active_dir()
        encoder = load_encoder(model_dir) if model_dir else None
        if encoder is None:
            print(f"no tuned version is active ({version}); the build did not train")
            return 1
        evaluated = dedup_task(args.dedup, encoder_embed(encoder), calibrate_with=args.pairs, decision=True)

    print(f"{args.dedup.name}: {len(records)} records, {len(gold)} gold pairs; labelled pairs {args.pairs} "
          f"({len(pairs)} as texts); encoder {version} trained in dbt ({args.loss}, {args.epochs} epoch(s)); "
          f"`semantic build` {seconds:.0f} s; scorer {scorer}")
    print()
    print("| path | pairwise precision | recall | F1 | clustered P · R · F1 |")
    print("|---|---|---|---|---|")
    print(f"| dbt build through the contract (fct_asset_near_duplicates) | {production['precision']:.3f} | "
          f"{production['recall']:.3f} | {production['f1']:.3f} | {production_clustered['precision']:.3f} · "
          f"{production_clustered['recall']:.3f} · {production_clustered['f1']:.3f} |")
    print(f"| semantic evaluate, same model (+decision) | {evaluated['pair_precision']:.3f} | "
          f"{evaluated['pair_recall']:.3f} | {evaluated['pair_f1']:.3f} | {evaluated['clustered_precision']:.3f} · "
          f"{evaluated['clustered_recall']:.3f} · {evaluated['clustered_f1']:.3f} |")
    gap = abs(production["f1"] - evaluated["pair_f1"])
    print(f"\npair F1 gap: {gap:.3f} ({'within' if gap <= 0.02 else 'OVER'} 0.02)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
