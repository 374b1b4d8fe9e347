"""One row per asset with non-empty text: its vector from LanceDB, synced incrementally."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.store import sync_embeddings

    return sync_embeddings(
        dbt.ref("stg_demo__assets").to_arrow_table(),
        table="assets",
        id_column="asset_id",
        output_columns=["campaign_id", "brand", "channel", "market", "asset_type"],
    )
