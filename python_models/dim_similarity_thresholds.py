"""One row per task (duplicate, brief_match, lookalike) for the active encoder version: the
calibrated threshold, its figures with bootstrap intervals, the probability curve and the truth-space
table (see semantic.decisions.calibration). Recalibrated whenever the labelled similarities (and so the model
version), the settings or the code change; otherwise the previous rows are kept (semantic.vectors.fingerprints).
The compliance references' typicality (int_compliance_reference_typicality) and its weight, which the
lookalike scores were computed with, are saved beside the calibration for `semantic check`."""


def model(dbt, session):
    dbt.config(materialized="table")
    import logging

    from semantic.config import active
    from semantic.decisions import calibration
    from semantic.decisions.compliance import save_typicality
    from semantic.encoding.encoder import model_info
    from semantic.encoding.registry import encoder_dir
    from semantic.vectors.fingerprints import fingerprint, previous_rows, relation_fingerprint, stamped

    method = dbt.config.get("calibration_method")
    objective = dbt.config.get("calibration_objective")
    target_precision = float(dbt.config.get("target_precision"))
    min_positives = int(dbt.config.get("min_positives"))
    review_recall = float(dbt.config.get("review_recall"))
    confidence = dbt.config.get("review_confidence")
    review_confidence = None if confidence in (None, "None", "none", "null", "") else float(confidence)
    typicality_weight = float(dbt.config.get("typicality_weight"))
    floor = dbt.config.get("min_recall")
    min_recall = None if floor in (None, "None", "none", "null", "") else float(floor)
    typical = dbt.ref("int_compliance_reference_typicality").to_arrow_table().to_pylist()
    for version in {r["model_version"] for r in typical}:
        save_typicality(active().calibration_dir, version, typicality_weight, {
            r["reference_id"]: r["typicality"] for r in typical if r["model_version"] == version})
    inputs = fingerprint(relation_fingerprint(dbt.ref("int_similarity_labelled")), method, objective,
                         target_precision, min_positives, review_recall, review_confidence, min_recall)
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        stored = kept.select("model_version").distinct().fetchall()
        if all(calibration.exists(active().calibration_dir, v)
               and (active().calibration_dir / f"{v}{calibration.REPORT_SUFFIX}").is_file() for (v,) in stored):
            return kept
    labelled = dbt.ref("int_similarity_labelled").to_arrow_table()
    versions = set(labelled.column("model_version").to_pylist())
    if len(versions) > 1:
        raise RuntimeError(f"int_similarity_labelled mixes model versions {sorted(versions)}; rebuild the embeddings")
    model_version = versions.pop() if versions else model_info(encoder_dir(active())).version
    calibrations = calibration.calibrate_tasks(
        labelled,
        model_version,
        method=method,
        objective=objective,
        target_precision=target_precision,
        min_positives=min_positives,
        review_recall=review_recall,
        review_confidence=review_confidence,
    )
    calibration.save(active().calibration_dir, model_version, calibrations)
    table = calibration.thresholds_table(calibrations, labelled, model_version, min_recall)
    calibration.save_report(active().calibration_dir, model_version, table, labelled)  # the model report's data
    for warning in table.column("low_recall_warning").to_pylist():
        if warning:
            logging.getLogger("semantic").warning(warning)
    return stamped(table, inputs)
