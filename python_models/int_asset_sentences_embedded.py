"""One row per asset sentence (stg_semantic__asset_sentences) with its vector from LanceDB, synced
incrementally like the assets: an edit re-embeds only the sentences whose text changed."""


def model(dbt, session):
    from semantic.vectors.sync import embed_entity

    dbt.ref("int_encoder_versions_trained")  # run after training, so a newly activated version embeds
    return embed_entity(dbt, session, "asset_sentences", dbt.ref("stg_semantic__asset_sentences"),
                        versions_kept=dbt.config.get("lance_versions_kept"))  # LanceDB versions kept
