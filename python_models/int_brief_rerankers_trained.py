"""One row per brief reranker in data/brief_rerankers (semantic.encoding.reranker, query first: a brief, then an
asset): its version, guard figures and is_active. Building it trains a new brief reranker on the labelled brief
matches of the train split only when those pairs or the reranker vars changed, and activates it when, on the
held-out briefs, adding its judgement to the cosine orders their labelled assets better than the cosine alone
(the guard chooses that weight; see semantic.encoding.registry.train_reranker_from_warehouse).
fct_brief_asset_matches reorders each brief's top assets with the active one."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.encoding.registry import BRIEF_RERANKER_TASK, Registry, train_reranker_from_warehouse
    from semantic.encoding.reranker import RerankerConfig

    config = RerankerConfig(
        epochs=float(dbt.config.get("reranker_epochs")),
        learning_rate=float(dbt.config.get("reranker_learning_rate")),
        max_length=int(dbt.config.get("reranker_max_length")),
        seed=int(dbt.config.get("training_seed")),
        symmetric=False,
    )
    enabled = str(dbt.config.get("train_reranker")).lower() == "true"
    min_positives = int(dbt.config.get("min_positives"))
    min_pairs = int(dbt.config.get("min_pairs"))
    return train_reranker_from_warehouse(
        dbt.ref("int_training_pairs_labelled").filter("task = 'brief_match'").to_arrow_table(),
        enabled=enabled,
        config=config,
        registry=Registry(active().brief_rerankers_dir),
        min_positives=min_positives,
        min_pairs=min_pairs,
        task=BRIEF_RERANKER_TASK,
    )
