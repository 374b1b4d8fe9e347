"""The plan of a distributed embedding sync, decided on the driver from ids and hashes alone.

The same rules as the embedded path (:meth:`semantic.vectors.store.VectorStore.sync`): a row is embedded
again only when its ``content_hash`` or the model version changed, rows that left the source (or
whose text became blank) are deleted. Pure Arrow joins; nothing here reads a table or a model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from semantic.errors import SemanticConfigError, SemanticDataError
from semantic.vectors.embedding import CONTENT_HASH, with_content_hash, with_text
from semantic.vectors.store import check_ids

HAS_TEXT = "_has_text"
ROWADDR = "_rowaddr"


@dataclass(frozen=True)
class SyncPlan:
    """What a sync must do, decided from ids and hashes alone (:func:`plan_sync`).

    Attributes:
        todo: Ids of the source rows to embed.
        deletes: Fragment id -> stored ids to delete from it (changed rows and rows that left).
        replace_all: Every stored row goes: write a fresh table version (``Overwrite``).
        unchanged: Source rows kept as stored.
        removed: Stored rows with no source row left (a subset of ``deletes``).
        skipped_empty: Source rows with no text.
        source_rows: Source rows with text.
    """

    todo: pa.Array
    deletes: dict[int, list[str]]
    replace_all: bool
    unchanged: int
    removed: int
    skipped_empty: int
    source_rows: int


def table_location(uri: str) -> tuple[str, str]:
    """The LanceDB database URI and table name of a ``.lance`` table URI.

    Raises:
        SemanticConfigError: The URI does not end in ``<table>.lance``.
    """
    base, _, leaf = uri.rstrip("/").rpartition("/")
    if not leaf.endswith(".lance") or len(leaf) <= len(".lance") or not base:
        raise SemanticConfigError(
            f"--lance {uri!r} does not name a Lance table; pass a URI ending in <table>.lance, "
            "e.g. s3://bucket/vectors/assets.lance"
        )
    return base, leaf[: -len(".lance")]


def source_keys(rows: pa.Table, id_column: str, text_column: str) -> pa.Table:
    """``id, content_hash, _has_text`` of source rows (the hash computed from the text when absent)."""
    for col in (id_column, text_column):
        if col not in rows.column_names:
            raise SemanticDataError(
                f"the source has no column '{col}' (columns: {rows.column_names}); pass "
                "--id-column / --text-column naming the key and the text"
            )
    rows = with_content_hash(rows.select([c for c in (id_column, text_column, CONTENT_HASH) if c in rows.column_names]),
                             text_column)
    has_text = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(rows.column(text_column))), 0), False)
    return pa.table({id_column: rows.column(id_column), CONTENT_HASH: rows.column(CONTENT_HASH), HAS_TEXT: has_text})


def prepare_rows(rows: pa.Table, id_column: str, text_column: str, todo: pa.Array | None,
                 columns: Sequence[str]) -> pa.Table:
    """Source rows ready to embed: hash added if absent, blank texts dropped, only ``todo`` ids kept."""
    rows = with_content_hash(rows, text_column)
    rows, _ = with_text(rows, text_column)
    if todo is not None:
        rows = rows.filter(pc.is_in(rows.column(id_column), value_set=todo))
    return rows.select(list(columns))


def plan_sync(keys: pa.Table, existing: pa.Table | None, id_column: str, model_version: str) -> SyncPlan:
    """Decide what to embed and delete, as the embedded path's ``VectorStore.sync`` does.

    Args:
        keys: :func:`source_keys` of the whole source.
        existing: ``id, content_hash, model_version, _rowaddr`` of the stored table, or None.
        id_column: The key column.
        model_version: The version of the encoder that will embed.

    Raises:
        SemanticDataError: Source ids are NULL or duplicated.
    """
    check_ids(keys, id_column, "the source", fix_where="before exporting the source")
    live = keys.filter(keys.column(HAS_TEXT)).select([id_column, CONTENT_HASH])
    skipped = keys.num_rows - live.num_rows
    if existing is None or existing.num_rows == 0:
        return SyncPlan(live.column(id_column).combine_chunks(), {}, existing is not None, 0, 0, skipped, live.num_rows)
    stored = existing.rename_columns([id_column, "_stored_hash", "_stored_version", ROWADDR])
    joined = live.join(stored, id_column, join_type="left outer")
    same = pc.fill_null(
        pc.and_(pc.equal(joined.column(CONTENT_HASH), joined.column("_stored_hash")),
                pc.equal(joined.column("_stored_version"), pa.scalar(model_version))),
        False,
    )
    todo = joined.filter(pc.invert(same)).column(id_column).combine_chunks()
    stale = joined.filter(pc.and_(pc.invert(same), pc.is_valid(joined.column(ROWADDR))))
    gone = stored.join(live.select([id_column]), id_column, join_type="left anti")
    deletes: dict[int, list[str]] = defaultdict(list)
    for part in (stale, gone):
        fragments = pc.shift_right(part.column(ROWADDR).cast(pa.uint64()), 32).to_pylist()
        for fid, key in zip(fragments, part.column(id_column).to_pylist()):
            deletes[int(fid)].append(key)
    n_deleted = stale.num_rows + gone.num_rows
    return SyncPlan(
        todo=todo,
        deletes=dict(deletes),
        replace_all=n_deleted == existing.num_rows,
        unchanged=live.num_rows - len(todo),
        removed=gone.num_rows,
        skipped_empty=skipped,
        source_rows=live.num_rows,
    )
