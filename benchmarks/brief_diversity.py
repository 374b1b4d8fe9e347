"""Brief → asset recommendations: what collapsing duplicates and MMR do to the lists, same run.

Usage: .venv/bin/python benchmarks/brief_diversity.py [--lambdas 1.0 0.85 0.7 0.5]

Needs a built project (`make run`). Rebuilds `fct_brief_asset_matches` once per setting with
`dbt run --select fct_brief_asset_matches --vars ...` and prints, per setting:

- top-1: share of briefs whose first asset is a known match (`demo_brief_matches`);
- hit@5: share of briefs with a known match in their top 5;
- known recall@5: known matches found in the top 5 / min(known matches, 5), averaged over briefs;
- dup lists@5: share of top-5 lists holding two members of one near-duplicate cluster;
- campaigns@5: distinct campaigns among the top 5 (a variety measure).

The baseline is plain similarity order without collapsing (the first row). The table is left
built with the project's defaults at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent

QUERIES = {
    "top-1": "select avg(is_known_match::int) from fct_brief_asset_matches where rank = 1",
    "hit@5": """select avg(h) from (select max(is_known_match::int) as h from fct_brief_asset_matches
                where rank <= 5 group by brief_id)""",
    "known recall@5": """select avg(found / least(total, 5)) from (
                select m.brief_id, count(*) as total, count(f.asset_id) as found
                from stg_semantic__brief_matches m left join fct_brief_asset_matches f
                  on f.brief_id = m.brief_id and f.asset_id = m.asset_id and f.rank <= 5
                where m.brief_id in (select brief_id from fct_brief_asset_matches) group by 1)""",
    "dup lists@5": """select avg((n > u)::int) from (
                select brief_id, count(*) as n, count(distinct coalesce(c.cluster_id, f.asset_id)) as u
                from fct_brief_asset_matches f left join dim_asset_clusters c using (asset_id)
                where rank <= 5 group by 1)""",
    "campaigns@5": """select avg(u) from (select brief_id, count(distinct a.campaign_id) as u
                from fct_brief_asset_matches f join stg_semantic__assets a using (asset_id)
                where rank <= 5 group by 1)""",
}


def build(collapse: bool, mmr_lambda: float) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", DBT_PROFILES_DIR=str(ROOT))
    env.setdefault("SEMANTIC_HOME", str(ROOT))
    dbt = Path(sys.executable).parent / "dbt"
    vars_ = f"{{brief_match_collapse_duplicates: {str(collapse).lower()}, brief_match_mmr_lambda: {mmr_lambda}}}"
    subprocess.run([str(dbt), "run", "--project-dir", str(ROOT), "--select", "fct_brief_asset_matches",
                    "--vars", vars_], check=True, env=env, cwd=ROOT, capture_output=True)


def measure(db: str) -> dict[str, float]:
    with duckdb.connect(db, read_only=True) as con:
        return {name: float(con.execute(sql).fetchone()[0]) for name, sql in QUERIES.items()}  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambdas", type=float, nargs="+", default=[1.0, 0.85, 0.7, 0.5])
    args = parser.parse_args()
    db = os.environ.get("SEMANTIC_DB", str(ROOT / "data" / "semantic_assets.duckdb"))
    settings = [(False, 1.0)] + [(True, lam) for lam in args.lambdas]
    rows = []
    for collapse, lam in settings:
        build(collapse, lam)
        rows.append((collapse, lam, measure(db)))
    build(True, 1.0)  # leave the defaults built
    base = rows[0][2]
    print("| collapse | mmr λ | " + " | ".join(QUERIES) + " |")
    print("|---|---|" + "---|" * len(QUERIES))
    for collapse, lam, figures in rows:
        cells = [f"{figures[k]:.3f} ({figures[k] - base[k]:+.3f})" for k in QUERIES]
        print(f"| {'yes' if collapse else 'no'} | {lam} | " + " | ".join(cells) + " |")
    print("(in brackets: difference from the first row, plain similarity order without collapsing)")


if __name__ == "__main__":
    main()
