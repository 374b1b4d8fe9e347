import duckdb
import pytest

from semantic.config import active
from semantic.dbt_plugin import Plugin
from semantic.errors import SemanticConfigError


def test_plugin_rejects_unknown_config_keys():
    with pytest.raises(SemanticConfigError, match="lance_directory"):
        Plugin(name="semantic", plugin_config={"lance_directory": "x"})


def test_duckdb_settings_that_dbt_duckdb_merges_into_the_plugin_config_are_not_ours(tmp_path):
    from types import SimpleNamespace

    creds = SimpleNamespace(settings={"memory_limit": "2GB"})
    config = {"memory_limit": "2GB", "lance_dir": str(tmp_path / "lance")}  # what dbt-duckdb passes
    Plugin(name="semantic", plugin_config=config, credentials=creds)  # type: ignore[arg-type]
    assert active().lance_dir == tmp_path / "lance"
    with pytest.raises(SemanticConfigError, match="lance_directory"):  # a typo of ours still fails
        Plugin(name="semantic", plugin_config={**config, "lance_directory": "x"}, credentials=creds)  # type: ignore[arg-type]


def test_plugin_sets_the_active_config_and_registers_functions_on_a_bare_connection(tmp_path):
    plugin = Plugin(name="semantic", plugin_config={"lance_dir": str(tmp_path / "lance")})
    assert active().lance_dir == tmp_path / "lance"
    conn = duckdb.connect()
    plugin.configure_connection(conn)
    names = {r[0] for r in conn.execute("select function_name from duckdb_functions()").fetchall()}
    assert {"semantic_embed", "semantic_similarity", "semantic_model_version", "semantic_search"} <= names


def test_plugin_creates_the_folder_of_the_database_file(tmp_path):
    class Creds:
        path = str(tmp_path / "new" / "dir" / "db.duckdb")

    Plugin(name="semantic", plugin_config={}).update_connection_config(Creds(), {})
    assert (tmp_path / "new" / "dir").is_dir()
