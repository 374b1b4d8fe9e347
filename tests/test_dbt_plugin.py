import duckdb
import pytest

from semantic.config import active
from semantic.dbt_plugin import Plugin
from semantic.errors import SemanticConfigError


def test_plugin_rejects_unknown_config_keys():
    with pytest.raises(SemanticConfigError, match="lance_directory"):
        Plugin(name="semantic", plugin_config={"lance_directory": "x"})


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
