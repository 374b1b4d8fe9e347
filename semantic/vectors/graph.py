"""An HNSW graph beside a LanceDB table version: unfiltered top-k searches at graph speed.

LanceDB's IVF_HNSW_SQ index (:mod:`semantic.vectors.index`) serves every search, filtered or not,
from any process and from DuckDB's lance extension; at 1,000,000 vectors it answers an unfiltered
top-10 in about 4-5 ms at recall@10 0.99 on two cores, most of it per-query overhead (routing to
10 of 250 partitions, an HNSW search in each, and re-ranking 50 candidates read back from the data
file). A single HNSW graph over the whole table answers the same query in well under a millisecond
(benchmarks/search_latency.py prints both, side by side).

**What is kept.** For a table past ``graph_min_rows`` (default :data:`GRAPH_MIN_ROWS`), one
`usearch <https://github.com/unum-cloud/usearch>`_ graph per LanceDB table version, under
``<lance_dir>/_graph/<table>/v<version>/``: ``graph.usearch`` (8-bit quantised vectors and the
links: about 0.5 KB a row), ``vectors.f32.npy`` (the full vectors in row order: 1.5 KB a row at 384
dimensions, the size of the Lance table's own vector column), ``columns.arrow`` (every other column
in row order, an Arrow IPC file in batches of ``BUILD_BATCH`` rows: about the size of the Lance
table's other columns) and ``graph.json`` (the version, the rows, the settings). A graph's keys are
the row offsets of that version, so it is only ever used with the version it was built from; a
search of any other version (a write since, a pin to an older one) goes through LanceDB's index.
The files are memory-mapped: the operating system's page cache holds them once for every process.

**Searching.** ``k * CANDIDATES`` candidates from the 8-bit graph (``EXPANSION_SEARCH`` wide),
scored exactly on their full vectors from the memory-mapped copy (cosine, as every search reports
it), and the best ``k`` rows' columns sliced from the memory-mapped column copy (about 0.03 ms).
Reading the 50 candidates' vectors back from Lance instead cost about 2 ms at 1,000,000 rows, four
times the graph search, and a half-precision copy (half the disk) lost recall near the k-th row or
needed twice the rows read back; reading the 10 best rows' eight columns back from Lance by offset
cost 2.8 ms (0.35 ms a column, lance 14), four times the graph search again. A graph written
before the column copy existed reads them from Lance.

**Lifecycle** (:func:`ensure_graph`, called by ``VectorStore.ensure_vector_index`` after every
sync): built from scratch for a new version when the table has the rows (about 4 minutes at
1,000,000 rows on two cores); graphs of older versions are removed, except the
``GRAPHS_KEPT`` newest (the published version a reader may be pinned to). ``semantic forget``
removes every graph of a table (their vectors hold erased texts' embeddings) and builds one for the
purged version. Not rebuilt incrementally: a build that changes 1 % of a 1,000,000-row table pays
the full graph build (see docs/limits.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from semantic.encoding.backends import available_cores

logger = logging.getLogger("semantic")

GRAPH_DIR = "_graph"
GRAPH_FILE = "graph.usearch"
VECTORS_FILE = "vectors.f32.npy"
COLUMNS_FILE = "columns.arrow"
MANIFEST = "graph.json"
GRAPH_MIN_ROWS = 100_000
"""Rows from which a table gets a graph (dbt var ``graph_index_min_rows``): below it LanceDB's own index
answers in a few milliseconds and a graph is not worth its build."""
GRAPHS_KEPT = 2
"""Graphs kept per table: the latest version's and the one before (what a pinned reader may still read)."""
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 200
CANDIDATES = 5
"""Candidates scored exactly per result row (k * 5): the 8-bit graph's own order loses recall, the exact re-score
does not (recall@10 0.98-1.00 at 200,000 rows against 0.88 without it)."""
BUILD_BATCH = 65_536


@dataclass(frozen=True)
class GraphRun:
    """What one :func:`ensure_graph` call did.

    Attributes:
        table: The LanceDB table name.
        action: ``none`` (below ``graph_min_rows``, or switched off), ``current`` (the version has its graph) or
            ``built``.
        version: The LanceDB version the graph belongs to.
        rows: Rows of that version.
        seconds: Build time.
        removed: Graphs of older versions removed.
    """

    table: str
    action: str
    version: int
    rows: int
    seconds: float
    removed: int


def import_usearch() -> Any:
    try:
        from usearch.index import Index
    except ImportError as e:  # pragma: no cover - a pinned dependency
        raise ImportError("the graph index needs the usearch package: run `make install`") from e
    return Index


def graph_root(lance_dir: Path | str, table: str) -> Path:
    """The folder holding a table's graphs, one sub-folder per LanceDB version."""
    return Path(lance_dir) / GRAPH_DIR / table


def graph_folder(lance_dir: Path | str, table: str, version: int) -> Path:
    """The folder of one version's graph."""
    return graph_root(lance_dir, table) / f"v{int(version)}"


def versions_with_graph(lance_dir: Path | str, table: str) -> list[int]:
    """The LanceDB versions of ``table`` with a complete graph, oldest first."""
    root = graph_root(lance_dir, table)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.name.startswith("v") and path.name[1:].isdigit() and (path / MANIFEST).is_file():
            found.append(int(path.name[1:]))
    return sorted(found)


def build_graph(dataset: Any, folder: Path) -> float:
    """Build the graph of one Lance dataset version into ``folder`` (written aside, then renamed into place).

    Returns:
        Seconds taken.
    """
    Index = import_usearch()
    started = time.monotonic()
    dim = dataset.schema.field("vector").type.list_size
    rows = int(dataset.count_rows())
    graph = Index(ndim=dim, metric="ip", dtype="i8", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD,
                  expansion_search=EXPANSION_SEARCH)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        full = np.lib.format.open_memmap(tmp / VECTORS_FILE, mode="w+", dtype=np.float32, shape=(rows, dim))
        others = [name for name in dataset.schema.names if name != "vector"]
        offset = 0
        with pa.OSFile(str(tmp / COLUMNS_FILE), "wb") as sink, \
                ipc.new_file(sink, pa.schema([dataset.schema.field(n) for n in others])) as writer:
            # offset order; exactly BUILD_BATCH rows a batch (the last fewer), so row r is in batch r // BUILD_BATCH
            for batch in _fixed_batches(dataset.to_batches(columns=["vector", *others], batch_size=BUILD_BATCH)):
                vectors = batch.column(0).flatten().to_numpy(zero_copy_only=False).reshape(-1, dim).astype(np.float32)
                graph.add(np.arange(offset, offset + len(vectors), dtype=np.uint64), vectors,
                          threads=available_cores())
                full[offset : offset + len(vectors)] = vectors
                writer.write_batch(pa.RecordBatch.from_arrays(batch.columns[1:], names=others))
                offset += len(vectors)
        if offset != rows:
            raise RuntimeError(f"read {offset} vectors from a version of {rows} rows")
        full.flush()
        del full
        graph.save(str(tmp / GRAPH_FILE))
        seconds = time.monotonic() - started
        (tmp / MANIFEST).write_text(json.dumps({
            "version": int(dataset.version), "rows": offset, "dim": dim, "dtype": "i8", "metric": "ip",
            "connectivity": CONNECTIVITY, "expansion_add": EXPANSION_ADD, "seconds": round(seconds, 2),
        }, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return seconds


def _fixed_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches`` again, in batches of exactly ``BUILD_BATCH`` rows (the last one fewer): Lance's
    ``batch_size`` is an upper bound, a fragment boundary ends a batch early."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        while len(batch):
            part = batch.slice(0, BUILD_BATCH - held)
            batch = batch.slice(len(part))
            pending.append(part)
            held += len(part)
            if held == BUILD_BATCH:
                yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
                pending, held = [], 0
    if held:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


def remove_graphs(lance_dir: Path | str, table: str, keep: int = 0) -> int:
    """Remove a table's graphs but the ``keep`` newest (and any half-written ones); return how many went."""
    root = graph_root(lance_dir, table)
    if not root.is_dir():
        return 0
    versions = versions_with_graph(lance_dir, table)
    doomed = versions[: max(0, len(versions) - keep)]
    for version in doomed:
        shutil.rmtree(graph_folder(lance_dir, table, version), ignore_errors=True)
    for path in root.iterdir():
        if path.name.startswith(".") or (path.is_dir() and not (path / MANIFEST).is_file()):
            shutil.rmtree(path, ignore_errors=True)
    if keep == 0:
        shutil.rmtree(root, ignore_errors=True)
    return len(doomed)


def ensure_graph(lance_dir: Path | str, table: str, dataset: Any, min_rows: int | None) -> GraphRun:
    """Give the dataset's (latest) version its graph when it has ``min_rows`` rows; prune older graphs.

    Below ``min_rows`` (or with None) every graph of the table is removed: searches go through LanceDB. A graph
    of the version that does not open (a damaged file) is built again: searches would pass it by, slower.
    """
    version = int(dataset.version)
    if min_rows is None:
        return GraphRun(table, "none", version, 0, 0.0, remove_graphs(lance_dir, table))
    rows = int(dataset.count_rows())
    if rows < min_rows:
        return GraphRun(table, "none", version, rows, 0.0, remove_graphs(lance_dir, table))
    if version in versions_with_graph(lance_dir, table):
        if open_graph(lance_dir, table, version) is not None:
            return GraphRun(table, "current", version, rows, 0.0, remove_graphs(lance_dir, table, GRAPHS_KEPT))
        logger.warning("%s: building the graph of version %d again", table, version)
    seconds = build_graph(dataset, graph_folder(lance_dir, table, version))
    removed = remove_graphs(lance_dir, table, GRAPHS_KEPT)
    logger.info("%s: HNSW graph of version %d built in %.1f s (%d rows)", table, version, seconds, rows)
    return GraphRun(table, "built", version, rows, seconds, removed)


class Graph:
    """One version's graph, memory-mapped (pages are read on demand and shared between processes)."""

    def __init__(self, folder: Path) -> None:
        Index = import_usearch()
        self.manifest = json.loads((folder / MANIFEST).read_text())
        self.version = int(self.manifest["version"])
        self.rows = int(self.manifest["rows"])
        self.index = Index.restore(str(folder / GRAPH_FILE), view=True)
        self.index.expansion_search = EXPANSION_SEARCH
        self.vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
        if self.vectors.shape[0] != self.rows:
            raise ValueError(f"{VECTORS_FILE} holds {self.vectors.shape[0]} rows, the graph {self.rows}")
        self.batches: list[pa.RecordBatch] | None = None  # the other columns; None: read them from Lance
        if (folder / COLUMNS_FILE).is_file():
            reader = ipc.open_file(pa.memory_map(str(folder / COLUMNS_FILE)))
            self.batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
            if sum(len(b) for b in self.batches) != self.rows or any(
                    len(b) != BUILD_BATCH for b in self.batches[:-1]):
                raise ValueError(f"{COLUMNS_FILE} does not hold the graph's {self.rows} rows "
                                 f"in batches of {BUILD_BATCH}")
            self.columns = tuple(reader.schema.names)

    def rows_at(self, offsets: np.ndarray, columns: Sequence[str]) -> pa.Table | None:
        """The ``columns`` of the rows at ``offsets`` (in that order) from the column copy; None when the graph has
        no copy or lacks one of the columns (the caller reads them from Lance)."""
        if self.batches is None or any(c not in self.columns for c in columns):
            return None
        parts = [self.batches[int(o) // BUILD_BATCH].slice(int(o) % BUILD_BATCH, 1).select(list(columns))
                 for o in offsets]
        if not parts:
            schema = self.batches[0].schema if self.batches else None
            return pa.schema([schema.field(c) for c in columns]).empty_table() if schema is not None else None
        return pa.Table.from_batches(parts).combine_chunks()

    def nearest(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(row offsets, cosine) of the ``k`` nearest rows, best first: the graph's ``k * CANDIDATES`` candidates
        scored exactly on their full vectors."""
        query = np.asarray(vector, dtype=np.float32)
        wanted = min(self.rows, k * CANDIDATES)
        self.index.expansion_search = max(EXPANSION_SEARCH, wanted)
        found = np.sort(np.asarray(self.index.search(query, wanted).keys, dtype=np.int64))
        scores = self.vectors[found] @ query
        best = np.argsort(-scores, kind="stable")[:k]
        return found[best], scores[best]


def open_graph(lance_dir: Path | str, table: str, version: int) -> Graph | None:
    """The graph of exactly this version of the table, or None (no graph, or an unreadable one: logged)."""
    folder = graph_folder(lance_dir, table, version)
    if not (folder / MANIFEST).is_file():
        return None
    try:
        graph = Graph(folder)
    except Exception as e:  # noqa: BLE001 - an unreadable graph costs speed, never answers
        logger.warning("%s: the graph of version %d is unreadable (%s); searching through LanceDB's index",
                       table, version, e)
        return None
    return graph if graph.version == int(version) else None
