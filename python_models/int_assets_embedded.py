"""One row per asset with non-empty text: its vector from LanceDB, synced incrementally.

Incremental: LanceDB holds the vectors; this model upserts into DuckDB only the rows that are new
or changed there, and its post-hook (in _embeddings.yml) deletes rows that left the source.
"""


def model(dbt, session):
    from semantic.vectors.sync import embed_entity

    dbt.ref("int_encoder_versions_trained")  # run after training, so a newly activated version embeds
    return embed_entity(dbt, session, "assets", dbt.ref("stg_semantic__assets"),
                        vector_index_min_rows=dbt.config.get("vector_index_min_rows"),  # ANN index past this many rows
                        versions_kept=dbt.config.get("lance_versions_kept"),  # LanceDB versions kept
                        graph_index_min_rows=dbt.config.get("graph_index_min_rows"))  # HNSW graph past this many rows
