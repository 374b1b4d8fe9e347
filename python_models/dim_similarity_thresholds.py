"""One row per task (duplicate, brief_match, lookalike) for the active encoder version: the
calibrated threshold, its figures with bootstrap intervals, the probability curve and the truth-space
table (see semantic.calibration). Rebuilt on every run, so a new model version is recalibrated."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic import calibration
    from semantic.config import active
    from semantic.encoder import model_info

    method = dbt.config.get("calibration_method")
    objective = dbt.config.get("calibration_objective")
    target_precision = float(dbt.config.get("target_precision"))
    min_positives = int(dbt.config.get("min_positives"))
    review_recall = float(dbt.config.get("review_recall"))
    labelled = dbt.ref("int_similarity_labelled").to_arrow_table()
    versions = set(labelled.column("model_version").to_pylist())
    if len(versions) > 1:
        raise RuntimeError(f"int_similarity_labelled mixes model versions {sorted(versions)}; rebuild the embeddings")
    model_version = versions.pop() if versions else model_info(active().encoder_dir()).version
    calibrations = calibration.calibrate_tasks(
        labelled,
        model_version,
        method=method,
        objective=objective,
        target_precision=target_precision,
        min_positives=min_positives,
        review_recall=review_recall,
    )
    calibration.save(active().calibration_dir, model_version, calibrations)
    return calibration.thresholds_table(calibrations, labelled, model_version)
