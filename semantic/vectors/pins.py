"""The LanceDB versions a published DuckDB file reads: one snapshot across the two stores.

A build writes LanceDB in place (every sync commits a new table version) but publishes DuckDB by
an atomic swap. Readers that searched the latest LanceDB version would see a build's new vectors
before its DuckDB file is published, or those of a build that was killed half-way, beside marts
that do not know them. So each build records the version of every table it wrote (the model
``dim_lance_versions``, published inside the DuckDB file), readers search those versions
(``semantic_lance_uri``, :meth:`semantic.vectors.store.VectorStore.search` with ``pins``), and the
published versions carry the Lance tag :data:`PUBLISHED_TAG`, which the version clean-up
(:func:`semantic.vectors.retention.prune`) never removes. Inside a build, the models read the
latest versions: the ones they are writing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

logger = logging.getLogger(__name__)

#: The model (a table in the published DuckDB file) holding the pinned versions.
PINS_TABLE = "dim_lance_versions"
#: The Lance tag on each table's published version.
PUBLISHED_TAG = "semantic-published"


def current_versions(lance_dir: Path) -> pa.Table:
    """The latest version of every LanceDB table under ``lance_dir`` (the rows of ``dim_lance_versions``)."""
    from semantic.vectors.retention import lance_tables
    from semantic.vectors.store import VectorStore

    store = VectorStore(lance_dir)
    names, versions = [], []
    for path in lance_tables(Path(lance_dir)):
        name = path.name.removesuffix(".lance")
        version = store.latest_version(name)
        if version is not None:
            names.append(name)
            versions.append(version)
    now = datetime.now(UTC).replace(tzinfo=None)
    return pa.table({"table_name": pa.array(names, pa.string()), "lance_version": pa.array(versions, pa.int64()),
                     "pinned_at": pa.array([now] * len(names), pa.timestamp("us"))})


def read_pins(con: Any) -> dict[str, int]:
    """The pinned versions a DuckDB connection's file publishes (empty when it has none: read the latest)."""
    import duckdb

    try:
        rows = con.execute(f"select table_name, lance_version from {PINS_TABLE}").fetchall()
    except duckdb.Error:  # a file built before pins, or a bare connection
        return {}
    return {str(name): int(version) for name, version in rows if version is not None}


def read_pins_file(db_path: Path) -> dict[str, int]:
    """:func:`read_pins` of a DuckDB file, opened read-only (empty when it does not exist or cannot be read)."""
    import duckdb

    if not Path(db_path).exists():
        return {}
    try:
        with duckdb.connect(str(db_path), read_only=True) as con:
            return read_pins(con)
    except duckdb.Error as e:  # held read-write by a plain dbt build: read the latest versions
        logger.debug("could not read the pinned LanceDB versions of %s: %s", db_path, e)
        return {}


def tag_published(lance_dir: Path, pins: dict[str, int]) -> None:
    """Move each table's :data:`PUBLISHED_TAG` to its pinned version (and off tables no longer pinned)."""
    import lance

    from semantic.vectors.retention import lance_tables

    for path in lance_tables(Path(lance_dir)):
        name = path.name.removesuffix(".lance")
        ds = lance.dataset(str(path))
        tags = ds.tags.list()
        version = pins.get(name)
        if version is None:
            if PUBLISHED_TAG in tags:
                ds.tags.delete(PUBLISHED_TAG)
            continue
        if PUBLISHED_TAG in tags:
            if tags[PUBLISHED_TAG]["version"] != version:
                ds.tags.update(PUBLISHED_TAG, version)
        else:
            ds.tags.create(PUBLISHED_TAG, version)

