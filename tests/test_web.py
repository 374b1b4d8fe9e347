"""The web app (`semantic serve`) and the report file (`semantic report`), driven in a real headless Chromium.

Debian's `chromium` (installed by `make test` when missing) through Playwright for Python, over a demo
project built twice: once with the base encoder, once fine-tuned, so the report has a version and the one
before it. One asset's copy holds an encoded `<script>`: the pages must show it as text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from seed_rows import read_csv, write_csv

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SCRIPT_TEXT = "<script>alert(1)</script>"


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("no chromium on PATH: `make test` installs Debian's chromium (apt-get install -y chromium)")
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict[str, Any]:
    from semantic.warehouse.scaffold import copy_example

    root = copy_example(tmp_path_factory.mktemp("web"), seed=5, n_assets=150)
    assets = read_csv(root / "seeds" / "demo_assets.csv")
    assets.append(dict(assets[0], asset_id="XSS1",
                       text="Winter sale &lt;script&gt;alert(1)&lt;/script&gt; on every insulated jacket"))
    write_csv(root / "seeds" / "demo_assets.csv", assets)
    data = root / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "SEMANTIC_HOME": str(root),
           "SEMANTIC_DB": str(data / "semantic_assets.duckdb"), "SEMANTIC_LANCE_DIR": str(data / "lance"),
           "SEMANTIC_MODELS_DIR": str(data / "models"), "SEMANTIC_REVIEW_LOG": str(data / "review" / "decisions.jsonl")}
    for key in ("SEMANTIC_MODEL_DIR", "DBT_PROFILES_DIR"):
        env.pop(key, None)
    outputs = []
    for shown, variables in ((), "{semantic_train: false, semantic_train_reranker: false}"), (
            ("--quiet",), "{semantic_train_epochs: 1, semantic_train_reranker: false}"):
        built = subprocess.run([str(BIN / "semantic"), "build", *shown, "--vars", variables], cwd=root, env=env,
                               capture_output=True, text=True, timeout=1200)
        assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
        outputs.append(built.stdout)
    return {"root": root, "env": env, "data": data, "assets": assets, "outputs": outputs}


def test_semantic_build_prints_a_line_per_stage_and_with_quiet_only_the_end(project):
    progress, quiet = project["outputs"]
    assert re.search(r"^  embedding  .*assets \d+/\d+", progress, re.M), progress
    assert re.search(r"^  training   encoder off", progress, re.M)
    assert re.search(r"^  models     \d+/\d+ nodes", progress, re.M)
    assert "START" not in progress and "Running with dbt" not in progress  # none of dbt's own lines
    assert [line.split()[0] for line in quiet.splitlines()] == ["PASS=" + quiet.split("PASS=")[1].split()[0],
                                                               "dbt's"], quiet


@pytest.fixture(scope="module")
def server(project) -> Iterator[str]:
    from werkzeug.serving import make_server

    from semantic.config import SemanticConfig
    from semantic.web.app import create_app

    data = project["data"]
    os.environ["SEMANTIC_REVIEW_LOG"] = project["env"]["SEMANTIC_REVIEW_LOG"]
    config = SemanticConfig(db_path=data / "semantic_assets.duckdb", lance_dir=data / "lance", model_dir=None,
                            models_dir=data / "models")
    httpd = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    os.environ.pop("SEMANTIC_REVIEW_LOG", None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                   args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chrome
        chrome.close()


class Watched:
    """A page that records console errors, uncaught exceptions and dialogs."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.close()


def drawn_charts(page: Any) -> dict[str, int]:
    """Each Plotly chart's id and how many SVG elements it drew."""
    return page.eval_on_selector_all(
        "div.plotly-graph-div", "els => Object.fromEntries(els.map(e => [e.id, e.querySelectorAll('svg *').length]))")


def test_every_page_loads_without_a_console_error(server, project, watched):
    asset_id = project["assets"][3]["asset_id"]
    for path in ("/", "/?q=insulated+jacket", "/?q=jacket&hybrid=on", f"/asset/{asset_id}", "/review",
                 "/review?task=lookalike", "/compliance", "/report"):
        response = watched.page.goto(server + path)
        assert response is not None and response.status == 200, path
        watched.page.wait_for_load_state("networkidle")
    assert watched.errors == []
    assert watched.page.goto(server + "/asset/NOPE").status == 404


def test_a_search_typed_into_the_box_returns_the_asset(server, project, watched):
    target = project["assets"][7]
    watched.page.goto(server + "/")
    watched.page.fill("#q", target["text"])
    watched.page.click("#go")
    watched.page.wait_for_selector("tr.hit")
    first = watched.page.get_attribute("tr.hit", "data-asset-id")
    assert first == target["asset_id"]
    assert watched.errors == []


def test_a_review_decision_made_by_clicking_is_recorded_and_the_item_leaves_the_queue(server, project, watched):
    log = Path(project["env"]["SEMANTIC_REVIEW_LOG"])
    before = len(log.read_text().splitlines()) if log.exists() else 0
    watched.page.goto(server + "/review")
    item = watched.page.get_attribute("#item", "data-review-id")
    assert item
    watched.page.fill("#reviewer", "Playwright")
    watched.page.click("#not_match")
    watched.page.wait_for_selector("#message")
    lines = log.read_text().splitlines()
    assert len(lines) == before + 1
    recorded = json.loads(lines[-1])
    assert (recorded["review_id"], recorded["label"], recorded["reviewer"]) == (item, "not_match", "Playwright")
    shown = watched.page.get_attribute("#item", "data-review-id") if watched.page.query_selector("#item") else None
    assert shown != item  # the next item, not the one decided
    if shown:
        with watched.page.expect_navigation():  # the key submits the form: wait for the answer, not a guess
            watched.page.keyboard.press("s")  # decided by key: the next one is skipped
        watched.page.wait_for_load_state("networkidle")
        lines = log.read_text().splitlines()
        assert len(lines) == before + 2
        assert (json.loads(lines[-1])["review_id"], json.loads(lines[-1])["label"]) == (shown, "skip")
    assert watched.errors == []


def test_a_post_without_the_csrf_token_is_refused_and_records_nothing(server, project, watched):
    log = Path(project["env"]["SEMANTIC_REVIEW_LOG"])
    before = log.read_bytes() if log.exists() else b""
    watched.page.goto(server + "/review")
    item = watched.page.get_attribute("#item", "data-review-id")
    refused = watched.page.request.post(server + "/review/decide",
                                        form={"review_id": item or "x", "label": "match", "reviewer": "Mallory"})
    assert refused.status == 400
    forged = watched.page.request.post(server + "/review/decide", form={
        "review_id": item or "x", "label": "match", "reviewer": "Mallory", "csrf_token": "guessed"})
    assert forged.status == 400
    assert (log.read_bytes() if log.exists() else b"") == before


def test_an_asset_holding_a_script_shows_it_as_text_and_no_dialog_opens(server, watched):
    watched.page.goto(server + "/asset/XSS1")
    assert SCRIPT_TEXT in watched.page.inner_text("#asset-text")
    watched.page.goto(server + "/?q=" + "winter sale insulated jacket")
    assert SCRIPT_TEXT in watched.page.inner_text("#hits")
    watched.page.wait_for_timeout(300)
    assert watched.dialogs == []


def test_every_chart_of_the_report_and_the_compliance_page_is_drawn(server, watched):
    watched.page.goto(server + "/report")
    watched.page.wait_for_load_state("networkidle")
    charts = drawn_charts(watched.page)
    # two versions (tuned, base) x three tasks x three charts, and the tuned version's loss and guard
    assert len(charts) >= 2 * 3 * 3 + 2, sorted(charts)
    assert all(n > 0 for n in charts.values()), charts
    watched.page.goto(server + "/compliance")
    watched.page.wait_for_load_state("networkidle")
    assert len(drawn_charts(watched.page)) == 2 and all(n > 0 for n in drawn_charts(watched.page).values())
    assert watched.errors == []


def test_semantic_report_writes_one_file_that_draws_every_chart_offline(project, browser, tmp_path):
    out = tmp_path / "report.html"
    written = subprocess.run([str(BIN / "semantic"), "report", "--out", str(out)], cwd=project["root"],
                             env=project["env"], capture_output=True, text=True, timeout=300)
    assert written.returncode == 0, written.stderr
    offline = Watched(browser, offline=True)
    requested: list[str] = []
    offline.page.on("request", lambda r: requested.append(r.url))
    offline.page.goto(out.as_uri())
    offline.page.wait_for_load_state("load")
    charts = drawn_charts(offline.page)
    assert len(charts) >= 2 * 3 * 3 + 2 and all(n > 0 for n in charts.values()), charts
    assert [u for u in requested if not u.startswith("file:")] == []  # nothing fetched
    assert offline.errors == []
    offline.close()
