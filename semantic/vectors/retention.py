"""What the LanceDB folder keeps: a bounded number of versions per build, and nothing at all of an erased row.

Lance never rewrites a file: a delete adds a deletion file and a new version, and every earlier
version (and the data files it points at) stays readable through ``checkout`` until it is cleaned
up. Two levels of forgetting follow:

* :func:`prune` (every sync, dbt var ``lance_versions_kept``): old versions beyond the newest ``keep``
  are cleaned up, so time travel reaches back a few builds for a rollback, not forever.
* :func:`purge` (``semantic forget``): the fragments holding deleted rows are rewritten without them
  (compaction with a zero deletion threshold: the default rewrites only fragments with over 10 %
  deleted), the full-text and vector indexes are rebuilt from the remaining rows (an index built
  before the delete still holds the row's tokens or quantised vector), and every other version and
  unreferenced file is removed.

:func:`find_in_files` proves it: Lance compresses strings (FSST), so a byte search of its files finds
nothing even where a text is stored; it decodes every ``.lance`` file under a folder, referenced by
a version or not, and searches the decoded strings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from semantic.errors import SemanticConfigError

logger = logging.getLogger(__name__)

#: Versions a sync keeps per table when the dbt var ``lance_versions_kept`` is not set.
DEFAULT_VERSIONS_KEPT = 5


@dataclass(frozen=True)
class PurgeResult:
    """What :func:`purge` did to one table."""

    table: str
    rows: int
    versions_removed: int
    bytes_removed: int
    fragments_rewritten: int
    indexes_rebuilt: tuple[str, ...]


def check_versions_kept(keep: int | str | None) -> int:
    """``lance_versions_kept`` as an integer ≥ 1 (None: :data:`DEFAULT_VERSIONS_KEPT`)."""
    if keep is None or str(keep).strip().lower() in ("", "none", "null"):
        return DEFAULT_VERSIONS_KEPT
    try:
        value = int(str(keep).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise SemanticConfigError(
            f"lance_versions_kept must be a whole number of versions, at least 1 (got {keep!r}); e.g. "
            f"--vars '{{lance_versions_kept: {DEFAULT_VERSIONS_KEPT}}}' (1 keeps only the latest: no time travel)"
        )
    return value


def _dataset(table_path: Path) -> Any:
    import lance

    return lance.dataset(str(table_path))  # a fresh handle: the latest version, not a cached one


def prune(table_path: Path, keep: int | str | None) -> int:
    """Remove the versions of a Lance table older than its newest ``keep`` (and their unshared files).

    Returns:
        The number of versions removed.
    """
    keep = check_versions_kept(keep)
    ds = _dataset(table_path)
    if len(ds.versions()) <= keep:
        return 0
    stats = ds.cleanup_old_versions(older_than=timedelta(0), retain_versions=keep, error_if_tagged_old_versions=False)
    logger.info("%s: removed %d old version(s), kept the newest %d", table_path.name, stats.old_versions, keep)
    return int(stats.old_versions)


def purge(table_path: Path, text_column: str = "text") -> PurgeResult:
    """Erase every deleted row of a Lance table from its files: compact, rebuild indexes, drop old versions.

    The caller holds the build lock. Every other version goes, tagged ones included (the published
    tag, :mod:`semantic.vectors.pins`): a reader still on one fails until it reads the new pins, which
    the caller publishes.

    Args:
        table_path: The table's ``<name>.lance`` folder.
        text_column: The column a full-text index may cover.
    """
    import lancedb
    from lancedb.index import FTS

    from semantic.vectors.index import build_index, find_vector_index, partitions_for

    name = table_path.name.removesuffix(".lance")
    before = _dataset(table_path)
    deleted = sum(f.count_rows() != f.physical_rows for f in before.get_fragments())
    rewritten = 0
    if deleted:
        metrics = before.optimize.compact_files(materialize_deletions=True, materialize_deletions_threshold=0.0,
                                                compaction_mode="reencode")
        rewritten = int(metrics.fragments_removed)
    tbl = lancedb.connect(str(table_path.parent)).open_table(name)
    rebuilt: list[str] = []
    if rewritten:
        for idx in tbl.list_indices():
            if text_column in idx.columns and "FTS" in str(idx.index_type).upper():
                tbl.create_index(text_column, config=FTS(), replace=True)
                rebuilt.append(f"full-text index on {text_column}")
        vector = find_vector_index(tbl)
        if vector is not None:
            build_index(tbl, partitions_for(tbl.count_rows()), replace=True)
            rebuilt.append(f"vector index {vector.name}")
    latest = _dataset(table_path)
    for tag in list(latest.tags.list()):  # a tagged version is never cleaned up: erasure untags it
        latest.tags.delete(tag)
    versions = len(latest.versions())
    stats = latest.cleanup_old_versions(older_than=timedelta(0), delete_unverified=True,
                                        error_if_tagged_old_versions=False)
    result = PurgeResult(table=name, rows=latest.count_rows(), versions_removed=int(stats.old_versions) or versions - 1,
                         bytes_removed=int(stats.bytes_removed), fragments_rewritten=rewritten,
                         indexes_rebuilt=tuple(rebuilt))
    logger.info("%s: purged (%d fragment(s) rewritten, %d version(s) and %d bytes removed, rebuilt: %s)",
                name, rewritten, result.versions_removed, result.bytes_removed, ", ".join(rebuilt) or "nothing")
    return result


def lance_tables(lance_dir: Path) -> list[Path]:
    """Every ``<name>.lance`` table folder of a LanceDB folder."""
    if not lance_dir.is_dir():
        return []
    return sorted(p for p in lance_dir.iterdir() if p.is_dir() and p.name.endswith(".lance"))


def find_in_files(folder: Path, needles: Sequence[str]) -> dict[str, list[str]]:
    """Which decoded ``.lance`` files under ``folder`` hold any of ``needles`` in a string value.

    Every data, index and deletion file is read with Lance's file reader, whether any version
    refers to it or not, and each string column (nested lists of strings included) is searched
    for each needle as a substring.

    Returns:
        ``{needle: [file, ...]}`` for the needles found (empty when none is).
    """
    from lance.file import LanceFileReader

    found: dict[str, list[str]] = {}
    wanted = [n for n in dict.fromkeys(needles) if n]
    for path in sorted(folder.rglob("*.lance")):
        if not path.is_file():
            continue
        try:
            table = LanceFileReader(str(path)).read_all().to_table()
        except Exception as e:  # noqa: BLE001 - not a Lance file after all: searched as bytes instead
            logger.debug("%s is not readable as a Lance file (%s); searching its bytes", path, e)
            data = path.read_bytes()
            for needle in wanted:
                if needle.encode("utf-8") in data:
                    found.setdefault(needle, []).append(str(path))
            continue
        for column in _string_columns(table):
            for needle in wanted:
                if pc.any(pc.match_substring(column, needle)).as_py():
                    found.setdefault(needle, []).append(str(path))
    return found


def _string_columns(table: pa.Table) -> Iterable[pa.ChunkedArray]:
    def walk(array: pa.ChunkedArray) -> Iterable[pa.ChunkedArray]:
        kind = array.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            yield array
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            yield from walk(pa.chunked_array([c.flatten() for c in array.chunks], type=kind.value_type))
        elif pa.types.is_struct(kind):
            for i in range(kind.num_fields):
                yield from walk(pa.chunked_array([c.field(i) for c in array.chunks], type=kind.field(i).type))

    for column in table.columns:
        yield from walk(column)
