import numpy as np
import pyarrow as pa
import pytest
from conftest import FakeEncoder

from semantic.decisions.recommendations import brief_matches, collapse_duplicates, mmr
from semantic.errors import SemanticDataError, SemanticModelVersionError
from semantic.vectors.store import VectorStore


def test_mmr_with_lambda_one_is_similarity_order():
    rel = np.array([0.5, 0.9, 0.7, 0.9])
    assert mmr(rel, np.eye(4), 3, 1.0) == [1, 3, 2]


def test_mmr_passes_over_a_copy_of_what_it_already_chose():
    v = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])  # 0 and 1 are the same asset twice
    rel = np.array([0.95, 0.94, 0.80])
    assert mmr(rel, v, 2, 1.0) == [0, 1]
    assert mmr(rel, v, 2, 0.7) == [0, 2]
    assert mmr(rel, v, 5, 0.7) == [0, 2, 1]  # asks for more than there are: all of them
    with pytest.raises(SemanticDataError, match="mmr_lambda"):
        mmr(rel, v, 2, 1.5)


def test_collapse_keeps_the_most_similar_member_of_each_cluster():
    ids = ["a", "b", "c", "d"]
    sims = [0.7, 0.9, 0.8, 0.6]
    keep, hidden = collapse_duplicates(ids, sims, {"a": "cl_a", "b": "cl_a", "c": "cl_c", "d": "cl_a"})
    assert [ids[i] for i in keep] == ["b", "c"] and hidden == [2, 0]
    keep, hidden = collapse_duplicates(ids, sims, {})  # no clusters: nothing collapses
    assert keep == [0, 1, 2, 3] and hidden == [0, 0, 0, 0]


@pytest.fixture
def assets(tmp_path):
    """Two brands x two markets; brand n / US has a cluster of three paraphrases."""
    encoder = FakeEncoder(dim=64)
    rng = np.random.default_rng(0)
    words = ["jacket", "parka", "coffee", "beans", "savings", "account", "tent", "bike", "serum", "leash"]
    rows = []
    for brand in ("n", "m"):
        for market in ("US", "UK"):
            for i in range(30):
                rows.append((f"{brand}{market}{i:02d}", brand, market, " ".join(rng.choice(words, 5))))
    rows += [(f"dup{i}", "n", "US", "warm winter parka jacket sale") for i in range(3)]
    table = pa.table({
        "asset_id": [r[0] for r in rows], "brand": [r[1] for r in rows], "market": [r[2] for r in rows],
        "channel": ["email"] * len(rows), "asset_type": ["headline"] * len(rows),
        "text": [r[3] for r in rows], "content_hash": [r[3] + r[0] for r in rows],
    })
    VectorStore(tmp_path).sync("assets", table, encoder, id_column="asset_id")
    return tmp_path, encoder


def _briefs(encoder, rows):
    vectors = encoder.encode([r[3] for r in rows])
    return pa.table({
        "brief_id": [r[0] for r in rows], "brand": [r[1] for r in rows], "market": [r[2] for r in rows],
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1]),
        "model_version": [encoder.version] * len(rows),
    })


def test_each_brief_gets_k_assets_of_its_own_brand_and_market(assets):
    lance_dir, encoder = assets
    briefs = _briefs(encoder, [("B1", "n", "US", "winter parka jacket"), ("B2", "n", "US", "coffee beans"),
                               ("B3", "m", "UK", "savings account"), ("B4", "x", "US", "no assets here")])
    out = brief_matches(briefs, lance_dir, k=5, pool=20, batch_size=1)
    by_brief = {b: out.filter(pa.compute.equal(out["brief_id"], b)) for b in ("B1", "B2", "B3", "B4")}
    for b, (brand, market) in {"B1": ("n", "US"), "B2": ("n", "US"), "B3": ("m", "UK")}.items():
        rows = by_brief[b]
        assert rows["rank"].to_pylist() == [1, 2, 3, 4, 5]
        assert set(rows["brand"].to_pylist()) == {brand} and set(rows["market"].to_pylist()) == {market}
        assert all(a.startswith(f"{brand}{market}") or a.startswith("dup") for a in rows["asset_id"].to_pylist())
        sims = rows["similarity"].to_pylist()
        assert sims == sorted(sims, reverse=True)
    assert len(by_brief["B4"]) == 0
    batched = brief_matches(briefs, lance_dir, k=5, pool=20, batch_size=256)  # one search per group
    assert batched.sort_by([("brief_id", "ascending"), ("rank", "ascending")]).equals(
        out.sort_by([("brief_id", "ascending"), ("rank", "ascending")]))


def test_a_cluster_of_paraphrases_takes_one_slot_and_known_matches_are_marked(assets):
    lance_dir, encoder = assets
    briefs = _briefs(encoder, [("B1", "n", "US", "warm winter parka jacket sale")])
    plain = brief_matches(briefs, lance_dir, k=5, pool=20)
    assert plain["asset_id"].to_pylist()[:3] == ["dup0", "dup1", "dup2"]
    clusters = pa.table({"asset_id": ["dup0", "dup1", "dup2"], "cluster_id": ["cl_dup0"] * 3})
    known = pa.table({"brief_id": ["B1"], "asset_id": ["dup1"]})
    out = brief_matches(briefs, lance_dir, k=5, pool=20, clusters=clusters, known_matches=known,
                        probability=lambda s: np.clip(s, 0, 1))
    ids = out["asset_id"].to_pylist()
    assert ids[0] == "dup0" and not {"dup1", "dup2"} & set(ids) and len(ids) == 5
    assert out["duplicates_hidden"].to_pylist()[0] == 2 and out["cluster_id"].to_pylist()[0] == "cl_dup0"
    assert out["is_known_match"].to_pylist() == [False] * 5  # dup1 was hidden behind dup0
    assert out["match_probability"].to_pylist() == pytest.approx(np.clip(out["similarity"].to_numpy(), 0, 1))
    diverse = brief_matches(briefs, lance_dir, k=5, pool=20, mmr_lambda=0.5)
    assert diverse["asset_id"].to_pylist()[0] == "dup0" and "dup1" not in diverse["asset_id"].to_pylist()[:2]
    assert sorted(diverse["relevance_rank"].to_pylist()) != diverse["relevance_rank"].to_pylist()


def test_bad_arguments_and_another_model_version_are_refused(assets):
    lance_dir, encoder = assets
    briefs = _briefs(encoder, [("B1", "n", "US", "parka")])
    with pytest.raises(SemanticDataError, match="brief_match_pool"):
        brief_matches(briefs, lance_dir, k=10, pool=5)
    with pytest.raises(SemanticDataError, match="brief_match_k"):
        brief_matches(briefs, lance_dir, k=0)
    with pytest.raises(SemanticDataError, match="mmr_lambda"):
        brief_matches(briefs, lance_dir, k=3, mmr_lambda=-0.1)
    other = _briefs(FakeEncoder(version="fake-v2", dim=64), [("B1", "n", "US", "parka")])
    with pytest.raises(SemanticModelVersionError, match="fake-v2"):
        brief_matches(other, lance_dir, k=3)


class _FakeBriefReranker:
    """A brief reranker that is sure of one asset text and unsure of the rest; it records what it was asked."""

    version = "rr_brief-0123456789ab"

    def __init__(self, favourite: str, fusion_weight: float = 0.1) -> None:
        self.favourite, self.fusion_weight, self.asked = favourite, fusion_weight, []

    def score(self, briefs, assets):
        self.asked += list(zip(briefs, assets))
        return np.array([0.999 if a == self.favourite else 0.5 for a in assets])


def test_a_brief_reranker_reorders_the_top_of_each_list_and_records_what_it_scored(assets):
    lance_dir, encoder = assets
    briefs = _briefs(encoder, [("B1", "n", "US", "winter parka jacket"), ("B2", "m", "UK", "savings account")])
    texts = {"B1": "winter parka jacket", "B2": "savings account"}
    plain = brief_matches(briefs, lance_dir, k=5, pool=20)
    assert plain["reranker_version"].null_count == len(plain) and plain["reranker_probability"].null_count == len(plain)
    b1 = plain.filter(pa.compute.equal(plain["brief_id"], "B1"))
    fourth = b1["asset_text"].to_pylist()[3]
    reranker = _FakeBriefReranker(fourth)
    out = brief_matches(briefs, lance_dir, k=5, pool=20, reranker=reranker, brief_texts=texts, rerank_depth=6)
    r1 = out.filter(pa.compute.equal(out["brief_id"], "B1"))
    # the reranker's favourite rises to the top; the rest keep their cosine order; relevance_rank shows the move
    assert r1["asset_text"].to_pylist()[0] == fourth and r1["relevance_rank"].to_pylist()[0] == 4
    first = r1["asset_id"][0].as_py()
    assert r1["asset_id"].to_pylist()[1:] == [a for a in b1["asset_id"].to_pylist() if a != first][:4]
    assert set(out["reranker_version"].to_pylist()) == {reranker.version}
    # each brief's 6 most similar were asked about, the brief's own text first, all in one call
    assert len(reranker.asked) == 12 and {b for b, _ in reranker.asked} == {"winter parka jacket", "savings account"}
    # below the depth nothing is scored, and those assets come after every scored one
    shallow = brief_matches(briefs, lance_dir, k=5, pool=20, reranker=_FakeBriefReranker(fourth), brief_texts=texts,
                            rerank_depth=2)
    s1 = shallow.filter(pa.compute.equal(shallow["brief_id"], "B1"))
    assert s1["asset_id"].to_pylist() == b1["asset_id"].to_pylist()
    assert s1["reranker_probability"].to_pylist()[2:] == [None] * 3 and s1["reranker_version"].null_count == 3
    # a reranker whose guard chose weight 0 changes nothing, and is not recorded
    zero = brief_matches(briefs, lance_dir, k=5, pool=20, reranker=_FakeBriefReranker(fourth, 0.0), brief_texts=texts)
    assert zero.equals(plain)
    with pytest.raises(SemanticDataError, match="brief_texts"):
        brief_matches(briefs, lance_dir, k=5, pool=20, reranker=reranker)
    with pytest.raises(SemanticDataError, match="brief_match_rerank_depth"):
        brief_matches(briefs, lance_dir, k=5, pool=20, reranker=reranker, brief_texts=texts, rerank_depth=0)
