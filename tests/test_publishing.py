"""Publishing a build atomically: readers holding the DuckDB file never block a build nor see half of one."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from semantic.errors import SemanticPublishError
from semantic.warehouse.publishing import prepare, publish, staging_path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def make_db(path: Path, values: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create or replace table t as select unnest(?::int[]) as v", [values])


def values(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [v for (v,) in con.execute("select v from t order by v").fetchall()]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def held(path: Path, read_only: bool) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``path`` open (read-only like a BI tool, or read-write like a writer)."""
    script = (
        f"import duckdb, sys\ncon = duckdb.connect({str(path)!r}, read_only={read_only})\n"
        "print('open', flush=True)\nsys.stdin.read()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
        yield proc
    finally:
        proc.communicate("", timeout=30)


# --- the swap itself, on files DuckDB writes directly -------------------------------------------------


def test_the_build_copy_has_the_live_name_in_a_staging_folder_and_is_swapped_in_under_a_reader(tmp_path):
    live = tmp_path / "data" / "semantic_assets.duckdb"
    make_db(live, [1, 2])
    with held(live, read_only=True):
        staging = prepare(live)
        assert staging.path == tmp_path / "data" / ".building" / "semantic_assets.duckdb"
        assert staging_path(live) == staging.path
        assert values(staging.path) == [1, 2]  # the copy keeps the state incremental models need
        with duckdb.connect(str(staging.path)) as con:  # a read-write build while the reader holds the live file
            assert con.execute("select current_database()").fetchone() == ("semantic_assets",)
            con.execute("insert into t values (3)")
        assert values(live) == [1, 2]
        assert publish(staging) == live
        assert values(live) == [1, 2, 3]
    assert sorted(p.name for p in live.parent.iterdir()) == [".building", "semantic_assets.duckdb"]


def test_a_first_build_publishes_without_a_live_file(tmp_path):
    live = tmp_path / "semantic_assets.duckdb"
    staging = prepare(live)
    assert not staging.path.exists()
    make_db(staging.path, [7])
    publish(staging)
    assert values(live) == [7]


def test_a_crashed_writers_wal_goes_into_the_build_and_is_never_replayed_onto_the_new_file(tmp_path):
    live = tmp_path / "semantic_assets.duckdb"
    crash = f"""
import duckdb, os
con = duckdb.connect({str(live)!r})
con.execute("create table t as select 1 as v")
con.execute("checkpoint")
con.execute("insert into t values (2)")  # committed to the WAL only
os._exit(0)
"""
    subprocess.run([sys.executable, "-c", crash], check=True)
    wal = Path(f"{live}.wal")
    assert wal.exists()
    staging = prepare(live)
    assert Path(f"{staging.path}.wal").exists()
    with duckdb.connect(str(staging.path)) as con:
        con.execute("insert into t values (3)")
    publish(staging)
    assert not wal.exists() and not Path(f"{staging.path}.wal").exists()
    # the old WAL replayed onto the new file would add its row again: [1, 2, 2, 3]
    assert values(live) == [1, 2, 3]


def test_leftovers_of_a_crashed_build_are_removed_first(tmp_path):
    live = tmp_path / "semantic_assets.duckdb"
    make_db(live, [1])
    leftover = staging_path(live)
    leftover.parent.mkdir()
    leftover.write_bytes(b"half a database")
    Path(f"{leftover}.wal").write_bytes(b"half a log")
    staging = prepare(live)
    assert sha256(staging.path) == sha256(live) and not Path(f"{staging.path}.wal").exists()


def test_a_writer_holding_the_live_file_is_a_clear_error_before_and_after_the_build(tmp_path):
    live = tmp_path / "semantic_assets.duckdb"
    make_db(live, [1])
    with held(live, read_only=False), pytest.raises(SemanticPublishError) as err:
        prepare(live)
    assert str(live) in str(err.value) and "read-write in another process" in str(err.value)
    assert "read-only" in str(err.value)

    staging = prepare(live)
    make_db(staging.path, [2])
    with held(live, read_only=False), pytest.raises(SemanticPublishError, match="read-write in another process"):
        publish(staging)
    assert values(live) == [1] and values(staging.path) == [2]  # nothing lost on either side


def test_a_live_file_written_during_the_build_is_not_overwritten(tmp_path):
    live = tmp_path / "semantic_assets.duckdb"
    make_db(live, [1])
    staging = prepare(live)
    make_db(staging.path, [2])
    make_db(live, [1, 99])  # e.g. a plain `dbt build` writing in place meanwhile
    with pytest.raises(SemanticPublishError, match="written by another process during the build") as err:
        publish(staging)
    assert str(staging.path) in str(err.value)
    assert values(live) == [1, 99] and values(staging.path) == [2]


def test_another_build_still_writing_the_staging_file_is_not_removed(tmp_path):
    live = tmp_path / "semantic_assets.duckdb"
    make_db(live, [1])
    make_db(staging_path(live), [5])
    with held(staging_path(live), read_only=False), pytest.raises(SemanticPublishError, match="another build"):
        prepare(live)
    assert values(staging_path(live)) == [5]


def test_a_staging_folder_on_another_filesystem_is_refused_naming_the_fix(tmp_path):
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) to stage on")
    live = tmp_path / "semantic_assets.duckdb"
    make_db(live, [1])
    staging_dir = other / f"semantic-test-{os.getpid()}"
    try:
        with pytest.raises(SemanticPublishError, match="another filesystem") as err:
            prepare(live, staging_dir)
        assert str(live) in str(err.value) and f"--staging-dir {tmp_path / '.building'}" in str(err.value)
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)


# --- `semantic build` on a small dbt project, with a reader process holding the file ---------------------

TINY_MODELS = {
    # one build changes two tables; a reader of an in-place build would see them disagree
    "facts.sql": "{{ config(materialized='table') }}\nselect range as id from range({{ var('n') }})\n",
    "marker.sql": "{{ config(materialized='table') }}\nselect '{{ var('state') }}' as state, {{ var('n') }} as n\n",
    # a view: dbt-duckdb stores it with the catalog name, "semantic_assets"."main"."facts"
    "v_facts.sql": "{{ config(materialized='view') }}\nselect * from {{ ref('facts') }}\n",
    "checked.sql": (
        "{{ config(materialized='table') }}\nselect "
        "{% if var('fail') %}error('simulated failure'){% else %}count(*){% endif %} as n\n"
        "from {{ ref('v_facts') }} join {{ ref('marker') }} on true\n"
    ),
}
STATE_QUERY = "select (select state from marker), (select count(*) from v_facts)"
OLD, NEW = ("old", 100), ("new", 200)

READER = textwrap.dedent(
    """
    import duckdb, json, os, sys, time
    path, mode, out, stop = sys.argv[1:5]
    query = {query!r}
    seen = []
    held = duckdb.connect(path, read_only=True) if mode == "held" else None
    while not os.path.exists(stop):
        try:
            if held is not None:  # one connection for the whole build, like an open BI tool
                row = held.execute(query).fetchone()
            else:  # a new connection every time, like a dashboard refresh
                with duckdb.connect(path, read_only=True) as con:
                    row = con.execute(query).fetchone()
            seen.append([mode, list(row), None, time.time()])
        except Exception as e:
            seen.append([mode, None, f"{{type(e).__name__}}: {{e}}", time.time()])
        if len(seen) == 1:
            print("ready", flush=True)
        time.sleep(0.02)
    with open(out, "w") as fh:
        json.dump(seen, fh)
    """
).format(query=STATE_QUERY)


@pytest.fixture
def tiny(tmp_path) -> Path:
    project = tmp_path / "tiny"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\nmodel-paths: [models]\n"
        "vars: {state: old, n: 100, fail: false}\n"
    )
    (project / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('SEMANTIC_DB') }}\"\n      threads: 1\n"
    )
    for name, sql in TINY_MODELS.items():
        (project / "models" / name).write_text(sql)
    return project


def tiny_env(project: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SEMANTIC_HOME=str(project),  # semantic build's default --project-dir
        SEMANTIC_DB=str(project / "data" / "semantic_assets.duckdb"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
    )
    env.pop("DBT_PROFILES_DIR", None)  # semantic build points dbt at the project's profiles.yml
    return env


def semantic_build(project: Path, *dbt_args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "semantic"), "build", *dbt_args], cwd=project.parent, env=tiny_env(project),
                          capture_output=True, text=True, timeout=300)


def live_db(project: Path) -> Path:
    return project / "data" / "semantic_assets.duckdb"


def state(project: Path) -> tuple[str, int]:
    with duckdb.connect(str(live_db(project)), read_only=True) as con:
        row = con.execute(STATE_QUERY).fetchone()
    assert row is not None
    return (row[0], row[1])


@contextmanager
def reader(db: Path, tmp_path: Path) -> Iterator[list[list]]:
    """Two reader processes querying ``db`` read-only in a loop: one holds a connection, one reconnects.

    Two processes, because DuckDB shares one database instance per file within a process: a new
    connection made while another is open gets the file the first one opened.
    Yields the (mode, row, error, time) they saw, filled in when the block ends.
    """
    stop = tmp_path / "stop"
    procs = {
        mode: subprocess.Popen([sys.executable, "-c", READER, str(db), mode, str(tmp_path / f"{mode}.json"), str(stop)],
                               stdout=subprocess.PIPE, text=True)
        for mode in ("held", "fresh")
    }
    seen: list[list] = []
    try:
        for proc in procs.values():
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield seen
    finally:
        stop.touch()
        for mode, proc in procs.items():
            proc.wait(timeout=60)
            seen.extend(json.loads((tmp_path / f"{mode}.json").read_text()))
        stop.unlink()


@pytest.mark.slow
def test_semantic_build_under_a_reader_succeeds_and_the_reader_sees_old_or_new_never_half(tiny, tmp_path):
    first = semantic_build(tiny)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert state(tiny) == OLD
    with reader(live_db(tiny), tmp_path) as seen:
        started = time.time()
        result = semantic_build(tiny, "--vars", "{state: new, n: 200}")
        built = time.time()
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        time.sleep(1.0)  # the reader reconnects after the swap
    assert f"published {live_db(tiny)}" in result.stderr
    errors = [s for s in seen if s[2]]
    assert not errors, errors[:5]
    rows = {(mode, tuple(row)) for mode, row, _, _ in seen}
    assert {row for _, row in rows} <= {OLD, NEW}, rows  # never a mix of the two builds
    # a held connection keeps the file it opened; a new connection gets the new build once published
    assert {row for mode, row in rows if mode == "held"} == {OLD}
    fresh = [(tuple(row), t) for mode, row, _, t in seen if mode == "fresh"]
    assert any(row == OLD and started < t < built for row, t in fresh), "the reader did not overlap the build"
    assert fresh[-1][0] == NEW
    assert state(tiny) == NEW
    assert not (tiny / "data" / ".building" / "semantic_assets.duckdb").exists()


@pytest.mark.slow
def test_without_the_swap_a_plain_dbt_build_fails_under_the_same_reader(tiny, tmp_path):
    assert semantic_build(tiny).returncode == 0
    with reader(live_db(tiny), tmp_path) as seen:
        plain = subprocess.run([str(BIN / "dbt"), "build", "--project-dir", str(tiny), "--profiles-dir", str(tiny),
                                "--vars", "{state: new, n: 200}"], env=tiny_env(tiny), capture_output=True, text=True,
                               timeout=300)
    assert plain.returncode != 0
    assert "Could not set lock on file" in plain.stdout + plain.stderr
    assert not [s for s in seen if s[2]] and state(tiny) == OLD


@pytest.mark.slow
def test_a_failed_build_leaves_the_live_file_byte_identical_and_keeps_the_failure_for_inspection(tiny, tmp_path):
    assert semantic_build(tiny).returncode == 0
    before = sha256(live_db(tiny))
    failed = semantic_build(tiny, "--vars", "{state: new, n: 200, fail: true}")
    assert failed.returncode == 1  # dbt's own exit status for a failed model
    assert "simulated failure" in failed.stdout
    assert sha256(live_db(tiny)) == before and state(tiny) == OLD
    kept = tiny / "data" / ".building" / "semantic_assets.duckdb"
    assert f"is kept at {kept}" in failed.stderr
    with duckdb.connect(str(kept), read_only=True) as con:  # what the failed build got to, under the same catalog
        assert con.execute(STATE_QUERY).fetchone() == NEW

    again = semantic_build(tiny, "--vars", "{state: new, n: 200}")
    assert again.returncode == 0, again.stdout[-3000:]
    assert state(tiny) == NEW and not kept.exists()


def test_semantic_build_passes_other_arguments_to_dbt_and_names_its_own(tmp_path, monkeypatch):
    from semantic.cli import main
    from semantic.warehouse import publishing

    calls = []
    monkeypatch.setattr(publishing, "build", lambda live, args, staging_dir=None, env=None, pass_fds=(), **_:
                        calls.append((live, list(args), staging_dir, env, pass_fds)) or 0)
    monkeypatch.setenv("SEMANTIC_HOME", str(tmp_path))
    monkeypatch.setenv("SEMANTIC_LANCE_DIR", str(tmp_path / "data" / "lance"))  # the lock is on its folder
    monkeypatch.setattr("semantic.config._ACTIVE", None)  # the config from the environment, not an earlier test's
    (tmp_path / "profiles.yml").write_text("x: {}\n")
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    db = tmp_path / "d" / "semantic_assets.duckdb"
    assert main(["build", "--db", str(db), "--select", "marker+", "--vars", "{n: 3}", "--staging-dir", "s"]) == 0
    live, args, staging_dir, env, pass_fds = calls[0]
    assert live == db and staging_dir == Path("s")
    assert args == ["--project-dir", str(tmp_path), "--select", "marker+", "--vars", "{n: 3}"]
    assert env["DBT_PROFILES_DIR"] == str(tmp_path)
    # dbt builds under the data folder's lock, which it inherits
    from semantic.warehouse.locking import ENV_HELD, held_fd, lock_path, release

    assert env[ENV_HELD] == str(lock_path(tmp_path / "data")) and pass_fds == (held_fd(tmp_path / "data"),)
    release(tmp_path / "data")
    with pytest.raises(SystemExit):
        main(["summary", "--select", "x"])  # other commands still reject unknown arguments


# --- the real project: `semantic build` while a BI tool reads, then the persisted macros over SQLAlchemy ------

REAL_STATE_QUERY = "select (select count(*) from int_assets_embedded), (select count(*) from dim_asset_clusters)"


@pytest.mark.slow
def test_the_real_project_publishes_under_a_bi_reader_and_its_macros_work_over_sqlalchemy(tmp_path):
    import csv

    import sqlalchemy as sa

    from semantic.warehouse.scaffold import copy_example

    # `semantic build` installs the package (dbt deps) itself before the first build
    project = copy_example(tmp_path / "project", seed=7, n_assets=120)
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", DBT_SEND_ANONYMOUS_USAGE_STATS="False", SEMANTIC_HOME=str(project),
               SEMANTIC_DB=str(project / "data" / "semantic_assets.duckdb"),
               SEMANTIC_LANCE_DIR=str(project / "data" / "lance"), SEMANTIC_MODELS_DIR=str(project / "data" / "models"))
    for key in ("SEMANTIC_MODEL_DIR", "DBT_PROFILES_DIR"):
        env.pop(key, None)
    live = project / "data" / "semantic_assets.duckdb"

    def build() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "semantic"), "build", "--vars", "{semantic_train: false}"], cwd=project,
                              env=env, capture_output=True, text=True, timeout=900)

    first = build()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    with duckdb.connect(str(live), read_only=True) as con:
        old = con.execute(REAL_STATE_QUERY).fetchone()
    assets = project / "seeds" / "demo_assets.csv"
    with open(assets, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows.append(dict(rows[0], asset_id="A999001", text="A brand new waterproof trail jacket for spring storms."))
    with open(assets, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    reader_script = READER.replace(repr(STATE_QUERY), repr(REAL_STATE_QUERY))
    stop = tmp_path / "stop"
    procs = [subprocess.Popen([sys.executable, "-c", reader_script, str(live), mode, str(tmp_path / f"{mode}.json"),
                               str(stop)], stdout=subprocess.PIPE, text=True) for mode in ("held", "fresh")]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        second = build()
        time.sleep(1.0)
    finally:
        stop.touch()
        for proc in procs:
            proc.wait(timeout=60)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert re.search(r"embedding .*\bassets 1/\d", second.stdout), second.stdout  # the copy kept the incremental state
    seen = [s for mode in ("held", "fresh") for s in json.loads((tmp_path / f"{mode}.json").read_text())]
    assert not [s for s in seen if s[2]], [s for s in seen if s[2]][:3]
    new = (old[0] + 1, old[1] + 1)
    assert {tuple(s[1]) for s in seen} <= {tuple(old), new}
    assert tuple(old) in {tuple(s[1]) for s in seen if s[0] == "fresh"}  # the reader overlapped the build
    assert tuple(seen[-1][1]) == new  # the fresh reader's last query saw the published build

    with duckdb.connect(str(live), read_only=True) as con:  # nothing in the file names where it was built
        texts = con.execute("select macro_definition from duckdb_functions() where macro_definition is not null "
                            "union all select sql from duckdb_views() where not internal").fetchall()
    assert texts and not [t for (t,) in texts if str(project) in t or "file://" in t or ".building" in t]

    engine = sa.create_engine(f"duckdb:///{live}", connect_args={"read_only": True})
    try:
        with engine.connect() as con:
            hits = con.execute(sa.text("select asset_id, similarity, rank from similar_assets('A999001', 3)")).all()
            assert [h.rank for h in hits] == [1, 2, 3]
            sim = con.execute(sa.text("select asset_similarity('A999001', :b)"), {"b": hits[0].asset_id}).scalar()
            assert sim == pytest.approx(hits[0].similarity)
            assert 0 <= con.execute(sa.text("select match_probability(0.9, 'duplicate')")).scalar() <= 1
    finally:
        engine.dispose()
