"""The brief reranker (``semantic.encoding.reranker``, query first): the fusion weight its guard chooses, the
training pairs mined from a retrieval folder, and the CLI that trains one and evaluates with it.

The pure parts run on invented numbers and a fake encoder; one test trains a real cross-encoder on a
tiny invented brief -> headline folder (seconds) to check the mechanics, not the quality, which
``semantic evaluate --reranker`` measures on ``retrieval/slogans_dev`` (docs/benchmarks.md).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEncoder

from semantic.encoding.reranker import (
    GUARD_DEPTH,
    Reranker,
    RerankerConfig,
    _held_out,
    choose_fusion_weight,
    fused,
    retrieval_pairs,
)
from semantic.encoding.training import load_task
from semantic.errors import SemanticConfigError, SemanticDataError


def test_fused_adds_the_weighted_logit_and_keeps_the_cosine_where_the_reranker_did_not_score():
    cos = np.array([0.8, 0.7, 0.6])
    out = fused(cos, np.array([0.5, 0.9, np.nan]), 0.1)
    assert out[0] == pytest.approx(0.8) and out[1] == pytest.approx(0.7 + 0.1 * np.log(9)) and out[2] == 0.6
    assert np.array_equal(fused(cos, np.array([0.1, 0.9, 0.2]), 0.0), cos)


def test_the_guard_chooses_no_weight_for_a_reranker_that_adds_nothing_and_a_weight_for_one_that_fixes_the_order():
    rng = np.random.default_rng(0)
    groups_right, groups_noise = [], []
    for _ in range(40):
        cos = np.sort(rng.uniform(0.3, 0.9, 8))[::-1].copy()
        labels = np.zeros(8, dtype=int)
        labels[rng.integers(1, 8)] = 1  # the relevant document is never the cosine's first
        groups_right.append((cos, np.where(labels == 1, 0.95, 0.2), labels))
        groups_noise.append((cos, np.full(8, 0.5), labels))  # the reranker is unsure of everything
    right = choose_fusion_weight(groups_right)
    assert right["weight"] > 0 and right["recall@1"] == 1.0 and right["cosine_recall@1"] == 0.0
    assert right["mrr"] > right["cosine_mrr"] and right["queries"] == 40
    noise = choose_fusion_weight(groups_noise)
    assert noise["weight"] == 0.0 and noise["mrr"] == noise["cosine_mrr"]
    # a tie between weights goes to the smallest: the least trust that does the job
    assert choose_fusion_weight(groups_right, weights=(0.5, 0.3))["weight"] == 0.3


def write_retrieval(folder: Path, n: int = 40) -> Path:
    """An invented brief -> headline folder with a pattern a cross-encoder learns and a cosine misses: each
    brief's headline is the approved line, while a near copy of the brief's own words (a decoy) is closer by
    the cosine."""
    folder.mkdir(parents=True)
    products = ["parka", "espresso", "earbuds", "monitor", "drill", "teapot", "jacket", "card", "tent", "bike"]
    colours = ["red", "blue", "green", "black"]
    queries, corpus, qrels = [], [], []
    for i in range(n):
        product, colour = products[i % len(products)], colours[(i // len(products)) % len(colours)]
        queries.append((f"q{i}", f"brief {i}: launch the {colour} {product} to new customers"))
        corpus.append((f"d{i}", f"approved headline: {colour} {product}, made for you"))
        corpus.append((f"e{i}", f"launch the {colour} {product} to new customers today"))
        qrels.append((f"q{i}", f"d{i}", 1))
    for name, header, rows in (("queries", ["id", "text"], queries), ("corpus", ["id", "text"], corpus),
                               ("qrels", ["query_id", "doc_id", "relevance"], qrels)):
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    return folder


def test_a_retrieval_folder_becomes_each_query_with_its_document_and_its_hardest_near_misses(tmp_path):
    task = load_task(write_retrieval(tmp_path / "retrieval" / "briefs"))
    encoder = FakeEncoder(dim=64)
    pairs = retrieval_pairs(task, encoder, negatives=2)
    train, valid = pairs.train, pairs.valid
    assert pairs.kind == "pairs" and valid is not None
    held = {q for q in task.train.texts_a if _held_out(q)}
    assert held and set(valid.texts_a) == held and not held & set(train.texts_a)
    relevant = dict(zip(task.train.texts_a, task.train.texts_b))
    with open(task.path / "corpus.csv", newline="", encoding="utf-8") as fh:
        corpus = sorted({row["text"] for row in csv.DictReader(fh)})
    for query in set(train.texts_a):  # its document, then the 2 most similar others by the encoder
        rows = [(b, y) for a, b, y in zip(train.texts_a, train.texts_b, train.labels) if a == query]
        assert rows[0] == (relevant[query], 1) and [y for _, y in rows[1:]] == [0, 0]
        others = sorted((d for d in corpus if d != relevant[query]),
                        key=lambda d: -float(encoder.encode([query])[0] @ encoder.encode([d])[0]))
        assert [b for b, _ in rows[1:]] == others[:2]
    for query in held:  # the guard's list: the encoder's top GUARD_DEPTH, labelled by relevance
        labels = [y for a, y in zip(valid.texts_a, valid.labels) if a == query]
        assert len(labels) == GUARD_DEPTH and sum(labels) <= 1
    assert retrieval_pairs(task, encoder, negatives=2) == pairs  # the same folder, the same pairs
    with pytest.raises(SemanticDataError, match="retrieval folder"):
        retrieval_pairs(pairs, encoder)
    with pytest.raises(SemanticConfigError, match="negatives"):
        RerankerConfig(negatives=0)


@pytest.mark.slow
def test_the_cli_trains_a_brief_reranker_into_its_registry_and_evaluate_reorders_with_it(semantic_home, capsys):
    from semantic.cli import main
    from semantic.encoding.registry import Registry

    tmp_path = semantic_home
    folder = write_retrieval(tmp_path / "retrieval" / "briefs")
    code = main(["train", "--cross-encoder", "--data", str(folder), "--epochs", "3", "--batch-size", "8",
                 "--max-seq-length", "48"])
    out = capsys.readouterr().out
    registry = Registry(tmp_path / "data" / "brief_rerankers")
    [version] = registry.versions()
    assert f"brief reranker {version.path.name}-" in out and "held-out queries" in out
    assert not Registry(tmp_path / "data" / "rerankers").versions()  # not a pair reranker
    # the cosine puts each brief's decoy first; the reranker learned the pattern and its guard gives it a weight
    guard = version.metrics["guard"]
    assert guard["cosine_valid_recall@1"] == 0.0 and guard["valid_mrr"] > guard["cosine_valid_mrr"], guard
    assert code == 0 and guard["fusion_weight"] > 0, out
    assert registry.active_name() == version.name and "fct_brief_asset_matches" in out
    reranker = Reranker(version.path)
    assert reranker.symmetric is False and reranker.fusion_weight == version.metrics["guard"]["fusion_weight"]
    # the guard measured the reranker as it scores once loaded (one order): recomputed, the same figures
    from semantic.config import default_model_dir
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.reranker import _query_guard

    encoder = load_encoder(default_model_dir())
    valid = retrieval_pairs(load_task(folder), encoder, RerankerConfig().negatives).valid
    cosines = np.sum(encoder.encode(valid.texts_a) * encoder.encode(valid.texts_b), axis=1)
    again = _query_guard(valid.texts_a, cosines, reranker.score(valid.texts_a, valid.texts_b),
                         np.array(valid.labels), encoder.version)
    assert again["fusion_weight"] == guard["fusion_weight"] and again["valid_mrr"] == pytest.approx(guard["valid_mrr"])
    from sklearn.metrics import average_precision_score

    ap = average_precision_score(valid.labels, reranker.score(valid.texts_a, valid.texts_b))
    assert ap == pytest.approx(version.metrics["valid"]["ap"], abs=1e-9)
    a, b = "brief: launch the red parka", "the red parka you were waiting for"
    forward = reranker.score([a], [b])[0]
    assert 0 < forward < 1 and forward != pytest.approx(reranker.score([b], [a])[0])  # read in one order only
    # listed, and switched off and on like the other registries
    assert main(["versions", "--brief-reranker"]) == 0
    assert version.name in capsys.readouterr().out
    assert main(["activate", "--brief-reranker", "base"]) == 0 and registry.active_name() == "base"
    assert main(["versions", "--brief-reranker", "--reranker"]) != 0 and "not several" in capsys.readouterr().err
    # evaluate: the base encoder's top 20 of each query reordered with a weight chosen out of fold
    assert main(["evaluate", "--data", str(folder), "--reranker", str(version.path)]) == 0
    table = capsys.readouterr().out
    assert f"| briefs | base+reranker {version.path.name}-" in table and "fusion_weight" in table


@pytest.mark.slow
def test_a_brief_reranker_without_held_out_queries_has_no_weight_and_is_not_passed(tmp_path):
    from semantic.config import default_model_dir
    from semantic.encoding.reranker import train_reranker
    from semantic.encoding.training import PairSet, Task

    pairs = PairSet([f"brief {i}: the {c} parka" for i, c in enumerate(["red", "blue"]) for _ in range(2)],
                    ["approved: red parka", "launch the red parka", "approved: blue parka", "launch the blue parka"],
                    [1, 0, 1, 0])
    config = RerankerConfig(epochs=1, batch_size=4, max_length=32, symmetric=False)
    result = train_reranker([Task("briefs", "pairs", pairs, None, tmp_path)], tmp_path / "rr", default_model_dir(),
                            config)
    assert result.guard["passed"] is False and result.guard["fusion_weight"] == 0.0
    assert "no held-out queries" in result.guard["reason"] and Reranker(tmp_path / "rr").fusion_weight == 0.0
