"""One row per pair reranker in data/rerankers (semantic.encoding.reranker): its version, guard figures and
is_active. Building it trains a new reranker on the labelled duplicate pairs of the train split only when
those pairs or the reranker vars changed, and activates it when it beats the base cosine on the valid
pairs (see semantic.encoding.registry.train_reranker_from_warehouse). int_duplicate_pair_scores asks the
active one about the candidate pairs the pair decision is unsure of."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.encoding.registry import Registry, train_reranker_from_warehouse
    from semantic.encoding.reranker import RerankerConfig

    config = RerankerConfig(
        epochs=float(dbt.config.get("reranker_epochs")),
        learning_rate=float(dbt.config.get("reranker_learning_rate")),
        max_length=int(dbt.config.get("reranker_max_length")),
        seed=int(dbt.config.get("training_seed")),
    )
    enabled = str(dbt.config.get("train_reranker")).lower() == "true"
    min_positives = int(dbt.config.get("min_positives"))
    min_pairs = int(dbt.config.get("min_pairs"))
    return train_reranker_from_warehouse(
        dbt.ref("int_training_pairs_labelled").filter("task = 'duplicate'").to_arrow_table(),
        enabled=enabled,
        config=config,
        registry=Registry(active().rerankers_dir),
        min_positives=min_positives,
        min_pairs=min_pairs,
    )
