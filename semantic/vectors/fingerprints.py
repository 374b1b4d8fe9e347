"""Input fingerprints: a dbt Python model that recomputes from scratch keeps its previous rows when
nothing it reads has changed, so a no-change `dbt build` costs change detection only.

A fingerprint is an md5 over everything a model's output depends on: an order-independent hash of
each input relation's rows (:func:`relation_fingerprint`), the settings (dbt vars) it was given, and
the source of the ``semantic`` package (a new release recomputes everything). The model stores it
in an ``inputs_fingerprint`` column on every row it writes; on the next run :func:`previous_rows`
returns those rows when the new fingerprint is the same.

Used by ``dim_similarity_thresholds``, ``dim_asset_clusters``, ``fct_brief_asset_matches`` and
``dim_vector_indexes``. The embedding models need none of this: their sync compares content hashes
(see :meth:`semantic.vectors.store.VectorStore.sync`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

logger = logging.getLogger("semantic")

#: The column holding the fingerprint of the inputs a row was computed from.
FINGERPRINT_COLUMN = "inputs_fingerprint"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """md5 of the ``semantic`` package's Python sources, every subpackage (so a code change recomputes every model)."""
    digest = hashlib.md5()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def relation_fingerprint(relation: Any) -> str:
    """Row count and an order-independent sum of row hashes of a DuckDB relation.

    Args:
        relation: A ``DuckDBPyRelation`` (what ``dbt.ref`` returns), projected to the columns
            that matter: hashing a 384-float vector column is slower than hashing what determines
            it (content hash and model version).
    """
    count, total = relation.query("_rows", "select count(*), sum(hash(_rows)::hugeint) from _rows").fetchone()
    return f"{count}:{total}"


def arrow_fingerprint(table: pa.Table) -> str:
    """Row count and an order-independent sum of row hashes of an Arrow table (as :func:`relation_fingerprint`)."""
    import duckdb

    with duckdb.connect() as con:
        return relation_fingerprint(con.from_arrow(table))


def fingerprint(*parts: Any) -> str:
    """md5 of the parts (relation fingerprints, settings; anything JSON can write) and the code."""
    payload = json.dumps([code_fingerprint(), *parts], sort_keys=True, default=str)
    return hashlib.md5(payload.encode()).hexdigest()


def previous_rows(session: Any, this: Any, inputs: str) -> Any | None:
    """The model's current rows if they were computed from the same inputs, else None.

    Args:
        session: The dbt-duckdb connection (the Python model's ``session``).
        this: The model's relation (``dbt.this``).
        inputs: The fingerprint of this run's inputs (:func:`fingerprint`).

    Returns:
        A relation over the existing table (dbt writes it back unchanged), or None when the table
        is missing, empty, predates fingerprints or was computed from other inputs.
    """
    import duckdb

    try:
        stored, rows = session.sql(f"select any_value({FINGERPRINT_COLUMN}), count(*) from {this}").fetchone()
    except (duckdb.CatalogException, duckdb.BinderException):  # first run, or built before fingerprints
        return None
    if rows == 0 or stored != inputs:
        return None
    name = getattr(this, "identifier", None) or str(this)
    logger.info("%s: inputs unchanged (fingerprint %s), keeping its %d rows", name, inputs[:12], rows)
    return session.sql(f"select * from {this}")


def stamped(table: pa.Table, inputs: str) -> pa.Table:
    """``table`` with the inputs fingerprint in its last column."""
    column = pa.array([inputs] * table.num_rows, type=pa.string())
    if FINGERPRINT_COLUMN in table.column_names:
        return table.set_column(table.column_names.index(FINGERPRINT_COLUMN), FINGERPRINT_COLUMN, column)
    return table.append_column(FINGERPRINT_COLUMN, column)
