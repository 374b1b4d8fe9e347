"""One row per embedded asset: its near-duplicate cluster (stable id across runs), the cluster's
canonical asset and size, and where a merge moved it from. See semantic.decisions.clustering for the rules."""


def model(dbt, session):
    dbt.config(materialized="table")
    import duckdb

    from semantic.decisions.clustering import cluster_table
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped
    from semantic.vectors.memory import release_duckdb_cache

    pairs = dbt.ref("fct_asset_near_duplicates")
    assets = dbt.ref("int_assets_embedded").select("asset_id")
    created = dbt.ref("stg_semantic__assets").select("asset_id, created_at")
    min_similarity = dbt.config.get("min_similarity")
    if str(min_similarity).lower() in ("none", ""):
        threshold = dbt.config.get("threshold_override")
        if str(threshold).lower() in ("none", ""):
            row = dbt.ref("dim_similarity_thresholds").filter("task = 'duplicate'").select("threshold").fetchone()
            threshold = row[0]
        # the pair decision accepts pairs below the cosine threshold (shared identifiers, wording):
        # the guard is measured from the least similar accepted pair, so it splits chains, not them
        lowest = pairs.aggregate("min(similarity)").fetchone()[0]
        min_similarity = (float(threshold) if lowest is None else min(float(threshold), float(lowest))) - 0.10
    # same pairs, assets (text and model: so the same vectors) and rule: the same clusters
    inputs = fingerprint(
        relation_fingerprint(pairs.select("asset_id_a, asset_id_b, similarity")),
        relation_fingerprint(dbt.ref("int_assets_embedded").select("asset_id, content_hash, model_version")),
        relation_fingerprint(created),
        float(min_similarity),
    )
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        return kept
    release_duckdb_cache(session)  # DuckDB's cached table blocks go back before the clusters are built
    embedded = assets.join(created, "asset_id", how="left").to_arrow_table()
    in_pairs = pairs.select("asset_id_a as asset_id").union(pairs.select("asset_id_b as asset_id")).distinct()
    vectors = dbt.ref("int_assets_embedded").join(in_pairs, "asset_id").select("asset_id, vector").to_arrow_table()
    try:
        previous = session.sql(f"select * from {dbt.this}").to_arrow_table()
    except duckdb.CatalogException:  # first run (or after a full refresh): no earlier ids to keep
        previous = None
    clusters = cluster_table(
        embedded,
        pairs.select("asset_id_a, asset_id_b, similarity").to_arrow_table(),
        vectors,
        previous,
        float(min_similarity),
    )
    return stamped(clusters, inputs)
