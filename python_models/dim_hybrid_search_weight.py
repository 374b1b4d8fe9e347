"""One row for the active encoder version: the weight of the vector side in semantic_hybrid_search, learned
on the briefs' known matches (every weight searched, the best mean reciprocal rank wins; see
semantic.decisions.fusion), or the default 0.5 with the reason. Saved beside the calibration: every
connection opened after the build searches with it. Kept while its inputs are unchanged, and while fewer
than hybrid_weight_relearn_share of the assets it was learned on have changed since."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.decisions import fusion
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import encoder_dir
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped
    from semantic.warehouse.hybrid_weight import kept_under_small_change, learn_hybrid_weight

    briefs = dbt.ref("stg_semantic__briefs").select("brief_id, text")
    matches = dbt.ref("stg_semantic__brief_matches").select("brief_id, asset_id")
    assets = dbt.ref("int_assets_embedded").select("asset_id, content_hash, model_version, embedded_at")
    min_queries = int(dbt.config.get("min_queries"))
    max_queries = int(dbt.config.get("max_queries"))
    relearn_share = dbt.config.get("relearn_share")  # (dbt only passes a key called directly, not inside `or`)
    relearn_share = float(relearn_share or 0)  # the share of changed assets that learns it again
    others = fingerprint(relation_fingerprint(briefs), relation_fingerprint(matches), min_queries, max_queries,
                         str(active().lance_dir))
    inputs = fingerprint(others, relation_fingerprint(assets.select("asset_id, content_hash, model_version")))
    kept = previous_rows(session, dbt.this, inputs)
    if kept is None:
        kept = kept_under_small_change(session, dbt.this, inputs, others, assets, relearn_share)
    if kept is not None:
        stored = kept.select("model_version").fetchall()
        if all(fusion.load(active().calibration_dir, v) is not None for (v,) in stored):
            return kept
    config = active()
    encoder = load_encoder(encoder_dir(config), config.batch_size)
    learned_on = assets.aggregate("count(*), max(embedded_at)").fetchone()
    table = learn_hybrid_weight(briefs.to_arrow_table(), matches.to_arrow_table(), config, encoder,
                                max_queries=max_queries, min_queries=min_queries, assets=learned_on, others=others)
    return stamped(table, inputs)
