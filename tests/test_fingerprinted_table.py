"""The fingerprinted_table materialization on a small dbt project of its own (no encoder needed):
a model is rebuilt exactly when its SQL, its vars or the rows it reads changed, or its table was
changed outside dbt, and never kept when its SQL depends on more than its inputs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import duckdb
import pytest
from small_dbt import dbt, small_dbt_project

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
    seeds = "people: {+column_types: {id: integer, name: varchar, age: integer}}"
    path = small_dbt_project(tmp_path, "fp", ("materializations",), seeds, MODELS)
    (path / "seeds" / "people.csv").write_text(PEOPLE)
    return path


def build(project: Path, *args: str) -> dict[str, str]:
    """Run `dbt build`; return {model: 'kept' | the reason it was rebuilt}."""
    result = dbt(project, "build", *args)
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
    failed = dbt(project, "build")
    assert failed.returncode != 0
    assert rows(project, "select id from adults order by id") == [(1,), (3,)]
    (project / "models" / "adults.sql").write_text(textwrap.dedent(MODELS["adults.sql"]))
    assert build(project)["adults"] == "kept"
