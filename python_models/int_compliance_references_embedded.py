"""One row per compliance reference claim: its vector from LanceDB, synced incrementally."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.store import sync_embeddings

    return sync_embeddings(
        dbt.ref("stg_demo__compliance_references").to_arrow_table(),
        table="compliance_references",
        id_column="reference_id",
        output_columns=["rule_id", "severity", "market", "is_active"],
    )
