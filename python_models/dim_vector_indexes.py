"""One row per LanceDB vector table: its ANN index (type, indexed and unindexed rows, partitions,
last optimised) and the indexed search's recall@10 against exact search. See semantic.vectors.index."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.vectors.fingerprints import fingerprint, previous_rows, stamped
    from semantic.vectors.store import VectorStore
    from semantic.vectors.sync import vector_index_report

    # after every sync, so the state is the one this run left (dbt needs literal ref arguments)
    dbt.ref("int_assets_embedded")
    dbt.ref("int_briefs_embedded")
    dbt.ref("int_compliance_references_embedded")
    dbt.ref("int_asset_sentences_embedded")
    dbt.ref("int_labelled_texts_embedded")
    sample = int(dbt.config.get("recall_sample"))
    loss = dbt.config.get("max_recall_loss")
    max_loss = None if loss in (None, "None", "none", "null", "") else float(loss)
    # no table written since the last report (same committed versions): the same report
    store = VectorStore(active().lance_dir)
    tables = sorted(p.name[: -len(".lance")] for p in store.lance_dir.glob("*.lance"))
    inputs = fingerprint({t: store.versions_token(t) for t in tables}, sample, max_loss, str(store.lance_dir))
    kept = previous_rows(session, dbt.this, inputs)
    if kept is not None:
        return kept
    return stamped(vector_index_report(sample=sample, max_loss=max_loss), inputs)
