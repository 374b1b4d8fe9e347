"""`semantic doctor`: what a killed build leaves is found and removed; what cannot be repaired is named with its fix."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import lancedb
import pyarrow as pa

from semantic.config import SemanticConfig
from semantic.warehouse.doctor import diagnose


def data_folder(tmp_path):
    data = tmp_path / "data"
    config = SemanticConfig.from_plugin({"db_path": str(data / "semantic_assets.duckdb"),
                                         "lance_dir": str(data / "lance"), "models_dir": str(data / "models")})
    data.mkdir()
    with duckdb.connect(str(config.db_path)) as con:
        con.execute("create table t as select 1 as x")
        con.execute("create view v as select * from t")
    lancedb.connect(str(config.lance_dir)).create_table(
        "assets", pa.table({"asset_id": ["a1", "a2"], "text": ["one", "two"]}))
    return config


def status(findings):
    return {f.check: f.status for f in findings}


def test_a_sound_folder_passes_every_check(tmp_path):
    config = data_folder(tmp_path)
    found = status(diagnose(config))
    assert set(found.values()) == {"ok"}, found
    assert {"lock", "staging", "duckdb", "registry", "lance:assets", "sync state"} <= set(found)


def test_leftovers_of_a_killed_build_are_removed_and_a_second_run_is_clean(tmp_path):
    config = data_folder(tmp_path)
    staging = config.db_path.parent / ".building"
    staging.mkdir()
    (staging / "semantic_assets.duckdb").write_bytes(b"half a build")
    table = config.lance_dir / "assets.lance"
    data_file = next((table / "data").glob("*.lance"))
    (table / "data" / "killed-before-commit.lance").write_bytes(data_file.read_bytes())
    (config.lance_dir / "_sync_state").mkdir()
    (config.lance_dir / "_sync_state" / "assets.json").write_text("{truncated")

    found = status(diagnose(config, repair=False))  # --dry-run: found, not touched
    assert found["staging"] == "warn" and found["sync state"] == "warn" and staging.exists()

    found = status(diagnose(config))
    assert found["staging"] == "fixed" and found["lance:assets"] == "fixed" and found["sync state"] == "fixed"
    assert not staging.exists() and not (table / "data" / "killed-before-commit.lance").exists()
    assert lancedb.connect(str(config.lance_dir)).open_table("assets").count_rows() == 2
    assert set(status(diagnose(config)).values()) == {"ok"}


def test_what_cannot_be_repaired_fails_with_its_fix(tmp_path):
    config = data_folder(tmp_path)
    config.db_path.write_bytes(b"not a database" * 100)
    (config.models_dir).mkdir()
    (config.models_dir / "ACTIVE").write_text("vanished-version\n")
    findings = {f.check: f for f in diagnose(config)}
    assert findings["duckdb"].status == "fail" and "semantic build --full-refresh" in findings["duckdb"].detail
    assert findings["registry"].status == "fail" and "vanished-version" in findings["registry"].detail


def test_a_running_build_is_named_and_nothing_is_repaired_under_it(tmp_path):
    config = data_folder(tmp_path)
    staging = config.db_path.parent / ".building"
    staging.mkdir()
    (staging / "semantic_assets.duckdb").write_bytes(b"a build in progress")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from semantic.warehouse.locking import acquire
        acquire(Path({str(config.lance_dir.parent)!r}))
        print("held", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        findings = {f.check: f for f in diagnose(config)}
        assert findings["lock"].status == "warn" and f"pid {holder.pid}" in findings["lock"].detail
        assert findings["staging"].status == "warn" and staging.exists()  # the running build's copy is left alone
    finally:
        holder.kill()
        holder.wait()
    assert status(diagnose(config))["staging"] == "fixed"


def test_the_cli_prints_one_line_per_check_and_exits_1_on_a_failure(tmp_path, monkeypatch, capsys):
    from semantic.cli import main

    config = data_folder(tmp_path)
    monkeypatch.setenv("SEMANTIC_MODELS_DIR", str(config.models_dir))
    monkeypatch.setattr("semantic.config._ACTIVE", None)
    assert main(["doctor", "--db", str(config.db_path), "--lance-dir", str(config.lance_dir)]) == 0
    out = capsys.readouterr().out
    assert "OK     duckdb: semantic_assets.duckdb opens; 2 tables and views answer" in out
    assert out.strip().splitlines()[-1].startswith(f"{len(out.strip().splitlines()) - 1} checks: 0 failed")
    config.db_path.write_bytes(b"garbage" * 100)
    assert main(["doctor", "--db", str(config.db_path), "--lance-dir", str(config.lance_dir)]) == 1
