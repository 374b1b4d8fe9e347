"""Where the distributed job's stages run: Ray Data (Moritz et al., 2018; ``ray.data``) or this process.

:func:`run_engine` yields a runner with the same methods either way: read the source's keys and
schema, embed and write fragments (:class:`FragmentWriter`, one model load per Ray actor), write
deletion files (:func:`delete_from_fragment`), and run any function over a list of argument
tuples as tasks (the near-duplicate candidates' partitions). ``local`` runs them in this process,
in order; ``ray`` on a local cluster or the one at ``$RAY_ADDRESS``.
"""

from __future__ import annotations

import math
import os
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from semantic.errors import SemanticConfigError, SemanticError
from semantic.scaleout.object_storage import arrow_filesystem, storage_options
from semantic.vectors.embedding import CONTENT_HASH, BatchEncoder, embed_batch
from semantic.vectors.store import sql_literal
from semantic.vectors.sync_plan import prepare_rows, source_keys

ENGINES = ("ray", "local")
ROWS_PER_FRAGMENT = 100_000
"""Most rows one embedding call takes and writes as one Lance fragment."""


class FragmentWriter:
    """Embeds batches and writes each as new fragment files of a Lance table (uncommitted).

    A Ray Data actor class: constructed once per worker, so the model is loaded once per worker.

    Args:
        uri: The Lance table.
        schema: The table's schema (every worker writes exactly this).
        text_column: The column to embed.
        model_dir: The model directory; the encoder comes from ``load_encoder(model_dir, batch_size)``.
        batch_size: Texts per forward pass.
        encoder: An encoder to use instead (the local engine, tests).
        core_slots: A Ray actor handing out CPU cores per node, to pin this worker to ``cpus`` of them.
        cpus: Cores this worker may use (its encoder threads).
    """

    def __init__(
        self,
        uri: str,
        schema: pa.Schema,
        text_column: str,
        model_dir: str | None = None,
        batch_size: int = 64,
        encoder: BatchEncoder | None = None,
        core_slots: Any = None,
        cpus: int = 1,
    ) -> None:
        if core_slots is not None:
            _pin_cores(core_slots, cpus)
        if encoder is None:
            from semantic.encoding.encoder import load_encoder

            assert model_dir is not None, "FragmentWriter needs a model_dir or an encoder"
            encoder = load_encoder(model_dir, batch_size)
        self.encoder = encoder
        self.uri = uri
        self.schema = schema
        self.text_column = text_column

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Embed ``batch``, write it as fragment files; return one row per fragment (pickled metadata, rows)."""
        from lance.fragment import write_fragments

        if batch.num_rows == 0:
            return pa.table({"fragment": pa.array([], pa.binary()), "rows": pa.array([], pa.int64())})
        embedded = embed_batch(batch, self.encoder, self.text_column).select(self.schema.names).cast(self.schema)
        fragments = write_fragments(embedded, self.uri, schema=self.schema, max_rows_per_file=ROWS_PER_FRAGMENT,
                                    storage_options=storage_options(self.uri))
        return pa.table({
            "fragment": pa.array([pickle.dumps(f) for f in fragments], pa.binary()),
            "rows": pa.array([f.physical_rows for f in fragments], pa.int64()),
        })


def delete_from_fragment(uri: str, version: int, fragment_id: int, id_column: str, ids: Sequence[str]) -> bytes:
    """Write a deletion file for ``ids`` in one fragment (uncommitted); pickled metadata, or None if emptied."""
    import lance

    ds = lance.dataset(uri, version=version, storage_options=storage_options(uri))
    fragment = ds.get_fragment(fragment_id)
    if fragment is None:
        raise SemanticError(f"{uri} has no fragment {fragment_id} at version {version}; run the job again")
    meta = fragment.delete(f"{id_column} IN ({', '.join(sql_literal(str(i)) for i in ids)})")
    return pickle.dumps(meta)


class _Local:
    """The stages in this process (no Ray)."""

    def __init__(self) -> None:
        self.workers = 1

    @staticmethod
    def _dataset(source: str) -> Any:
        import pyarrow.dataset as pds

        fs, path = arrow_filesystem(source)
        return pds.dataset(path, filesystem=fs, format="parquet")

    def source_schema(self, source: str, text_column: str) -> pa.Schema:
        schema = self._dataset(source).schema
        return schema if CONTENT_HASH in schema.names else schema.append(pa.field(CONTENT_HASH, pa.string()))

    def source_columns(self, source: str, text_column: str) -> list[str]:
        return self.source_schema(source, text_column).names

    def keys(self, source: str, id_column: str, text_column: str) -> pa.Table:
        data = self._dataset(source)
        cols = [c for c in (id_column, text_column, CONTENT_HASH) if c in data.schema.names]
        return source_keys(data.to_table(columns=cols), id_column, text_column)

    def embed(self, source: str, uri: str, schema: pa.Schema, columns: list[str], todo: pa.Array | None,
              n_todo: int, id_column: str, text_column: str, model_dir: str | None, batch_size: int,
              encoder: BatchEncoder | None) -> tuple[list[Any], int]:
        writer = FragmentWriter(uri, schema, text_column, model_dir, batch_size, encoder=encoder)
        out: list[Any] = []
        rows = 0
        for batch in _rebatch(self._dataset(source).to_batches(), id_column, text_column, todo, columns):
            written = writer(batch)
            out += [pickle.loads(b) for b in written.column("fragment").to_pylist()]
            rows += int(pc.sum(written.column("rows")).as_py() or 0)
        return out, rows

    def deletes(self, uri: str, version: int, deletes: dict[int, list[str]], id_column: str) -> list[tuple[int, Any]]:
        return [(fid, pickle.loads(delete_from_fragment(uri, version, fid, id_column, ids)))
                for fid, ids in sorted(deletes.items())]

    def tasks(self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], cpus: int = 1) -> list[Any]:
        """``fn(*args)`` for each argument tuple, in order, in this process."""
        return [fn(*args) for args in calls]


def _rebatch(batches: Iterator[pa.RecordBatch], id_column: str, text_column: str, todo: pa.Array | None,
             columns: list[str]) -> Iterator[pa.Table]:
    pending: list[pa.Table] = []
    n = 0
    for batch in batches:
        part = prepare_rows(pa.Table.from_batches([batch]), id_column, text_column, todo, columns)
        pending.append(part)
        n += part.num_rows
        if n >= ROWS_PER_FRAGMENT:
            yield pa.concat_tables(pending)
            pending, n = [], 0
    if n:
        yield pa.concat_tables(pending)


class _Ray:
    """The stages on Ray Data: reads and deletions as tasks, embedding on a pool of actors."""

    def __init__(self, workers: int, cpus_per_worker: int) -> None:
        import ray

        self.ray = ray
        self.workers = workers
        self.cpus = cpus_per_worker
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False

    def _read(self, source: str, columns: list[str] | None = None, blocks: int | None = None) -> Any:
        fs, path = arrow_filesystem(source)
        return self.ray.data.read_parquet(path, filesystem=fs, columns=columns, override_num_blocks=blocks,
                                          num_cpus=0.25)

    def source_schema(self, source: str, text_column: str) -> pa.Schema:
        return _Local().source_schema(source, text_column)

    def source_columns(self, source: str, text_column: str) -> list[str]:
        return self.source_schema(source, text_column).names

    def keys(self, source: str, id_column: str, text_column: str) -> pa.Table:
        names = _Local._dataset(source).schema.names
        cols = [c for c in (id_column, text_column, CONTENT_HASH) if c in names]
        ds = self._read(source, cols, blocks=self.workers * 2).map_batches(
            source_keys, fn_kwargs={"id_column": id_column, "text_column": text_column}, batch_format="pyarrow",
            num_cpus=0.25,
        )
        parts = self.ray.get(ds.to_arrow_refs())
        return pa.concat_tables(parts) if parts else source_keys(pa.table({id_column: [], text_column: []}),
                                                                  id_column, text_column)

    def embed(self, source: str, uri: str, schema: pa.Schema, columns: list[str], todo: pa.Array | None,
              n_todo: int, id_column: str, text_column: str, model_dir: str | None, batch_size: int,
              encoder: BatchEncoder | None) -> tuple[list[Any], int]:
        ray = self.ray
        per_call = max(1, min(ROWS_PER_FRAGMENT, math.ceil(n_todo / self.workers)))
        todo_ref = [ray.put(todo)] if todo is not None else None
        slots = _core_slots(ray)
        ds = (
            self._read(source, blocks=max(self.workers * 2, math.ceil(n_todo / per_call)))
            .map_batches(_prepare_remote, fn_kwargs={"id_column": id_column, "text_column": text_column,
                                                     "todo_ref": todo_ref, "columns": columns},
                         batch_format="pyarrow", num_cpus=0.25)
            # streaming: blocks of at most per_call rows, so every worker gets a share of a single file
            .repartition(target_num_rows_per_block=per_call)
            .map_batches(FragmentWriter, batch_size=per_call, batch_format="pyarrow",
                         compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=self.cpus,
                         fn_constructor_kwargs={
                             "uri": uri, "schema": schema, "text_column": text_column, "model_dir": model_dir,
                             "batch_size": batch_size, "core_slots": slots, "cpus": self.cpus})
        )
        try:
            parts = ray.get(ds.to_arrow_refs())
        finally:
            ray.kill(slots)
        written = pa.concat_tables(parts) if parts else None
        if written is None or written.num_rows == 0:
            return [], 0
        return ([pickle.loads(b) for b in written.column("fragment").to_pylist()],
                int(pc.sum(written.column("rows")).as_py() or 0))

    def deletes(self, uri: str, version: int, deletes: dict[int, list[str]], id_column: str) -> list[tuple[int, Any]]:
        task = self.ray.remote(num_cpus=0.25)(delete_from_fragment)
        fids = sorted(deletes)
        metas = self.ray.get([task.remote(uri, version, fid, id_column, deletes[fid]) for fid in fids])
        return [(fid, pickle.loads(m)) for fid, m in zip(fids, metas)]

    def tasks(self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], cpus: int = 1) -> list[Any]:
        """``fn(*args)`` for each argument tuple as Ray tasks of ``cpus`` cores; the results in order."""
        task = self.ray.remote(num_cpus=cpus)(fn)
        return list(self.ray.get([task.remote(*args) for args in calls]))


def _prepare_remote(batch: pa.Table, id_column: str, text_column: str, todo_ref: list[Any] | None,
                    columns: list[str]) -> pa.Table:
    todo = None
    if todo_ref is not None:
        import ray

        todo = ray.get(todo_ref[0])
    return prepare_rows(batch, id_column, text_column, todo, columns)


def _core_slots(ray: Any) -> Any:
    """A Ray actor that hands each embedding worker its own cores on its node (see :func:`_pin_cores`)."""

    @ray.remote(num_cpus=0)
    class CoreSlots:
        def __init__(self) -> None:
            self.taken: dict[str, int] = defaultdict(int)

        def claim(self, node: str, n: int) -> int:
            start = self.taken[node]
            self.taken[node] += n
            return start

    return CoreSlots.remote()  # type: ignore[attr-defined]


def _pin_cores(core_slots: Any, cpus: int) -> None:
    """Pin this worker process to ``cpus`` cores not claimed by another worker on its node.

    The encoder sizes its thread pool from the process's CPU affinity, so two workers on one node
    run side by side instead of each spreading over every core. A worker that finds no free cores
    (more workers than cores) keeps the whole machine.
    """
    import ray

    cores = sorted(os.sched_getaffinity(0))
    node = ray.get_runtime_context().get_node_id()
    start = ray.get(core_slots.claim.remote(node, cpus))
    if start + cpus <= len(cores) and cpus < len(cores):
        os.sched_setaffinity(0, cores[start : start + cpus])


@contextmanager
def run_engine(engine: str, workers: int, cpus_per_worker: int, address: str | None) -> Iterator[Any]:
    """The runner of the job's stages: this process (``local``) or Ray (``ray``).

    Args:
        engine: ``ray`` or ``local``.
        workers: Ray workers the stages are sized for.
        cpus_per_worker: Cores per worker.
        address: A running Ray cluster; None: ``$RAY_ADDRESS``, else a local cluster started (and
            shut down) here. A Ray already initialised in this process is used as it is.

    Raises:
        SemanticConfigError: Ray is not installed.
    """
    if engine == "local":
        yield _Local()
        return
    try:
        import ray
    except ImportError as e:  # pragma: no cover - ray is pinned in requirements.lock
        raise SemanticConfigError("engine 'ray' needs Ray: `pip install 'ray[data]==2.60.0'`") from e
    started_here = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, include_dashboard=False, configure_logging=False, log_to_driver=False)
        else:
            # a local cluster: one slot per worker core, one more for reads, deletions and the plan
            ray.init(num_cpus=workers * cpus_per_worker + 1, object_store_memory=256 * 1024**2,
                     include_dashboard=False, configure_logging=False, log_to_driver=False)
        started_here = True
    try:
        yield _Ray(workers, cpus_per_worker)
    finally:
        if started_here:
            ray.shutdown()


def open_existing(uri: str, opts: dict[str, str]) -> Any:
    """The table at ``uri``, or None when there is none yet (any other failure to open it is raised)."""
    import lance

    try:
        return lance.dataset(uri, storage_options=opts)
    except (ValueError, OSError) as e:
        if "not found" in str(e).lower():
            return None
        raise SemanticError(
            f"cannot open the Lance table {uri} ({e}); check the URI, the credentials in the environment "
            "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and SEMANTIC_S3_ENDPOINT"
        ) from e


def check_engine(engine: str, workers: int, cpus_per_worker: int) -> None:
    """Refuse an unknown engine or a worker count that is not a positive integer.

    Raises:
        SemanticConfigError: Naming the argument and what is accepted.
    """
    if engine not in ENGINES:
        raise SemanticConfigError(f"engine {engine!r} is not supported; accepted: {', '.join(ENGINES)}")
    for name, value in (("workers", workers), ("cpus_per_worker", cpus_per_worker)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SemanticConfigError(f"{name} must be a positive integer, got {value!r}")
