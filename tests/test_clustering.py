"""Near-duplicate candidates from LanceDB, chain splitting, and stable cluster ids."""

import logging
from datetime import datetime

import lancedb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from semantic.decisions import clustering
from semantic.decisions.clustering import Previous
from semantic.errors import SemanticConfigError


def _unit(m):
    m = np.asarray(m, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _table(tmp_path, ids, vectors, brands):
    db = lancedb.connect(tmp_path / "lance")
    flat = pa.array(vectors.reshape(-1), pa.float32())
    return db.create_table(
        "assets",
        pa.table(
            {
                "asset_id": ids,
                "brand": brands,
                "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
            }
        ),
    )


def test_chain_is_split_but_a_tight_cluster_is_kept():
    # Five points on an arc: neighbours at ~0.95 cosine, the ends at ~0.34.
    angles = np.radians([0, 18, 36, 54, 72])
    chain = {f"c{i}": np.array([np.cos(a), np.sin(a), 0.0]) for i, a in enumerate(angles)}
    tight = {f"t{i}": v / np.linalg.norm(v) for i, v in enumerate(([0, 0, 1.0], [0.05, 0, 1.0], [0, 0.05, 1.0]))}
    vectors = {**chain, **tight}

    def cos(a, b):
        return float(vectors[a] @ vectors[b])

    edges = [(f"c{i}", f"c{i + 1}", cos(f"c{i}", f"c{i + 1}")) for i in range(4)]
    edges += [("t0", "t1", cos("t0", "t1")), ("t1", "t2", cos("t1", "t2"))]
    assert min(e[2] for e in edges) > 0.94
    plain = clustering.connected_components(vectors, [(a, b) for a, b, _ in edges])
    assert ["c0", "c1", "c2", "c3", "c4"] in plain  # connected components alone chain them
    groups = clustering.clusters(sorted(vectors), edges, vectors, min_similarity=0.8)
    assert ["t0", "t1", "t2"] in groups
    chain_parts = [g for g in groups if g[0].startswith("c")]
    assert len(chain_parts) > 1 and sorted(sum(chain_parts, [])) == sorted(chain)
    for part in chain_parts:
        m = np.stack([vectors[x] for x in part])
        assert (m @ m.T).min() >= 0.8


def test_ids_are_stable_when_an_asset_joins_and_the_oldest_id_wins_a_merge():
    t0, t1, t2 = datetime(2026, 1, 1), datetime(2026, 2, 1), datetime(2026, 3, 1)
    created = {"a": "2025-01-01", "b": "2025-02-01", "c": "2025-03-01", "d": "2025-04-01", "e": "2025-05-01"}
    first = clustering.assign([["a", "b"], ["c", "d"]], {}, created, now=t0)
    ids = dict(zip(first.column("asset_id").to_pylist(), first.column("cluster_id").to_pylist()))
    assert ids == {"a": "cl_a", "b": "cl_a", "c": "cl_c", "d": "cl_c"}
    prev = {r["asset_id"]: Previous(r["cluster_id"], r["cluster_first_seen_at"]) for r in first.to_pylist()}
    # e joins c's cluster: no rename, e records nothing (it had no cluster before).
    second = {
        r["asset_id"]: r for r in clustering.assign([["a", "b"], ["c", "d", "e"]], prev, created, now=t1).to_pylist()
    }
    assert second["e"]["cluster_id"] == "cl_c" and second["e"]["previous_cluster_id"] is None
    assert second["c"]["canonical_asset_id"] == "c" and second["c"]["cluster_size"] == 3
    # Make cl_c older than cl_a, then merge: the older id (cl_c) survives and a, b record the merge.
    prev = {a: Previous(r["cluster_id"], t0 if r["cluster_id"] == "cl_c" else t1) for a, r in second.items()}
    third = {
        r["asset_id"]: r for r in clustering.assign([["a", "b", "c", "d", "e"]], prev, created, now=t2).to_pylist()
    }
    assert {r["cluster_id"] for r in third.values()} == {"cl_c"}
    assert third["a"]["previous_cluster_id"] == "cl_a" and third["a"]["merged_at"] == t2
    assert third["c"]["previous_cluster_id"] is None
    assert third["a"]["canonical_asset_id"] == "a"  # created first


def test_a_split_keeps_the_id_on_the_larger_part_and_never_reuses_an_id():
    created = {}
    prev = {x: Previous("cl_a", datetime(2026, 1, 1)) for x in "abcd"}
    out = {
        r["asset_id"]: r["cluster_id"] for r in clustering.assign([["a"], ["b", "c", "d"]], prev, created).to_pylist()
    }
    assert out["b"] == out["c"] == out["d"] == "cl_a"
    assert out["a"] == "cl_a.2"  # cl_a is taken by the larger part


def test_neighbours_respect_blocks_and_quote_values(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    vectors = _unit(rng.normal(size=(n, 16)))
    ids = [f"a{i:03d}" for i in range(n)]
    brands = ["x' OR 1=1 --" if i % 3 == 0 else f"b{i % 3}" for i in range(n)]
    table = _table(tmp_path, ids, vectors, brands)
    out = clustering.neighbours(table, "asset_id", ids[:30], vectors[:30], k=5, blocks=brands[:30], block_on="brand")
    brand_of = dict(zip(ids, brands))
    rows = out.to_pylist()
    assert len(rows) == 30 * 5
    assert all(
        brand_of[r["asset_id"]] == brand_of[r["neighbour_id"]] and r["asset_id"] != r["neighbour_id"] for r in rows
    )
    # Exact top-5 within the block.
    for q in range(30):
        same = [j for j in range(n) if brands[j] == brands[q] and j != q]
        sims = vectors[same] @ vectors[q]
        expected = {ids[same[j]] for j in np.argsort(-sims)[:5]}
        assert {r["neighbour_id"] for r in rows if r["asset_id"] == ids[q]} == expected


def test_block_neighbours_in_memory_are_the_exact_top_k_of_the_block_and_agree_with_lancedb(tmp_path):
    rng = np.random.default_rng(2)
    n = 600
    vectors = _unit(rng.normal(size=(n, 16)))
    vectors[1::5] = _unit(vectors[0::5] + 0.05 * rng.normal(size=(n // 5, 16)))  # near duplicates
    ids = [f"a{i:03d}" for i in range(n)]
    brands = [None if i % 4 == 0 else f"b{i % 4}" for i in range(n)]  # a NULL block is a block of its own
    queries = list(range(0, n, 7))
    out = clustering.block_neighbours(ids, vectors, brands, queries, k=5)
    rows = out.to_pylist()
    assert len(rows) == len(queries) * 5
    for q in queries:
        same = [j for j in range(n) if brands[j] == brands[q] and j != q]
        sims = vectors[same] @ vectors[q]
        expected = [ids[same[j]] for j in np.argsort(-sims, kind="stable")[:5]]
        got = [r for r in rows if r["asset_id"] == ids[q]]
        assert [r["neighbour_id"] for r in got] == expected and [r["rank"] for r in got] == [1, 2, 3, 4, 5]
        assert np.allclose([r["similarity"] for r in got], np.sort(sims)[::-1][:5], atol=1e-6)
    # the LanceDB path (still used by the scale-out candidates) finds the same pairs
    table = _table(tmp_path, ids, vectors, [b or "none" for b in brands])
    lance = clustering.neighbours(table, "asset_id", [ids[q] for q in queries], vectors[queries], k=5,
                                  blocks=[brands[q] or "none" for q in queries], block_on="brand")
    assert {(r["asset_id"], r["neighbour_id"]) for r in lance.to_pylist()} == {
        (r["asset_id"], r["neighbour_id"]) for r in rows
    }
    # past exact_max_rows a block goes through an HNSW graph: nearly the same neighbours, never itself
    approx = clustering.block_neighbours(ids, vectors, brands, queries, k=5, exact_max_rows=50).to_pylist()
    assert all(r["asset_id"] != r["neighbour_id"] for r in approx)
    found = {(r["asset_id"], r["neighbour_id"]) for r in approx}
    assert len(found & {(r["asset_id"], r["neighbour_id"]) for r in rows}) >= 0.95 * len(rows)
    # a block of one asset has no neighbours; no blocking searches every row
    assert clustering.block_neighbours(["x", "y"], vectors[:2], ["p", "q"], [0, 1], k=3).num_rows == 0
    assert clustering.block_neighbours(["x", "y"], vectors[:2], None, [0], k=3).to_pylist()[0]["neighbour_id"] == "y"


def test_refresh_neighbours_queries_only_new_or_changed_assets_against_every_asset_of_the_block(tmp_path,
                                                                                               fake_encoder):
    from semantic.vectors.store import VectorStore

    words = ["sofa", "lamp", "chair", "rug", "desk", "shelf", "bed", "stool"]
    n = 120
    rows = pa.table({
        "asset_id": [f"a{i:03d}" for i in range(n)],
        "brand": [f"b{i % 2}" for i in range(n)],
        "text": [f"{words[i % 8]} {words[(i * 3) % 8]} offer {i}" for i in range(n)],
        "content_hash": [f"h{i}" for i in range(n)],
    })
    store = VectorStore(tmp_path / "lance")
    store.sync("assets", rows, fake_encoder, id_column="asset_id")
    assets = store.read("assets", ["asset_id", "brand", "content_hash", "model_version", "vector"])
    first = clustering.refresh_neighbours(assets, None, k=3, block_on="brand", lance_dir=tmp_path / "lance")
    assert first.num_rows == n * 3
    brand = dict(zip(assets.column("asset_id").to_pylist(), assets.column("brand").to_pylist()))
    assert all(brand[r["asset_id"]] == brand[r["neighbour_id"]] for r in first.to_pylist())

    done = first.select(["asset_id", "content_hash", "model_version"])
    hashes = assets.column("content_hash").to_pylist()
    hashes[assets.column("asset_id").to_pylist().index("a005")] = "edited"
    changed = assets.set_column(assets.column_names.index("content_hash"), "content_hash", pa.array(hashes))
    second = clustering.refresh_neighbours(changed, done, k=3, block_on="brand", lance_dir=tmp_path / "lance")
    assert set(second.column("asset_id").to_pylist()) == {"a005"}  # only the changed asset is queried
    before = first.filter(pc.field("asset_id") == "a005")
    keys = ["asset_id", "neighbour_id", "rank"]
    assert second.select(keys).to_pylist() == before.select(keys).to_pylist()
    assert np.allclose(second.column("similarity").to_numpy(), before.column("similarity").to_numpy(), atol=1e-6)
    assert second.column("content_hash").to_pylist() == ["edited"] * 3
    with pytest.raises(SemanticConfigError, match="near_duplicate_block_on 'region' is not a column"):
        clustering.refresh_neighbours(assets, None, k=3, block_on="region", lance_dir=tmp_path / "lance")


def test_adding_100_assets_to_10000_compares_only_theirs_and_keeps_every_cluster_id(tmp_path, caplog):
    rng = np.random.default_rng(1)
    centres = _unit(rng.normal(size=(3000, 32)))

    def near(n, spread):
        picks = rng.integers(0, len(centres), n)
        return _unit(centres[picks] + spread * rng.normal(size=(n, 32))), picks

    base, _ = near(10_000, 0.05)
    ids = [f"a{i:05d}" for i in range(10_000)]
    table = _table(tmp_path, ids, base, ["b"] * 10_000)
    cand = clustering.neighbours(table, "asset_id", ids, base, k=5)
    vec = dict(zip(ids, base))

    def build(cand, vec, previous):
        keep = [(r["asset_id"], r["neighbour_id"], r["similarity"]) for r in cand.to_pylist() if r["similarity"] >= 0.9]
        return clustering.assign(clustering.clusters(sorted(vec), keep, vec, 0.8), previous, {})

    first = build(cand, vec, {})
    prev = {r["asset_id"]: Previous(r["cluster_id"], r["cluster_first_seen_at"]) for r in first.to_pylist()}
    assert first.num_rows == 10_000 and len(set(first.column("cluster_id").to_pylist())) < 9_000
    new, _ = near(100, 0.05)
    new_ids = [f"n{i:03d}" for i in range(100)]
    flat = pa.array(new.reshape(-1), pa.float32())
    table.add(
        pa.table({"asset_id": new_ids, "brand": ["b"] * 100, "vector": pa.FixedSizeListArray.from_arrays(flat, 32)})
    )
    with caplog.at_level(logging.INFO, logger="semantic"):
        more = clustering.neighbours(table, "asset_id", new_ids, new, k=5)
    assert "100 query assets x top-5 = 500 compared pairs" in caplog.text
    vec.update(zip(new_ids, new))
    rows = {r["asset_id"]: r for r in build(pa.concat_tables([cand, more]), vec, prev).to_pylist()}
    second = {a: r["cluster_id"] for a, r in rows.items()}
    old_ids = {p.cluster_id for p in prev.values()}
    moved = [a for a, p in prev.items() if second[a] != p.cluster_id]
    # An existing asset changes cluster only when a new asset bridges two clusters: the merge keeps
    # an existing (older) id and the move is recorded. No existing cluster is renamed to a new id.
    assert len(moved) < 20
    for a in moved:
        assert second[a] in old_ids and rows[a]["previous_cluster_id"] == prev[a].cluster_id
        assert any(second[b] == second[a] for b in new_ids)  # a new asset joined them
    joined = [a for a in new_ids if second[a] in old_ids]
    assert len(joined) > 50  # most new assets joined an existing cluster under its id


def test_a_chain_of_thousands_of_links_is_split_without_recursion_and_every_part_holds_together():
    from semantic.decisions.clustering import MAX_EXACT, split_chains

    n = 1500  # points along an arc: each is close to its neighbours, the ends are far apart
    angles = np.linspace(0, np.pi / 2, n)
    vectors = {f"a{i:05d}": np.array([np.cos(t), np.sin(t), 0.0]) for i, t in enumerate(angles)}
    ids = sorted(vectors)
    edges = [(ids[i], ids[i + 1], float(vectors[ids[i]] @ vectors[ids[i + 1]])) for i in range(n - 1)]
    parts = split_chains(ids, edges, vectors, min_similarity=0.99)
    assert sorted(m for p in parts for m in p) == ids
    assert len(parts) > 1 and n <= MAX_EXACT
    for part in parts:
        m = np.stack([vectors[x] for x in part])
        assert len(part) <= 2 or (m @ m.T).min() >= 0.99
    # neighbouring parts could not have been merged: the guard cuts no more than it must
    biggest = max(len(p) for p in parts)
    assert biggest >= 0.5 * np.arccos(0.99) / (np.pi / 2 / n)


def test_vector_rows_reads_fixed_and_variable_lists_with_null_rows_as_nan():
    for kind in (pa.list_(pa.float32(), 2), pa.list_(pa.float32())):
        column = pa.chunked_array([pa.array([[1.0, 2.0], None], kind), pa.array([[3.0, 4.0]], kind)])
        rows = clustering.vector_rows(column)
        assert rows.dtype == np.float32 and rows.shape == (3, 2)
        assert rows[0].tolist() == [1.0, 2.0] and np.isnan(rows[1]).all() and rows[2].tolist() == [3.0, 4.0]
    assert clustering.vector_rows(pa.array([[1.0, 2.0]], pa.list_(pa.float32(), 2))).tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="not all of one length"):
        clustering.vector_rows(pa.array([[1.0, 2.0], [3.0]], pa.list_(pa.float32())))
    with pytest.raises(ValueError, match="not all of one length"):
        clustering.vector_rows(pa.array([[1.0, 2.0, 3.0], [4.0]], pa.list_(pa.float32())))
