"""One row per decision a reviewer recorded (`semantic label`, semantic.review.decisions.record), read
from the decision log beside the DuckDB file (data/review/decisions.jsonl): never replaced by a build,
a swap or a rollback. Rebuilt every run, so the next build sees every decision recorded since."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.review.decisions import DecisionLog

    return DecisionLog(active().review_log).to_arrow()
