"""One row per LanceDB table: the version this build wrote and publishes with the DuckDB file. A reader
(semantic.connect(), semantic search, semantic check) searches these versions, not the latest, so it
sees the vectors of the build it reads even while a later build is writing, or after one was killed
(semantic.vectors.pins)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.vectors.pins import current_versions

    # after every sync and index build, so the versions are the ones this run left: dim_vector_indexes
    # runs after all five embedding models
    dbt.ref("dim_vector_indexes")
    return current_versions(active().lance_dir)
