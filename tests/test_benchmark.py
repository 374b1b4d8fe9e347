import itertools

import numpy as np
import pytest

from semantic.errors import SemanticDataError
from semantic.evaluation.benchmark import (
    best_f1_threshold,
    f1_at,
    find_tasks,
    lexical_embed,
    ranking,
    run,
    to_json,
    to_markdown,
)


def test_ranking_metrics_on_a_hand_built_similarity_matrix():
    sims = np.array([[0.9, 0.8, 0.1], [0.2, 0.3, 0.9]])
    got = ranking(sims, [{1}, {2}], ks=(1, 2))
    assert got["recall@1"] == pytest.approx(0.5)  # query 0 ranks its doc second, query 1 first
    assert got["recall@2"] == pytest.approx(1.0)
    assert got["mrr@10"] == pytest.approx((0.5 + 1.0) / 2)
    assert got["ndcg@10"] == pytest.approx((1 / np.log2(3) + 1.0) / 2)


def test_best_threshold_matches_a_brute_force_search():
    rng = np.random.default_rng(1)
    scores = rng.random(60)
    labels = (scores + rng.normal(0, 0.3, 60) > 0.6).astype(int)
    threshold, f1 = best_f1_threshold(scores, labels)
    brute = max(f1_at(scores, labels, t)["f1"] for t in scores)
    assert f1 == pytest.approx(brute)
    assert f1_at(scores, labels, threshold)["f1"] == pytest.approx(brute)


def write(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")


def test_run_scores_every_task_in_a_data_root_with_the_lexical_floor(tmp_path):
    pairs = tmp_path / "pairs" / "shop"
    pairs.mkdir(parents=True)
    items = ["acme kettle k100", "acme kettle k200", "zeta toaster t9", "zeta toaster t7",
             "nova lamp l1", "nova lamp l2"]
    rows = [(a, a.upper(), 1) for a in items] + [(a, b, 0) for a, b in itertools.combinations(items, 2)]
    for name in ("train", "valid", "test"):
        write(pairs / f"{name}.csv", ["text_a", "text_b", "label"], rows)
    retrieval = tmp_path / "retrieval" / "briefs"
    retrieval.mkdir(parents=True)
    write(retrieval / "queries.csv", ["id", "text"], [("q1", "kettle k100"), ("q2", "lamp l2")])
    write(retrieval / "corpus.csv", ["id", "text"], [(f"d{i}", t) for i, t in enumerate(items)])
    write(retrieval / "qrels.csv", ["query_id", "doc_id", "relevance"], [("q1", "d0", 1), ("q2", "d5", 1)])
    from conftest import FakeEncoder

    result = run(tmp_path, models={"fake": FakeEncoder()})
    collapse = [r for r in result if r.kind == "collapse"]
    assert len(collapse) == 1 and collapse[0].model == "fake" and collapse[0].metrics["guard_passed"] == 1.0
    result = [r for r in result if r.model == "lexical"]
    by_task = {r.task: r for r in result}
    assert set(by_task) == {"pairs/shop", "retrieval/briefs"}
    assert by_task["retrieval/briefs"].metrics["recall@1"] == 1.0
    assert by_task["pairs/shop"].metrics["f1"] == 1.0  # exact restatements: the lexical floor solves it
    assert "| pairs/shop | lexical |" in to_markdown(result)
    assert '"model": "lexical"' in to_json(result)


def test_find_tasks_names_the_expected_layout(tmp_path):
    with pytest.raises(SemanticDataError, match="pairs/, retrieval/"):
        find_tasks(tmp_path)


def test_lexical_embed_rows_are_unit_length():
    embed = lexical_embed(["model k100 kettle", "toaster"])
    m = embed(["kettle k100", "toaster t9"])
    np.testing.assert_allclose(np.sqrt(m.multiply(m).sum(axis=1)).A.ravel(), 1.0)


@pytest.mark.eval
def test_shared_lookalike_set_base_encoder_beats_chance(eval_data, real_encoder):
    from semantic.evaluation.benchmark import encoder_embed, lookalike_task

    metrics = lookalike_task(eval_data / "lookalike" / "sms_spam", encoder_embed(real_encoder))
    assert metrics["auroc"] > 0.9


def test_retrieval_goes_through_the_sql_search_exact_ann_and_hybrid():
    from conftest import FakeEncoder

    from semantic.evaluation.benchmark import encoder_embed, sql_search_metrics

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    corpus = [" ".join(rng.choice(words, 6)) for _ in range(1500)]
    corpus[7] += " zx9000q"  # a code only BM25 can key on once the query's words are gone
    queries = [" ".join(corpus[i].split()[:4]) for i in range(40)] + ["zx9000q"]
    relevant = [{i} for i in range(40)] + [{7}]
    embed = encoder_embed(FakeEncoder(dim=64))
    m = sql_search_metrics(queries, corpus, embed(corpus), relevant, embed, hybrid=True, index_min_rows=1000)
    assert m["recall@10"] >= 0.9 and m["mrr@10"] <= 1.0 and 0 < m["ndcg@10"] <= 1.0
    assert m["ann_vs_exact_recall@10"] >= 0.9  # the index was built (1,500 rows >= 1,000) and searched
    assert abs(m["ann_recall@10"] - m["recall@10"]) <= 0.05
    assert "hybrid_recall@1" in m
    # the weight learned on one half of the queries, scored on the other (and back)
    from semantic.decisions.fusion import ALPHAS

    assert m["hybrid_learned_alpha_a"] in ALPHAS and m["hybrid_learned_alpha_b"] in ALPHAS
    assert 0 <= m["hybrid_learned_recall@1"] <= 1
    small = sql_search_metrics(queries, corpus, embed(corpus), relevant, embed, index_min_rows=5000)
    assert "ann_recall@10" not in small and "hybrid_recall@1" not in small
    assert small["recall@10"] == m["recall@10"]


def test_markdown_shows_metrics_that_only_some_rows_have():
    from semantic.evaluation.benchmark import Row

    table = to_markdown([Row("t", "retrieval", "lexical", {"recall@1": 0.5}),
                         Row("t", "retrieval", "base", {"recall@1": 0.4, "ann_recall@10": 0.9})])
    assert "ann_recall@10" in table and "| t | lexical | 0.500 |  |" in table and "0.900" in table


def test_dedup_runs_the_real_pipeline_with_a_calibrated_threshold(tmp_path):
    from conftest import FakeEncoder

    from semantic.evaluation.benchmark import bcubed_f1, dedup_task, encoder_embed

    # 30 products, each listed twice (an exact copy and an upper-case copy): 30 gold pairs.
    products = [f"brand{i % 5} gadget model x{i:03d}z colour {c}" for i, c in zip(range(30), itertools.cycle("rgb"))]
    dedup = tmp_path / "dedup" / "shop"
    dedup.mkdir(parents=True)
    records = [(f"a{i}", p) for i, p in enumerate(products)] + [(f"b{i}", p.upper()) for i, p in enumerate(products)]
    write(dedup / "records.csv", ["id", "text"], records)
    write(dedup / "gold_pairs.csv", ["id_a", "id_b"], [(f"a{i}", f"b{i}") for i in range(30)])
    pairs = tmp_path / "pairs" / "shop"
    pairs.mkdir(parents=True)
    # negatives: same brand and template, another model number (what embeddings blur)
    negatives = [(products[i], products[(i + d) % 30].upper(), 0) for i in range(30) for d in (5, 10, 15)]
    rows = [(p, p.upper(), 1) for p in products] + negatives
    for name in ("train", "valid", "test"):
        write(pairs / f"{name}.csv", ["text_a", "text_b", "label"], rows)
    for embed in (lexical_embed([t for _, t in records]), encoder_embed(FakeEncoder())):
        out = dedup_task(dedup, embed, k=3, calibrate_with=pairs)
        assert out["candidate_recall@3"] == 1.0
        # every copy passes the calibrated threshold; same-template products also do (cosine alone)
        assert out["pair_recall"] == 1.0 and 0 < out["pair_precision"] <= 1 and 0 <= out["bcubed_f1"] <= 1
    decision = dedup_task(dedup, encoder_embed(FakeEncoder()), k=3, calibrate_with=pairs, decision=True)
    assert decision["pair_f1"] == 1.0 and decision["clustered_f1"] == 1.0 and decision["bcubed_f1"] == 1.0
    # B-cubed on a hand example: truth {a,b},{c}; prediction {a,b,c}
    assert bcubed_f1(["a", "b", "c"], [["a", "b", "c"]], {("a", "b")}) == pytest.approx(2 * (5 / 9) / (5 / 9 + 1))


def test_a_graded_relatedness_folder_is_scored_by_rank_correlation(tmp_path):
    from conftest import FakeEncoder

    general = tmp_path / "general" / "graded"
    general.mkdir(parents=True)
    # the score rises with the words the two texts share, as the fake encoder's cosine does
    rows = [("red apple pie", "red apple pie", 5.0), ("red apple pie", "red apple tart", 3.5),
            ("red apple pie", "green apple cake", 2.0), ("red apple pie", "steel bolt nut", 1.0)]
    write(general / "test.csv", ["text_a", "text_b", "score"], rows)
    only_pairs = tmp_path / "pairs" / "valid_test_only"
    only_pairs.mkdir(parents=True)
    for name in ("valid", "test"):
        write(only_pairs / f"{name}.csv", ["text_a", "text_b", "label"],
              [("acme k100", "ACME K100", 1), ("acme k100", "zeta t9", 0), ("nova l1", "nova l1", 1),
               ("nova l1", "acme k100", 0)])
    assert [(n, k) for n, k, _ in find_tasks(tmp_path)] == [("pairs/valid_test_only", "pairs"),
                                                           ("general/graded", "general")]
    result = run(tmp_path, models={"fake": FakeEncoder()})
    graded = {r.model: r.metrics for r in result if r.task == "general/graded"}
    assert graded["fake"]["spearman"] == pytest.approx(1.0) and graded["fake"]["n"] == 4
    # no train.csv: the pairs are scored, the pair decision (which learns on train) is not
    assert {r.model for r in result if r.task == "pairs/valid_test_only"} == {"lexical", "fake"}
