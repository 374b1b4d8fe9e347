"""The run summary printed at the end of ``make run``: read back from the built DuckDB file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig


def _latest_syncs(config: SemanticConfig) -> list[dict[str, object]]:
    from semantic.vectors.store import SYNC_LOG_TABLE, VectorStore

    store = VectorStore(config.lance_dir)
    if not store.exists(SYNC_LOG_TABLE):
        return []
    runs = store.read(SYNC_LOG_TABLE).to_pylist()
    latest: dict[str, dict[str, object]] = {}
    for run in sorted(runs, key=lambda r: r["synced_at"]):
        latest[str(run["table"])] = run
    return list(latest.values())


def run_summary(config: SemanticConfig, n_briefs: int = 2, k: int = 3) -> str:
    """Describe the built database: rows embedded, sample brief matches, duplicates and flags.

    Opens the DuckDB file read-only with plain DuckDB (no Python functions needed).
    """
    import duckdb

    if not config.db_path.exists():
        return f"no database at {config.db_path}: run `make run` (or `dbt build`) first"
    lines = ["", "semantic-assets: run summary"]
    for run in _latest_syncs(config):
        lines.append(
            f"  {run['table']:<22} {run['total']:>6} rows with vectors; this run embedded "
            f"{run['embedded']}, kept {run['unchanged']}, deleted {run['deleted']} "
            f"(model {run['model_version']})"
        )
    with duckdb.connect(str(config.db_path), read_only=True) as con:
        briefs = con.execute(
            """
            select m.brief_id, any_value(b.text)
            from fct_brief_asset_matches m join stg_semantic__briefs b using (brief_id)
            group by 1 order by 1 limit ?
            """,
            [n_briefs],
        ).fetchall()
        for brief_id, brief_text in briefs:
            lines.append(f"  brief {brief_id}: {brief_text[:100]}{'...' if len(brief_text) > 100 else ''}")
            for rank, asset_id, sim, known, text in con.execute(
                """
                select rank, asset_id, similarity, is_known_match, asset_text
                from fct_brief_asset_matches where brief_id = ? and rank <= ? order by rank
                """,
                [brief_id, k],
            ).fetchall():
                mark = "known match" if known else "           "
                lines.append(f"    #{rank} {asset_id} {sim:.3f} {mark}  {text[:70]}")
        thresholds = con.execute(
            "select task, threshold, review_threshold, is_fallback, fallback_reason, recall, n_positives, "
            "low_recall_warning from dim_similarity_thresholds order by task"
        ).fetchall()
        weight = con.execute("select alpha, is_learned, n_queries, reason from dim_hybrid_search_weight").fetchone()
        n_dups = con.execute("select count(*) from fct_asset_near_duplicates").fetchone()
        clusters = con.execute(
            "select count(distinct cluster_id) filter (where cluster_size > 1), "
            "count(*) filter (where cluster_size > 1) from dim_asset_clusters"
        ).fetchone()
        decisions = con.execute(
            """
            select
                count(*) filter (where decision = 'flag'),
                count(*) filter (where decision = 'review'),
                count(*) filter (where waived),
                count(*)
            from (
                select
                    asset_id,
                    case max(case decision when 'flag' then 2 when 'review' then 1 else 0 end)
                        when 2 then 'flag' when 1 then 'review' else 'clear' end as decision,
                    bool_or(is_waived) as waived
                from fct_compliance_lookalikes group by asset_id
            )
            """
        ).fetchone()
        planted = con.execute(
            """
            with decided as (
                select asset_id, bool_or(decision <> 'clear') as caught
                from fct_compliance_lookalikes group by asset_id
            )
            select
                labels.label,
                count(*) filter (where coalesce(decided.caught, false)),
                count(*)
            from (select distinct left_id, label from stg_semantic__labelled_pairs where task = 'lookalike') as labels
            left join decided on decided.asset_id = labels.left_id
            group by labels.label order by labels.label
            """
        ).fetchall()
    assert n_dups is not None and clusters is not None and decisions is not None
    for task, threshold, review, fallback, reason, recall, positives, warning in thresholds:
        how = f"fallback ({reason})" if fallback else "calibrated"
        kept = f", keeps recall {recall:.2f} of {positives} labelled matches" if recall is not None else ""
        lines.append(f"  threshold {task:<12} {threshold:.3f} (review from {review:.3f}), {how}{kept}")
        if warning:
            lines.append(f"    WARNING {warning}")
    if weight is not None:
        alpha, learned, n_queries, reason = weight
        how = f"learned on {n_queries} briefs' known matches" if learned else f"default ({reason})"
        lines.append(f"  hybrid search weight {alpha:.2f} (vector side), {how}")
    lines.append(f"  near-duplicate pairs: {n_dups[0]}, in {clusters[0]} clusters of {clusters[1]} assets")
    lines.append(
        f"  compliance check: {decisions[0]} assets flagged, {decisions[1]} for review "
        f"({decisions[2]} with a waiver) of {decisions[3]} checked"
    )
    for label, caught, total in planted:
        kind = "planted lookalikes" if label == 1 else "benign near-topic assets"
        lines.append(f"  demo labels: {caught} of {total} {kind} are flag or review")
    lines.append(f"  DuckDB file: {config.db_path}")
    lines.append(f"  LanceDB folder: {config.lance_dir}")
    return "\n".join(lines)
