"""``dim_hybrid_search_weight``: the hybrid search weight learned on the briefs' known matches.

Each brief with known matching assets is a labelled query: its text is searched over the assets with
``semantic_hybrid_search`` at every weight of :data:`semantic.decisions.fusion.ALPHAS`, through the
same SQL functions users call (a connection of its own, :func:`semantic.warehouse.functions.register`),
and :func:`semantic.decisions.fusion.choose_alpha` picks the weight. The choice is saved beside the
encoder version's calibration, so every connection opened after the build searches with it.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from semantic.decisions import fusion

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig
    from semantic.encoding.encoder import Encoder

logger = logging.getLogger("semantic")

#: Briefs searched at most (a seeded choice of them): the cost stays bounded on a large table.
MAX_QUERIES = 200
SCHEMA = pa.schema([
    ("model_version", pa.string()), ("alpha", pa.float64()), ("is_learned", pa.bool_()), ("n_queries", pa.int64()),
    ("mrr_by_alpha", pa.list_(pa.struct([("alpha", pa.float64()), ("mrr_at_10", pa.float64())]))),
    ("reason", pa.string()), ("chosen_at", pa.timestamp("us")),
    ("assets_learned_on", pa.int64()), ("assets_embedded_through", pa.timestamp("us")),
    ("other_inputs_fingerprint", pa.string()),
])


def kept_under_small_change(session: Any, this: Any, inputs: str, others: str, assets: Any,
                            max_share: float) -> Any | None:
    """The model's current row, restamped with ``inputs``, when only a small share of the assets changed.

    The weight is a property of the corpus as a whole: editing 1 % of the assets does not move it, while
    searching every labelled brief at every weight again cost 46 s of a 100,000-asset build. The row
    records how many assets it was learned on and the newest ``embedded_at`` among them; an asset
    embedded after that is new or edited, and one of the old ones missing now was removed or edited.
    The share changed is the larger of the two counts over the assets it was learned on (editing 1 %
    of the assets is 1 %).

    Args:
        session: The dbt-duckdb connection.
        this: The model's relation.
        inputs: This run's full inputs fingerprint (stamped on the kept row).
        others: The fingerprint of every input but the assets (briefs, matches, settings).
        assets: ``int_assets_embedded`` (``model_version``, ``embedded_at``).
        max_share: Largest share of changed assets under which the row is kept (0: never).

    Returns:
        A relation over the kept row, or None: learn again.
    """
    import duckdb

    from semantic.vectors.fingerprints import FINGERPRINT_COLUMN

    if max_share <= 0:
        return None
    try:
        stored = session.sql(f"select model_version, other_inputs_fingerprint, assets_learned_on, "
                             f"assets_embedded_through from {this}").fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):  # first run, or a row from before these columns
        return None
    if len(stored) != 1:
        return None
    version, stored_others, learned_on, through = stored[0]
    if not learned_on or through is None:
        return None
    if stored_others != others:
        logger.info("hybrid search weight: the briefs, their known matches or the settings changed, learning it again")
        return None
    cutoff = f"timestamp '{through.isoformat(sep=' ')}'"
    versions, old, new = assets.aggregate(
        f"list(distinct model_version), count(*) filter (where embedded_at <= {cutoff}), "
        f"count(*) filter (where embedded_at > {cutoff})"
    ).fetchone()
    if versions != [version]:
        logger.info("hybrid search weight: the assets are embedded by another encoder version, learning it again")
        return None
    gone = max(learned_on - old, 0)  # of the assets it was learned on: edited or removed since
    share = max(new, gone) / learned_on  # new counts the edited ones again, with the added ones
    if share > max_share:
        logger.info("hybrid search weight: %.1f %% of the assets changed since it was learned (over "
                    "hybrid_weight_relearn_share %g), learning it again", 100 * share, max_share)
        return None
    logger.info("hybrid search weight kept: %.1f %% of the %d assets it was learned on changed (%d new or "
                "edited, %d edited or removed), within hybrid_weight_relearn_share %g", 100 * share, learned_on,
                new, gone, max_share)
    return session.sql(f"select * replace ('{inputs}' as {FINGERPRINT_COLUMN}) from {this}")


def _queries(briefs: pa.Table, matches: pa.Table, max_queries: int) -> list[tuple[str, set[str]]]:
    """(brief text, its matching asset ids) for up to ``max_queries`` briefs, a stable choice by id hash."""
    relevant: dict[str, set[str]] = {}
    for brief_id, asset_id in zip(matches.column("brief_id").to_pylist(), matches.column("asset_id").to_pylist()):
        if brief_id is not None and asset_id is not None:
            relevant.setdefault(brief_id, set()).add(asset_id)
    texts = dict(zip(briefs.column("brief_id").to_pylist(), briefs.column("text").to_pylist()))
    usable = [b for b in relevant if texts.get(b) and str(texts[b]).strip()]
    usable.sort(key=lambda b: hashlib.md5(str(b).encode()).hexdigest())
    return [(str(texts[b]), relevant[b]) for b in usable[:max_queries]]


class _QueryMemo:
    """``encoder`` with the vectors of ``texts`` embedded in one batch up front: a call for one of them
    is answered from memory, anything else goes to the encoder."""

    def __init__(self, encoder: Encoder, texts: list[str]) -> None:
        import numpy as np

        self._encoder = encoder
        unique = sorted(set(texts))
        self._memo = dict(zip(unique, np.asarray(encoder.encode(unique)), strict=True))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)

    def encode(self, texts: Any, progress: Any = None) -> Any:
        import numpy as np

        if texts and all(isinstance(t, str) and t in self._memo for t in texts):
            return np.stack([self._memo[t] for t in texts])
        return self._encoder.encode(texts, progress)


def learn_hybrid_weight(briefs: pa.Table, matches: pa.Table, config: SemanticConfig, encoder: Encoder,
                        max_queries: int = MAX_QUERIES, min_queries: int = fusion.MIN_QUERIES, k: int = 10,
                        assets: tuple[int, datetime.datetime | None] = (0, None), others: str | None = None,
                        ) -> pa.Table:
    """Choose, save and return (one row) the hybrid weight for ``encoder``'s version.

    Args:
        briefs: ``brief_id``, ``text``.
        matches: ``brief_id``, ``asset_id`` of the known matches.
        config: Where the LanceDB assets table and the calibrations live.
        encoder: The encoder the assets were embedded with.
        max_queries: Briefs searched at most.
        min_queries: Fewer usable briefs keep the default weight.
        k: Results per search.
        assets: How many assets it is learned on and their newest ``embedded_at``
            (see :func:`kept_under_small_change`).
        others: The fingerprint of the inputs other than the assets.
    """
    import duckdb

    from semantic.warehouse.functions import register

    queries = _queries(briefs, matches, max_queries)
    ranked: dict[float, list[list[str]]] = {}
    if len(queries) >= min_queries:
        with duckdb.connect() as conn:
            # every query is searched at each weight: its text is embedded once, in one batch, not per search
            # (171 briefs x 5 weights: 34 s -> 13 s of the demo build)
            register(conn, config, encoder=_QueryMemo(encoder, [text for text, _ in queries]))  # type: ignore[arg-type]
            for alpha in fusion.ALPHAS:
                sql = f"select asset_id from semantic_hybrid_search(?, k := {k}, alpha := {alpha})"
                ranked[alpha] = [[r[0] for r in conn.execute(sql, [text]).fetchall()] for text, _ in queries]
    choice = fusion.choose_alpha(ranked, [rel for _, rel in queries], min_queries=min_queries)
    fusion.save(config.calibration_dir, encoder.version, choice)
    if choice.learned:
        logger.info("hybrid search weight %.2f (vector side) learned on %d briefs' known matches: mrr@10 %s",
                    choice.alpha, choice.n_queries, ", ".join(f"{a:g}: {m:.3f}" for a, m in sorted(choice.mrr.items())))
    else:
        logger.info("hybrid search weight: %s", choice.reason)
    row: dict[str, Any] = {
        "model_version": encoder.version, "alpha": choice.alpha, "is_learned": choice.learned,
        "n_queries": choice.n_queries,
        "mrr_by_alpha": [{"alpha": a, "mrr_at_10": m} for a, m in sorted(choice.mrr.items())],
        "reason": choice.reason or None,
        "chosen_at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
        "assets_learned_on": assets[0], "assets_embedded_through": assets[1], "other_inputs_fingerprint": others,
    }
    return pa.Table.from_pylist([row], schema=SCHEMA)
