"""One row for the active encoder version: the weight of the vector side in semantic_hybrid_search, learned
on the briefs' known matches (every weight searched, the best mean reciprocal rank wins; see
semantic.decisions.fusion), or the default 0.5 with the reason. Saved beside the calibration: every
connection opened after the build searches with it. Kept while its inputs are unchanged."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.decisions import fusion
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import encoder_dir
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped
    from semantic.warehouse.hybrid_weight import learn_hybrid_weight

    briefs = dbt.ref("stg_semantic__briefs").select("brief_id, text")
    matches = dbt.ref("stg_semantic__brief_matches").select("brief_id, asset_id")
    assets = dbt.ref("int_assets_embedded").select("asset_id, content_hash, model_version")
    min_queries = int(dbt.config.get("min_queries"))
    max_queries = int(dbt.config.get("max_queries"))
    inputs = fingerprint(relation_fingerprint(briefs), relation_fingerprint(matches), relation_fingerprint(assets),
                         min_queries, max_queries, str(active().lance_dir))
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        stored = kept.select("model_version").fetchall()
        if all(fusion.load(active().calibration_dir, v) is not None for (v,) in stored):
            return kept
    config = active()
    encoder = load_encoder(encoder_dir(config), config.batch_size)
    table = learn_hybrid_weight(briefs.to_arrow_table(), matches.to_arrow_table(), config, encoder,
                                max_queries=max_queries, min_queries=min_queries)
    return stamped(table, inputs)
