"""One row per asset with non-empty text: its vector from LanceDB, synced incrementally.

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
        dbt.ref("stg_semantic__assets").to_arrow_table(),
        table="assets",
        id_column="asset_id",
        output_columns=["campaign_id", "brand", "channel", "market", "asset_type"],
        mirrored=mirrored,
        full_text=True,  # BM25 index for semantic_hybrid_search
        vector_index_min_rows=dbt.config.get("vector_index_min_rows"),  # ANN index past this many rows
    )
