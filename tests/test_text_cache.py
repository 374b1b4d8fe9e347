"""The text cache: each distinct text is encoded once per model version, whatever table or row holds it."""

import hashlib

import lance
import lancedb
import numpy as np
import pyarrow as pa
import pytest
from conftest import FakeEncoder

from semantic.vectors import text_cache
from semantic.vectors.store import SYNC_LOG_TABLE, VectorStore
from semantic.vectors.text_cache import TextVectorCache, cache_folder, cached_versions


def rows(texts: dict[str, str], key: str = "asset_id") -> pa.Table:
    ids = list(texts)
    return pa.table({key: ids, "text": [texts[i] for i in ids],
                     "content_hash": [hashlib.md5(texts[i].encode()).hexdigest() for i in ids]})


CTA = "Order today and save on every winter jacket."
ASSETS = {f"a{i}": (CTA if i % 3 == 0 else f"asset {i}: warm jackets for cold mornings, style {i}") for i in range(30)}
SENTENCES = {f"a{i}-{j}": t for i in range(30) for j, t in enumerate([CTA, f"asset {i} sentence of its own"])}


def encoded(encoder: FakeEncoder, since: int = 0) -> int:
    return sum(encoder.calls[since:])


def vectors_by_id(store: VectorStore, table: str, key: str) -> dict[str, np.ndarray]:
    got = store.read(table, [key, "vector"])
    return dict(zip(got.column(key).to_pylist(), np.asarray(got.column("vector").to_pylist(), dtype=np.float32)))


def test_each_distinct_text_is_encoded_once_with_the_vectors_of_the_uncached_path(tmp_path, monkeypatch):
    encoder = FakeEncoder()
    store = VectorStore(tmp_path / "cached")
    first = store.sync("assets", rows(ASSETS), encoder, id_column="asset_id")
    distinct = len(set(ASSETS.values()))
    assert (first.embedded, first.encoded, encoded(encoder)) == (30, distinct, distinct)  # the CTA once, not 10 times
    before = len(encoder.calls)
    second = store.sync("asset_sentences", rows(SENTENCES, "sentence_id"), encoder, id_column="sentence_id")
    # the CTA is cached from the assets: only the 30 sentences of their own are new
    assert (second.embedded, second.encoded, encoded(encoder, before)) == (60, 30, 30)

    monkeypatch.setenv(text_cache.ENV_SWITCH, "off")
    plain_encoder = FakeEncoder()
    plain = VectorStore(tmp_path / "plain")
    assert plain.sync("assets", rows(ASSETS), plain_encoder, id_column="asset_id").encoded == 30
    plain.sync("asset_sentences", rows(SENTENCES, "sentence_id"), plain_encoder, id_column="sentence_id")
    assert encoded(plain_encoder) == 90 and not cache_folder(tmp_path / "plain").exists()
    for table, key in (("assets", "asset_id"), ("asset_sentences", "sentence_id")):
        cached, uncached = vectors_by_id(store, table, key), vectors_by_id(plain, table, key)
        assert cached.keys() == uncached.keys()
        cosines = [float(cached[k] @ uncached[k]) for k in cached]
        assert min(cosines) == pytest.approx(1.0, abs=1e-6)


def test_a_run_of_one_text_is_never_split_between_chunks(tmp_path, monkeypatch):
    import semantic.vectors.store

    monkeypatch.setattr(semantic.vectors.store, "EMBED_CHUNK_ROWS", 4)
    encoder = FakeEncoder()  # the cache commits after the sync: within it, a text's rows share one encoding
    result = VectorStore(tmp_path).sync("assets", rows({f"x{i}": CTA for i in range(11)}), encoder,
                                        id_column="asset_id")
    assert (result.embedded, result.encoded, encoder.calls) == (11, 1, [1])


def test_a_new_model_version_starts_its_own_cache_and_only_two_versions_are_kept(tmp_path):
    store = VectorStore(tmp_path)
    for version in ("m-1", "m-2", "m-3"):
        encoder = FakeEncoder(version=version)
        result = store.sync("assets", rows(ASSETS), encoder, id_column="asset_id")
        assert result.encoded == len(set(ASSETS.values()))  # nothing of another version is reused
    assert [p.name for p in cached_versions(tmp_path)] == ["m-3.lance", "m-2.lance"]
    # a rollback to the previous version finds its texts cached
    back = FakeEncoder(version="m-2")
    assert store.sync("assets", rows(ASSETS), back, id_column="asset_id").encoded == 0 and back.calls == []
    assert TextVectorCache(tmp_path, "m-2", 32).lookup(pa.array([hashlib.md5(CTA.encode()).hexdigest()]))[0] >= 0


def test_a_failed_sync_adds_nothing_to_the_cache(tmp_path):
    store = VectorStore(tmp_path)
    with pytest.raises(RuntimeError, match="simulated"):
        store.sync("assets", rows(ASSETS), FakeEncoder(fail_after=3), id_column="asset_id")
    cache = TextVectorCache(tmp_path, "fake-v1", 32)
    assert len(cache) == 0
    assert not [p for p in cache_folder(tmp_path).glob(".pending-*")]  # the spilled vectors went with it
    encoder = FakeEncoder()
    assert store.sync("assets", rows(ASSETS), encoder, id_column="asset_id").encoded == len(set(ASSETS.values()))


def test_an_unreadable_cache_is_set_aside_and_costs_only_time(tmp_path, caplog):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(ASSETS), FakeEncoder(), id_column="asset_id")
    path = cache_folder(tmp_path) / "fake-v1.lance"
    for manifest in (path / "_versions").iterdir():
        manifest.write_bytes(b"not a manifest")
    encoder = FakeEncoder()
    result = store.sync("asset_sentences", rows(SENTENCES, "sentence_id"), encoder, id_column="sentence_id")
    assert result.embedded == 60 and result.encoded == 31  # nothing reused, nothing failed
    assert "could not be read" in caplog.text
    assert len(TextVectorCache(tmp_path, "fake-v1", 32)) == 31  # a fresh cache of what was encoded


def test_erase_removes_the_vectors_of_texts_from_every_version_of_the_cache(tmp_path):
    store = VectorStore(tmp_path)
    store.sync("assets", rows(ASSETS), FakeEncoder(), id_column="asset_id")
    store.sync("asset_sentences", rows(SENTENCES, "sentence_id"), FakeEncoder(), id_column="sentence_id")
    path = cache_folder(tmp_path) / "fake-v1.lance"
    assert len(lance.dataset(str(path)).versions()) == 2
    gone = hashlib.md5(ASSETS["a1"].encode()).hexdigest()
    assert text_cache.erase(tmp_path, [ASSETS["a1"], "a text nobody embedded"]) == 1
    ds = lance.dataset(str(path))
    assert len(ds.versions()) == 1  # no older version keeps it
    assert gone not in ds.to_table(columns=["text_hash"]).column("text_hash").to_pylist()
    encoder = FakeEncoder()
    store.sync("assets", rows({**ASSETS, "a1": ASSETS["a1"] + " "}), encoder, id_column="asset_id")
    assert encoder.calls == [1]


def test_a_sync_log_of_an_older_release_gets_the_new_column(tmp_path):
    db = lancedb.connect(str(tmp_path))
    db.create_table(SYNC_LOG_TABLE, pa.Table.from_pylist([{
        "table": "assets", "model_version": "old", "embedded": 3, "unchanged": 0, "deleted": 0, "skipped_empty": 0,
        "total": 3, "lance_version": 1}]))
    VectorStore(tmp_path).sync("assets", rows(ASSETS), FakeEncoder(), id_column="asset_id")
    log = VectorStore(tmp_path).read(SYNC_LOG_TABLE).to_pylist()
    assert [r["encoded"] for r in log] == [None, len(set(ASSETS.values()))]


def test_syncs_in_parallel_threads_share_one_cache(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = VectorStore(tmp_path)
    tables = {f"t{i}": {f"{i}-{k}": v for k, v in ASSETS.items()} for i in range(4)}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda item: store.sync(item[0], rows(item[1]), FakeEncoder(), id_column="asset_id"),
                                tables.items()))
    assert all(r.embedded == 30 for r in results)
    cache = TextVectorCache(tmp_path, "fake-v1", 32)
    assert len(set(cache._load().to_pylist())) == len(set(ASSETS.values()))
    encoder = FakeEncoder()  # whatever was added twice, every text is found
    assert store.sync("t9", rows(ASSETS), encoder, id_column="asset_id").encoded == 0 and encoder.calls == []


def test_a_cache_another_sync_is_creating_is_read_as_empty_not_set_aside(tmp_path):
    cache = TextVectorCache(tmp_path, "fake-v1", 32)
    (cache.path / "_versions").mkdir(parents=True)  # what a first commit elsewhere leaves until its manifest lands
    assert len(cache) == 0
    assert cache.path.is_dir() and not [p for p in cache.folder.iterdir() if ".unreadable-" in p.name]
    # a dataset that has a version but cannot be read is still set aside, and the texts encoded afresh
    (cache.path / "_versions" / "1.manifest").write_bytes(b"not a manifest")
    again = TextVectorCache(tmp_path, "fake-v1", 32)
    assert len(again) == 0
    assert not cache.path.exists() and [p for p in cache.folder.iterdir() if ".unreadable-" in p.name]
