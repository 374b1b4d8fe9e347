"""The source contract: the check on a bare DuckDB connection, and `semantic build` on a project whose
inputs break it (one message naming input, column, rows and fix; nothing published, LanceDB untouched)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from semantic.warehouse.contract import check_input, check_inputs, format_problems, load_contract

BIN = Path(sys.executable).parent


@pytest.fixture
def con():
    with duckdb.connect() as c:
        yield c


def problems(con, name, sql, mapping=None):
    return check_input(con, name, sql, mapping).problems


def test_every_input_has_its_vars_and_only_assets_is_required():
    contract = load_contract()
    assert set(contract) == {"assets", "briefs", "brief_matches", "labelled_pairs", "compliance_references",
                             "compliance_waivers"}
    assert [n for n, s in contract.items() if s.required] == ["assets"]
    assert {c for c, s in contract["assets"].columns.items() if s.required} == {"asset_id", "text"}
    assert all(spec.when_absent for name, spec in contract.items() if name != "assets")


def test_a_good_input_maps_columns_case_insensitively_and_ignores_extra_ones(con):
    con.execute("create table raw as select 'a1' as ID, 'Warm jacket' as Body, 'x' as extra, 3 as n")
    report = check_input(con, "assets", "raw", {"asset_id": "id", "text": "body"})
    assert report.problems == []
    assert report.columns == {"asset_id": "ID", "text": "Body"}
    assert report.n_rows == 1 and report.fingerprint.startswith("1:")


def test_an_unset_required_input_names_its_var_and_an_unset_optional_one_is_off(con):
    [assets, briefs] = check_inputs(con, [{"name": "assets", "relation": None}, {"name": "briefs", "relation": ""}])
    assert "semantic_input_assets is not set" in assets.problems[0]
    assert briefs.problems == [] and briefs.relation is None


def test_a_missing_relation_names_the_var(con):
    [message] = problems(con, "assets", "marketing.assets")
    assert "marketing.assets cannot be read" in message and "semantic_input_assets" in message


def test_a_missing_column_lists_the_columns_there_and_the_mapping_fix(con):
    con.execute("create table raw as select 'a1' as asset_id, 'copy' as body")
    [message] = problems(con, "assets", "raw")
    assert "required column text" in message and "asset_id, body" in message
    assert "semantic_columns_assets: {text: <your column>}" in message
    [mapped] = problems(con, "assets", "raw", {"text": "copy_text"})
    assert "maps text to column 'copy_text'" in mapped
    [unknown] = problems(con, "assets", "raw", {"text": "body", "headline": "body"})
    assert "maps headline, which the contract does not have" in unknown


def test_mistyped_columns_are_named_with_their_type(con):
    con.execute("create table raw as select 'a1' as asset_id, 42 as text, [1, 2] as brand, 'soon' as created_at")
    found = problems(con, "assets", "raw")
    assert any("column text is INTEGER" in p and "text (VARCHAR)" in p for p in found)
    assert any("column brand is INTEGER[]" in p for p in found)
    assert any("column created_at has 1 value(s) that are not a DATE" in p and "'soon'" in p for p in found)


def test_null_and_duplicate_ids_and_null_text_name_a_few_rows(con):
    con.execute("""create table raw as select * from (values
        ('a1', 'one'), ('a2', 'two'), ('a2', 'two again'), (null, 'orphan copy'), ('a5', null)) t(asset_id, text)""")
    found = problems(con, "assets", "raw")
    assert any("asset_id is NULL in 1 row(s)" in p and "text=orphan copy" in p for p in found)
    assert any("text is NULL in 1 row(s) (asset_id 'a5')" in p for p in found)
    assert any("asset_id is not unique: 1 id(s) repeat, e.g. a2 (2 times)" in p for p in found)


def test_labelled_pairs_need_known_tasks_binary_labels_and_two_sides(con):
    con.execute("""create table pairs as select * from (values
        ('a1', 'a2', null, null, 'duplicate', 1), ('a1', null, null, null, 'dupe', 2),
        (null, null, 'text one', 'text two', 'duplicate', 0)) t(left_id, right_id, text_a, text_b, task, label)""")
    found = problems(con, "labelled_pairs", "pairs")
    assert any("task has 1 value(s) outside duplicate, brief_match, lookalike" in p for p in found)
    assert any("label has 1 value(s) outside 0, 1" in p for p in found)
    assert any("1 pair(s) have neither right_id nor text_b" in p for p in found)
    assert len(found) == 3


def test_invalid_utf8_in_csv_and_parquet_names_file_column_and_id(con, tmp_path):
    csv_path = tmp_path / "assets.csv"
    csv_path.write_bytes(b"asset_id,text\na1,fine copy\na2,caf\xe9 au lait\n")
    [csv_message] = problems(con, "assets", f"'{csv_path}'")
    assert f"{csv_path} is not valid UTF-8: line 3, column text, asset_id 'a2'" in csv_message
    assert "semantic fix-encoding" in csv_message
    data = b"fine copy" + b"caf\xe9"
    text = pa.StringArray.from_buffers(2, pa.array([0, 9, 13], pa.int32()).buffers()[1], pa.py_buffer(data))
    parquet_path = tmp_path / "assets.parquet"
    pq.write_table(pa.table({"asset_id": ["a1", "a2"], "text": text}), parquet_path)
    [parquet_message] = problems(con, "assets", f"'{parquet_path}'")
    assert f"{parquet_path} is not valid UTF-8: column text, 1 row(s), asset_id 'a2'" in parquet_message


def test_one_message_covers_every_failing_input():
    from semantic.warehouse.contract import InputReport

    message = format_problems([InputReport("assets", "raw", problems=["p1", "p2"]), InputReport("briefs", None),
                               InputReport("compliance_references", "refs", problems=["p3"])])
    assert message.splitlines()[1:] == [
        "  - input assets (semantic_input_assets = raw): p1", "  - input assets (semantic_input_assets = raw): p2",
        "  - input compliance_references (semantic_input_compliance_references = refs): p3"]
    assert format_problems([InputReport("assets", "raw")]) is None


def test_the_sql_function_checks_through_its_own_cursor(con, tmp_path, fake_encoder):
    from semantic.config import SemanticConfig
    from semantic.warehouse.functions import register

    register(con, SemanticConfig.from_plugin({"lance_dir": str(tmp_path)}), encoder=fake_encoder)
    con.execute("create table raw as select 'a1' as asset_id, 'copy' as text")
    spec = json.dumps([{"name": "assets", "relation": "raw", "mapping": {}},
                       {"name": "briefs", "relation": "nowhere", "mapping": {}}])
    found = json.loads(con.execute("select semantic_check_inputs(?)", [spec]).fetchone()[0])
    assert found["reports"][0]["columns"] == {"asset_id": "asset_id", "text": "text"}
    assert "nowhere cannot be read" in found["message"]


# --- `semantic build` on a project of one's own whose inputs break the contract --------------------------

ASSETS = [("a1", "Waterproof trail jacket, sealed seams, 20,000 mm rating."),
          ("a2", "Waterproof trail jacket with sealed seams and a 20,000 mm rating!"),
          ("a3", "Cold brew coffee concentrate, half price this week only."),
          ("a4", "Guaranteed weight loss of 10 kg in one week, doctors hate it."),
          ("a5", "Free next-day delivery on every order over 50 euros.")]


def env_for(project: Path) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", DBT_SEND_ANONYMOUS_USAGE_STATS="False", DBT_PROFILES_DIR=str(project),
               SEMANTIC_HOME=str(project))
    for key in ("SEMANTIC_DB", "SEMANTIC_LANCE_DIR", "SEMANTIC_MODELS_DIR", "SEMANTIC_MODEL_DIR"):
        env.pop(key, None)
    return env


def semantic_build(project: Path, *dbt_args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "semantic"), "build", "--project-dir", str(project), *dbt_args], cwd=project,
                          env=env_for(project), capture_output=True, text=True, timeout=900)


def write_assets(path: Path, rows: list[tuple], names: tuple[str, ...] = ("asset_id", "text"), **types) -> str:
    columns = list(zip(*rows)) if rows else [[] for _ in names]
    pq.write_table(pa.table({n: pa.array(list(c), type=types.get(n)) for n, c in zip(names, columns)}), path)
    return f"'{path}'"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A project written by `semantic init`, its assets and references as Parquet files, built once."""
    from semantic.warehouse.scaffold import write_starter

    project = tmp_path_factory.mktemp("own") / "campaigns"
    write_starter(project)
    inputs = project / "data" / "inputs"
    write_assets(inputs / "assets.parquet", ASSETS)
    pq.write_table(pa.table({"reference_id": ["r1"], "claim_text": ["Lose 10 kg in a week, guaranteed"],
                             "severity": ["critical"]}), inputs / "compliance_references.parquet")
    text = (project / "dbt_project.yml").read_text()
    (project / "dbt_project.yml").write_text(text.replace(
        "  # semantic_input_compliance_references:", "  semantic_input_compliance_references:"))
    first = semantic_build(project, "--vars", "{semantic_train: false}")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    return project


def snapshot(project: Path) -> dict[str, str]:
    """sha256 of the published DuckDB file and of every file of the LanceDB folder."""
    data = project / "data"
    files = [data / "semantic_assets.duckdb", *sorted((data / "lance").rglob("*"))]
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def test_the_first_build_read_the_parquet_inputs(built):
    with duckdb.connect(str(built / "data" / "semantic_assets.duckdb"), read_only=True) as c:
        assert c.execute("select count(*) from int_assets_embedded").fetchone() == (5,)
        assert c.execute("select input_name from stg_semantic__inputs where is_enabled order by 1").fetchall() == [
            ("assets",), ("compliance_references",)]
        assert c.execute("select count(*) from fct_brief_asset_matches").fetchone() == (0,)  # no briefs: off


BAD = {
    # case: (file to write, var overrides, what the message must say)
    "missing relation": (None, {"semantic_input_assets": "'data/inputs/nowhere.parquet'"},
                         ["'data/inputs/nowhere.parquet' cannot be read", "check semantic_input_assets"]),
    "missing column": (lambda p: write_assets(p, [("a1", "x")], ("asset_id", "body")), {},
                       ["required column text", "semantic_columns_assets: {text: <your column>}"]),
    "mapped column absent": (None, {"semantic_columns_assets": {"text": "body"}},
                             ["maps text to column 'body'", "its columns are asset_id, text"]),
    "mistyped column": (lambda p: write_assets(p, [("a1", 7)]), {},
                        ["column text is BIGINT, but the contract needs text (VARCHAR)"]),
    "null id": (lambda p: write_assets(p, [*ASSETS, (None, "Copy without an id")]), {},
                ["asset_id is NULL in 1 row(s) (e.g. text=Copy without an id)"]),
    "duplicate id": (lambda p: write_assets(p, [*ASSETS, ("a3", "Another a3")]), {},
                     ["asset_id is not unique: 1 id(s) repeat, e.g. a3 (2 times)"]),
    "null text": (lambda p: write_assets(p, [*ASSETS, ("a9", None)], text=pa.string()), {},
                  ["text is NULL in 1 row(s) (asset_id 'a9')"]),
    "csv not utf-8": (lambda p: p.with_suffix(".csv").write_bytes(b"asset_id,text\na1,ok\na2,caf\xe9\n"), {},
                      ["is not valid UTF-8: line 3, column text, asset_id 'a2'"]),
    "parquet not utf-8": (lambda p: pq.write_table(pa.table({"asset_id": ["a1"], "text": pa.StringArray.from_buffers(
        1, pa.array([0, 4], pa.int32()).buffers()[1], pa.py_buffer(b"caf\xe9"))}), p), {},
        ["is not valid UTF-8: column text, 1 row(s), asset_id 'a1'"]),
    "bad label": (None, {"semantic_input_labelled_pairs": "(select 'a1' as left_id, 'a2' as right_id, "
                                                          "'duplicate' as task, 5 as label)"},
                  ["input labelled_pairs", "label has 1 value(s) outside 0, 1, e.g. '5'"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_broken_input_stops_the_build_before_embedding_and_changes_nothing(built, case, tmp_path):
    write, overrides, expected = BAD[case]
    if write is not None:
        bad = tmp_path / "bad.parquet"
        write(bad)
        path = bad if bad.exists() else bad.with_suffix(".csv")
        overrides = {"semantic_input_assets": f"'{path}'", **overrides}
    before = snapshot(built)
    result = semantic_build(built, "--vars", json.dumps({"semantic_train": False, **overrides}))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "the inputs do not meet the source contract" in output
    for text in expected:
        assert text in output, output[-3000:]
    assert "Traceback" not in output
    assert "embedding" not in output  # stopped before the first embedding
    assert snapshot(built) == before  # the published file and every LanceDB file are byte-for-byte the same


def test_a_seed_that_is_not_utf8_is_named_before_dbt_runs(built):
    seeds = built / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / "extra_assets.csv").write_bytes(b"asset_id,text\nx1,na\xefve copy\n")
    try:
        before = snapshot(built)
        result = semantic_build(built, "--vars", "{semantic_train: false}")
        assert result.returncode == 2
        assert "extra_assets.csv line 2 (byte 19)" in result.stderr and "semantic fix-encoding" in result.stderr
        assert snapshot(built) == before
    finally:
        (seeds / "extra_assets.csv").unlink()
