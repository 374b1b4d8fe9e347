"""One row per creative brief with non-empty text: its vector from LanceDB, synced incrementally."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.store import sync_embeddings

    return sync_embeddings(
        dbt.ref("stg_demo__briefs").to_arrow_table(),
        table="briefs",
        id_column="brief_id",
        output_columns=["campaign_id", "brand", "market"],
    )
