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


def test_the_learned_weight_is_kept_while_few_assets_changed_and_learned_again_past_the_share():
    from datetime import datetime, timedelta

    import duckdb

    from semantic.warehouse.hybrid_weight import kept_under_small_change

    con = duckdb.connect()
    learned = datetime(2026, 12, 1, 12, 0)
    con.execute("create table w as select 'v1' as model_version, 0.75 as alpha, 'others' as other_inputs_fingerprint, "
                "100::bigint as assets_learned_on, ?::timestamp as assets_embedded_through, 'old' as "
                "inputs_fingerprint", [learned])

    def assets(edited: int, added: int, removed: int, version: str = "v1"):
        old = [("v1", learned - timedelta(minutes=1))] * (100 - edited - removed)
        new = [(version, learned + timedelta(days=1))] * (edited + added)
        con.execute("create or replace table a (model_version varchar, embedded_at timestamp)")
        con.executemany("insert into a values (?, ?)", old + new)
        return con.table("a")

    kept = kept_under_small_change(con, "w", "new", "others", assets(edited=1, added=1, removed=1), 0.05)
    assert kept is not None and kept.fetchall() == [("v1", 0.75, "others", 100, learned, "new")]  # restamped
    assert kept_under_small_change(con, "w", "new", "others", assets(edited=3, added=2, removed=0), 0.05) is not None
    assert kept_under_small_change(con, "w", "new", "others", assets(edited=3, added=3, removed=0), 0.05) is None
    assert kept_under_small_change(con, "w", "new", "others", assets(edited=6, added=0, removed=0), 0.05) is None
    assert kept_under_small_change(con, "w", "new", "others", assets(0, 0, 6), 0.05) is None
    assert kept_under_small_change(con, "w", "new", "briefs changed", assets(0, 1, 0), 0.05) is None
    assert kept_under_small_change(con, "w", "new", "others", assets(0, 0, 0, version="v1"), 0) is None  # 0: never
    con.execute("update w set model_version = 'v0'")  # another encoder version: learned again
    assert kept_under_small_change(con, "w", "new", "others", assets(0, 1, 0), 0.05) is None
    assert kept_under_small_change(con, "no_such_table", "new", "others", assets(0, 1, 0), 0.05) is None
