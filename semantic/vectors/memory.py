"""Give memory that earlier steps of a long dbt build freed back to the operating system.

A `dbt build` runs every Python model in one process. Arrow's allocator (mimalloc) and glibc's heap
keep what a model freed for reuse, so the resident size of the process only grows: at 100,000
assets the embedding models' chunks were still counted while the neighbour and cluster models ran.
The heavy steps (the embedding sync, neighbours, clusters, brief matches) call
:func:`release_freed_memory` before they allocate.
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


def release_freed_memory() -> None:
    """Return freed pages of Arrow's memory pool and of the C heap (glibc ``malloc_trim``) to the OS.

    Memory still in use is untouched; on a C library without ``malloc_trim`` only Arrow's pool is
    released.
    """
    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
