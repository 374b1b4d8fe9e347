"""Erasure: what a deleted row leaves behind in DuckDB and LanceDB, and `semantic forget` removing all of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import lance
import lancedb
import pyarrow as pa
import pytest
from seed_rows import read_csv, write_csv

from semantic.vectors.retention import find_in_files, prune, purge
from semantic.warehouse.publishing import compact

BIN = Path(sys.executable).parent
PHRASE = "Zorblax Quenderwick of Tulsa swears by the heat pump"


def rows(ids: list[str]) -> pa.Table:
    texts = [PHRASE if i == "secret" else f"an ordinary headline number {i}" for i in ids]
    return pa.table({"asset_id": ids, "text": texts, "vector": pa.array([[float(n), 1.0] for n in range(len(ids))],
                                                                         pa.list_(pa.float32(), 2))})


def test_a_deleted_duckdb_row_stays_in_the_files_bytes_until_the_file_is_compacted(tmp_path):
    import random

    rng = random.Random(0)  # varied text, stored uncompressed as in a real asset table
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(3000)]
    texts = [" ".join(rng.choice(words) for _ in range(20)) for _ in range(300)]
    db = tmp_path / "semantic_assets.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table assets as select * from (values ('secret', ?)) t(asset_id, text)", [PHRASE])
        con.execute("insert into assets select 'a' || generate_subscripts($t, 1), unnest($t)", {"t": texts})
        con.execute("checkpoint")
        # what a rebuilt model does: the table is replaced, its old blocks freed but not cleared
        con.execute("create or replace table assets as select * from assets where asset_id <> 'secret'")
        con.execute("create view v as select * from semantic_assets.main.assets where asset_id <> 'x'")
        con.execute("create macro twice(x) as x * 2")
        con.execute("checkpoint")
    assert PHRASE.encode() in db.read_bytes()  # deleted, not erased

    compact(db)
    assert PHRASE.encode() not in db.read_bytes()
    with duckdb.connect(str(db), read_only=True) as con:  # views (with their catalog) and macros survive
        assert con.execute("select count(*), twice(21) from v").fetchone() == (300, 42)
    assert not (tmp_path / ".compacting").exists()


def test_purge_rewrites_the_fragment_rebuilds_the_text_index_and_leaves_one_version(tmp_path):
    from lancedb.index import FTS

    db = lancedb.connect(str(tmp_path))
    tbl = db.create_table("assets", rows(["secret", *[f"a{i}" for i in range(299)]]))
    tbl.create_index("text", config=FTS())
    tbl.delete("asset_id = 'secret'")
    path = tmp_path / "assets.lance"
    # deleted, not erased: the data file (decoded: Lance may compress strings) and the old version hold it
    assert find_in_files(tmp_path, [PHRASE, "Quenderwick"])
    assert lance.dataset(str(path), version=1).count_rows(filter="asset_id = 'secret'") == 1

    result = purge(path)
    assert result.fragments_rewritten == 1 and result.indexes_rebuilt == ("full-text index on text",)
    assert find_in_files(tmp_path, [PHRASE, "Quenderwick", "quenderwick"]) == {}  # data and index files
    assert not any(PHRASE.encode() in p.read_bytes() for p in path.rglob("*") if p.is_file())
    ds = lance.dataset(str(path))
    assert [v["version"] for v in ds.versions()] == [ds.version] and ds.count_rows() == 299
    hits = lancedb.connect(str(tmp_path)).open_table("assets").search("ordinary", query_type="fts").limit(3).to_arrow()
    assert len(hits) == 3  # the rebuilt index answers


def test_prune_keeps_the_newest_versions_and_checks_the_setting(tmp_path):
    db = lancedb.connect(str(tmp_path))
    tbl = db.create_table("assets", rows(["a0"]))
    for i in range(1, 8):
        tbl.add(rows([f"a{i}"]))
    path = tmp_path / "assets.lance"
    assert prune(path, "3") == 5
    ds = lance.dataset(str(path))
    assert [v["version"] for v in ds.versions()] == [6, 7, 8] and ds.count_rows() == 8
    assert prune(path, 3) == 0
    from semantic.errors import SemanticConfigError

    with pytest.raises(SemanticConfigError, match="lance_versions_kept must be a whole number of versions, at least 1"):
        prune(path, 0)


# --- the real project: an asset with a unique phrase, built, then forgotten ----------------------------------


@pytest.mark.slow
def test_semantic_forget_erases_an_asset_from_every_file_version_and_search(tmp_path):
    from semantic.warehouse.scaffold import copy_example

    project = copy_example(tmp_path / "project", seed=11, n_assets=150)
    data = project / "data"
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", DBT_SEND_ANONYMOUS_USAGE_STATS="False", SEMANTIC_HOME=str(project),
               SEMANTIC_DB=str(data / "semantic_assets.duckdb"), SEMANTIC_LANCE_DIR=str(data / "lance"),
               SEMANTIC_MODELS_DIR=str(data / "models"))
    for key in ("SEMANTIC_MODEL_DIR", "DBT_PROFILES_DIR"):
        env.pop(key, None)

    def semantic(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "semantic"), *args], cwd=project, env=env, capture_output=True, text=True,
                              timeout=900)

    assets_csv = project / "seeds" / "demo_assets.csv"
    assets = read_csv(assets_csv)
    secret = dict(assets[0], asset_id="SECRET1", text=f"Meet our customer {PHRASE}. Order the X-90 today.")
    write_csv(assets_csv, [*assets, secret])
    pairs_csv = project / "seeds" / "demo_labelled_pairs.csv"
    pairs = read_csv(pairs_csv)  # a labelled duplicate naming it: the encoder is trained on its text
    write_csv(pairs_csv, [*pairs, dict(pairs[0], left_id=assets[0]["asset_id"], right_id="SECRET1",
                                         task="duplicate", kind="paraphrase", label="1", split="train")])

    first = semantic("build")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    trained_on_it = (data / "models" / "ACTIVE").read_text().strip()
    assert find_in_files(data / "lance", [PHRASE])  # stored (compressed) in LanceDB
    assert "SECRET1" in semantic("search", PHRASE, "-k", "3").stdout

    # reviewers' decisions: one naming it (its note quoting the text), one not
    for ids in ((assets[0]["asset_id"], "SECRET1"), (assets[1]["asset_id"], assets[2]["asset_id"])):
        decided = semantic("label", "--ids", *ids, "--label", "skip", "--reviewer", "Ann", "--note", f"see {PHRASE}"
                           if "SECRET1" in ids else "unrelated")
        assert decided.returncode == 0, decided.stderr
    log = data / "review" / "decisions.jsonl"

    # forgotten while the source still has it: out of every model and search, and the source is named
    kept = semantic("forget", "SECRET1")
    assert kept.returncode == 1, kept.stdout[-3000:] + kept.stderr[-2000:]
    assert f"removed 1 line(s) naming a forgotten asset from {log}" in kept.stdout
    assert b"SECRET1" not in log.read_bytes() and b"unrelated" in log.read_bytes()  # the other decision stays
    assert 'still in the source relation "semantic_assets"."main"."demo_assets"' in kept.stdout
    assert f"it trained encoder version(s) {trained_on_it}" in kept.stdout
    assert "SECRET1" not in semantic("search", PHRASE, "-k", "3").stdout
    with duckdb.connect(str(data / "semantic_assets.duckdb"), read_only=True) as con:
        for table in ("stg_semantic__assets", "int_assets_embedded", "dim_asset_clusters"):
            assert con.execute(f"select count(*) from {table} where asset_id = 'SECRET1'").fetchone() == (0,)

    # gone from the source too: erased everywhere, and the encoder trained on it replaced
    write_csv(assets_csv, assets)
    erased = semantic("forget", "SECRET1", "--retrain")
    assert erased.returncode == 0, erased.stdout[-3000:] + erased.stderr[-2000:]
    assert "verified: no file under the data folder" in erased.stdout
    assert f"deleted encoder version {trained_on_it}" in erased.stdout
    assert not (data / "models" / trained_on_it).exists()
    assert (data / "models" / "ACTIVE").read_text().strip() != trained_on_it

    live = data / "semantic_assets.duckdb"
    for path in data.rglob("*"):  # every byte under the data folder; the id only in semantic_forgotten
        if path.is_file():
            content = path.read_bytes()
            needles = [PHRASE.encode(), b"Quenderwick", *([b"SECRET1"] if path != live else [])]
            assert not [n for n in needles if n in content], path
    assert find_in_files(data, [PHRASE, "Quenderwick", "quenderwick"]) == {}  # Lance files decoded
    for table in (data / "lance").glob("*.lance"):  # every stored version of every table
        ds = lance.dataset(str(table))
        for version in ds.versions():
            old = lance.dataset(str(table), version=version["version"])
            if "asset_id" in old.schema.names:
                assert old.count_rows(filter="asset_id = 'SECRET1'") == 0, (table, version)
    assert "SECRET1" not in semantic("search", PHRASE, "-k", "3").stdout
    with duckdb.connect(str(data / "semantic_assets.duckdb"), read_only=True) as con:
        assert con.execute("select asset_id from semantic_forgotten").fetchall() == [("SECRET1",)]

    again = semantic("build")  # the next build needs nothing done by hand
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    assert json.loads((data / "lance" / "_sync_state" / "assets.json").read_text())["total"] == len(assets)

    # an asset deleted from the source by a normal build is still in older versions: --gone erases it
    gone = assets[-1]
    write_csv(assets_csv, assets[:-1])
    assert semantic("build").returncode == 0
    assert find_in_files(data / "lance", [gone["text"]])  # deleted, not erased
    swept = semantic("forget", "--gone")
    assert swept.returncode == 0, swept.stdout[-3000:] + swept.stderr[-2000:]
    assert f"forgot {gone['asset_id']}" in swept.stdout and "verified" in swept.stdout
    assert find_in_files(data / "lance", [gone["text"]]) == {}
    assert gone["text"].encode() not in (data / "semantic_assets.duckdb").read_bytes()


def test_forget_refuses_no_id_and_an_unknown_id_before_touching_anything(tmp_path, capsys):
    from semantic.cli import main
    from semantic.config import SemanticConfig
    from semantic.errors import SemanticDataError
    from semantic.warehouse.erasure import forget

    config = SemanticConfig.from_plugin({"db_path": str(tmp_path / "data" / "semantic_assets.duckdb"),
                                         "lance_dir": str(tmp_path / "data" / "lance"),
                                         "models_dir": str(tmp_path / "data" / "models")})
    calls = []
    with pytest.raises(SemanticDataError, match="at least one asset id"):
        forget([" "], config, build=lambda *a, **k: calls.append(a) or 0)
    with pytest.raises(SemanticDataError, match=r"A404 are not in the build, its source or any stored LanceDB version"):
        forget(["A404"], config, build=lambda *a, **k: calls.append(a) or 0)
    assert calls == []  # no build ran
    assert main(["forget", "--db", str(config.db_path)]) == 2
    assert "semantic forget needs at least one asset id" in capsys.readouterr().err


def test_forget_without_retrain_turns_training_off_in_the_vars_it_is_given():
    from semantic.warehouse.erasure import _with_training_off

    off = ('"semantic_train": false, "semantic_train_reranker": false, "semantic_train_brief_reranker": false, '
           '"semantic_train_lookalike_reranker": false')
    assert _with_training_off([]) == ["--vars", "{" + off + "}"]
    assert _with_training_off(["--vars", "{n: 3}", "--target", "ci"]) == [
        "--vars", '{"n": 3, ' + off + "}", "--target", "ci"]
    assert _with_training_off(["--vars={semantic_train: true}"]) == ["--vars={" + off + "}"]


def test_pair_rerankers_trained_on_an_asset_are_named_with_the_encoders(tmp_path):
    import json

    from semantic.warehouse.erasure import trained_versions

    for folder, name, ids in (("models", "enc1", ["A1", "A2"]), ("rerankers", "rr1", ["A2"])):
        (tmp_path / folder / name).mkdir(parents=True)
        (tmp_path / folder / name / "semantic_training.json").write_text(json.dumps({"trained_on_ids": ids}))
    assert trained_versions(tmp_path / "models", ["A2", "A3"]) == {"A2": ["enc1"]}
    assert trained_versions(tmp_path / "rerankers", ["A2"]) == {"A2": ["rr1"]}


def test_every_reranker_registry_is_searched_for_what_an_asset_trained(tmp_path):
    from semantic.config import SemanticConfig
    from semantic.warehouse.erasure import (
        BRIEF_RERANKER_PREFIX,
        LOOKALIKE_RERANKER_PREFIX,
        RERANKER_PREFIX,
        _reranker_registries,
    )

    config = SemanticConfig(db_path=tmp_path / "data" / "x.duckdb", lance_dir=tmp_path / "data" / "lance",
                            model_dir=None, models_dir=tmp_path / "data" / "models")
    assert _reranker_registries(config) == {RERANKER_PREFIX: tmp_path / "data" / "rerankers",
                                            BRIEF_RERANKER_PREFIX: tmp_path / "data" / "brief_rerankers",
                                            LOOKALIKE_RERANKER_PREFIX: tmp_path / "data" / "lookalike_rerankers"}
