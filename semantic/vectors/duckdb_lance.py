"""DuckDB's ``lance`` extension: loaded from the file the ``duckdb-extension-lance`` package ships.

``INSTALL lance`` downloads it; here nothing is downloaded. The SQL functions
(:mod:`semantic.warehouse.functions`) and the object-storage helpers
(:mod:`semantic.scaleout.object_storage`) both load it through :func:`load_lance`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semantic.errors import SemanticConfigError


def lance_extension_path() -> Path:
    """Return the lance extension file shipped in the ``duckdb-extension-lance`` package."""
    import duckdb
    import duckdb_extension_lance

    base = Path(duckdb_extension_lance.__file__).parent / "extensions"
    path = base / f"v{duckdb.__version__}" / "lance.duckdb_extension"
    if not path.is_file():
        found = sorted(p.parent.name for p in base.glob("*/lance.duckdb_extension"))
        raise SemanticConfigError(
            f"no lance extension for duckdb {duckdb.__version__} in {base} (found {found}); "
            "install matching versions: `pip install duckdb==1.5.5 duckdb-extension-lance==1.5.5`"
        )
    return path


def load_lance(conn: Any) -> None:
    """Load DuckDB's lance extension from the package file (no download)."""
    conn.execute(f"LOAD '{lance_extension_path()}'")
