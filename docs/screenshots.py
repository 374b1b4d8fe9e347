"""Screenshots of the web app for the README: the search page, the review queue and the model report.

Serves the published build (default: the demo `make run` built in data/) in this process and photographs
three pages in headless Chromium (Debian's `chromium`, through Playwright), into ``docs/assets/``:

    .venv/bin/python docs/screenshots.py
    .venv/bin/python docs/screenshots.py --query "heat pump installation" --out docs/assets
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from semantic.config import active
    from semantic.web.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="the published DuckDB file (default: the project's)")
    parser.add_argument("--query", default="switch to solar and save on your energy bill")
    parser.add_argument("--out", default=str(ROOT / "docs" / "assets"))
    args = parser.parse_args()
    config = active().with_overrides(db_path=args.db)
    if not config.db_path.exists():
        print(f"no published build at {config.db_path}: run `make run` first", file=sys.stderr)
        return 2
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("no chromium on PATH: apt-get install -y chromium", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    httpd = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            pages = (("search", "/?" + urlencode({"q": args.query}), False), ("review", "/review", False),
                     ("report", "/report", False))
            for name, path, full in pages:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"screenshot-{name}.png"), full_page=full)
                print(f"wrote {out / f'screenshot-{name}.png'}")
            browser.close()
    finally:
        httpd.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
