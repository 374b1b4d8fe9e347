"""The dbt-duckdb plugin: builds the config and registers the SQL functions on every connection.

In ``profiles.yml``::

    plugins:
      - module: semantic.warehouse.dbt_plugin
        config: {lance_dir: "...", model_dir: "..."}
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from semantic.config import SemanticConfig, set_active
from semantic.warehouse.functions import register


class _DbtLogHandler(logging.Handler):
    """Forwards the ``semantic`` logger to dbt's event log (console and logs/dbt.log)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        from dbt.adapters.events.logging import AdapterLogger

        self._dbt = AdapterLogger("semantic")

    def emit(self, record: logging.LogRecord) -> None:
        message = self.format(record)
        if record.levelno >= logging.WARNING:
            self._dbt.warning(message)
        else:
            self._dbt.info(message)


def _install_log_bridge() -> None:
    log = logging.getLogger("semantic")
    if not any(isinstance(h, _DbtLogHandler) for h in log.handlers):
        log.addHandler(_DbtLogHandler())
    log.setLevel(logging.INFO)
    log.propagate = False


def _freeze_at_exit() -> None:
    """Move every live object out of reach of the collector as the interpreter exits.

    By then dbt has closed its connections (DuckDB checkpoints on close) and written its
    artifacts; what is left is the final garbage collection walking the manifest and graph dbt
    built, 0.55 s of a 6 s no-change `dbt build` of this project. Python does not promise to run
    ``__del__`` at exit anyway. Registered once per process, last, so it runs before the handlers dbt
    registered when it started (atexit runs last-registered first); a process that goes on
    running (dbt invoked from Python) is untouched until it exits.
    """
    gc.freeze()


def _is_dbt_cli() -> bool:
    """True in a `dbt` command's own process, which exits when the command ends; False when dbt
    runs inside another program (dbtRunner in an orchestrator), whose objects must stay collectable."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    # `dbt ...`, or `python -m dbt.cli.main ...` (how `semantic build` runs it)
    return program is not None and (program.name == "dbt" or program.parts[-3:] == ("dbt", "cli", "main.py"))


def _install_exit_hook() -> None:
    atexit.unregister(_freeze_at_exit)  # once per process, however many plugins dbt builds
    atexit.register(_freeze_at_exit)


class Plugin(BasePlugin):
    """Registers ``semantic_*`` functions on each dbt connection."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        """Build the config from the profile's plugin block and make it the active one.

        dbt-duckdb merges the output's DuckDB ``settings`` (``memory_limit``, …) into every
        plugin's config; those are DuckDB's, not ours, so they are left out here.
        """
        duckdb_settings = getattr(self.creds, "settings", None) or {}
        settings = set(duckdb_settings)
        own = {key: value for key, value in plugin_config.items() if key not in settings}
        from semantic.vectors.memory import remember_duckdb_limit

        remember_duckdb_limit(duckdb_settings.get("memory_limit"))  # what a model's cache release sets back
        self.config = SemanticConfig.from_plugin(own)
        set_active(self.config)
        if _is_dbt_cli():
            # a plain `dbt build` takes the data folder's build lock for its life, unless `semantic
            # build` took it for this child; dbt run inside another program (dbtRunner) does not
            from semantic.warehouse.locking import ENV_HELD, acquire, lock_path

            data_dir = self.config.lance_dir.parent.resolve()
            if os.environ.get(ENV_HELD) != str(lock_path(data_dir)):
                acquire(data_dir)
            # large blocks go back to the system when freed: the build's models run one after another in this
            # process, and each would otherwise start from the heap the ones before it left (see the module)
            from semantic.vectors.memory import return_large_blocks

            return_large_blocks()
        _install_log_bridge()
        _install_exit_hook()

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Create the folder of the DuckDB file, so a fresh checkout needs no manual step."""
        path = str(getattr(creds, "path", "") or "")
        if path and path != ":memory:" and not path.startswith(("md:", "motherduck:")):
            Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)

    def configure_connection(self, conn: Any) -> None:
        """Register the SQL functions and the search macro (see :mod:`semantic.warehouse.functions`)."""
        register(conn, self.config)
        if _is_dbt_cli():
            # dbt has parsed the project by the first connection: the manifest and graph live until
            # the process exits, so the collector need not walk them again on every full
            # collection (6 of them in a no-change build of this project, 0.59 s; 0.33 s frozen)
            gc.freeze()
