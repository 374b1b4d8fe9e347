"""One row per compliance reference claim: its vector from LanceDB, synced incrementally.

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
        dbt.ref("stg_semantic__compliance_references").to_arrow_table(),
        table="compliance_references",
        id_column="reference_id",
        output_columns=["rule_id", "severity", "market", "is_active"],
        mirrored=mirrored,
    )
