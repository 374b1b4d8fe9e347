"""The HNSW graph beside a LanceDB table version: built past its min rows, used only for its own version."""

import hashlib

import numpy as np
import pyarrow as pa
import pytest
from conftest import FakeEncoder

from semantic.errors import SemanticConfigError, SemanticModelVersionError
from semantic.vectors import graph
from semantic.vectors.store import VectorStore

WORDS = ["jacket", "coffee", "savings", "parka", "bike", "leash", "serum", "tent", "winter", "sale", "garden", "chair"]


def assets(n: int, seed: int = 0, prefix: str = "a") -> pa.Table:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, 4)) + f" {prefix}{i}" for i in range(n)]
    return pa.table({"asset_id": [f"{prefix}{i}" for i in range(n)], "brand": [f"b{i % 5}" for i in range(n)],
                     "text": texts, "content_hash": [hashlib.md5(t.encode()).hexdigest() for t in texts]})


def exact(store: VectorStore, query: np.ndarray, k: int) -> list[str]:
    got = store.read("assets", ["asset_id", "vector"])
    sims = np.asarray(got.column("vector").to_pylist(), dtype=np.float32) @ query
    ids = got.column("asset_id").to_pylist()
    return [ids[i] for i in np.argsort(-sims, kind="stable")[:k]]


def test_past_its_min_rows_the_latest_version_gets_a_graph_whose_search_matches_exact(tmp_path):
    encoder = FakeEncoder(dim=384)
    store = VectorStore(tmp_path)
    store.sync("assets", assets(300), encoder, id_column="asset_id", graph_min_rows=1000)
    assert graph.versions_with_graph(tmp_path, "assets") == []  # below its min rows: none
    result = store.sync("assets", assets(1500), encoder, id_column="asset_id", graph_min_rows=1000)
    assert graph.versions_with_graph(tmp_path, "assets") == [result.lance_version]
    manifest = (graph.graph_folder(tmp_path, "assets", result.lance_version) / graph.MANIFEST).read_text()
    assert '"rows": 1500' in manifest
    rng = np.random.default_rng(1)
    overlap = []
    for _ in range(20):
        query = encoder.encode([" ".join(rng.choice(WORDS, 3))])[0]
        hits = store.search("assets", query, encoder.version, k=10, columns=["asset_id", "brand"])
        assert store._search_handle("assets").graph is not None  # the graph answered
        assert hits.column_names == ["asset_id", "brand", "similarity", "rank"]
        assert hits.column("rank").to_pylist() == list(range(1, 11))
        sims = np.asarray(hits.column("similarity").to_pylist())
        assert np.all(np.diff(sims) <= 1e-9)  # best first, exact cosine
        ids = hits.column("asset_id").to_pylist()
        vec = dict(zip(*[store.read("assets", ["asset_id", "vector"]).column(c).to_pylist()
                         for c in ("asset_id", "vector")]))
        assert sims[0] == pytest.approx(float(np.asarray(vec[ids[0]], np.float32) @ query), abs=1e-5)
        truth = exact(store, query, 10)
        bound = float(np.asarray(vec[truth[-1]], np.float32) @ query) - 1e-6  # ties at the 10th count either way
        overlap.append(sum(float(np.asarray(vec[i], np.float32) @ query) >= bound for i in ids) / 10)
    assert np.mean(overlap) >= 0.98
    # a filter goes through LanceDB (exact prefilter), never the graph
    filtered = store.search("assets", query, encoder.version, k=5, where="brand = 'b1'", columns=["brand"])
    assert set(filtered.column("brand").to_pylist()) == {"b1"}
    # the model-version check still applies
    with pytest.raises(SemanticModelVersionError):
        store.search("assets", query, "another-model", k=5)


def test_a_graph_serves_only_its_own_version_and_older_ones_are_pruned(tmp_path):
    encoder = FakeEncoder(dim=384)
    store = VectorStore(tmp_path)
    first = store.sync("assets", assets(1200), encoder, id_column="asset_id", graph_min_rows=1000)
    table = assets(1200)
    changed = table.set_column(2, "text", pa.array(["winter parka sale fresh"] + table.column("text").to_pylist()[1:]))
    changed = changed.set_column(3, "content_hash", pa.array(
        [hashlib.md5(t.encode()).hexdigest() for t in changed.column("text").to_pylist()]))
    # a write without the graph step (another writer): the new version has no graph, searches use LanceDB's
    lance_only = VectorStore(tmp_path)
    second = lance_only.sync("assets", changed, encoder, id_column="asset_id")
    assert second.lance_version > first.lance_version
    assert graph.versions_with_graph(tmp_path, "assets") == []  # unset min rows removes the graphs
    query = encoder.encode(["winter parka sale fresh"])[0]
    fresh = VectorStore(tmp_path)
    assert fresh.search("assets", query, encoder.version, k=1).column("asset_id").to_pylist() == ["a0"]
    assert fresh._search_handle("assets").graph is None
    # graphs of up to GRAPHS_KEPT versions stay; a version never reads another's graph (its offsets differ)
    versions = []
    for i in range(3):
        more = pa.concat_tables([changed, assets(10 + i, seed=5 + i, prefix=f"n{i}-")])
        versions.append(store.sync("assets", more, encoder, id_column="asset_id", graph_min_rows=1000).lance_version)
    assert graph.versions_with_graph(tmp_path, "assets") == versions[-graph.GRAPHS_KEPT:]
    pinned = VectorStore(tmp_path, pins={"assets": versions[-1]})
    assert pinned._search_handle("assets").graph.version == versions[-1]
    assert graph.open_graph(tmp_path, "assets", versions[0]) is None


def test_a_broken_graph_costs_speed_not_answers_and_bad_settings_are_refused(tmp_path, caplog):
    encoder = FakeEncoder(dim=384)
    store = VectorStore(tmp_path)
    result = store.sync("assets", assets(1100), encoder, id_column="asset_id", graph_min_rows=1000)
    (graph.graph_folder(tmp_path, "assets", result.lance_version) / graph.GRAPH_FILE).write_bytes(b"not a graph")
    query = encoder.encode(["coffee tent"])[0]
    hits = VectorStore(tmp_path).search("assets", query, encoder.version, k=5)
    assert hits.num_rows == 5 and "unreadable" in caplog.text
    # the next sync, with nothing to embed, builds the damaged graph again, and searches use it
    again = store.sync("assets", assets(1100), encoder, id_column="asset_id", graph_min_rows=1000)
    assert again.lance_version == result.lance_version
    assert graph.open_graph(tmp_path, "assets", result.lance_version) is not None
    for bad in (0, -3, "many", 2.5):
        with pytest.raises(SemanticConfigError, match="graph_index_min_rows must be a positive integer"):
            store.ensure_vector_index("assets", None, graph_min_rows=bad)  # type: ignore[arg-type]
    assert graph.remove_graphs(tmp_path, "assets") == 1 and not graph.graph_root(tmp_path, "assets").exists()


def test_the_best_rows_columns_come_from_the_graphs_column_copy_row_for_row(tmp_path, monkeypatch):
    monkeypatch.setattr(graph, "BUILD_BATCH", 256)  # several batches, and fragment ends inside them
    encoder = FakeEncoder(dim=384)
    store = VectorStore(tmp_path)
    store.sync("assets", assets(700), encoder, id_column="asset_id")
    table = pa.concat_tables([assets(700), assets(500, seed=2, prefix="b")])
    result = store.sync("assets", table, encoder, id_column="asset_id", graph_min_rows=1000)  # a second fragment
    dataset = store._search_handle("assets").dataset
    assert len(dataset.get_fragments()) > 1
    found = graph.open_graph(tmp_path, "assets", result.lance_version)
    assert found is not None and found.batches is not None and len(found.batches) == 5
    columns = [c for c in dataset.schema.names if c != "vector"]
    offsets = np.array([1199, 0, 255, 256, 699, 700, 1023], dtype=np.int64)  # batch and fragment edges, any order
    assert found.rows_at(offsets, columns).to_pylist() == dataset.take(offsets, columns=columns).to_pylist()
    assert found.rows_at(offsets, ["not_a_column"]) is None  # the caller reads from Lance then
    query = encoder.encode(["winter parka sale"])[0]
    hits = store.search("assets", query, encoder.version, k=10)
    assert hits.column_names == [*columns, "similarity", "rank"]
    by_id = {r["asset_id"]: r for r in dataset.to_table(columns=columns).to_pylist()}
    ids = hits.column("asset_id").to_pylist()
    assert [{c: r[c] for c in columns} for r in hits.to_pylist()] == [by_id[i] for i in ids]
    # a graph written before the column copy existed answers the same, reading the columns from Lance
    (graph.graph_folder(tmp_path, "assets", result.lance_version) / graph.COLUMNS_FILE).unlink()
    older = VectorStore(tmp_path).search("assets", query, encoder.version, k=10)
    assert older.to_pylist() == hits.to_pylist()
