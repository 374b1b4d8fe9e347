"""One row per pair reranker in data/rerankers (semantic.encoding.reranker): its version, guard figures and
is_active. Building it trains a new reranker on the labelled duplicate pairs of the train split only when
those pairs or the reranker vars changed, and activates it when it beats the base cosine on the valid
pairs (see semantic.encoding.registry.train_reranker_from_warehouse). int_duplicate_pair_scores asks the
active one about the candidate pairs the pair decision is unsure of."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.encoding.registry import Registry, train_reranker_in_dbt

    settings = {  # each on its own line: dbt passes a Python model only the config keys it finds called
        "train_reranker": dbt.config.get("train_reranker"),
        "reranker_epochs": dbt.config.get("reranker_epochs"),
        "reranker_learning_rate": dbt.config.get("reranker_learning_rate"),
        "reranker_max_length": dbt.config.get("reranker_max_length"),
        "training_seed": dbt.config.get("training_seed"),
        "min_positives": dbt.config.get("min_positives"),
        "min_pairs": dbt.config.get("min_pairs"),
    }
    return train_reranker_in_dbt(
        dbt.ref("int_training_pairs_labelled").filter("task = 'duplicate'").to_arrow_table(),
        settings,
        Registry(active().rerankers_dir),
    )
