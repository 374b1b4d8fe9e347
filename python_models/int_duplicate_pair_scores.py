"""Each near-duplicate candidate pair (int_duplicate_candidates) scored by the pair decision: the
encoder cosine, character TF-IDF, shared or conflicting identifiers and attributes, weighed by a logistic
regression or by monotone boosted trees (var pair_decision_model; auto takes the trees where they rank the
calibration pairs better) learned on the labelled duplicate pairs of the train split and calibrated on the
calibration splits (semantic.decisions.pair_decision). With an active pair reranker
(int_rerankers_trained), the pairs in the decision's uncertainty band (var reranker_band) are also scored
by it, and a second stage learned on the calibration splits decides them (semantic.decisions.reranked);
those rows record reranker_version. With too few labels, or near_duplicate_scorer: cosine,
scorer is `cosine`, the decision columns are NULL and fct_asset_near_duplicates thresholds the
cosine. Kept as built when nothing changed; when only some assets changed, the pairs whose two
texts, model version and cosine are unchanged keep their scores (the decision is the same when its
labels, their vectors and the settings are: column decision_inputs), and only the rest are scored.
The fitted decision is saved (calibration folder, pair_decision/) and kept while at most
pair_decision_refit_share of the labelled pairs it was learned on changed (an edited labelled asset
changes its pairs' texts) and the settings and encoder version are the same: it is then not fitted
again and the unchanged pairs keep their scores; the build log says which."""

KEY = ("asset_id_a", "asset_id_b", "content_hash_a", "content_hash_b", "model_version", "similarity")


def model(dbt, session):
    dbt.config(materialized="table")
    import ast
    import json
    import logging

    import duckdb
    import numpy as np
    import pyarrow as pa

    from semantic.config import active
    from semantic.decisions.pair_decision import (
        DECISION_COLUMNS,
        STATE_DIR,
        FittedDuplicates,
        PairReranker,
        changed_share,
        check_model,
        fit_duplicates,
        load_fitted,
        pair_keys,
        save_fitted,
        score_duplicates,
    )
    from semantic.decisions.reranked import check_band
    from semantic.encoding.registry import reranker_dir
    from semantic.encoding.reranker import load_reranker
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped
    from semantic.vectors.memory import release_duckdb_cache, release_freed_memory

    scorer = str(dbt.config.get("scorer")).lower()
    if scorer not in ("decision", "cosine"):
        raise ValueError(f"near_duplicate_scorer must be decision or cosine; got {scorer!r}")
    splits = dbt.config.get("calibration_splits")
    splits = list(ast.literal_eval(splits) if isinstance(splits, str) else splits)  # a rendered list arrives as text
    band = dbt.config.get("reranker_band")
    band = check_band(ast.literal_eval(band) if isinstance(band, str) else band)
    refit_share = dbt.config.get("refit_share")  # on its own line: dbt passes only the keys it sees asked for
    refit_share = float(refit_share)
    decision_model = dbt.config.get("decision_model")  # on its own line, as above
    decision_model = check_model(str(decision_model).lower())
    if not 0.0 <= refit_share < 1.0:
        raise ValueError(f"pair_decision_refit_share must be in [0, 1) (0: fit again on any label change); "
                         f"got {refit_share}")
    # the active reranker (trained, or kept, by int_rerankers_trained just before)
    dbt.ref("int_rerankers_trained")
    reranker_path = reranker_dir(active()) if scorer == "decision" else None
    reranker = load_reranker(reranker_path) if reranker_path is not None else None
    settings = [scorer, splits, dbt.config.get("calibration_objective"), dbt.config.get("target_precision"),
                dbt.config.get("calibration_method"), dbt.config.get("min_positives"),
                reranker.version if reranker else None, band, decision_model]
    candidates = dbt.ref("int_duplicate_candidates")
    labelled = dbt.ref("int_training_pairs_labelled").filter("task = 'duplicate'").select(
        "left_id, right_id, text_a, text_b, label, split")
    embedded = dbt.ref("int_assets_embedded")
    texts_embedded = dbt.ref("int_labelled_texts_embedded")  # pairs given as texts instead of ids
    labelled_ids = labelled.select("left_id as asset_id").union(labelled.select("right_id as asset_id")).distinct()
    # the decision is learned from the labelled pairs and their vectors (content hash and model)
    decision_inputs = fingerprint(
        "pair decision",
        relation_fingerprint(labelled),
        relation_fingerprint(embedded.join(labelled_ids, "asset_id").select("asset_id, content_hash, model_version")),
        relation_fingerprint(texts_embedded.select("text_id, model_version")),
        settings,
    )
    inputs = fingerprint(relation_fingerprint(candidates), decision_inputs)
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        return kept
    log = logging.getLogger("semantic")
    release_duckdb_cache(session)  # DuckDB's cached table blocks and what the models before this one freed go
    release_freed_memory()  # back before its features allocate

    decision_id = decision_inputs  # the decision the rows are scored by (an earlier one, when it is kept)
    scorer_wrapper = PairReranker(reranker.score, reranker.version, band) if reranker else None
    saved = None
    if scorer == "cosine":
        fitted = FittedDuplicates(None, None, "near_duplicate_scorer is cosine")
    else:
        state_dir = active().calibration_dir / STATE_DIR
        keys = pair_keys(labelled.select("text_a, text_b, label, split").to_arrow_table())
        versions = sorted(str(v[0]) for v in embedded.select("model_version").distinct().fetchall())
        settings_text = json.dumps([settings, versions], default=str)
        saved = load_fitted(state_dir, scorer_wrapper) if refit_share > 0 else None
        changed = changed_share(saved.pair_keys, keys) if saved is not None else 1.0
        if saved is not None and saved.settings == settings_text and changed <= refit_share:
            fitted, decision_id = saved.fitted, saved.decision_id
            log.info("int_duplicate_pair_scores: kept the pair decision fitted before: %.1f %% of the %d labelled "
                     "pairs it was learned on changed (at most pair_decision_refit_share %g)", 100 * changed,
                     len(saved.pair_keys), refit_share)
        elif saved is not None:
            why = ("the settings or the encoder version changed" if saved.settings != settings_text else
                   f"{100 * changed:.1f} % of its labelled pairs changed (more than pair_decision_refit_share "
                   f"{refit_share:g})")
            log.info("int_duplicate_pair_scores: fitting the pair decision again: %s", why)
            saved = None
    if scorer == "decision" and saved is None:
        # each labelled pair's cosine under the same vectors as the candidates': a side named by id
        # takes the asset's vector, a side given as text its vector by content hash
        pairs = session.sql(f"""
            select p.text_a, p.text_b, p.label, p.split,
                coalesce(array_cosine_similarity(l.vector, r.vector), array_cosine_similarity(l.vector, rt.vector),
                         array_cosine_similarity(lt.vector, r.vector), array_cosine_similarity(lt.vector, rt.vector)
                         )::double as similarity
            from ({labelled.sql_query()}) as p
            left join ({embedded.sql_query()}) as l on l.asset_id = p.left_id
            left join ({texts_embedded.sql_query()}) as lt on p.left_id is null and lt.text_id = md5(p.text_a)
            left join ({embedded.sql_query()}) as r on r.asset_id = p.right_id
            left join ({texts_embedded.sql_query()}) as rt on p.right_id is null and rt.text_id = md5(p.text_b)
            where (l.asset_id is not null or lt.text_id is not null)
                and (r.asset_id is not null or rt.text_id is not null)""")
        fitted = fit_duplicates(
            pairs.to_arrow_table(),
            calibration_splits=splits,
            objective=dbt.config.get("calibration_objective"),
            target_precision=float(dbt.config.get("target_precision")),
            method=dbt.config.get("calibration_method"),
            min_positives=int(dbt.config.get("min_positives")),
            reranker=scorer_wrapper,
            model=decision_model,
        )
        if refit_share > 0 and fitted.decision is not None:
            save_fitted(state_dir, fitted, decision_inputs, settings_text, keys)

    # pairs scored by the same decision before, with the same texts and cosine, keep their scores
    current = candidates.to_arrow_table()
    columns = [*current.column_names, *DECISION_COLUMNS]
    try:
        previous = session.sql(f"select {', '.join(KEY)}, {', '.join(DECISION_COLUMNS)} from {dbt.this} "
                               "where decision_inputs = $1", params=[decision_id]).to_arrow_table()
    except (duckdb.CatalogException, duckdb.BinderException):  # first run, or built before this column
        previous = None
    reused, fresh = None, current
    if previous is not None and previous.num_rows:
        with duckdb.connect() as local:
            local.register("current", current)
            local.register("previous", previous)
            using = f"using ({', '.join(KEY)})"
            reused = local.sql(f"select {', '.join(columns)} from current join previous {using}").to_arrow_table()
            fresh = local.sql(f"select * from current anti join previous {using}").to_arrow_table()
    texts = dbt.ref("stg_semantic__assets").select("asset_id, text")
    id_schema = pa.schema([("asset_id", pa.string())])

    def text_pairs(rows):
        """The two texts of the candidate rows the decision featurises (those near the threshold)."""
        ids = pa.table({"asset_id": sorted(set(rows.column("asset_id_a").to_pylist())
                                             | set(rows.column("asset_id_b").to_pylist()))}, schema=id_schema)
        found = dict(session.from_arrow(ids).join(texts, "asset_id").fetchall())
        return ([found[a] for a in rows.column("asset_id_a").to_pylist()],
                [found[b] for b in rows.column("asset_id_b").to_pylist()])

    scored = score_duplicates(fresh, fitted, text_pairs).select(columns)
    n_reused = reused.num_rows if reused is not None else 0
    table = pa.concat_tables([reused.cast(scored.schema), scored]) if n_reused else scored
    table = table.append_column("decision_inputs", pa.array([decision_id] * table.num_rows, pa.string()))
    decision = fitted.decision
    if decision is None:
        log.info("int_duplicate_pair_scores: thresholding the cosine (%s): scored %d candidate pairs, kept the "
                 "scores of %d unchanged", fitted.reason, fresh.num_rows, n_reused)
    else:
        final = fitted.reranked if fitted.reranked is not None else decision
        accepted = int(np.sum(table.column("decision_score").to_numpy(zero_copy_only=False)
                              >= final.calibration.threshold))
        asked = table.num_rows - table.column("reranker_version").null_count
        log.info("int_duplicate_pair_scores: pair decision (threshold %.3f on %d labelled duplicates; model %s; "
                 "logistic weights %s): scored %d candidate pairs, kept the scores of %d unchanged; accepts %d of %d; "
                 "reranker: %s; %d pairs in its band", final.calibration.threshold, final.calibration.n_positives,
                 decision.choice or decision.model, [round(c, 2) for c in decision.coef], fresh.num_rows, n_reused,
                 accepted, table.num_rows, fitted.reranker_reason, asked)
    return stamped(table, inputs)
