"""One row per (brief, rank): the top brief_match_k assets of the brief's brand and market, from
the LanceDB index in batches, near-duplicates collapsed to one slot per cluster, optionally
re-ranked for variety (MMR). See semantic.recommendations for the rules."""


def model(dbt, session):
    dbt.config(materialized="table")
    import numpy as np

    from semantic.config import active
    from semantic.recommendations import brief_matches

    briefs = dbt.ref("int_briefs_embedded").select("brief_id, brand, market, vector, model_version")
    curve = dbt.ref("dim_similarity_thresholds").filter("task = 'brief_match'").select("curve_x, curve_y").fetchone()

    def probability(similarity):
        return np.interp(similarity, curve[0], curve[1]) if curve and curve[0] else np.full(len(similarity), np.nan)

    clusters = dbt.ref("dim_asset_clusters").select("asset_id, cluster_id")
    collapse = str(dbt.config.get("collapse_duplicates")).lower() not in ("false", "0", "none", "")
    return brief_matches(
        briefs.to_arrow_table(),
        active().lance_dir,
        k=int(dbt.config.get("k")),
        pool=int(dbt.config.get("pool")),
        mmr_lambda=float(dbt.config.get("mmr_lambda")),
        clusters=clusters.to_arrow_table() if collapse else None,
        known_matches=dbt.ref("stg_demo__brief_matches").select("brief_id, asset_id").to_arrow_table(),
        probability=probability,
    )
