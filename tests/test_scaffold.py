"""Projects that install the package: `semantic init`, and a new user's project on real ad copy."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from semantic.cli import main
from semantic.warehouse.contract import load_contract
from semantic.warehouse.scaffold import project_seed_files, write_starter

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def test_init_writes_a_project_with_the_plugin_the_package_and_the_contract(tmp_path, capsys):
    assert main(["init", str(tmp_path / "my-campaigns")]) == 0
    project = tmp_path / "my-campaigns"
    config = yaml.safe_load((project / "dbt_project.yml").read_text())
    assert config["name"] == "my_campaigns" and config["profile"] == "my_campaigns"
    assert config["vars"] == {"semantic_input_assets": "{{ source('inputs', 'assets') }}"}
    packages = yaml.safe_load((project / "packages.yml").read_text())["packages"]
    assert packages == [{"local": str(ROOT)}]
    profile = yaml.safe_load((project / "profiles.yml").read_text())["my_campaigns"]["outputs"]["dev"]
    assert profile["plugins"] == [{"module": "semantic.warehouse.dbt_plugin",
                                   "config": {"lance_dir": "{{ env_var('SEMANTIC_LANCE_DIR', 'data/lance') }}"}}]
    [source] = yaml.safe_load((project / "models" / "sources.yml").read_text())["sources"]
    tables = {t["name"]: [c["name"] for c in t["columns"]] for t in source["tables"]}
    assert tables == {name: list(spec.columns) for name, spec in load_contract().items()}
    assert "data/inputs/assets.parquet" in capsys.readouterr().out
    # a second init into the same folder refuses instead of overwriting
    assert main(["init", str(project)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_init_names_a_git_package_and_rejects_a_bad_name(tmp_path):
    write_starter(tmp_path / "a", package="https://example.invalid/semantic-assets.git")
    assert "git: \"https://example.invalid/semantic-assets.git\"" in (tmp_path / "a" / "packages.yml").read_text()
    with pytest.raises(ValueError, match="not a valid dbt project name"):
        write_starter(tmp_path / "b", name="3 campaigns")


def test_project_seed_files_follow_seed_paths(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: x\nseed-paths: [data_seeds]\n")
    (tmp_path / "data_seeds" / "sub").mkdir(parents=True)
    (tmp_path / "data_seeds" / "sub" / "a.csv").write_text("id\n1\n")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "ignored.csv").write_text("id\n1\n")
    assert project_seed_files(tmp_path) == [tmp_path / "data_seeds" / "sub" / "a.csv"]


def test_the_contract_docs_are_written_from_the_contract():
    from semantic.warehouse.contract import contract_markdown

    assert (ROOT / "docs" / "contract.md").read_text(encoding="utf-8") == contract_markdown(), (
        "docs/contract.md is out of date: python -c 'from semantic.warehouse.contract import contract_markdown; "
        "print(contract_markdown(), end=\"\")' > docs/contract.md")


def deps_and_build(project: Path) -> subprocess.CompletedProcess[str]:
    """`dbt deps` and `dbt build` in the project, as its user would run them (no SEMANTIC_* paths set)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", DBT_SEND_ANONYMOUS_USAGE_STATS="False", DBT_PROFILES_DIR=str(project))
    for key in ("SEMANTIC_HOME", "SEMANTIC_DB", "SEMANTIC_LANCE_DIR", "SEMANTIC_MODELS_DIR", "SEMANTIC_MODEL_DIR"):
        env.pop(key, None)
    for command in (["deps"], ["build"]):
        result = subprocess.run([str(BIN / "dbt"), *command], cwd=project, env=env, capture_output=True, text=True,
                                timeout=1200)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


REFERENCES = [
    ("ref_cure", "This product cures arthritis and joint pain for good.", "critical"),
    ("ref_free_money", "Get a guaranteed cash loan today, no credit check, approval for everyone.", "high"),
    ("ref_lowest", "Lowest prices anywhere, guaranteed, or we pay you double.", "medium"),
    ("ref_weight", "Lose 30 pounds in 30 days without diet or exercise.", "high"),
    ("ref_risk", "Completely risk free investment with guaranteed returns of 20 percent.", "critical"),
]


@pytest.mark.slow
@pytest.mark.eval
def test_a_new_users_project_builds_the_marts_from_parquet_files_with_the_base_encoder(tmp_path, eval_data):
    ads_file = eval_data / "corpus" / "ad_transcripts" / "records.csv"
    if not ads_file.is_file():
        pytest.skip(f"{ads_file} not found")
    with open(ads_file, newline="", encoding="utf-8") as fh:
        ads = [row for row in csv.DictReader(fh) if row["text"].strip()][:300]
    # a new user: `semantic init`, their export as Parquet with their own column names, then dbt
    project = tmp_path / "ads"
    assert main(["init", str(project)]) == 0
    inputs = project / "data" / "inputs"
    copy = dict(ads[0], id="ad_copy", text=ads[0]["text"].replace(".", "!", 2))  # a planted near-duplicate
    planted = dict(ads[1], id="ad_claim", text=ads[1]["text"] + " Lose 30 pounds in 30 days, no diet, no exercise.")
    rows = [*ads, copy, planted]
    pq.write_table(pa.table({"ad_id": [r["id"] for r in rows], "body": [r["text"] for r in rows],
                             "industry": [r["category"] for r in rows], "advertiser": [r["advertiser"] for r in rows]}),
                   inputs / "assets.parquet")
    pq.write_table(pa.table({"reference_id": [r[0] for r in REFERENCES], "claim_text": [r[1] for r in REFERENCES],
                             "severity": [r[2] for r in REFERENCES]}), inputs / "compliance_references.parquet")
    config = project / "dbt_project.yml"
    config.write_text(config.read_text()
                      .replace("  # semantic_input_compliance_references:", "  semantic_input_compliance_references:")
                      .replace("  # semantic_columns_assets: {text: body, asset_id: id}",
                               "  semantic_columns_assets: {text: body, asset_id: ad_id}"))
    deps_and_build(project)
    with duckdb.connect(str(project / "data" / "semantic_assets.duckdb"), read_only=True) as con:
        def one(sql: str) -> tuple:
            return con.execute(sql).fetchone()

        assert one("select count(*), count(distinct model_version) from int_assets_embedded") == (len(rows), 1)
        assert one("select version from dim_encoder_versions where is_active") == ("base",)
        assert one("select count(*) from dim_asset_clusters") == (len(rows),)
        pair = tuple(sorted((ads[0]["id"], "ad_copy")))
        assert one(f"select count(*) from fct_asset_near_duplicates where (asset_id_a, asset_id_b) = {pair}") == (1,)
        assert one(f"select count(distinct cluster_id) from dim_asset_clusters where asset_id in {pair}") == (1,)
        # no labels: the documented fallback thresholds; no brand: one block (no blocking)
        assert one("select bool_and(is_fallback) from dim_similarity_thresholds") == (True,)
        assert one("select count(*) from fct_compliance_lookalikes") == (3 * len(rows),)
        decision, reference = one("select decision, reference_id from fct_compliance_lookalikes "
                                  "where asset_id = 'ad_claim' and rank = 1")
        assert reference == "ref_weight" and decision in ("flag", "review")
        assert one("select count(*) from fct_brief_asset_matches") == (0,)  # no briefs: off


@pytest.mark.slow
def test_the_wheel_brings_the_cli_the_plugin_and_the_contract(tmp_path):
    import shutil
    import zipfile

    # from a copy of the distribution's files: setuptools writes build/ beside the sources it builds
    source = tmp_path / "source"
    shutil.copytree(ROOT / "semantic", source / "semantic", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = tmp_path.glob("semantic_assets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"semantic/warehouse/contract.yml", "semantic/warehouse/dbt_plugin.py", "semantic/cli.py"} <= set(names)
    # every subpackage and the demo's copy bank (data files) ship too
    package_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "semantic").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts}
    assert package_files <= set(names), sorted(package_files - set(names))

    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "semantic = semantic.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_no_file_of_the_package_is_hidden_from_git():
    """A .gitignore pattern (e.g. ``data/``) must not hide package files: a fresh clone would lack them."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "semantic").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-v", *files], cwd=ROOT, capture_output=True,
                             text=True, check=False)
    assert ignored.stdout == "", f"package files a .gitignore pattern hides from git:\n{ignored.stdout}"


@pytest.mark.slow
def test_with_assets_only_the_optional_capabilities_are_off_and_the_gate_passes(tmp_path):
    project = tmp_path / "only_assets"
    write_starter(project)
    texts = ["Waterproof trail jacket, sealed seams.", "Waterproof trail jacket with sealed seams!",
             "Cold brew coffee, half price this week.", "Free delivery on every order over 50 euros."]
    # integer ids and a column the contract does not know: ids are read as text, extra columns ignored
    pq.write_table(pa.table({"asset_id": list(range(1, len(texts) + 1)), "text": texts, "owner": ["x"] * len(texts)}),
                   project / "data" / "inputs" / "assets.parquet")
    result = deps_and_build(project)
    assert "PASS semantic_no_compliance_lookalikes" in result.stdout  # the gate ran and passed
    with duckdb.connect(str(project / "data" / "semantic_assets.duckdb"), read_only=True) as con:
        counts = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in (
            "int_assets_embedded", "dim_asset_clusters", "dim_compliance_references", "fct_compliance_lookalikes",
            "int_briefs_embedded", "fct_brief_asset_matches", "int_training_pairs_labelled")}
        assert counts == {"int_assets_embedded": 4, "dim_asset_clusters": 4, "dim_compliance_references": 0,
                          "fct_compliance_lookalikes": 0, "int_briefs_embedded": 0, "fct_brief_asset_matches": 0,
                          "int_training_pairs_labelled": 0}
        assert con.execute("select version from dim_encoder_versions where is_active").fetchone() == ("base",)
        assert con.execute("select bool_and(is_fallback) from dim_similarity_thresholds").fetchone() == (True,)
        assert con.execute("select min(asset_id), max(market) from stg_semantic__assets").fetchone() == ("1", "ALL")
