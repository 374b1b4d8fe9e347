"""What `semantic build` prints while dbt runs (semantic/warehouse/progress.py), fed with dbt's own lines."""

from __future__ import annotations

import io

from semantic.warehouse.progress import BuildProgress

DBT = """\
\x1b[0m06:43:00  Running with dbt=1.11.16
06:43:00  1 of 6 START python table model main.int_encoder_versions_trained ........... [RUN]
06:43:02  semantic adapter: training model version 77df8b37f1-662d55 on duplicate (28 pairs)
Loading weights:   0%|          | 0/103 [00:00<?, ?it/s]\rLoading weights: 100%|##########| 103/103
06:43:12  semantic adapter: training step 3/3: train_runtime=3.903, train_loss=1.395, epoch=1
06:43:16  1 of 6 OK created python table model main.int_encoder_versions_trained ...... [OK in 13.96s]
06:43:16  2 of 6 START python incremental model main.int_assets_embedded ..... [RUN]
06:43:17  semantic adapter: assets: embedding 300 of 300 rows with model 77df8b37f1 (0 unchanged)
[2026-12-06T06:43:17Z WARN  lance::dataset::write::insert] No existing dataset at /p/assets.lance, it will be created
06:43:18  2 of 6 OK created python incremental model main.int_assets_embedded ..... [OK in 2.0s]
06:43:18  3 of 6 START python incremental model main.int_briefs_embedded ..... [RUN]
06:43:18  semantic adapter: briefs: nothing changed since the last sync
06:43:18  3 of 6 OK created python incremental model main.int_briefs_embedded ..... [OK in 0.1s]
06:43:19  4 of 6 START python table model main.dim_vector_indexes ..... [RUN]
06:43:19  4 of 6 OK created python table model main.dim_vector_indexes ..... [OK in 0.1s]
06:43:20  semantic adapter: WARNING the duplicate threshold keeps 0.20 of its labelled matches
06:43:20  5 of 6 START sql table model main.fct_review_queue ..... [RUN]
06:43:20  5 of 6 OK created sql table model main.fct_review_queue ..... [OK in 0.1s]
06:43:21  6 of 6 PASS not_null_fct_review_queue_review_id ..... [PASS in 0.01s]
06:43:21  Done. PASS=6 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=6
"""

FAILED = DBT.replace("06:43:21  Done. PASS=6", "06:43:21  Completed with 1 error:\n"
                     "06:43:21  Failure in test x (models/y.yml)\n"
                     "06:43:21    Got 3 results, configured to fail if != 0\n06:43:21  Done. PASS=5")


def run(text: str, mode: str = "progress", tty: bool = False, code: int = 0) -> str:
    out = io.StringIO()
    progress = BuildProgress(out, mode=mode, tty=tty)
    for line in io.StringIO(text):
        progress.feed(line)
    progress.finish(code, "logs/dbt.log")
    return out.getvalue()


def test_a_log_gets_a_line_per_stage_and_none_of_dbts_lines():
    text = run(DBT)
    lines = text.splitlines()
    assert lines[0].startswith("  training   encoder model version 77df8b37f1-662d55, step 3/3, loss 1.395")
    assert any(line.startswith("  embedding  assets 300/300") for line in lines)
    assert any(line.startswith("  embedding  assets 300/300, briefs unchanged") for line in lines)
    assert any(line.startswith("  indexing   nothing to do") for line in lines)
    assert "WARNING the duplicate threshold keeps 0.20" in text  # warnings pass
    assert lines[-3].startswith("  models     6/6 nodes") and "PASS=6" in lines[-2]
    assert "START" not in text and "Loading weights" not in text and "Running with dbt" not in text
    assert "No existing dataset" not in text  # LanceDB saying it creates a table is no warning


def test_a_terminal_gets_one_block_redrawn_in_place():
    text = run(DBT, tty=True)
    assert "\x1b[" in text and "START" not in text
    final = text.rsplit("\x1b[2K", 4)  # the last draw holds one line per stage
    assert "models     6/6 nodes" in text and "indexing   nothing to do" in final[-1] + final[-2] + text


def test_quiet_prints_only_warnings_and_the_end():
    text = run(DBT, mode="quiet")
    assert "training" not in text and "embedding" not in text
    assert "WARNING the duplicate threshold" in text and "PASS=6" in text


def test_a_failed_build_shows_dbts_failure_summary():
    text = run(FAILED, code=1)
    assert "Completed with 1 error:" in text and "Got 3 results, configured to fail if != 0" in text


def test_verbose_passes_dbt_through():
    assert run(DBT, mode="verbose") == DBT
