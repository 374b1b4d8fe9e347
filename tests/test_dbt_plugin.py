import duckdb
import pytest

from semantic.config import active
from semantic.errors import SemanticConfigError
from semantic.warehouse.dbt_plugin import Plugin


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


def test_a_dbt_process_skips_the_final_collection_of_what_it_built(tmp_path):
    import subprocess
    import sys
    import textwrap

    # a handler registered before the plugin runs after the plugin's (atexit is last-in, first-out)
    script = textwrap.dedent(f"""
        import atexit, gc
        atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
        from semantic.warehouse.dbt_plugin import Plugin
        Plugin(name="semantic", plugin_config={{"lance_dir": {str(tmp_path / "lance")!r}}})
        Plugin(name="semantic", plugin_config={{"lance_dir": {str(tmp_path / "lance")!r}}})
        print("frozen while running:", gc.get_freeze_count() > 0)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["frozen while running: False", "frozen at exit: True"]


def test_only_a_dbt_command_of_its_own_freezes_what_it_parsed(monkeypatch):
    from semantic.warehouse import dbt_plugin

    for argv0, own in (("/x/.venv/bin/dbt", True), ("/x/site-packages/dbt/cli/main.py", True),
                       ("/x/orchestrator.py", False), ("", False)):
        monkeypatch.setattr("sys.argv", [argv0])
        assert dbt_plugin._is_dbt_cli() is own, argv0
