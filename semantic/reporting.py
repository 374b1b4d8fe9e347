"""The run summary printed at the end of ``make run``: read back from the built DuckDB file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig


def _latest_syncs(config: SemanticConfig) -> list[dict[str, object]]:
    from semantic.store import SYNC_LOG_TABLE, VectorStore

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
            from fct_brief_asset_matches m join stg_demo__briefs b using (brief_id)
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
        n_dups = con.execute("select count(*) from fct_asset_near_duplicates").fetchone()
        n_flags = con.execute(
            "select count(*) filter (where is_flagged), count(*) from fct_compliance_lookalikes"
        ).fetchone()
    assert n_dups is not None and n_flags is not None
    lines.append(f"  near-duplicate pairs: {n_dups[0]}")
    lines.append(f"  compliance lookalikes flagged: {n_flags[0]} of {n_flags[1]} assets checked")
    lines.append(f"  DuckDB file: {config.db_path}")
    lines.append(f"  LanceDB folder: {config.lance_dir}")
    return "\n".join(lines)
