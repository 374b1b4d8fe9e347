"""One row per brief reranker in data/brief_rerankers (semantic.encoding.reranker, query first: a brief, then an
asset): its version, guard figures and is_active. Building it trains a new brief reranker on the labelled brief
matches of the train split only when those pairs or the reranker vars changed, and activates it when, on the
held-out briefs, adding its judgement to the cosine orders their labelled assets better than the cosine alone
(the guard chooses that weight; see semantic.encoding.registry.train_reranker_from_warehouse).
fct_brief_asset_matches reorders each brief's top assets with the active one."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.encoding.registry import BRIEF_RERANKER_TASK, Registry, train_reranker_in_dbt

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
        dbt.ref("int_training_pairs_labelled").filter("task = 'brief_match'").to_arrow_table(),
        settings,
        Registry(active().brief_rerankers_dir),
        task=BRIEF_RERANKER_TASK,
        symmetric=False,
    )
