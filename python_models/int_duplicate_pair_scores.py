"""Each near-duplicate candidate pair (int_duplicate_candidates) scored by the pair decision: the
encoder cosine, character TF-IDF and shared or conflicting identifiers, weighed by a logistic
regression learned on the labelled duplicate pairs of the train split and calibrated on the
calibration splits (semantic.pair_decision). With too few labels, or near_duplicate_scorer: cosine,
scorer is `cosine`, the decision columns are NULL and fct_asset_near_duplicates thresholds the
cosine. Recomputed only when the candidates, the labels or the settings change."""


def model(dbt, session):
    dbt.config(materialized="table")
    import ast
    import logging

    import numpy as np
    import pyarrow as pa

    from semantic.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped
    from semantic.pair_decision import FittedDuplicates, fit_duplicates, score_duplicates

    scorer = str(dbt.config.get("scorer")).lower()
    if scorer not in ("decision", "cosine"):
        raise ValueError(f"near_duplicate_scorer must be decision or cosine; got {scorer!r}")
    splits = dbt.config.get("calibration_splits")
    splits = list(ast.literal_eval(splits) if isinstance(splits, str) else splits)  # a rendered list arrives as text
    settings = [scorer, splits, dbt.config.get("calibration_objective"), dbt.config.get("target_precision"),
                dbt.config.get("calibration_method"), dbt.config.get("min_positives")]
    candidates = dbt.ref("int_duplicate_candidates")
    labelled = dbt.ref("int_training_pairs_labelled").filter("task = 'duplicate'")
    embedded = dbt.ref("int_assets_embedded")
    inputs = fingerprint(
        relation_fingerprint(candidates),
        relation_fingerprint(labelled),
        relation_fingerprint(embedded.select("asset_id, content_hash, model_version")),
        settings,
    )
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        return kept
    pairs = labelled.select("left_id, right_id, text_a, text_b, label, split").to_arrow_table()
    # the labelled pairs' cosine under the same vectors as the candidates'
    id_schema = pa.schema([("asset_id", pa.string())])
    ids = pa.table({"asset_id": sorted(set(pairs.column("left_id").to_pylist())
                                       | set(pairs.column("right_id").to_pylist()))}, schema=id_schema)
    found = session.from_arrow(ids).join(embedded.select("asset_id, vector"), "asset_id")
    vectors = {a: np.asarray(v, dtype=float) for a, v in found.fetchall()}
    both = [i for i, (a, b) in enumerate(zip(pairs.column("left_id").to_pylist(), pairs.column("right_id").to_pylist()))
            if a in vectors and b in vectors]
    pairs = pairs.take(pa.array(both, pa.int64()))
    cosine = [float(vectors[a] @ vectors[b]) for a, b in zip(pairs.column("left_id").to_pylist(),
                                                              pairs.column("right_id").to_pylist())]
    pairs = pairs.append_column("similarity", pa.array(cosine, pa.float64()))
    if scorer == "cosine":
        fitted = FittedDuplicates(None, None, "near_duplicate_scorer is cosine")
    else:
        fitted = fit_duplicates(
            pairs,
            calibration_splits=splits,
            objective=dbt.config.get("calibration_objective"),
            target_precision=float(dbt.config.get("target_precision")),
            method=dbt.config.get("calibration_method"),
            min_positives=int(dbt.config.get("min_positives")),
        )
    texts = dbt.ref("stg_demo__assets").select("asset_id, text")

    def text_pairs(rows):
        """The two texts of the candidate rows the decision featurises (those near the threshold)."""
        ids = pa.table({"asset_id": sorted(set(rows.column("asset_id_a").to_pylist())
                                             | set(rows.column("asset_id_b").to_pylist()))}, schema=id_schema)
        found = dict(session.from_arrow(ids).join(texts, "asset_id").fetchall())
        return ([found[a] for a in rows.column("asset_id_a").to_pylist()],
                [found[b] for b in rows.column("asset_id_b").to_pylist()])

    scored = score_duplicates(candidates.to_arrow_table(), fitted, text_pairs)
    decision, reason = fitted.decision, fitted.reason
    log = logging.getLogger("semantic")
    if decision is None:
        log.info("int_duplicate_pair_scores: thresholding the cosine (%s)", reason)
    else:
        accepted = int(np.sum(scored.column("decision_score").to_numpy(zero_copy_only=False)
                              >= decision.calibration.threshold))
        log.info("int_duplicate_pair_scores: pair decision (threshold %.3f on %d labelled duplicates, "
                 "weights %s) accepts %d of %d candidate pairs", decision.calibration.threshold,
                 decision.calibration.n_positives, [round(c, 2) for c in decision.coef], accepted, scored.num_rows)
    return stamped(scored, inputs)
