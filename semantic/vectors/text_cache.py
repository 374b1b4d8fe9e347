"""Vectors by (model version, text): a text embedded anywhere is never encoded again for that model version.

Campaign copy repeats itself: calls to action, legal lines and hashtags in many assets, a one-sentence
asset that is also its own sentence unit, a claim in a brief and in an asset, the texts of the labelled
pairs that are also assets. Every vector table keeps its own rows, but the encoder runs once per
distinct text: :meth:`semantic.vectors.store.VectorStore.sync` looks up the distinct texts it must
embed here, encodes only the ones missing, and adds them once its own table has committed.

Layout: ``<lance_dir>/_text_cache/<model version>.lance``, one Lance dataset per model version with
two columns, ``text_hash`` (md5 hex of the exact text the encoder saw) and ``vector``. A new model
version starts an empty dataset; :func:`prune` keeps the :data:`VERSIONS_KEPT` most recently used
(the active one and the one a rollback returns to). The cache holds no text and no id; ``semantic
forget`` removes the hashes of the texts it erases (:func:`erase`). Being a cache, losing it costs
only time: a dataset that cannot be read is set aside and the sync encodes as if it were empty.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger("semantic")

#: The cache's folder inside the LanceDB folder (not a ``*.lance`` table of it).
CACHE_DIR = "_text_cache"
#: The cache's key column: md5 hex of the exact text embedded.
HASH = "text_hash"
#: Model versions whose cache is kept, most recently used first.
VERSIONS_KEPT = 2
#: Environment variable that switches the cache off (``0``, ``off``, ``false``): every text is encoded.
ENV_SWITCH = "SEMANTIC_TEXT_CACHE"
_USED_SUFFIX = ".used"
_ERASE_CHUNK = 500


def enabled() -> bool:
    """Whether syncs use the cache (``$SEMANTIC_TEXT_CACHE`` is not ``0``, ``off``, ``false`` or ``no``)."""
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in ("0", "off", "false", "no")


def text_hashes(texts: Iterable[str | None]) -> pa.Array:
    """md5 hex of each text (NULL stays NULL): the cache key, the same as the dbt macro ``content_hash``."""
    return pa.array([hashlib.md5(t.encode("utf-8")).hexdigest() if t is not None else None for t in texts],
                    type=pa.string())


def cache_folder(lance_dir: Path | str) -> Path:
    """The cache's folder for a LanceDB folder."""
    return Path(lance_dir) / CACHE_DIR


def _safe_name(model_version: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_version)


class TextVectorCache:
    """One model version's cached vectors: look texts up, hold new ones, add them in one commit.

    Args:
        lance_dir: The LanceDB folder the cache lives in.
        model_version: The encoder version the vectors belong to.
        dim: The vectors' dimension.
    """

    def __init__(self, lance_dir: Path | str, model_version: str, dim: int) -> None:
        self.folder = cache_folder(lance_dir)
        self.model_version = model_version
        self.dim = dim
        self.path = self.folder / f"{_safe_name(model_version)}.lance"
        self._keys: pa.Array | None = None
        self._dataset: Any = None
        self._pending: Path | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._sink: Any = None
        self.added = 0

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(HASH, pa.string()), pa.field("vector", pa.list_(pa.float32(), self.dim))])

    def _load(self) -> pa.Array:
        """The cached hashes in row order (read once; positions index :meth:`vectors`)."""
        if self._keys is None:
            self._keys = pa.array([], pa.string())
            if self._created():
                import lance

                try:
                    ds = lance.dataset(str(self.path))
                    if ds.schema.field("vector").type != self.schema.field("vector").type:
                        raise ValueError(f"vectors of type {ds.schema.field('vector').type}, not {self.dim}-d")
                    self._keys = ds.to_table(columns=[HASH]).column(HASH).combine_chunks()
                    self._dataset = ds
                except Exception as e:  # a cache only costs time: set it aside and start afresh
                    aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
                    logger.warning("text cache %s could not be read (%s); moved to %s, texts are encoded afresh",
                                   self.path, e, aside.name)
                    shutil.move(str(self.path), str(aside))
        return self._keys

    def _created(self) -> bool:
        """Whether the cache's dataset has a committed version. Another thread's or process's first commit creates
        ``_versions`` a moment before its manifest: read then, the dataset looked unreadable and was set aside,
        vectors and all, while that commit was landing."""
        versions = self.path / "_versions"
        return versions.is_dir() and any(versions.glob("*.manifest"))

    def __len__(self) -> int:
        return len(self._load())

    def lookup(self, hashes: pa.Array) -> np.ndarray:
        """Each hash's row in the cache, -1 where it is not cached."""
        keys = self._load()
        if not len(keys) or not len(hashes):
            return np.full(len(hashes), -1, dtype=np.int64)
        found = pc.index_in(hashes, value_set=keys)
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        """The cached vectors at ``positions`` (rows from :meth:`lookup`), as float32 ``(n, dim)``."""
        if not len(positions):
            return np.empty((0, self.dim), dtype=np.float32)
        order = np.argsort(positions, kind="stable")  # Lance takes sorted row offsets fastest
        taken = self._dataset.take(positions[order].tolist(), columns=["vector"]).column("vector")
        flat = taken.combine_chunks().values.to_numpy(zero_copy_only=False)
        out = np.empty((len(positions), self.dim), dtype=np.float32)
        out[order] = flat.reshape(-1, self.dim)
        return out

    def hold(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Keep newly encoded vectors for :meth:`commit` (spilled to a file, so memory stays one chunk)."""
        if not len(hashes):
            return
        if self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".pending-", suffix=".arrow", dir=self.folder)
            os.close(fd)
            self._pending = Path(name)
            self._sink = pa.OSFile(name, "wb")
            self._writer = pa.ipc.new_file(self._sink, self.schema)
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), type=pa.float32())
        batch = pa.record_batch([pa.array(list(hashes), pa.string()),
                                 pa.FixedSizeListArray.from_arrays(flat, self.dim)], schema=self.schema)
        self._writer.write_batch(batch)
        self.added += len(hashes)

    def commit(self) -> int:
        """Add the held vectors to the cache in one Lance commit; returns how many were added."""
        if self._writer is None or self._pending is None:
            self.touch()
            return 0
        import lance

        self._writer.close()
        self._sink.close()

        def write(mode: str) -> None:
            with pa.memory_map(str(self._pending)) as source:
                reader = pa.ipc.open_file(source)
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
                data = pa.RecordBatchReader.from_batches(self.schema, batches)
                lance.write_dataset(data, str(self.path), schema=self.schema, mode=mode)

        try:
            try:
                write("append" if self._created() else "create")
            except Exception:
                if not (self.path / "_versions").is_dir():
                    raise
                write("append")  # another thread created it meanwhile (dbt with threads > 1)
        except Exception as e:  # a cache only costs time: the sync it serves has committed
            logger.warning("text cache %s: could not add %d vectors (%s); they are encoded again when next needed",
                           self.path.name, self.added, e)
            self.added = 0
        finally:
            self.discard()
        self.touch()
        self._keys = None  # the next lookup reads the new rows too
        return self.added

    def discard(self) -> None:
        """Drop held vectors (a sync that failed adds nothing)."""
        if self._writer is not None:
            try:
                self._writer.close()
                self._sink.close()
            except Exception:  # noqa: S110 - already closed by commit
                pass
        if self._pending is not None:
            self._pending.unlink(missing_ok=True)
        self._writer = self._sink = self._pending = None

    def touch(self) -> None:
        """Note that this version's cache was used (what :func:`prune` keeps by)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path.with_name(self.path.name + _USED_SUFFIX).touch()


def cached_versions(lance_dir: Path | str) -> list[Path]:
    """Every model version's cache dataset, most recently used first."""
    folder = cache_folder(lance_dir)
    if not folder.is_dir():
        return []

    def used(path: Path) -> float:
        marker = path.with_name(path.name + _USED_SUFFIX)
        return marker.stat().st_mtime if marker.exists() else path.stat().st_mtime

    return sorted((p for p in folder.iterdir() if p.is_dir() and p.name.endswith(".lance")), key=used, reverse=True)


def prune(lance_dir: Path | str, keep: int = VERSIONS_KEPT) -> list[str]:
    """Delete the caches of all but the ``keep`` most recently used model versions; returns the ones deleted."""
    folder = cache_folder(lance_dir)
    gone = []
    for path in cached_versions(lance_dir)[keep:]:
        shutil.rmtree(path, ignore_errors=True)
        path.with_name(path.name + _USED_SUFFIX).unlink(missing_ok=True)
        gone.append(path.name.removesuffix(".lance"))
    if folder.is_dir():  # set-aside unreadable caches and pending files of killed syncs
        for stale in folder.iterdir():
            if ".unreadable-" in stale.name or (stale.name.startswith(".pending-")
                                                 and time.time() - stale.stat().st_mtime > 3600):
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    if gone:
        logger.info("text cache: dropped the vectors of model version(s) %s", ", ".join(gone))
    return gone


def drop_model(lance_dir: Path | str, model_name: str) -> list[str]:
    """Delete the cache of a deleted model: its version is ``<model_name>-<hash of its files>``.

    Returns:
        The model versions whose cache was deleted.
    """
    prefix = _safe_name(model_name) + "-"
    gone = []
    for path in cached_versions(lance_dir):
        if path.name.startswith(prefix):
            shutil.rmtree(path, ignore_errors=True)
            path.with_name(path.name + _USED_SUFFIX).unlink(missing_ok=True)
            gone.append(path.name.removesuffix(".lance"))
    return gone


def erase(lance_dir: Path | str, texts: Iterable[str]) -> int:
    """Remove the vectors of ``texts`` from every version's cache, from every stored version of it.

    Returns:
        The number of cached vectors removed.
    """
    from semantic.vectors.retention import purge

    hashes = sorted({h for h in text_hashes(texts).to_pylist() if h is not None})
    removed = 0
    for path in cached_versions(lance_dir):
        import lance

        ds = lance.dataset(str(path))
        before = ds.count_rows()
        for start in range(0, len(hashes), _ERASE_CHUNK):
            part = hashes[start : start + _ERASE_CHUNK]
            ds.delete(f"{HASH} IN ({', '.join(repr(h) for h in part)})")  # md5 hex: no quote to escape
        after = lance.dataset(str(path)).count_rows()
        if after < before:
            removed += before - after
            purge(path, text_column=HASH)
    return removed
