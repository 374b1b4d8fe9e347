import hashlib

import numpy as np
import pyarrow as pa
import pytest
from conftest import FakeEncoder

from semantic.errors import SemanticDataError, SemanticModelVersionError
from semantic.vectors.store import VectorStore, _compare_rows, cosine_from_distance


def rows(texts: dict[str, str | None], brand: str = "acme") -> pa.Table:
    ids = list(texts)
    values = [texts[i] for i in ids]
    return pa.table(
        {
            "asset_id": ids,
            "brand": [brand] * len(ids),
            "text": values,
            "content_hash": [hashlib.md5(t.encode()).hexdigest() if t else None for t in values],
        }
    )


BASE = {f"a{i}": f"asset number {i} about warm jackets and coffee {i}" for i in range(20)}


def test_first_sync_embeds_everything_and_a_second_embeds_nothing(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    first = store.sync("assets", rows(BASE), fake_encoder, id_column="asset_id")
    assert (first.embedded, first.unchanged, first.total) == (20, 0, 20)
    second = store.sync("assets", rows(BASE), fake_encoder, id_column="asset_id")
    assert (second.embedded, second.unchanged, second.deleted) == (0, 20, 0)


def test_only_changed_rows_are_embedded_and_deleted_rows_leave(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(BASE), fake_encoder, id_column="asset_id")
    edited = dict(BASE)
    for i in range(3):
        edited[f"a{i}"] = f"rewritten copy {i} for tea"
    del edited["a19"]
    edited["new"] = "a brand new asset"
    result = store.sync("assets", rows(edited), fake_encoder, id_column="asset_id")
    assert (result.embedded, result.deleted, result.total) == (4, 1, 20)
    stored = store.read("assets").to_pydict()
    assert "a19" not in stored["asset_id"]
    # the stored vector of an edited row is the vector of its new text
    i = stored["asset_id"].index("a0")
    np.testing.assert_allclose(stored["vector"][i], fake_encoder.encode(["rewritten copy 0 for tea"])[0], rtol=1e-6)


def test_a_column_changed_without_the_text_is_rewritten_without_re_embedding(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    first = rows(BASE)
    store.sync("assets", first, fake_encoder, id_column="asset_id")
    before = store.read("assets").sort_by("asset_id")
    brands = ["acme"] * 20
    brands[3] = "zeta"  # a3 moves to another brand; its text is the same
    moved = first.set_column(first.column_names.index("brand"), "brand", pa.array(brands))
    calls = len(fake_encoder.calls)
    result = store.sync("assets", moved, fake_encoder, id_column="asset_id")
    assert result.embedded == 0 and sum(fake_encoder.calls[calls:]) == 0  # nothing was encoded
    after = store.read("assets").sort_by("asset_id")
    assert dict(zip(after["asset_id"].to_pylist(), after["brand"].to_pylist()))["a3"] == "zeta"
    assert after["vector"].to_pylist() == before["vector"].to_pylist()  # the stored vectors, untouched
    assert after["embedded_at"].to_pylist() == before["embedded_at"].to_pylist()
    assert len(store.search("assets", np.asarray(after["vector"][3].as_py()), fake_encoder.version, k=1,
                            where="brand = 'zeta'")) == 1


def test_rows_are_compared_with_the_stored_ones_by_id_text_model_and_columns_nulls_equal():
    stored = pa.table({"id": ["a", "b", "c", "d", "z", "e"], "content_hash": ["h1", "h2", "h3", "h4", "h9", "h5"],
                       "model_version": ["m1", "m1", "m1", "m0", "m1", "m1"],
                       "market": ["US", None, None, "US", "US", "US"], "position": [1, 2, 3, 4, 5, 6]})
    now = pa.table({"id": ["e", "a", "b", "c", "d", "n"], "content_hash": ["h5", "h1", "h2", "hX", "h4", "h7"],
                    "market": ["US", "DE", None, None, "US", "US"], "position": [6, 1, 2, 3, 4, 1]})
    stale, removed, moved = _compare_rows(now, stored, "id", "m1", ["market", "position"])
    # c: new text; d: another model; n: new. a: market changed (moved); b: NULL = NULL (kept); e: the same
    assert stale.tolist() == [False, False, False, True, True, True]
    assert removed == ["z"]
    assert moved == [1]
    assert _compare_rows(now, stored, "id", "m1", [])[2] == []  # no shared column: nothing to rewrite


def test_a_new_model_version_re_embeds_every_row(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(BASE), fake_encoder, id_column="asset_id")
    result = store.sync("assets", rows(BASE), FakeEncoder(version="fake-v2"), id_column="asset_id")
    assert result.embedded == 20
    assert set(store.read("assets")["model_version"].to_pylist()) == {"fake-v2"}


def test_empty_text_gets_no_vector(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    result = store.sync("assets", rows({"x": "hello", "y": None, "z": "   "}), fake_encoder, id_column="asset_id")
    assert (result.total, result.skipped_empty) == (1, 2)


def test_duplicate_ids_are_named_and_nothing_is_written(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(BASE), fake_encoder, id_column="asset_id")
    before = store.read("assets")
    bad = pa.concat_tables([rows(BASE), rows({"a3": "dup", "a7": "dup"})])
    with pytest.raises(SemanticDataError, match=r"a3, a7"):
        store.sync("assets", bad, fake_encoder, id_column="asset_id")
    assert store.read("assets").equals(before)


def test_a_failed_embedding_run_leaves_the_previous_version_intact(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(BASE), fake_encoder, id_column="asset_id")
    before = store.read("assets")
    changed = {k: v + " changed" for k, v in BASE.items()}
    with pytest.raises(RuntimeError, match="simulated"):
        store.sync("assets", rows(changed), FakeEncoder(fail_after=5), id_column="asset_id")
    assert store.read("assets").equals(before)


def test_a_sync_embeds_in_chunks_and_commits_once_and_a_failed_chunk_writes_nothing(tmp_path, monkeypatch):
    import semantic.vectors.store

    monkeypatch.setattr(semantic.vectors.store, "EMBED_CHUNK_ROWS", 6)
    store = VectorStore(tmp_path)
    encoder = FakeEncoder()
    result = store.sync("assets", rows(BASE), encoder, id_column="asset_id")
    assert encoder.calls == [6, 6, 6, 2]  # four chunks, longest texts first
    assert (result.embedded, result.total, result.lance_version) == (20, 20, 1)  # one commit
    # a failure in the third chunk of a first sync leaves no table behind, and the next run starts afresh
    fresh = VectorStore(tmp_path / "fresh")
    with pytest.raises(RuntimeError, match="simulated"):
        fresh.sync("assets", rows(BASE), FakeEncoder(fail_after=13), id_column="asset_id")
    assert not fresh.exists("assets")
    assert fresh.sync("assets", rows(BASE), FakeEncoder(), id_column="asset_id").total == 20
    # a failure in a later chunk of an update leaves the table as it was: no chunk was committed
    before = store.read("assets")
    changed = {k: v + " changed" for k, v in BASE.items()}
    with pytest.raises(RuntimeError, match="simulated"):
        store.sync("assets", rows(changed), FakeEncoder(fail_after=13), id_column="asset_id")
    assert store.read("assets").equals(before)


def test_an_unchanged_sync_skips_lancedb_and_any_write_to_the_table_brings_the_full_check_back(tmp_path):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(BASE), FakeEncoder(), id_column="asset_id")
    encoder = FakeEncoder()
    again = store.sync("assets", rows(BASE), encoder, id_column="asset_id")
    assert (again.embedded, again.unchanged, again.total) == (0, 20, 20) and encoder.calls == []
    assert store.latest_version("assets") == store._db().open_table("assets").version
    assert store.versioned_uri("assets").endswith(f"?version={store.latest_version('assets')}")
    # someone else deletes a row: the token changes, so the next sync looks and re-embeds it
    store._db().open_table("assets").delete("asset_id = 'a3'")
    repaired = store.sync("assets", rows(BASE), encoder, id_column="asset_id")
    assert (repaired.embedded, repaired.total) == (1, 20)
    # another model version is never skipped
    other = store.sync("assets", rows(BASE), FakeEncoder(version="fake-v2"), id_column="asset_id")
    assert other.embedded == 20


def test_sync_embeddings_streams_every_row_first_and_only_the_changed_rows_after(tmp_path, monkeypatch):
    from semantic.config import SemanticConfig
    from semantic.vectors.sync import sync_embeddings

    encoder = FakeEncoder()
    config = SemanticConfig(db_path=tmp_path / "x.duckdb", lance_dir=tmp_path, model_dir=None, models_dir=tmp_path)
    monkeypatch.setattr("semantic.vectors.sync.load_encoder", lambda *args, **kwargs: encoder)
    monkeypatch.setattr("semantic.vectors.sync.active", lambda: config)
    first = sync_embeddings(rows(BASE), "assets", "asset_id", output_columns=["brand"])
    assert isinstance(first, pa.RecordBatchReader)  # dbt-duckdb reads it batch by batch
    mirror = first.read_all()
    assert sorted(mirror.column("asset_id").to_pylist()) == sorted(BASE)
    assert mirror.column_names == ["asset_id", "brand", "content_hash", "model_version", "embedded_at", "vector"]
    keys = mirror.drop_columns(["vector", "embedded_at"])
    unchanged = sync_embeddings(rows(BASE), "assets", "asset_id", output_columns=["brand"], mirrored=keys)
    assert isinstance(unchanged, pa.Table) and unchanged.num_rows == 0 and unchanged.schema == mirror.schema
    edited = dict(BASE, a4="a rewritten asset about tea")
    upsert = sync_embeddings(rows(edited), "assets", "asset_id", output_columns=["brand"], mirrored=keys).read_all()
    assert upsert.column("asset_id").to_pylist() == ["a4"]


def test_search_similarity_is_cosine_and_filters_apply_before_ranking(tmp_path):
    # vectors at known angles: similarity to the query is cos(angle)
    angles = np.deg2rad([0, 10, 30, 60, 90, 120])
    vectors = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1).astype(np.float32)
    table = pa.table(
        {
            "asset_id": [f"v{i}" for i in range(6)],
            "brand": ["a", "b", "a", "b", "a", "b"],
            "content_hash": ["h"] * 6,
            "model_version": ["m1"] * 6,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 3),
        }
    )
    store = VectorStore(tmp_path)
    import lancedb

    lancedb.connect(str(tmp_path)).create_table("assets", table)
    hits = store.search("assets", np.array([1, 0, 0], dtype=np.float32), "m1", k=3)
    assert hits["asset_id"].to_pylist() == ["v0", "v1", "v2"]
    np.testing.assert_allclose(hits["similarity"].to_numpy(), np.cos(angles[:3]), atol=1e-5)
    assert hits["rank"].to_pylist() == [1, 2, 3]
    filtered = store.search("assets", np.array([1, 0, 0], dtype=np.float32), "m1", k=3, where="brand = 'b'")
    assert filtered["asset_id"].to_pylist() == ["v1", "v3", "v5"]


def test_search_refuses_vectors_of_another_model_version(tmp_path, fake_encoder):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(BASE), fake_encoder, id_column="asset_id")
    query = FakeEncoder(version="fake-v2").encode(["warm jackets"])[0]
    with pytest.raises(SemanticModelVersionError) as err:
        store.search("assets", query, "fake-v2", k=3)
    assert "fake-v1" in str(err.value) and "fake-v2" in str(err.value)


def test_cosine_from_distance_matches_both_metrics():
    cos = np.array([1.0, 0.5, 0.0, -1.0])
    np.testing.assert_allclose(cosine_from_distance(2 - 2 * cos, "l2"), cos)
    np.testing.assert_allclose(cosine_from_distance(1 - cos, "cosine"), cos)


def test_freed_memory_goes_back_to_the_os_and_memory_in_use_stays():
    import os

    import numpy as np
    import pyarrow as pa

    from semantic.vectors.memory import release_freed_memory

    def resident_mib() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    release_freed_memory()
    start = resident_mib()
    kept = pa.array(np.arange(1_000_000, dtype=np.int64))
    pieces = [pa.array(np.arange(25_000, dtype=np.int64) + i) for i in range(1500)]  # 300 MB, 200 KB each
    assert resident_mib() > start + 250
    del pieces  # Arrow's allocator keeps most of this for reuse ...
    release_freed_memory()  # ... until it is released
    assert resident_mib() < start + 60
    assert kept[999_999].as_py() == 999_999


def test_a_dbt_process_gives_large_freed_blocks_back_at_once(tmp_path):
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import ctypes, ctypes.util, os, sys
        import numpy as np
        from semantic.vectors.memory import M_MMAP_THRESHOLD, return_large_blocks

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                             "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = MallInfo2
        # The state glibc's default reaches once a build has freed large blocks: its threshold raised to its
        # 32 MiB ceiling (set here rather than provoked: when that happens depends on the C library and its tunables)
        assert libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
        if sys.argv[1] == "on":
            assert return_large_blocks()
        def rss():
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        start, mapped = rss(), libc.mallinfo2().hblkhd
        blocks = [np.ones(25_000) for _ in range(1500)]  # 300 MB in 200 KB blocks, as NumPy and Arrow allocate
        mapped = (libc.mallinfo2().hblkhd - mapped) / 2**20  # of them, served from their own mappings
        blocks = None
        print(mapped, rss() - start)
    """)

    def run(mode: str) -> tuple[float, float]:
        done = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, check=True)
        mapped, kept = map(float, done.stdout.split())
        return mapped, kept

    # with the threshold raised the blocks come from the heap, where any small block still in use after one of
    # them keeps its pages (whether one does depends on the heap's state, so only the allocation is checked)
    mapped, _ = run("off")
    assert mapped < 10
    # with the setting every block has its own mapping, unmapped when it is freed: nothing of them is kept
    mapped, kept = run("on")
    assert mapped > 250
    assert kept < 30


def test_duckdb_gives_its_cached_blocks_back_and_keeps_its_limit(tmp_path):
    import os

    import duckdb

    from semantic.vectors import memory
    from semantic.vectors.memory import release_duckdb_cache

    def resident_mib() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    memory.remember_duckdb_limit("2GB")  # as the dbt plugin does with the profile's setting
    path = tmp_path / "cache.duckdb"
    with duckdb.connect(str(path)) as con:  # about 200 MB of vector blocks, as a mirror table holds
        con.execute("create table t as select range as id, [random()::float + x for x in range(64)]::float[64] as v "
                    "from range(1000000)")
    with duckdb.connect(str(path), config={"memory_limit": "2GB"}) as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
        con.execute("select sum(list_sum(v::float[])) from t").fetchall()
        cached = con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchone()[0]
        before = resident_mib()
        assert cached > 150 * 2**20
        assert release_duckdb_cache(con)
        assert con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchone()[0] < 80 * 2**20
        assert resident_mib() < before - 100
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == limit
        assert release_duckdb_cache(con)  # again: the same limit, not one rounded twice
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == limit
        assert con.execute("select count(*) from t").fetchone() == (1000000,)  # read again from the file
        memory.remember_duckdb_limit(None)  # unknown: what DuckDB printed first, set back the same every time
        assert release_duckdb_cache(con) and release_duckdb_cache(con)
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] in (limit, "1.7 GiB")
        once = con.execute("select current_setting('memory_limit')").fetchone()[0]
        assert release_duckdb_cache(con)
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == once
    assert not release_duckdb_cache(object())  # not a connection: nothing done
