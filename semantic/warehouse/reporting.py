"""The run summary printed at the end of ``make run``: read back from the built DuckDB file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

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
        changes = changes_lines(con)
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
            from (select distinct left_id, label from stg_semantic__labelled_pairs
                  where task = 'lookalike' and source = 'input') as labels
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
    lines += changes
    lines.append(f"  DuckDB file: {config.db_path}")
    lines.append(f"  LanceDB folder: {config.lance_dir}")
    return "\n".join(lines)


#: The table ``semantic build`` writes into each build it publishes: what changed against the build it replaces.
CHANGES_TABLE = "semantic_build_changes"

_CHANGE_QUERIES: tuple[tuple[str, str], ...] = (
    # (what, SQL over the new build (main) and the one it replaces (previous)) -> rows (task, before, after, detail)
    ("labels", """
        select coalesce(n.source, o.source), o.n, n.n, null
        from (select source, count(*) as n from main.stg_semantic__labelled_pairs group by 1) as n
        full join (select source, count(*) as n from previous.stg_semantic__labelled_pairs group by 1) as o
            using (source)
    """),
    ("review_decisions", """
        select 'all', (select count(*) from previous.stg_semantic__review_decisions),
            (select count(*) from main.stg_semantic__review_decisions), null
    """),
    ("encoder_version", """
        select 'all', (select any_value(version) from previous.dim_encoder_versions where is_active),
            (select any_value(version) from main.dim_encoder_versions where is_active), null
    """),
    ("threshold", """
        select n.task, o.threshold, n.threshold, n.objective
        from main.dim_similarity_thresholds as n
        left join previous.dim_similarity_thresholds as o using (task)
    """),
    ("calibration_f1", """
        select n.task, o.f1, n.f1, n.n_pairs || ' calibration pairs (' || coalesce(o.n_pairs, 0) || ' before)'
        from main.dim_similarity_thresholds as n
        left join previous.dim_similarity_thresholds as o using (task)
    """),
    ("lookalike_decisions_moved", """
        select 'lookalike', coalesce(o.decision, 'clear'), coalesce(n.decision, 'clear'), count(*)
        from main.fct_compliance_lookalikes as n
        full join previous.fct_compliance_lookalikes as o using (asset_id, reference_id)
        where coalesce(o.decision, 'clear') <> coalesce(n.decision, 'clear')
        group by all
    """),
    ("duplicate_pairs_moved", """
        select 'duplicate', if(o.asset_id_a is null, 'distinct', 'near_duplicate'),
            if(n.asset_id_a is null, 'distinct', 'near_duplicate'), count(*)
        from main.fct_asset_near_duplicates as n
        full join previous.fct_asset_near_duplicates as o using (asset_id_a, asset_id_b)
        where o.asset_id_a is null or n.asset_id_a is null
        group by all
    """),
)


def record_changes(staged: Path, previous: Path) -> list[tuple[str, str, str, str, str]]:
    """Compare a finished build (``staged``, before its swap) with the published one it replaces
    (``previous``) and write the differences into the staged file's :data:`CHANGES_TABLE`: labels by
    source, review decisions, the active encoder, each task's threshold and F1 on its calibration
    labels, and the items that moved between decisions (lookalike clear/review/flag, near-duplicate
    pairs accepted or dropped). A figure either build lacks (a first build, an older package) is left out.

    Returns the rows written: (what, task, before, after, detail), all as text.
    """
    import duckdb

    rows: list[tuple[str, str, str, str, str]] = []
    with duckdb.connect(str(staged)) as con:
        attached = previous.exists()
        if attached:
            con.execute(f"attach '{str(previous).replace(chr(39), chr(39) * 2)}' as previous (read_only)")
        for what, sql in _CHANGE_QUERIES if attached else ():
            try:
                found = con.execute(sql).fetchall()
            except duckdb.Error:  # a table one of the builds lacks
                continue
            for row in found:
                task, before, after, detail = ("" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
                                               for v in row)
                rows.append((what, task, before, after, detail))
        if attached:
            con.execute("detach previous")
        con.execute(f"create or replace table {CHANGES_TABLE} (what varchar, task varchar, before varchar, "
                    "after varchar, detail varchar, compared_at timestamp default current_timestamp)")
        if rows:
            con.executemany(f"insert into {CHANGES_TABLE} (what, task, before, after, detail) values (?, ?, ?, ?, ?)",
                            rows)
    return rows


def changes_lines(con: object) -> list[str]:
    """The summary's lines about what the last build changed (from :data:`CHANGES_TABLE`)."""
    try:
        rows = con.execute(f"select what, task, before, after, detail from {CHANGES_TABLE}").fetchall()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a build published by plain dbt (no semantic build) has no such table
        return []
    if not rows:
        return []
    lines = ["  changes since the previous build:"]
    by: dict[str, list[tuple[str, str, str, str]]] = {}
    for what, task, before, after, detail in rows:
        by.setdefault(what, []).append((task, before, after, detail))
    decisions = by.get("review_decisions", [])
    labels = {task: (before, after) for task, before, after, _ in by.get("labels", [])}
    if decisions:
        _, before, after, _ = decisions[0]
        arrived = int(after or 0) - int(before or 0)
        review = labels.get("review", ("", ""))
        lines.append(f"    review decisions: {arrived:+d} since the last build ({after} recorded); labelled pairs "
                     f"from reviews {review[0] or 0} -> {review[1] or 0}, from the input "
                     f"{labels.get('input', ('', ''))[0] or 0} -> {labels.get('input', ('', ''))[1] or 0}")
    for _, before, after, _ in by.get("encoder_version", []):
        lines.append(f"    encoder: {before or 'base'} -> {after or 'base'}"
                     + ("" if before != after else " (unchanged)"))
    f1 = {task: (before, after, detail) for task, before, after, detail in by.get("calibration_f1", [])}
    for task, before, after, objective in by.get("threshold", []):
        f_before, f_after, pairs = f1.get(task, ("", "", ""))
        lines.append(f"    threshold {task:<12} {before or '-'} -> {after} ({objective}); F1 on the calibration labels "
                     f"{f_before or '-'} -> {f_after or '-'}, {pairs}")
    for what in ("lookalike_decisions_moved", "duplicate_pairs_moved"):
        moved = by.get(what, [])
        if moved:
            lines.append(f"    {what.replace('_', ' ')}: " + ", ".join(f"{n} {a} -> {b}" for _, a, b, n in moved))
        elif what.split("_")[0] in {t for t, *_ in by.get("threshold", [])} or decisions:
            lines.append(f"    {what.replace('_', ' ')}: none")
    return lines
