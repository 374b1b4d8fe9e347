import numpy as np
import pytest

from semantic.evaluation.evaluate import pair_metrics, ranking_metrics, tfidf_scorer


def test_pair_metrics_on_hand_built_scores():
    labels = np.array([0, 0, 1, 1])
    assert pair_metrics(np.array([0.1, 0.2, 0.8, 0.9]), labels)["auroc"] == 1.0
    assert pair_metrics(np.array([0.9, 0.8, 0.2, 0.1]), labels)["auroc"] == 0.0
    # one positive below one negative: 3 of 4 positive-negative pairs ordered correctly
    assert pair_metrics(np.array([0.1, 0.5, 0.4, 0.9]), labels)["auroc"] == pytest.approx(0.75)


def test_ranking_metrics_top1_precision_and_mrr():
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    got = ranking_metrics(scores, np.array([0, 1, 0, 1.0]), k=2)
    assert got == {"top1": 0.0, "precision@2": 0.5, "recall@2": 0.5, "mrr": 0.5}
    got = ranking_metrics(scores, np.array([0, 0, 0, 1.0]), k=2)
    assert got == {"top1": 0.0, "precision@2": 0.0, "recall@2": 0.0, "mrr": 0.25}
    got = ranking_metrics(scores, np.array([1, 0, 0, 0.0]), k=2)
    assert got == {"top1": 1.0, "precision@2": 0.5, "recall@2": 1.0, "mrr": 1.0}


def test_tfidf_scores_word_overlap_not_meaning():
    score = tfidf_scorer(["warm jacket", "insulated parka", "warm coffee"])
    same_words, synonyms = score(["warm jacket", "warm jacket"], ["warm jacket", "insulated parka"])
    assert same_words == pytest.approx(1.0)
    assert synonyms == pytest.approx(0.0)


def test_evaluate_demo_scores_every_task_for_every_scorer(tmp_path):
    from conftest import FakeEncoder

    from semantic.demo import generate
    from semantic.evaluation.evaluate import encoder_scorer, evaluate_demo

    generate(tmp_path, seed=5, n_assets=150)
    scorers = {"tfidf": tfidf_scorer(["warm jacket", "coffee"]), "fake": encoder_scorer(FakeEncoder())}
    results = evaluate_demo(tmp_path, scorers)
    assert {(r.task, r.scorer) for r in results} == {
        (task, scorer) for task in ("duplicate", "lookalike", "brief_match") for scorer in ("tfidf", "fake")
    }
    brief = next(r for r in results if r.task == "brief_match" and r.scorer == "fake")
    assert 0 <= brief.metrics["top1"] <= 1 and "recall@5" in brief.metrics
