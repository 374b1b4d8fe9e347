"""One row per asset sentence (stg_semantic__asset_sentences) with its vector from LanceDB, synced
incrementally like the assets: an edit re-embeds only the sentences whose text changed."""


def model(dbt, session):
    from semantic.store import sync_embeddings

    dbt.ref("int_encoder_versions_trained")  # run after training, so a newly activated version embeds
    mirrored = None
    if dbt.is_incremental:
        mirrored = session.sql(f"select * exclude (vector, embedded_at) from {dbt.this}").to_arrow_table()
    return sync_embeddings(
        dbt.ref("stg_semantic__asset_sentences").to_arrow_table(),
        table="asset_sentences",
        id_column="sentence_id",
        output_columns=["asset_id", "market", "position"],
        mirrored=mirrored,
    )
