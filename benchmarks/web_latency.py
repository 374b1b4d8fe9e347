"""Response times of the web app (`semantic serve`) on a published build: search p50/p95 and the model report.

Starts the app on a free local port in this process (the threaded Werkzeug server `semantic serve` runs) and
requests pages over HTTP as a browser would: first each page once to warm up (the encoder loads on the first
search), then ``--n`` searches with the demo briefs' texts as queries (plain and hybrid), ``--n`` asset
pages, and the report ``--report-n`` times. Prints p50 and p95 per page.

    .venv/bin/python benchmarks/web_latency.py                  # the demo built by `make run` (data/)
    .venv/bin/python benchmarks/web_latency.py --db data/semantic_assets.duckdb --n 100
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")
    return time.perf_counter() - started


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {p95:.1f} | {max(ms):.1f} |"


def main() -> int:
    import duckdb
    from werkzeug.serving import make_server

    from semantic.config import active
    from semantic.web.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="the published DuckDB file (default: the project's)")
    parser.add_argument("--n", type=int, default=60, help="searches and asset pages timed")
    parser.add_argument("--report-n", type=int, default=5, help="report pages timed")
    args = parser.parse_args()
    config = active().with_overrides(db_path=args.db)
    if not config.db_path.exists():
        print(f"no published build at {config.db_path}: run `make run` first", file=sys.stderr)
        return 2
    with duckdb.connect(str(config.db_path), read_only=True) as con:
        queries = [r[0] for r in con.execute("select text from stg_semantic__briefs order by brief_id").fetchall()]
        assets = [r[0] for r in con.execute("select asset_id from stg_semantic__assets order by asset_id").fetchall()]
    if not queries:
        queries = [t[:80] for t in assets]
    httpd = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        for path in ("/?q=warm+up", "/?q=warm+up&hybrid=on", f"/asset/{assets[0]}", "/review", "/compliance",
                     "/report"):
            timed(base + path)
        rows = []
        for hybrid in (False, True):
            seconds = [timed(base + "/?" + urllib.parse.urlencode({"q": queries[i % len(queries)][:200],
                                                                    **({"hybrid": "on"} if hybrid else {})}))
                       for i in range(args.n)]
            rows.append(summary("search, hybrid" if hybrid else "search", seconds))
        rows.append(summary("asset page", [timed(f"{base}/asset/{assets[i * 7 % len(assets)]}")
                                           for i in range(args.n)]))
        rows.append(summary("review queue", [timed(base + "/review") for _ in range(args.n)]))
        rows.append(summary("compliance", [timed(base + "/compliance") for _ in range(args.report_n)]))
        rows.append(summary("model report", [timed(base + "/report") for _ in range(args.report_n)]))
    finally:
        httpd.shutdown()
    print(f"web app on {config.db_path} ({len(assets)} assets); times over HTTP on this machine, in ms")
    print("| page | requests | p50 | p95 | max |\n|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
