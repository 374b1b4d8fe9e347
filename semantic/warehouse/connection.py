"""Open a DuckDB connection with the semantic functions registered, for Python users."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from semantic.config import SemanticConfig


def connect(
    path: str | Path | None = None,
    read_only: bool = False,
    config: SemanticConfig | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the project's DuckDB file (or ``path``) with every ``semantic_`` function registered.

    ``semantic_compliance_check`` reads the LanceDB versions the file was published with
    (``dim_lance_versions``, :mod:`semantic.vectors.pins`); ``semantic_search`` and
    ``semantic_hybrid_search`` read the latest (DuckDB's lance extension has no time travel).

    Args:
        path: A DuckDB file, or ``":memory:"``; default: the configured ``db_path``.
        read_only: Open the file read-only (what a BI tool or a second process should do).
        config: The config to use; default: the active one (plugin, environment, defaults).
    """
    import duckdb

    from semantic.config import active
    from semantic.warehouse.functions import register

    config = config or active()
    target = str(path) if path is not None else str(config.db_path)
    if target != ":memory:" and not read_only:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(target, read_only=read_only)
    register(conn, config, pinned=True)  # the LanceDB versions this file was published with
    return conn
