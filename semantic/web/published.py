"""What the web app reads: the published build, read-only, and reopened when a new build is published.

A build publishes by renaming a new DuckDB file onto the live path (:mod:`semantic.warehouse.publishing`),
so the app keeps one read-only connection per published file: before each request it compares the live
path's inode and modification time with those of the file it has open, and opens the new file when they
differ. A read-only connection never blocks a build, and a build in progress is never seen (it writes a
staging copy). Every query takes request values as parameters, never as SQL text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semantic.errors import SemanticDataError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from semantic.config import SemanticConfig

#: Search hits per page.
SEARCH_K = 20


@dataclass(frozen=True)
class Hit:
    """One search result with its evidence."""

    rank: int
    asset_id: str
    text: str
    brand: str | None
    market: str | None
    channel: str | None
    similarity: float
    match_probability: float | None
    cluster_id: str | None
    cluster_size: int | None
    compliance: str


class Published:
    """The published DuckDB file, with the ``semantic_*`` functions, shared by the app's requests."""

    def __init__(self, config: SemanticConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: tuple[int, int] | None = None

    def _live_stamp(self) -> tuple[int, int]:
        try:
            st = self.config.db_path.stat()
        except FileNotFoundError as e:
            raise SemanticDataError(f"no published build at {self.config.db_path}: run `semantic build` (or "
                                    "`make run`) first") from e
        return st.st_ino, st.st_mtime_ns

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The connection to the file published now (reopened after a swap)."""
        from semantic.warehouse.connection import connect

        stamp = self._live_stamp()
        if self._con is None or stamp != self._stamp:
            if self._con is not None:
                self._con.close()
            self._con = connect(self.config.db_path, read_only=True, config=self.config)
            self._stamp = stamp
        return self._con

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a parameterised query as dicts."""
        with self._lock:
            cursor = self.connection().execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def has(self, table: str) -> bool:
        with self._lock:
            row = self.connection().execute(
                "select count(*) from information_schema.tables where table_name = ?", [table]).fetchone()
            return bool(row and row[0])

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    @property
    def built_at(self) -> float:
        return Path(self.config.db_path).stat().st_mtime


@lru_cache(maxsize=8)
def _calibrations(directory: Path, model_version: str) -> dict[str, Any]:
    """The saved calibrations of a model version (none when it has none)."""
    from semantic.decisions import calibration

    if not model_version or not calibration.exists(directory, model_version):
        return {}
    return dict(calibration.load(directory, model_version))


_STATUS = """
    coalesce((
        select case max(case l.decision when 'flag' then 2 when 'review' then 1 else 0 end)
            when 2 then 'flag' when 1 then 'review' else 'clear' end
        from fct_compliance_lookalikes as l where l.asset_id = hits.asset_id and not coalesce(l.is_waived, false)
    ), 'unchecked')"""


def search(db: Published, query: str, *, brand: str | None = None, market: str | None = None,
           channel: str | None = None, created_from: str | None = None, created_to: str | None = None,
           hybrid: bool = False, k: int = SEARCH_K) -> list[Hit]:
    """The top ``k`` assets for a free-text query, with similarity, the calibrated brief-match probability of
    that similarity, cluster and compliance status. Filters are prefilters (``semantic_search``)."""
    if not query or not query.strip():
        return []
    function = "semantic_hybrid_search" if hybrid else "semantic_search"
    with db._lock:  # noqa: SLF001 - one statement sequence on the shared connection
        con = db.connection()
        embedded = con.execute("select semantic_embed(?)", [query]).fetchone()
        vector = embedded[0] if embedded else None
        cursor = con.execute(f"""
            with hits as (
                select * from {function}(?, k := ?, brand := ?, market := ?, channel := ?,
                                         created_from := ?, created_to := ?)
            )
            select
                hits.rank, hits.asset_id, assets.text, hits.brand, hits.market, hits.channel,
                list_cosine_similarity(embedded.vector, ?::float[]) as similarity,
                clusters.cluster_id, clusters.cluster_size, {_STATUS} as compliance
            from hits
            join stg_semantic__assets as assets using (asset_id)
            left join int_assets_embedded as embedded using (asset_id)
            left join dim_asset_clusters as clusters using (asset_id)
            order by hits.rank
        """, [query, k, brand or None, market or None, channel or None, created_from or None, created_to or None,
              vector])
        rows = cursor.fetchall()
        version = con.execute("select semantic_model_version()").fetchone()
    brief_match = _calibrations(db.config.calibration_dir, version[0] if version else "").get("brief_match")
    hits = []
    for rank, asset_id, text, b, m, c, similarity, cluster_id, cluster_size, status in rows:
        p = float(brief_match.probability([float(similarity)])[0]) if brief_match is not None else None
        hits.append(Hit(rank, asset_id, text, b, m, c, float(similarity), p, cluster_id, cluster_size, status))
    return hits


def filter_values(db: Published) -> dict[str, list[str]]:
    """The brands, markets and channels of the published assets (the search page's filters)."""
    out = {}
    for column in ("brand", "market", "channel"):
        out[column] = [r["v"] for r in db.rows(
            f"select distinct {column} as v from stg_semantic__assets where {column} is not null order by 1")]
    return out


def asset(db: Published, asset_id: str) -> dict[str, Any] | None:
    """An asset with its cluster (members, canonical asset), its lookalikes and the briefs it matches."""
    found = db.rows("select * from stg_semantic__assets where asset_id = ?", [asset_id])
    if not found:
        return None
    out: dict[str, Any] = {"asset": found[0]}
    cluster = db.rows("select * from dim_asset_clusters where asset_id = ?", [asset_id])
    out["cluster"] = cluster[0] if cluster else None
    out["members"] = db.rows("""
        select c.asset_id, a.text, c.asset_id = c.canonical_asset_id as is_canonical
        from dim_asset_clusters as c join stg_semantic__assets as a using (asset_id)
        where c.cluster_id = (select cluster_id from dim_asset_clusters where asset_id = ?) and c.asset_id <> ?
        order by is_canonical desc, c.asset_id""", [asset_id, asset_id])
    out["duplicates"] = db.rows("""
        select if(asset_id_a = ?, asset_id_b, asset_id_a) as other_id, if(asset_id_a = ?, text_b, text_a) as text,
               similarity, match_probability
        from fct_asset_near_duplicates where ? in (asset_id_a, asset_id_b) order by match_probability desc""",
                                [asset_id, asset_id, asset_id])
    out["lookalikes"] = db.rows("""
        select rank, reference_id, rule_id, regulation, severity, similarity, score, match_probability, decision,
               is_waived, waived_by, matched_sentence, claim_text, rationale, reranker_probability, reranker_version
        from fct_compliance_lookalikes where asset_id = ? order by rank""", [asset_id])
    out["briefs"] = db.rows("""
        select m.brief_id, m.rank, m.similarity, m.match_probability, m.is_known_match, b.text
        from fct_brief_asset_matches as m join stg_semantic__briefs as b using (brief_id)
        where m.asset_id = ? order by m.match_probability desc nulls last, m.rank""", [asset_id])
    return out


def next_review_item(db: Published, decided: dict[str, tuple[str | None, str | None]],
                     task: str | None = None) -> tuple[dict[str, Any] | None, int]:
    """The most valuable open queue item that no decision recorded since the build covers (``decided``:
    review_id -> the text hashes its latest decision saw; one on other texts does not count), and how many
    items are open."""
    where, params = ("where task = ?", [task]) if task else ("", [])
    # the keys only (the queue holds tens of thousands of items with both texts), then the one item shown
    keys = db.rows(f"select review_id, left_hash, right_hash from fct_review_queue {where} order by queue_rank",
                   params)
    open_ids = [k["review_id"] for k in keys if decided.get(k["review_id"]) != (k["left_hash"], k["right_hash"])]
    if not open_ids:
        return None, 0
    first = db.rows("select * from fct_review_queue where review_id = ?", [open_ids[0]])
    return (first[0] if first else None), len(open_ids)


def compliance_overview(db: Published) -> dict[str, list[dict[str, Any]]]:
    """Flags and reviews by rule (with the reviews the lookalike reranker cleared), by market and severity, and by
    asset creation month."""
    base = "from fct_compliance_lookalikes where decision in ('flag', 'review') and not coalesce(is_waived, false)"
    asked = ("from fct_compliance_lookalikes where (decision in ('flag', 'review') or reranker_probability is not null)"
             " and not coalesce(is_waived, false)")
    return {
        "by_rule": db.rows(f"""select rule_id, any_value(severity) as severity,
                               count(*) filter (where decision = 'flag') as flags,
                               count(*) filter (where decision = 'review') as reviews,
                               count(*) filter (where decision = 'clear') as reranker_cleared {asked}
                               group by rule_id order by flags desc, reviews desc, rule_id"""),
        "by_market": db.rows(f"""select market, severity, count(*) filter (where decision = 'flag') as flags,
                                 count(*) filter (where decision = 'review') as reviews {base}
                                 group by all order by market, severity"""),
        "by_month": db.rows(f"""select strftime(date_trunc('month', created_at), '%Y-%m') as month,
                                count(*) filter (where decision = 'flag') as flags,
                                count(*) filter (where decision = 'review') as reviews {base}
                                and created_at is not null group by all order by month"""),
    }
