"""One row per lookalike reranker in data/lookalike_rerankers (semantic.encoding.reranker, query first: a rejected
claim, then an asset): its version, guard figures and is_active. Building it trains a new lookalike reranker on the
labelled lookalike pairs of the train split only when those pairs or the reranker vars changed, and activates it
when, on the valid pairs, the probability that keeps the labelled lookalikes clears enough benign copy
(semantic.encoding.reranker.clear_guard). int_compliance_reviews_reranked asks the active one about the reviews."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.encoding.registry import LOOKALIKE_RERANKER_TASK, Registry, train_reranker_in_dbt

    settings = {  # each on its own line: dbt passes a Python model only the config keys it finds called
        "train_reranker": dbt.config.get("train_reranker"),
        "reranker_epochs": dbt.config.get("reranker_epochs"),
        "reranker_learning_rate": dbt.config.get("reranker_learning_rate"),
        "reranker_max_length": dbt.config.get("reranker_max_length"),
        "training_seed": dbt.config.get("training_seed"),
        "min_positives": dbt.config.get("min_positives"),
        "min_pairs": dbt.config.get("min_pairs"),
    }
    keep_matches = float(dbt.config.get("keep_matches"))
    return train_reranker_in_dbt(
        dbt.ref("int_training_pairs_labelled").filter("task = 'lookalike'").to_arrow_table(),
        settings,
        Registry(active().lookalike_rerankers_dir),
        task=LOOKALIKE_RERANKER_TASK,
        symmetric=False,
        clears=True,
        keep_matches=keep_matches,
    )
