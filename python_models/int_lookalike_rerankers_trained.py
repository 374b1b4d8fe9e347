"""One row per lookalike reranker in data/lookalike_rerankers (semantic.encoding.reranker, query first: a rejected
claim, then an asset): its version, guard figures and is_active. Building it trains a new lookalike reranker on the
labelled lookalike pairs of the train split only when those pairs or the reranker vars changed, and activates it
when, on the valid pairs, the probability that keeps the labelled lookalikes clears enough benign copy
(semantic.encoding.reranker.clear_guard). int_compliance_reviews_reranked asks the active one about the reviews."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.encoding.registry import LOOKALIKE_RERANKER_TASK, Registry, train_reranker_from_warehouse
    from semantic.encoding.reranker import RerankerConfig

    config = RerankerConfig(
        epochs=float(dbt.config.get("reranker_epochs")),
        learning_rate=float(dbt.config.get("reranker_learning_rate")),
        max_length=int(dbt.config.get("reranker_max_length")),
        seed=int(dbt.config.get("training_seed")),
        symmetric=False,
        clears=True,
        keep_matches=float(dbt.config.get("keep_matches")),
    )
    enabled = str(dbt.config.get("train_reranker")).lower() == "true"
    min_positives = int(dbt.config.get("min_positives"))
    min_pairs = int(dbt.config.get("min_pairs"))
    return train_reranker_from_warehouse(
        dbt.ref("int_training_pairs_labelled").filter("task = 'lookalike'").to_arrow_table(),
        enabled=enabled,
        config=config,
        registry=Registry(active().lookalike_rerankers_dir),
        min_positives=min_positives,
        min_pairs=min_pairs,
        task=LOOKALIKE_RERANKER_TASK,
    )
