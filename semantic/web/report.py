"""The model report: per task and encoder version, how good the decisions are, as charts.

Per task (duplicate, brief_match, lookalike), for the active encoder version and the one before it, side
by side:

- the reliability diagram: calibrated probability against the observed share of matches, by bins;
- precision and recall against the threshold, the chosen threshold marked with the 95 % interval of its
  precision and recall;
- score histograms of the labelled matches and non-matches;

and per version the training loss curve and the collapse guard's figures. The data is what each build
saved beside its calibration (``<calibration_dir>/<model_version>.report.json``: the thresholds row and the
calibration pairs' scores and labels) and each tuned version's ``semantic_metrics.json``; charts are Plotly
figures whose JavaScript ships with the plotly package, so the report needs no network.
``semantic report --out FILE.html`` writes it as one self-contained file; ``semantic serve`` shows it at
``/report``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig

TASKS = ("duplicate", "brief_match", "lookalike")
#: Bins of the reliability diagram.
RELIABILITY_BINS = 10
_MATCH, _OTHER = "#1f77b4", "#d62728"


@dataclass
class VersionReport:
    """What the report shows of one encoder version."""

    version: str
    model_version: str | None
    is_active: bool
    created_at: str | None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    loss_curve: list[tuple[float, float]] = field(default_factory=list)
    guard: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


def load_versions(config: SemanticConfig, n: int = 2) -> list[VersionReport]:
    """The active encoder version and the one active before it (most recent first), with their saved data."""
    import duckdb

    from semantic.encoding.registry import Registry

    registry = Registry(config.models_dir)
    active_name = registry.active_name()
    names = [active_name]
    for entry in reversed(registry.history()):
        name = entry.get("version") or entry.get("name")
        if name and name not in names:
            names.append(name)
    known = {v.name: v for v in registry.versions()}
    model_versions: dict[str, str] = {}
    if config.db_path.exists():
        with duckdb.connect(str(config.db_path), read_only=True) as con:
            try:
                for version, model_version in con.execute(
                        "select version, model_version from dim_encoder_versions").fetchall():
                    if model_version:
                        model_versions[version] = model_version
                current = con.execute("select any_value(model_version) from dim_similarity_thresholds").fetchone()
                if current and current[0]:
                    model_versions.setdefault(active_name, current[0])
            except duckdb.CatalogException:
                pass
    for path in sorted(config.calibration_dir.glob("*.report.json"), key=lambda p: -p.stat().st_mtime):
        stem = path.name.removesuffix(".report.json")
        name = stem.rsplit("-", 1)[0]
        model_versions.setdefault(name, stem)
        if name not in names and len(names) < n:
            names.append(name)
    out = []
    for name in names[:n]:
        report = VersionReport(version=name, model_version=model_versions.get(name), is_active=name == active_name,
                               created_at=str(known[name].created_at) if name in known else None)
        if report.model_version:
            saved = config.calibration_dir / f"{report.model_version}.report.json"
            if saved.is_file():
                report.tasks = json.loads(saved.read_text())
        if name in known:
            metrics_path = Path(known[name].path) / "semantic_metrics.json"
            if metrics_path.is_file():
                metrics = json.loads(metrics_path.read_text())
                report.loss_curve = [tuple(x) for x in metrics.get("loss_curve", [])]
                report.guard = metrics.get("guard", {})
        out.append(report)
    return out


def _sweep(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall of ``score >= t`` for every distinct score t."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    positives = max(int(y.sum()), 1)
    return s[last], tp[last] / (tp[last] + fp[last]), tp[last] / positives


def _probability(task: dict[str, Any], scores: np.ndarray) -> np.ndarray:
    x, y = np.asarray(task.get("curve_x") or [0.0, 1.0]), np.asarray(task.get("curve_y") or [0.0, 1.0])
    return np.interp(scores, x, y)


def task_figures(task: str, data: dict[str, Any]) -> dict[str, Any]:
    """The three Plotly figures of one task and version: reliability, precision/recall, histograms."""
    import plotly.graph_objects as go

    scores = np.asarray(data.get("scores") or [], dtype=float)
    labels = np.asarray(data.get("labels") or [], dtype=int)
    layout = {"height": 280, "margin": {"l": 50, "r": 10, "t": 36, "b": 40}, "template": "plotly_white",
              "legend": {"orientation": "h", "y": -0.25}}
    figures: dict[str, Any] = {}
    p = _probability(data, scores)
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, RELIABILITY_BINS - 1)
    mean_p = [float(p[which == b].mean()) for b in range(RELIABILITY_BINS) if (which == b).any()]
    observed = [float(labels[which == b].mean()) for b in range(RELIABILITY_BINS) if (which == b).any()]
    counts = [int((which == b).sum()) for b in range(RELIABILITY_BINS) if (which == b).any()]
    reliability = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="perfect"),
        go.Scatter(x=mean_p, y=observed, mode="lines+markers", name="calibrated", text=[f"{c} pairs" for c in counts],
                   marker={"size": [6 + 14 * math.sqrt(c / max(counts)) for c in counts] if counts else 6}),
    ])
    reliability.update_layout(title=f"Reliability (ECE {data.get('ece', float('nan')):.3f})",
                              xaxis_title="predicted probability", yaxis_title="observed share of matches",
                              xaxis_range=[0, 1], yaxis_range=[0, 1.02], **layout)
    figures["reliability"] = reliability
    pr = go.Figure()
    if len(scores):
        t, precision, recall = _sweep(scores, labels)
        pr.add_scatter(x=t, y=precision, mode="lines", name="precision", line={"color": _MATCH, "shape": "hv"})
        pr.add_scatter(x=t, y=recall, mode="lines", name="recall", line={"color": _OTHER, "shape": "hv"})
    threshold = data.get("threshold")
    if threshold is not None:
        pr.add_vline(x=threshold, line={"color": "#333", "dash": "dash"},
                     annotation_text=f"threshold {threshold:.3f}" + (" (fallback)" if data.get("is_fallback") else ""))
        for name, colour in (("precision", _MATCH), ("recall", _OTHER)):
            value, lo, hi = data.get(name), data.get(f"{name}_lo"), data.get(f"{name}_hi")
            if value is not None and lo is not None and hi is not None:
                pr.add_scatter(x=[threshold], y=[value], mode="markers", name=f"{name} at threshold (95 % interval)",
                               marker={"color": colour, "size": 9}, showlegend=False,
                               error_y={"type": "data", "symmetric": False, "array": [hi - value],
                                        "arrayminus": [value - lo]})
    pr.update_layout(title=f"Precision and recall by threshold (F1 {data.get('f1', float('nan')):.3f})",
                     xaxis_title="score", yaxis_title="share", yaxis_range=[0, 1.05], **layout)
    figures["precision_recall"] = pr
    hist = go.Figure([
        go.Histogram(x=scores[labels == 1], name="labelled matches", marker_color=_MATCH, opacity=0.6, nbinsx=30),
        go.Histogram(x=scores[labels == 0], name="labelled non-matches", marker_color=_OTHER, opacity=0.6, nbinsx=30),
    ])
    if threshold is not None:
        hist.add_vline(x=threshold, line={"color": "#333", "dash": "dash"})
    hist.update_layout(barmode="overlay", title=f"Scores of {int((labels == 1).sum())} matches, "
                       f"{int((labels == 0).sum())} non-matches", xaxis_title="score", yaxis_title="pairs", **layout)
    figures["histogram"] = hist
    return figures


def version_figures(report: VersionReport) -> dict[str, Any]:
    """The training loss curve and the collapse guard's figures of one version."""
    import plotly.graph_objects as go

    layout = {"height": 260, "margin": {"l": 50, "r": 10, "t": 36, "b": 40}, "template": "plotly_white"}
    figures: dict[str, Any] = {}
    if report.loss_curve:
        steps, losses = zip(*report.loss_curve, strict=True)
        loss = go.Figure([go.Scatter(x=steps, y=losses, mode="lines+markers", name="training loss")])
        loss.update_layout(title="Training loss", xaxis_title="step", yaxis_title="loss", **layout)
        figures["loss"] = loss
    numbers = {k: v for k, v in report.guard.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    if numbers:  # figures of different scales (a rank, cosines): a table, not bars on one axis
        guard = go.Figure([go.Table(
            header={"values": ["figure", "value"], "align": "left", "fill_color": "#eceff1"},
            cells={"values": [list(numbers), [f"{v:.4g}" for v in numbers.values()]], "align": "left"})])
        verdict = "passed" if report.guard.get("passed") else f"failed ({report.guard.get('reason')})"
        guard.update_layout(title=f"Collapse guard: {verdict}", **{**layout, "height": 220})
        figures["guard"] = guard
    return figures


def build(config: SemanticConfig) -> list[VersionReport]:
    """Every version's data and figures."""
    versions = load_versions(config)
    for report in versions:
        report.figures = version_figures(report)
        for task in TASKS:
            if task in report.tasks:
                for name, figure in task_figures(task, report.tasks[task]).items():
                    report.figures[f"{task}:{name}"] = figure
    return versions


def figure_html(figure: Any, div_id: str) -> str:
    """A figure as a ``<div>`` and its drawing script (Plotly's JavaScript loaded separately)."""
    return str(figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                              config={"displaylogo": False, "responsive": True}))


def plotly_js() -> str:
    """Plotly's JavaScript, from the installed plotly package (no network)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def compliance_figures(overview: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The compliance overview's charts: flags and reviews by rule and by asset creation month."""
    import plotly.graph_objects as go

    layout = {"height": 300, "margin": {"l": 50, "r": 10, "t": 36, "b": 60}, "template": "plotly_white",
              "barmode": "stack", "legend": {"orientation": "h", "y": -0.3}}
    figures = {}
    for name, key, title in (("by_rule", "rule_id", "Open flags and reviews by rule"),
                             ("by_month", "month", "Open flags and reviews by asset creation month")):
        rows = [r for r in overview.get(name, []) if r["flags"] or r["reviews"]]  # not rules with cleared reviews only
        fig = go.Figure([go.Bar(x=[str(r[key]) for r in rows], y=[r["flags"] for r in rows], name="flag",
                                marker_color=_OTHER),
                         go.Bar(x=[str(r[key]) for r in rows], y=[r["reviews"] for r in rows], name="review",
                                marker_color="#ff7f0e")])
        fig.update_layout(title=title, **layout)
        figures[name] = fig
    return figures


#: The charts of a task, in the order shown.
TASK_CHARTS = ("reliability", "precision_recall", "histogram")
VERSION_CHARTS = ("loss", "guard")


def context(config: SemanticConfig) -> dict[str, Any]:
    """What ``report.html`` renders: per version its figures as HTML (scripts need Plotly's JavaScript)."""
    from markupsafe import Markup

    versions = build(config)
    rows = []
    for i, report in enumerate(versions):
        html = {key: Markup(figure_html(fig, f"chart-{i}-{key.replace(':', '-')}"))
                for key, fig in report.figures.items()}
        rows.append({"report": report, "html": html})
    return {"versions": rows, "tasks": TASKS, "task_charts": TASK_CHARTS, "version_charts": VERSION_CHARTS}


def write_html(config: SemanticConfig, out: Path) -> Path:
    """The report as one self-contained HTML file (Plotly's JavaScript and the styles inline): it opens
    offline, in a CI artifact or an email attachment."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    here = Path(__file__).parent
    env = Environment(loader=FileSystemLoader(str(here / "templates")), autoescape=select_autoescape(["html"]))
    from markupsafe import Markup

    page = env.get_template("report_file.html").render(
        **context(config), plotly_js=Markup(plotly_js()), css=Markup((here / "static" / "app.css").read_text()),
        db_path=str(config.db_path))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
