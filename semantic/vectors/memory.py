"""Give memory that earlier steps of a long dbt build freed back to the operating system.

A `dbt build` runs every Python model in one process. Arrow's allocator (mimalloc) and glibc's heap
keep what a model freed for reuse, so the resident size of the process only grows: at 100,000
assets the embedding models' chunks were still counted while the neighbour and cluster models ran.
The heavy steps (the embedding sync, neighbours, clusters, brief matches, the pair decision) call
:func:`release_freed_memory` before they allocate, the Python models among them first drop DuckDB's cached
table blocks (:func:`release_duckdb_cache`), and a `dbt` command's own process calls
:func:`return_large_blocks` once: glibc then serves every block of 128 KiB or more (NumPy arrays, Arrow
buffers outside its pool) from its own mapping, given back the moment it is freed, instead of raising
that threshold as it goes and keeping such blocks in the heap, where a small block still in use pins
the pages around it. At 100,000 assets a 1 %-changed build peaked at 3,183 MiB with it against 3,482
without (benchmarks/build_cost.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any

import pyarrow as pa


@lru_cache(maxsize=1)
def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024
ARENAS = 2


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold at 128 KiB (it otherwise grows up to 32 MiB as large blocks are freed) and cap
    its arenas at two (one per thread by default, each keeping its own freed memory). False where the C library
    has no ``mallopt`` (not glibc): nothing changes there."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_ARENA_MAX, ARENAS))


DUCKDB_FLOOR = "64MB"
_DUCKDB_LIMITS: dict[str, str] = {}
_configured_limit: str | None = None


def remember_duckdb_limit(value: str | None) -> None:
    """The ``memory_limit`` the profile sets (the dbt plugin passes it): what :func:`release_duckdb_cache` restores.
    DuckDB only prints a limit rounded (2GB reads back as ``1.8 GiB``), so setting back what it prints would lower
    it."""
    global _configured_limit
    _configured_limit = str(value).strip() if value not in (None, "") else None


def release_duckdb_cache(con: Any, floor: str = DUCKDB_FLOOR) -> bool:
    """Have DuckDB drop the table blocks it keeps cached, by lowering its ``memory_limit`` to ``floor`` for a moment
    and setting it back.

    A build writes and reads the mirror tables' vectors through one DuckDB database, whose buffer pool keeps those
    blocks up to its ``memory_limit`` (1GB in the profile) while the Python models that follow hold their own
    arrays: at 100,000 assets about 950 MB of the build's resident memory was DuckDB's cache. Dropped blocks are
    read again from the file when a query needs them. The limit set back is the profile's
    (:func:`remember_duckdb_limit`), else what DuckDB printed the first time this process saw the database (so a
    rounded limit is never rounded again). False, and nothing changed, where the connection cannot say its limit;
    a floor DuckDB cannot reach leaves the cache as it is.
    """
    try:
        path = con.execute("select coalesce(max(path), '') from duckdb_databases() "
                           "where database_name = current_database()").fetchone()[0]
        current = con.execute("select current_setting('memory_limit')").fetchone()[0]
    except Exception:  # noqa: BLE001 - not a DuckDB connection we can ask: leave it be
        return False
    original = _configured_limit or _DUCKDB_LIMITS.setdefault(str(path), str(current))
    try:
        con.execute(f"SET memory_limit = '{floor}'")
    except Exception:  # noqa: BLE001 - more is pinned than the floor: the cache stays
        return False
    finally:
        con.execute(f"SET memory_limit = '{original}'")
    return True


def release_freed_memory() -> None:
    """Return freed pages of Arrow's memory pool and of the C heap (glibc ``malloc_trim``) to the OS.

    Memory still in use is untouched; on a C library without ``malloc_trim`` only Arrow's pool is
    released.
    """
    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
