"""Each asset's top near_duplicate_k neighbours (within near_duplicate_block_on), found in memory from
the embedded assets' vectors (exact: one matrix product per chunk of queries against its block; an
HNSW graph for a block past 100,000 assets). Incremental: only assets that are new, changed
(content_hash) or re-embedded with another model version are queried; the dbt log counts the
compared pairs. See semantic.decisions.clustering."""


def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="asset_id", incremental_strategy="delete+insert")
    from semantic.config import active
    from semantic.decisions.clustering import refresh_neighbours
    from semantic.vectors.memory import release_duckdb_cache

    release_duckdb_cache(session)  # DuckDB's cached table blocks go back before every vector is read
    block_on = dbt.config.get("block_on")
    block_on = None if str(block_on).lower() in ("none", "") else block_on
    k = int(dbt.config.get("k"))
    assets = dbt.ref("int_assets_embedded").to_arrow_table()
    done = None
    if dbt.is_incremental:
        done = session.sql(f"select distinct asset_id, content_hash, model_version from {dbt.this}").to_arrow_table()
    return refresh_neighbours(assets, done, k=k, block_on=block_on, lance_dir=active().lance_dir)
