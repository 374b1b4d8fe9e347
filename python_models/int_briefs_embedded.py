"""One row per creative brief with non-empty text: its vector from LanceDB, synced incrementally.

Incremental: LanceDB holds the vectors; this model upserts into DuckDB only the rows that are new
or changed there, and its post-hook (in _embeddings.yml) deletes rows that left the source.
"""


def model(dbt, session):
    from semantic.store import sync_embeddings

    dbt.ref("int_encoder_versions_trained")  # run after training, so a newly activated version embeds
    mirrored = None
    if dbt.is_incremental:
        mirrored = session.sql(f"select * exclude (vector, embedded_at) from {dbt.this}").to_arrow_table()
    return sync_embeddings(
        dbt.ref("stg_semantic__briefs").to_arrow_table(),
        table="briefs",
        id_column="brief_id",
        output_columns=["campaign_id", "brand", "market"],
        mirrored=mirrored,
    )
