"""One row per LanceDB vector table: its ANN index (type, indexed and unindexed rows, partitions,
last optimised) and the indexed search's recall@10 against exact search. See semantic.vector_index."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.store import vector_index_report

    # after every sync, so the state is the one this run left (dbt needs literal ref arguments)
    dbt.ref("int_assets_embedded")
    dbt.ref("int_briefs_embedded")
    dbt.ref("int_compliance_references_embedded")
    dbt.ref("int_asset_sentences_embedded")
    return vector_index_report(sample=int(dbt.config.get("recall_sample")))
