"""The review loop's own parts: the label value, the decision log, and the checks `semantic label` runs.

The loop end to end (label five queue items, rebuild, a new encoder, the items gone) is in
tests/test_dbt_build.py; decisions surviving killed builds in tests/test_faults.py.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pytest

from semantic.config import SemanticConfig
from semantic.errors import SemanticDataError
from semantic.review.decisions import (
    Decision,
    DecisionLog,
    pair_key,
    parse_label,
    record,
    review_id,
    split_of,
)
from semantic.review.queue import label_value, review_order

BIN = Path(sys.executable).parent


def test_label_value_is_one_bit_at_even_odds_and_falls_towards_certainty():
    v = label_value([0.5, 0.7, 0.9, 0.99, 0.0, 1.0, float("nan")])
    assert v[0] == pytest.approx(1.0)
    assert v[1] == pytest.approx(0.881, abs=1e-3) and v[2] == pytest.approx(0.469, abs=1e-3)
    assert v[3] < 0.1 and v[4] < 1e-4 and v[5] < 1e-4
    assert v[6] == pytest.approx(1.0)  # no calibration: unknown, worth asking
    assert label_value([0.3]) == pytest.approx(label_value([0.7]))  # symmetric


def test_review_order_puts_uncertain_items_first_and_breaks_calibration_ties_by_the_margin():
    p = np.array([0.95, 0.5, 0.5, 0.2, 0.5])
    margin = np.array([0.0, 0.3, -0.01, 0.1, 0.05])
    assert review_order(p, margin).tolist() == [2, 4, 1, 3, 0]


def test_pair_key_review_id_and_split_are_the_same_whichever_way_a_duplicate_is_named():
    assert pair_key("duplicate", "A9", "A1") == ("A1", "A9")
    assert pair_key("brief_match", "B9", "A1") == ("B9", "A1")  # ordered tasks keep their order
    assert review_id("duplicate", "A9", "A1") == review_id("duplicate", "A1", "A9")
    assert split_of("duplicate", "A9", "A1") == split_of("duplicate", "A1", "A9")
    assert review_id("duplicate", "A1", "A9") != review_id("lookalike", "A1", "A9")
    counts = Counter(split_of("duplicate", f"A{i}", f"A{i + 1}") for i in range(6000))
    assert counts["train"] / 6000 == pytest.approx(0.70, abs=0.03)
    assert counts["valid"] / 6000 == pytest.approx(0.15, abs=0.02)
    assert counts["test"] / 6000 == pytest.approx(0.15, abs=0.02)


def test_review_id_matches_the_queue_sql():
    with duckdb.connect() as con:
        sql = con.execute("select substr(md5(concat_ws('|', 'duplicate', 'A1', 'A9')), 1, 12)").fetchone()[0]
    assert sql == review_id("duplicate", "A9", "A1")


@pytest.mark.parametrize("typed, label", [("match", "match"), ("Yes", "match"), ("not a match", "not_match"),
                                           ("not_match", "not_match"), ("NO", "not_match"), ("skip", "skip")])
def test_parse_label_accepts_what_people_type(typed, label):
    assert parse_label(typed) == label


@pytest.mark.parametrize("typed", ["maybe", "", "2", "matches"])
def test_parse_label_refuses_anything_else_naming_the_choices(typed):
    with pytest.raises(SemanticDataError, match="match, not_match .* or skip"):
        parse_label(typed)


def _decision(i: int, label: str = "match") -> Decision:
    return Decision(decision_id=f"d{i}", review_id="r", task="duplicate", left_id=f"A{i}", right_id=f"A{i + 1}",
                    label=label, reviewer="ann", note=None, decided_at=f"2026-01-01T00:00:{i % 60:02d}+00:00",
                    left_hash=None, right_hash=None, split="train")


def test_the_log_appends_reads_back_and_cuts_off_a_line_torn_by_a_crash(tmp_path, caplog):
    log = DecisionLog(tmp_path / "review" / "decisions.jsonl")
    assert log.read() == []
    log.append(_decision(1))
    log.append(_decision(2, "not_match"))
    with log.path.open("ab") as f:  # a writer killed mid-record
        f.write(b'{"decision_id": "d3", "task": "dupl')
    assert [d.decision_id for d in log.read()] == ["d1", "d2"]  # the torn line is skipped
    assert "not a decision" in caplog.text
    log.append(_decision(4))
    lines = log.path.read_bytes().splitlines()
    assert [json.loads(x)["decision_id"] for x in lines] == ["d1", "d2", "d4"]  # cut off, not glued to d4
    table = log.to_arrow()
    assert table.num_rows == 3 and str(table.schema.field("decided_at").type) == "timestamp[us]"


def _append_many(path: str, worker: int, n: int) -> None:
    log = DecisionLog(Path(path))
    for i in range(n):
        log.append(_decision(worker * 1000 + i))


def test_concurrent_writers_lose_and_mangle_nothing(tmp_path):
    path = tmp_path / "decisions.jsonl"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(str(path), w, 40)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    ids = [d.decision_id for d in DecisionLog(path).read()]
    assert len(ids) == 160 and len(set(ids)) == 160


def test_a_writer_killed_while_appending_leaves_every_acknowledged_decision(tmp_path):
    path = tmp_path / "decisions.jsonl"
    here = str(Path(__file__).parent)
    code = (f"import sys; from pathlib import Path; sys.path.insert(0, {here!r}); from test_review import _decision\n"
            f"from semantic.review.decisions import DecisionLog; log = DecisionLog(Path({str(path)!r})); i = 0\n"
            "while True:\n    log.append(_decision(i)); print(i, flush=True); i += 1\n")
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    acknowledged = []
    assert writer.stdout is not None
    while len(acknowledged) < 50:
        acknowledged.append(int(writer.stdout.readline()))
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    found = {d.decision_id for d in DecisionLog(path).read()}
    assert {f"d{i}" for i in acknowledged} <= found
    DecisionLog(path).append(_decision(99999))  # and the log takes the next one
    assert "d99999" in {d.decision_id for d in DecisionLog(path).read()}


def test_erase_removes_the_decisions_naming_an_id_and_keeps_the_rest(tmp_path):
    log = DecisionLog(tmp_path / "decisions.jsonl")
    for i in range(5):
        log.append(_decision(i))
    assert log.erase(["A2"]) == 2  # (A1, A2) and (A2, A3)
    assert [d.decision_id for d in log.read()] == ["d0", "d3", "d4"]
    assert b"A2" not in log.path.read_bytes()
    assert log.erase(["nobody"]) == 0
    log.append(_decision(7))  # appends go to the new file
    assert [d.decision_id for d in log.read()][-1] == "d7"


@pytest.fixture
def published(tmp_path, monkeypatch) -> SemanticConfig:
    """A published build with the tables `semantic label` reads: two assets, a brief, a reference, a queue."""
    db = tmp_path / "data" / "semantic_assets.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as con:
        con.execute("create table stg_semantic__assets as select * from (values ('A1', 'Warm jacket'), "
                    "('A2', 'A warm jacket'), ('X', 'asset named like the brief')) t(asset_id, text)")
        con.execute("create table stg_semantic__briefs as select * from (values ('B1', 'Winter brief'), "
                    "('X', 'brief with an asset''s id')) t(brief_id, text)")
        con.execute("create table stg_semantic__compliance_references as select * from "
                    "(values ('R1', 'Guaranteed returns')) t(reference_id, text)")
        for table in ("stg_semantic__assets", "stg_semantic__briefs", "stg_semantic__compliance_references"):
            con.execute(f"alter table {table} add column content_hash varchar")
            con.execute(f"update {table} set content_hash = md5(text)")
        con.execute("create table fct_review_queue as select ? as review_id, 'duplicate' as task, 'A1' as left_id, "
                    "'A2' as right_id, 'm1' as model_version", [review_id("duplicate", "A1", "A2")])
    monkeypatch.setenv("SEMANTIC_REVIEW_LOG", str(tmp_path / "data" / "review" / "decisions.jsonl"))
    return SemanticConfig(db_path=db, lance_dir=tmp_path / "data" / "lance", model_dir=None,
                          models_dir=tmp_path / "data" / "models")


def test_record_takes_a_queue_item_or_two_ids_and_infers_the_task(published):
    item = review_id("duplicate", "A1", "A2")
    first = record(published, "match", "Ann", item=item, note="same jacket")
    assert (first.task, first.left_id, first.right_id, first.model_version) == ("duplicate", "A1", "A2", "m1")
    assert first.left_hash == published_hash(published, "A1") and first.note == "same jacket"
    swapped = record(published, "no", "Bob", ids=["R1", "A1"])  # given the other way round
    assert (swapped.task, swapped.left_id, swapped.right_id, swapped.label) == ("lookalike", "A1", "R1", "not_match")
    brief = record(published, "skip", "Bob", ids=["B1", "A2"])
    assert brief.task == "brief_match" and brief.split == split_of("brief_match", "B1", "A2")
    both = record(published, "match", "Cy", ids=["X", "A1"], task="duplicate")  # X is an asset and a brief
    assert both.task == "duplicate"
    assert [d.decision_id for d in DecisionLog(published.review_log).read()] == [
        first.decision_id, swapped.decision_id, brief.decision_id, both.decision_id]


def published_hash(config: SemanticConfig, asset_id: str) -> str:
    with duckdb.connect(str(config.db_path), read_only=True) as con:
        return con.execute("select content_hash from stg_semantic__assets where asset_id = ?", [asset_id]).fetchone()[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"ids": ["A1", "NOPE"]}, "unknown id 'NOPE'"),
    ({"item": "feedfeedfeed"}, "unknown queue item 'feedfeedfeed'"),
    ({"ids": ["A1", "A2"], "label": "perhaps"}, "not a decision"),
    ({"ids": ["A1", "A2"], "reviewer": "   "}, "reviewer's name is empty"),
    ({"ids": ["B1", "R1"]}, "'B1' is brief and 'R1' is reference: no task pairs these kinds"),
    ({"ids": ["A1", "B1"], "task": "duplicate"}, "a duplicate decision needs \\(asset, asset\\)"),
    ({"ids": ["A1", "A1"]}, "two different assets"),
    ({"ids": ["A1"]}, "exactly two"),
    ({"ids": ["A1", "A2"], "task": "dedupe"}, "task 'dedupe' is not one of"),
])
def test_a_bad_decision_is_refused_with_the_fix_and_nothing_is_recorded(published, kwargs, message):
    record(published, "match", "Ann", ids=["A1", "A2"])
    before = published.review_log.read_bytes()
    options = {"label": "match", "reviewer": "Ann", **kwargs}
    with pytest.raises(SemanticDataError, match=message) as e:
        record(published, options.pop("label"), options.pop("reviewer"), **options)
    assert "nothing was recorded" in str(e.value)
    assert published.review_log.read_bytes() == before


def test_without_a_published_build_nothing_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMANTIC_REVIEW_LOG", str(tmp_path / "log.jsonl"))
    config = SemanticConfig(db_path=tmp_path / "none.duckdb", lance_dir=tmp_path / "l", model_dir=None,
                            models_dir=tmp_path / "m")
    with pytest.raises(SemanticDataError, match="run `semantic build`"):
        record(config, "match", "Ann", ids=["A1", "A2"])
    assert not (tmp_path / "log.jsonl").exists()


def test_semantic_label_on_the_command_line_records_and_refuses(published):
    env = {**os.environ, "SEMANTIC_DB": str(published.db_path), "SEMANTIC_REVIEW_LOG": str(published.review_log)}
    ok = subprocess.run([str(BIN / "semantic"), "label", "--ids", "A2", "A1", "--label", "not a match",
                         "--reviewer", "Dee", "--note", "different colour"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "recorded not_match on duplicate (A1, A2) by Dee" in ok.stdout
    bad = subprocess.run([str(BIN / "semantic"), "label", "--ids", "A2", "A1", "--label", "match"],
                         env={**env, "SEMANTIC_REVIEWER": ""}, capture_output=True, text=True)
    assert bad.returncode == 2 and "reviewer's name is empty" in bad.stderr
    assert len(DecisionLog(published.review_log).read()) == 1


def test_the_active_learning_benchmark_runs_on_a_small_pairs_folder(tmp_path):
    import csv
    import random

    rng = random.Random(3)
    products = [f"{rng.choice(['acme', 'zeta', 'nova'])} {rng.choice(['kettle', 'lamp', 'drill', 'mug', 'tent'])} "
                f"model {rng.randint(100, 999)}{rng.choice('xyz')}" for _ in range(400)]
    folder = tmp_path / "pairs" / "tiny"
    folder.mkdir(parents=True)
    for split, n in (("train", 300), ("valid", 100), ("test", 120)):
        with (folder / f"{split}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text_a", "text_b", "label"])
            for _ in range(n):
                a = rng.choice(products)
                same = rng.random() < 0.3
                b = a.replace("model", "mdl") + " black" if same else rng.choice(products)
                writer.writerow([a, b, int(same or a == b)])
    out = tmp_path / "curves.svg"
    run = subprocess.run([sys.executable, str(Path(__file__).parent.parent / "benchmarks" / "active_learning.py"),
                          "--data", str(tmp_path), "--sets", "tiny", "--seeds", "1", "--start", "60", "--batch", "60",
                          "--rounds-to", "180", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "| 180 |" in run.stdout and "random reaches F1" in run.stdout
    assert out.read_text().lstrip().startswith(("<svg", "<?xml")) and "polyline" in out.read_text()
