"""The key test `semantic_unique_ids` on a small dbt project of its own: it fails naming duplicate
ids, fails on NULL ids unless allow_null=true, and passes clean keys."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from small_dbt import dbt, small_dbt_project


@pytest.fixture()
def project(tmp_path) -> Path:
    return small_dbt_project(tmp_path, "keys", ("generic_tests",), "+column_types: {id: varchar, note: varchar}")


def build(project: Path, rows: str, allow_null: bool = False) -> subprocess.CompletedProcess[str]:
    (project / "seeds" / "things.csv").write_text("id,note\n" + rows)
    test = "semantic_unique_ids" if not allow_null else "semantic_unique_ids: {arguments: {allow_null: true}}"
    (project / "seeds" / "things.yml").write_text(textwrap.dedent(f"""
        version: 2
        seeds:
          - name: things
            columns:
              - name: id
                data_tests: [{test}]
    """))
    return dbt(project, "build")


def test_clean_keys_pass(project):
    result = build(project, "a,x\nb,y\n")
    assert result.returncode == 0, result.stdout[-2000:]


def test_duplicate_ids_are_named(project):
    result = build(project, "a,x\nb,y\nb,z\nc,w\nc,v\n")
    assert result.returncode != 0
    assert "has 2 duplicate id(s): b (2 rows), c (2 rows)" in result.stdout


def test_null_ids_fail_unless_allowed(project):
    result = build(project, "a,x\n,y\n,z\n")
    assert result.returncode != 0
    assert "is NULL in 2 row(s). Every row needs an id" in result.stdout
    assert build(project, "a,x\n,y\n,z\n", allow_null=True).returncode == 0
