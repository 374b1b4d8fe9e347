"""The web app: look at the build and act on it (``semantic serve``), and the model report (``semantic report``).

Modules:
    published: the published build as the app reads it (read-only, reopened after a swap) and its queries.
    report: the model report's data and charts, in the app and as one self-contained HTML file.
    app: the Flask app: search, asset, review queue, compliance overview, model report.

Templates and static files (``templates/``, ``static/``) ship with the package; Plotly's JavaScript comes from
the plotly package. May import everything below :mod:`semantic.cli`.
"""
