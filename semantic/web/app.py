"""``semantic serve``: a local web app to search, review and read the model report (Flask, server-rendered).

Pages: search (``/``), an asset (``/asset/<id>``), the review queue (``/review``), the compliance overview
(``/compliance``) and the model report (``/report``). It reads the published DuckDB file read-only and the
LanceDB tables (:class:`semantic.web.published.Published`), so it never blocks or breaks a build and picks up
a newly published build on the next request. Review decisions go through the same API as ``semantic label``
(:func:`semantic.review.decisions.record`).

Security: it listens on 127.0.0.1 unless told otherwise (and warns when bound elsewhere: there is no login);
a decision needs a reviewer name; every query takes request values as parameters; every POST carries the
session's CSRF token; templates escape every value (Jinja autoescape), so an asset's ``<script>`` is text.
Every script and style ships with the package (Plotly's from the plotly package): nothing is fetched.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semantic.config import is_loopback
from semantic.errors import SemanticDataError, SemanticError

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from semantic.config import SemanticConfig

logger = logging.getLogger("semantic.web")
HERE = Path(__file__).parent
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
CSRF_FIELD = "csrf_token"


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    from semantic.web.report import plotly_js

    return plotly_js()


def decided_items(config: SemanticConfig) -> dict[str, tuple[str | None, str | None]]:
    """review_id -> the text hashes of its latest recorded decision (decisions made since the build)."""
    from semantic.review.decisions import DecisionLog

    latest: dict[str, tuple[str | None, str | None]] = {}
    for d in DecisionLog(config.review_log).read():
        latest[d.review_id] = (d.left_hash, d.right_hash)
    return latest


def create_app(config: SemanticConfig) -> Flask:
    """The app over ``config``'s published build and decision log."""
    from flask import Flask, abort, redirect, render_template, request, session, url_for
    from markupsafe import Markup

    from semantic.web import published as data
    from semantic.web import report as model_report

    app = Flask("semantic.web", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"),
                static_url_path="/static")
    app.config.update(SECRET_KEY=secrets.token_hex(32), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", TEMPLATES_AUTO_RELOAD=False)
    db = data.Published(config)
    app.extensions["semantic_published"] = db

    def csrf_token() -> str:
        if CSRF_FIELD not in session:
            session[CSRF_FIELD] = secrets.token_urlsafe(32)
        return str(session[CSRF_FIELD])

    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def check_csrf() -> None:
        if request.method == "POST":
            sent, expected = request.form.get(CSRF_FIELD, ""), session.get(CSRF_FIELD, "")
            if not expected or not hmac.compare_digest(str(sent), str(expected)):
                abort(400, description="the form's CSRF token is missing or wrong: reload the page and try again")

    @app.after_request
    def headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.errorhandler(400)
    @app.errorhandler(404)
    def http_error(e: Any) -> tuple[str, int]:
        return render_template("error.html", message=e.description), e.code

    @app.errorhandler(SemanticError)
    def semantic_error(e: SemanticError) -> tuple[str, int]:
        return render_template("error.html", message=str(e)), 400

    @app.get("/static/plotly.min.js")
    def plotly() -> Any:
        return app.response_class(_plotly_js(), mimetype="application/javascript",
                                  headers={"Cache-Control": "max-age=86400"})

    @app.get("/")
    def search() -> str:
        args = request.args
        q = args.get("q", "").strip()
        filters = {k: args.get(k, "").strip() or None for k in ("brand", "market", "channel", "created_from",
                                                                 "created_to")}
        hybrid = args.get("hybrid") == "on"
        hits, error = [], None
        if q:
            try:
                hits = data.search(db, q, hybrid=hybrid, brand=filters["brand"], market=filters["market"],
                                   channel=filters["channel"], created_from=filters["created_from"],
                                   created_to=filters["created_to"])
            except SemanticError as e:
                error = str(e)
            except Exception as e:  # noqa: BLE001 - a bad date or filter: say so on the page
                error = str(e).splitlines()[0]
        return render_template("search.html", q=q, filters=filters, hybrid=hybrid, hits=hits, error=error,
                               values=data.filter_values(db))

    @app.get("/asset/<asset_id>")
    def asset(asset_id: str) -> str:
        found = data.asset(db, asset_id)
        if found is None:
            abort(404, description=f"no asset {asset_id!r} in the published build")
        return render_template("asset.html", **found)

    @app.get("/review")
    def review() -> str:
        task = request.args.get("task") or None
        item, n_open = data.next_review_item(db, decided_items(config), task)
        return render_template("review.html", item=item, n_open=n_open, task=task,
                               reviewer=session.get("reviewer", ""), message=request.args.get("message"))

    @app.post("/review/decide")
    def decide() -> Any:
        from semantic.review.decisions import record

        form = request.form
        reviewer = form.get("reviewer", "")
        task = form.get("task") or None
        try:
            decision = record(config, form.get("label", ""), reviewer, item=form.get("review_id", ""),
                              note=form.get("note") or None)
        except SemanticDataError as e:
            return render_template("error.html", message=str(e)), 400
        session["reviewer"] = decision.reviewer
        return redirect(url_for("review", task=task, message=f"recorded {decision.label} on {decision.left_id} / "
                                f"{decision.right_id}"))

    @app.get("/compliance")
    def compliance() -> str:
        from semantic.web.report import compliance_figures, figure_html

        overview = data.compliance_overview(db)
        figures = {name: Markup(figure_html(fig, f"chart-{name}"))
                   for name, fig in compliance_figures(overview).items()}
        return render_template("compliance.html", overview=overview, figures=figures)

    @app.get("/report")
    def report() -> str:
        return render_template("report.html", **model_report.context(config))

    return app


def serve(config: SemanticConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Run the app until interrupted (a threaded Werkzeug server: one user, or a few, on this machine)."""
    from werkzeug.serving import run_simple

    if not is_loopback(host):
        logger.warning("semantic serve: listening on %s, not only on this machine: anyone who can reach port %d "
                       "can read the assets and record review decisions (there is no login)", host, port)
    logger.info("semantic serve: http://%s:%d/ (the published build %s; Ctrl-C stops)", host, port, config.db_path)
    run_simple(host, port, create_app(config), threaded=True, use_reloader=False, use_debugger=False)
