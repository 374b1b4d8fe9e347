"""The dbt-duckdb plugin: builds the config and registers the SQL functions on every connection.

In ``profiles.yml``::

    plugins:
      - module: semantic.dbt_plugin
        config: {lance_dir: "...", model_dir: "..."}
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from semantic.config import SemanticConfig, set_active
from semantic.functions import register


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


class Plugin(BasePlugin):
    """Registers ``semantic_*`` functions on each dbt connection."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        """Build the config from the profile's plugin block and make it the active one.

        dbt-duckdb merges the output's DuckDB ``settings`` (``memory_limit``, …) into every
        plugin's config; those are DuckDB's, not ours, so they are left out here.
        """
        settings = set(getattr(self.creds, "settings", None) or {})
        own = {key: value for key, value in plugin_config.items() if key not in settings}
        self.config = SemanticConfig.from_plugin(own)
        set_active(self.config)
        _install_log_bridge()

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Create the folder of the DuckDB file, so a fresh checkout needs no manual step."""
        path = str(getattr(creds, "path", "") or "")
        if path and path != ":memory:" and not path.startswith(("md:", "motherduck:")):
            Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)

    def configure_connection(self, conn: Any) -> None:
        """Register the SQL functions and the search macro (see :mod:`semantic.functions`)."""
        register(conn, self.config)
