"""One row per (asset, reference) candidate in the compliance abstain zone (a `review` by the lookalike thresholds)
that the active lookalike reranker (int_lookalike_rerankers_trained) was asked about: its probability that the asset
restates the rejected claim, the probability below which the review is cleared, and the reranker's version.
fct_compliance_lookalikes turns a review below it into `clear`. No rows while no lookalike reranker is active."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.decisions.compliance import active_lookalike_reranker, rerank_review_zone
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped

    candidates = dbt.ref("int_compliance_candidates").select("asset_id, reference_id, score, model_version")
    thresholds = dbt.ref("dim_similarity_thresholds").filter("task = 'lookalike'").select(
        "model_version, threshold, review_threshold")
    assets = dbt.ref("stg_semantic__assets").select("asset_id, text")
    claims = dbt.ref("stg_semantic__compliance_references").select("reference_id, text")
    flag_override = dbt.config.get("flag_threshold")
    review_override = dbt.config.get("review_threshold")
    dbt.ref("int_lookalike_rerankers_trained")  # trains, keeps or activates the lookalike reranker just before
    reranker = active_lookalike_reranker(active())
    if reranker is None:  # nothing to ask: no rows, without reading the candidates
        return stamped(rerank_review_zone(None, None, {}, {}, None), "")
    inputs = fingerprint(
        relation_fingerprint(candidates), relation_fingerprint(thresholds), relation_fingerprint(assets),
        relation_fingerprint(claims), [str(flag_override), str(review_override)],
        [reranker.version, reranker.clear_below],
    )
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        return kept
    return stamped(rerank_review_zone(
        candidates.to_arrow_table(), thresholds.to_arrow_table(), dict(assets.fetchall()), dict(claims.fetchall()),
        reranker, flag_override=flag_override, review_override=review_override,
    ), inputs)
