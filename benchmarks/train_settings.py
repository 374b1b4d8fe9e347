"""Fine-tuning settings against the demo's figures: each setting trains on the same labels, timed, and is scored
on the demo's test split (duplicate and lookalike AUROC, brief top-1 and recall@5), and on the general-ability check
``general/sick`` of ``$SEMANTIC_EVAL_DATA`` where it is there (Spearman, and its drop against the packaged base).

Usage (after `make run`, which builds the labels):
    .venv/bin/python benchmarks/train_settings.py \
        '{}' '{"max_seq_length": 96}' '{"epochs": 2, "learning_rate": 8e-5, "max_seq_length": 96}'

Each argument is a JSON object of :class:`semantic.encoding.training.TrainingConfig` fields over the base setting
(``--base``, default: the package's dbt vars, mnrl, 3 epochs, learning rate 5e-5, bfloat16 where the CPU has it).
The labels are ``int_training_pairs_labelled`` of the DuckDB file (``--db``), split as the build splits them
(train to train on, valid to select the epoch); the seeds (``--seeds``) give the test split and the texts.
The settings run one after the other in this process, so their times are comparable only on otherwise idle
cores. The tuned models go to a temporary folder (``--keep`` keeps them).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help="JSON objects of TrainingConfig fields, e.g. '{\"epochs\": 2}'")
    parser.add_argument("--base", default='{"loss": "mnrl", "epochs": 3, "learning_rate": 5e-5, "seed": 42}',
                        help="the setting each argument changes (JSON; bf16 follows the CPU unless given)")
    parser.add_argument("--db", type=Path, default=ROOT / "data" / "semantic_assets.duckdb")
    parser.add_argument("--seeds", type=Path, default=ROOT / "example" / "seeds")
    parser.add_argument("--keep", type=Path, help="keep the tuned models in this folder")
    parser.add_argument("--sick", type=Path, default=Path(os.environ.get(
        "SEMANTIC_EVAL_DATA", ROOT.parent / "shared" / "data")) / "general" / "sick",
                        help="a graded-relatedness folder (test.csv) for the forgetting check; skipped when absent")
    args = parser.parse_args()

    import duckdb

    from semantic.config import default_model_dir
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import warehouse_tasks
    from semantic.encoding.training import TrainingConfig, resolve_bf16, train
    from semantic.evaluation.benchmark import encoder_embed, general_task
    from semantic.evaluation.evaluate import encoder_scorer, evaluate_demo

    with duckdb.connect(str(args.db), read_only=True) as conn:
        pairs = conn.sql("select * from int_training_pairs_labelled").fetch_arrow_table()
    base = json.loads(args.base)
    base.setdefault("bf16", resolve_bf16("auto"))
    settings = [json.loads(s) for s in args.settings]
    print(f"{len(pairs)} labelled pairs from {args.db}; base setting {json.dumps(base)}")
    sick = (args.sick / "test.csv").is_file()
    base_sick = general_task(args.sick, encoder_embed(load_encoder(default_model_dir())))["spearman"] if sick else 0.0
    print(f"{args.sick}: " + (f"the base's Spearman {base_sick:.4f}" if sick else "absent, no forgetting check"))
    print(f"{'setting':<58} {'train s':>8} {'dup AUROC':>10} {'look AUROC':>11} {'brief top-1':>12} "
          f"{'brief R@5':>10} {'SICK (drop)':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        _, tasks = warehouse_tasks(pairs, folder)  # train() leaves the tasks it is given as they are
        for i, setting in enumerate(settings):
            config = replace(TrainingConfig(**base), **setting)
            out = folder / f"setting-{i}"
            started = time.perf_counter()
            train(tasks, out, default_model_dir(), config)
            seconds = time.perf_counter() - started
            encoder = load_encoder(out, allow_collapsed=True)
            figures = {r.task: r.metrics for r in evaluate_demo(args.seeds, {"tuned": encoder_scorer(encoder)})}
            general = ""
            if sick:
                spearman = general_task(args.sick, encoder_embed(encoder))["spearman"]
                general = f"{spearman:.4f} ({base_sick - spearman:.4f})"
            print(f"{json.dumps(setting):<58} {seconds:>8.1f} {figures['duplicate']['auroc']:>10.4f} "
                  f"{figures['lookalike']['auroc']:>11.4f} {figures['brief_match']['top1']:>12.4f} "
                  f"{figures['brief_match']['recall@5']:>10.4f} {general:>16}", flush=True)


if __name__ == "__main__":
    main()
