"""One row per text a labelled pair gives instead of an id (stg_semantic__labelled_texts), with its
vector from LanceDB, synced incrementally like the assets (text_id is the text's content hash).

Incremental: only new texts, or all of them under a new model version, are embedded; texts no pair
uses any more leave (post-hook in _embeddings.yml).
"""


def model(dbt, session):
    from semantic.store import sync_embeddings

    dbt.ref("int_encoder_versions_trained")  # run after training, so a newly activated version embeds
    mirrored = None
    if dbt.is_incremental:
        mirrored = session.sql(f"select * exclude (vector, embedded_at) from {dbt.this}").to_arrow_table()
    return sync_embeddings(
        dbt.ref("stg_semantic__labelled_texts").to_arrow_table(),
        table="labelled_texts",
        id_column="text_id",
        mirrored=mirrored,
    )
