"""One row per LanceDB table: the version this build wrote and publishes with the DuckDB file. A reader
(semantic.connect(), semantic search, semantic check) searches these versions, not the latest, so it
sees the vectors of the build it reads even while a later build is writing, or after one was killed
(semantic.vectors.pins)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.vectors.pins import current_versions

    # after every sync, so the versions are the ones this run left (dbt needs literal ref arguments)
    dbt.ref("int_assets_embedded")
    dbt.ref("int_briefs_embedded")
    dbt.ref("int_compliance_references_embedded")
    dbt.ref("int_asset_sentences_embedded")
    dbt.ref("int_labelled_texts_embedded")
    dbt.ref("dim_vector_indexes")
    return current_versions(active().lance_dir)
