"""One row per (brief, rank): the top brief_match_k assets of the brief's brand and market, searched
exactly in memory (the LanceDB assets table read once), near-duplicates collapsed to one slot per cluster, each brief's
top brief_match_rerank_depth reordered by the active brief reranker (int_brief_rerankers_trained) when there is one,
optionally re-ranked for variety (MMR). See semantic.decisions.recommendations for the rules."""


def model(dbt, session):
    dbt.config(materialized="table")
    import numpy as np

    from semantic.config import active
    from semantic.decisions.recommendations import brief_matches
    from semantic.encoding.registry import brief_reranker_dir
    from semantic.encoding.reranker import load_reranker
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped
    from semantic.vectors.memory import release_duckdb_cache

    embedded = dbt.ref("int_briefs_embedded")
    briefs = embedded.select("brief_id, brand, market, vector, model_version")
    curve = dbt.ref("dim_similarity_thresholds").filter("task = 'brief_match'").select("curve_x, curve_y").fetchone()
    clusters = dbt.ref("dim_asset_clusters").select("asset_id, cluster_id")
    known = dbt.ref("stg_semantic__brief_matches").select("brief_id, asset_id")
    brief_source = dbt.ref("stg_semantic__briefs")
    collapse = str(dbt.config.get("collapse_duplicates")).lower() not in ("false", "0", "none", "")
    settings = [str(dbt.config.get("k")), str(dbt.config.get("pool")), str(dbt.config.get("mmr_lambda"))]
    depth = int(dbt.config.get("rerank_depth"))
    # the active brief reranker (trained, or kept, by int_brief_rerankers_trained just before)
    dbt.ref("int_brief_rerankers_trained")
    reranker_path = brief_reranker_dir(active())
    reranker = load_reranker(reranker_path) if reranker_path is not None else None
    if reranker is not None:
        settings += [reranker.version, str(reranker.fusion_weight), str(depth)]
    # the LanceDB assets table holds what int_assets_embedded mirrors (ids, texts by hash, model, filters)
    inputs = fingerprint(
        relation_fingerprint(embedded.select("brief_id, brand, market, content_hash, model_version")),
        relation_fingerprint(dbt.ref("int_assets_embedded").select("* exclude (vector, embedded_at)")),
        relation_fingerprint(clusters) if collapse else None,
        relation_fingerprint(known),
        curve,
        settings,
        str(active().lance_dir),
    )
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        return kept
    release_duckdb_cache(session)  # DuckDB's cached table blocks go back before the vectors are read

    def probability(similarity):
        return np.interp(similarity, curve[0], curve[1]) if curve and curve[0] else np.full(len(similarity), np.nan)

    matches = brief_matches(
        briefs.to_arrow_table(),
        active().lance_dir,
        k=int(dbt.config.get("k")),
        pool=int(dbt.config.get("pool")),
        mmr_lambda=float(dbt.config.get("mmr_lambda")),
        clusters=clusters.to_arrow_table() if collapse else None,
        known_matches=known.to_arrow_table(),
        probability=probability,
        reranker=reranker,
        brief_texts=dict(brief_source.select("brief_id, text").fetchall()) if reranker else None,
        rerank_depth=depth,
    )
    return stamped(matches, inputs)
