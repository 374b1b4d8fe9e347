"""The fingerprinted_table materialization on a small dbt project of its own (no encoder needed):
a model is rebuilt exactly when its SQL, its vars or the rows it reads changed, or its table was
changed outside dbt, and never kept when its SQL depends on more than its inputs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

MODELS = {
    "adults.sql": """
        {{ config(materialized='fingerprinted_table') }}
        select id, name, age from {{ ref('people') }} where age >= {{ var('min_age', 18) }}
    """,
    # reads a view and an ephemeral model: the ephemeral model's own input counts
    "adult_names.sql": """
        {{ config(materialized='fingerprinted_table') }}
        select adults.name, first_letters.letter
        from {{ ref('adults') }} as adults
        join {{ ref('first_letters') }} as first_letters using (id)
    """,
    "first_letters.sql": """
        {{ config(materialized='ephemeral') }}
        select id, left(name, 1) as letter from {{ ref('people_view') }}
    """,
    "people_view.sql": """
        {{ config(materialized='view') }}
        select * from {{ ref('people') }}
    """,
    "stamped.sql": """
        {{ config(materialized='fingerprinted_table') }}
        select count(*) as n, current_timestamp as at from {{ ref('people') }}
    """,
    "scored.sql": """
        {{ config(materialized='fingerprinted_table') }}
        select id, score from {{ ref('scores') }}
    """,
    # the vector of `scores` is declared determined by its other columns (meta fingerprint_exclude)
    "scores.sql": """
        {{ config(materialized='table', meta={'fingerprint_exclude': ['vector']}) }}
        select id, [id * {{ var('scale', 1) }}]::float[] as vector, id * 10 as score
        from {{ ref('people') }}
    """,
}

PEOPLE = "id,name,age\n1,Ann,34\n2,Bob,12\n3,Cid,51\n"


@pytest.fixture()
def project(tmp_path) -> Path:
    (tmp_path / "models").mkdir()
    for name, sql in MODELS.items():
        (tmp_path / "models" / name).write_text(textwrap.dedent(sql))
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "people.csv").write_text(PEOPLE)
    shutil.copytree(ROOT / "macros" / "materializations", tmp_path / "macros" / "materializations")
    (tmp_path / "dbt_project.yml").write_text(textwrap.dedent("""
        name: fingerprints
        version: "1.0"
        config-version: 2
        profile: fingerprints
        seeds:
          fingerprints:
            people: {+column_types: {id: integer, name: varchar, age: integer}}
    """))
    (tmp_path / "profiles.yml").write_text(textwrap.dedent(f"""
        fingerprints:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{tmp_path / 'fp.duckdb'}", threads: 1}}
    """))
    return tmp_path


def build(project: Path, *args: str) -> dict[str, str]:
    """Run `dbt build`; return {model: 'kept' | the reason it was rebuilt}."""
    env = dict(os.environ, DBT_PROFILES_DIR=str(project), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    result = subprocess.run([str(BIN / "dbt"), "build", "--project-dir", str(project), *args], cwd=project,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    outcome = {m: "kept" for m in re.findall(r"semantic: (\w+): inputs unchanged \(fingerprint \w+\), kept as built",
                                             result.stdout)}
    outcome.update(re.findall(r"semantic: (\w+): rebuilt \((.+?)\)\n", result.stdout))
    return outcome


def rows(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(project / "fp.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_model_is_kept_until_a_row_it_reads_changes(project):
    first = build(project)
    assert first["adults"] == first["adult_names"] == first["scored"] == "no table yet"
    assert build(project) == {"adults": "kept", "adult_names": "kept", "scored": "kept",
                              "stamped": "its SQL calls current_timestamp, so it depends on more than its inputs"}
    assert rows(project, "select id from adults order by id") == [(1,), (3,)]

    # a seed row changes: what reads it, directly or through a view and an ephemeral model, is rebuilt
    (project / "seeds" / "people.csv").write_text(PEOPLE.replace("Bob,12", "Bea,19"))
    second = build(project)
    assert second["adults"] == second["adult_names"] == "inputs changed"
    assert second["scored"] == "kept"  # scores holds ids and numbers only: its rows are the same
    assert rows(project, "select name, letter from adult_names order by name") == [
        ("Ann", "A"), ("Bea", "B"), ("Cid", "C")]


def test_a_var_in_the_sql_or_an_edit_outside_dbt_rebuilds_and_full_refresh_always_does(project):
    build(project)
    assert build(project, "--vars", "{min_age: 40}")["adults"] == "inputs changed"
    assert rows(project, "select id from adults") == [(3,)]
    assert build(project, "--vars", "{min_age: 40}")["adults"] == "kept"

    with duckdb.connect(str(project / "fp.duckdb")) as con:
        con.execute("delete from adults")
    assert build(project, "--vars", "{min_age: 40}")["adults"] == "the table was changed outside dbt"
    assert rows(project, "select id from adults") == [(3,)]

    assert build(project, "--vars", "{min_age: 40}", "--full-refresh")["adults"] == "full refresh"


def test_a_column_declared_determined_by_the_others_is_not_hashed(project):
    build(project)
    # only `vector` of scores changes, which its writer declared fingerprint_exclude: scored is kept
    assert build(project, "--vars", "{scale: 2}")["scored"] == "kept"
    assert rows(project, "select max(vector[1]) from scores") == [(6.0,)]
    (project / "seeds" / "people.csv").write_text(PEOPLE + "4,Dee,70\n")
    assert build(project, "--vars", "{scale: 2}")["scored"] == "inputs changed"
    assert rows(project, "select count(*) from scored") == [(4,)]


def test_a_failed_build_keeps_the_previous_table_and_its_fingerprint(project):
    build(project)
    (project / "models" / "adults.sql").write_text("{{ config(materialized='fingerprinted_table') }}\n"
                                                   "select id, no_such_column from {{ ref('people') }}")
    env = dict(os.environ, DBT_PROFILES_DIR=str(project), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    failed = subprocess.run([str(BIN / "dbt"), "build", "--project-dir", str(project)], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0
    assert rows(project, "select id from adults order by id") == [(1,), (3,)]
    (project / "models" / "adults.sql").write_text(textwrap.dedent(MODELS["adults.sql"]))
    assert build(project)["adults"] == "kept"
