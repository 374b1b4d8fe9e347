"""The hybrid search weight learned from labelled queries (``semantic.decisions.fusion``)."""

import pytest

from semantic.decisions.fusion import DEFAULT_ALPHA, choose_alpha, mrr_at_10


def test_mrr_counts_the_first_relevant_result_in_the_top_10():
    assert mrr_at_10([[3, 1, 2], [5, 6], list(range(20, 40))], [{1}, {6, 5}, {35}]) == pytest.approx((0.5 + 1 + 0) / 3)


def test_the_weight_that_ranks_the_labelled_queries_best_wins_and_ties_keep_the_vector_side():
    relevant = [{i} for i in range(30)]
    hit, miss = (lambda i: [i, 99]), (lambda i: [99, i])
    ranked = {0.0: [miss(i) for i in range(30)], 0.5: [hit(i) for i in range(30)], 1.0: [miss(i) for i in range(30)]}
    choice = choose_alpha(ranked, relevant)
    assert choice.learned and choice.alpha == 0.5 and choice.n_queries == 30
    assert choice.mrr == {0.0: 0.5, 0.5: 1.0, 1.0: 0.5}
    ranked[1.0] = ranked[0.5]  # fusion adds nothing over the vector search alone: do not fuse
    assert choose_alpha(ranked, relevant).alpha == 1.0


def test_too_few_labelled_queries_keep_the_default_and_say_so():
    choice = choose_alpha({0.0: [[1]] * 5, 1.0: [[2]] * 5}, [{1}] * 5)
    assert not choice.learned and choice.alpha == DEFAULT_ALPHA and "5 labelled queries (need 20)" in choice.reason
