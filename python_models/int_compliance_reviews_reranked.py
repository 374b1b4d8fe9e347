"""One row per (asset, reference) candidate in the compliance abstain zone (a `review` by the lookalike thresholds)
that the active lookalike reranker (int_lookalike_rerankers_trained) was asked about: its probability that the asset
restates the rejected claim, the probability below which the review is cleared, and the reranker's version. The
zone is read from int_compliance_thresholds, the thresholds fct_compliance_lookalikes decides with.
fct_compliance_lookalikes turns a review below it into `clear`. No rows while no lookalike reranker is active."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.decisions.compliance import active_lookalike_reranker, rerank_review_zone
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped

    # the abstain zone: at or above the review threshold in force, below the flag threshold (the mart's rule)
    zone = dbt.ref("int_compliance_candidates").join(dbt.ref("int_compliance_thresholds"), "model_version").filter(
        "score >= review_threshold and score < flag_threshold").select("asset_id, reference_id, score")
    assets = dbt.ref("stg_semantic__assets").select("asset_id, text")
    claims = dbt.ref("stg_semantic__compliance_references").select("reference_id, text")
    dbt.ref("int_lookalike_rerankers_trained")  # trains, keeps or activates the lookalike reranker just before
    reranker = active_lookalike_reranker(active())
    if reranker is None:  # nothing to ask: no rows, without reading the candidates
        return stamped(rerank_review_zone(None, {}, {}, None), "")
    inputs = fingerprint(relation_fingerprint(zone), relation_fingerprint(assets), relation_fingerprint(claims),
                         [reranker.version, reranker.clear_below])
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        return kept
    return stamped(rerank_review_zone(zone.to_arrow_table(), dict(assets.fetchall()), dict(claims.fetchall()),
                                      reranker), inputs)
