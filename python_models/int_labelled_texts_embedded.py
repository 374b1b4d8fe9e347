"""One row per text a labelled pair gives instead of an id (stg_semantic__labelled_texts), with its
vector from LanceDB, synced incrementally like the assets (text_id is the text's content hash).

Incremental: only new texts, or all of them under a new model version, are embedded; texts no pair
uses any more leave (post-hook in _embeddings.yml).
"""


def model(dbt, session):
    from semantic.vectors.sync import embed_entity

    dbt.ref("int_encoder_versions_trained")  # run after training, so a newly activated version embeds
    return embed_entity(dbt, session, "labelled_texts", dbt.ref("stg_semantic__labelled_texts"),
                        versions_kept=dbt.config.get("lance_versions_kept"))  # LanceDB versions kept
