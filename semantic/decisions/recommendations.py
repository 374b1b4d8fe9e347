"""Brief → asset recommendations: candidates from the LanceDB assets table, duplicates collapsed, MMR.

**Candidates.** The assets table's vectors and columns are read once; briefs are grouped by
(brand, market), and each group is one matrix product and top-``pool`` against the assets of its
brand and market (an asset of market ``ALL`` serves every market), exact, in memory
(:func:`semantic.decisions.clustering.exact_top_n`). One prefiltered LanceDB scan per brief did the
same and grew with briefs times assets (19.3 s of the 100,000-asset demo build).

**Duplicates collapsed.** When near-duplicate clusters are given (``dim_asset_clusters``), only the
most similar member of each cluster stays in a brief's list; ``duplicates_hidden`` counts the
members it stands for. Five paraphrases of one headline take one slot, not five.

**Reranked.** With an active brief reranker (a cross-encoder that reads the brief and then the asset,
:mod:`semantic.encoding.reranker`), each brief's ``rerank_depth`` most similar kept assets are scored
by it and reordered by ``cosine + w · logit(reranker probability)``, where ``w`` is the weight its
guard chose on held-out labelled briefs (:func:`semantic.encoding.reranker.choose_fusion_weight`);
the assets below that depth keep their cosine order after them. On ``retrieval/slogans_dev`` this
lifts recall@1 over the cosine's (docs/benchmarks.md).

**Diversity.** With ``mmr_lambda`` below 1, the top ``k`` are chosen by maximal marginal
relevance (Carbonell & Goldstein, 1998): each next asset maximises
``λ · sim(brief, asset) − (1 − λ) · max sim(asset, already chosen)``. ``λ = 1`` is plain
similarity order. ``relevance_rank`` keeps each asset's place in plain similarity order, so the
re-ranking is visible.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from semantic.errors import SemanticDataError

#: The market value that means every market (the contract's default when an input has no market).
ALL_MARKETS = "ALL"

logger = logging.getLogger("semantic")

ASSET_COLUMNS = ("asset_id", "channel", "asset_type", "text", "model_version")


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, mmr_lambda: float) -> list[int]:
    """Indices of ``k`` candidates chosen by maximal marginal relevance.

    Args:
        relevance: Each candidate's similarity to the query.
        vectors: The candidates' unit vectors (row i belongs to ``relevance[i]``).
        k: How many to choose (fewer when there are fewer candidates).
        mmr_lambda: Weight of relevance in [0, 1]; 1 returns the candidates in relevance order.

    Ties go to the candidate listed first, so the result is deterministic.
    """
    if not 0.0 <= mmr_lambda <= 1.0:
        raise SemanticDataError(f"mmr_lambda must be in [0, 1] (1 = no diversity), got {mmr_lambda}")
    n = len(relevance)
    k = min(k, n)
    if mmr_lambda >= 1.0 or k == 0:
        return sorted(range(n), key=lambda i: (-relevance[i], i))[:k]
    rel = np.asarray(relevance, dtype=np.float64)
    sims = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    chosen: list[int] = []
    redundancy = np.full(n, -np.inf)
    available = np.ones(n, dtype=bool)
    for _ in range(k):
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        score = np.where(available, mmr_lambda * rel - (1.0 - mmr_lambda) * penalty, -np.inf)
        best = int(np.argmax(score))
        chosen.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, sims[best])
    return chosen


def collapse_duplicates(
    asset_ids: Sequence[str], similarities: Sequence[float], cluster_of: Mapping[str, str]
) -> tuple[list[int], list[int]]:
    """Keep the most similar member of each near-duplicate cluster.

    Returns:
        The kept candidates' indices (in the input order) and, for each, how many other members of
        its cluster it hides. Assets without a cluster are their own cluster.
    """
    order = sorted(range(len(asset_ids)), key=lambda i: (-similarities[i], asset_ids[i]))
    kept: dict[str, int] = {}
    hidden: dict[str, int] = defaultdict(int)
    for i in order:
        cluster = cluster_of.get(asset_ids[i], asset_ids[i])
        if cluster in kept:
            hidden[cluster] += 1
        else:
            kept[cluster] = i
    keep = sorted(kept.values())
    return keep, [hidden[cluster_of.get(asset_ids[i], asset_ids[i])] for i in keep]


def brief_matches(
    briefs: pa.Table,
    lance_dir: Path | str,
    k: int,
    pool: int = 50,
    mmr_lambda: float = 1.0,
    clusters: pa.Table | None = None,
    known_matches: pa.Table | None = None,
    probability: Callable[[np.ndarray], np.ndarray] | None = None,
    table: str = "assets",
    batch_size: int = 256,
    reranker: Any = None,
    brief_texts: Mapping[str, str] | None = None,
    rerank_depth: int = 20,
) -> pa.Table:
    """The top ``k`` assets of each brief's brand and market, from the LanceDB assets table.

    Args:
        briefs: ``brief_id, brand, market, vector, model_version`` (one row per embedded brief).
        lance_dir: The LanceDB folder holding ``table``.
        k: Assets kept per brief.
        pool: Nearest assets fetched per brief before duplicates are collapsed and MMR re-ranks
            (at least ``k``; a larger pool gives diversity more to choose from).
        mmr_lambda: 1 = similarity order; lower trades similarity for variety (see module doc).
        clusters: ``asset_id, cluster_id`` (dim_asset_clusters) to collapse near-duplicates, or None.
        known_matches: ``brief_id, asset_id`` pairs the brief is known to have used, or None.
        probability: Maps similarities to the calibrated ``brief_match`` probability, or None.
        reranker: A query-first brief reranker (``score(briefs, assets)``, ``fusion_weight``, ``version``), or
            None; one whose ``fusion_weight`` is 0 changes nothing.
        brief_texts: Each brief's text by id (needed with ``reranker``).
        rerank_depth: Each brief's most similar kept assets the reranker reorders.

    Returns:
        One row per (brief, rank): ``brief_id, rank, asset_id, similarity, match_probability,
        relevance_rank, cluster_id, duplicates_hidden, is_known_match, brand, market, channel,
        asset_type, asset_text, model_version, reranker_probability, reranker_version`` (the last two
        NULL for an asset the reranker did not score).

    Raises:
        SemanticDataError: A bad k, pool or mmr_lambda, or missing brief columns.
        SemanticModelVersionError: The briefs and the assets table were embedded by different models.
    """
    from semantic.vectors.memory import release_freed_memory
    from semantic.vectors.store import VectorStore

    release_freed_memory()
    if not isinstance(k, int) or k < 1:
        raise SemanticDataError(f"brief_match_k must be a positive integer, got {k!r}")
    if not isinstance(pool, int) or pool < k:
        raise SemanticDataError(f"brief_match_pool must be an integer >= brief_match_k ({k}), got {pool!r}")
    if not 0.0 <= mmr_lambda <= 1.0:
        raise SemanticDataError(f"brief_match_mmr_lambda must be in [0, 1] (1 = no diversity), got {mmr_lambda!r}")
    missing = {"brief_id", "brand", "market", "vector", "model_version"} - set(briefs.column_names)
    if missing:
        raise SemanticDataError(f"briefs lack column(s) {sorted(missing)}; select them from int_briefs_embedded")
    if not isinstance(rerank_depth, int) or rerank_depth < 1:
        raise SemanticDataError(f"brief_match_rerank_depth must be a positive integer, got {rerank_depth!r}")
    weight = float(getattr(reranker, "fusion_weight", 0.0) or 0.0) if reranker is not None else 0.0
    if weight > 0 and brief_texts is None:
        raise SemanticDataError("reordering brief matches with a brief reranker needs the briefs' texts (brief_texts)")

    store = VectorStore(lance_dir)
    out: dict[str, list[Any]] = defaultdict(list)
    if len(briefs) == 0 or not store.exists(table):
        return _to_arrow(out)
    versions = sorted(set(briefs.column("model_version").to_pylist()))
    for version in versions:
        store.assert_model_version(table, version)
    cluster_of: dict[str, str] = {}
    if clusters is not None:
        cluster_of = dict(zip(clusters.column("asset_id").to_pylist(), clusters.column("cluster_id").to_pylist()))
    known = set()
    if known_matches is not None:
        known = set(zip(known_matches.column("brief_id").to_pylist(), known_matches.column("asset_id").to_pylist()))

    import pyarrow.compute as pc

    from semantic.decisions.clustering import exact_top_n, unit_rows, vector_rows

    # every asset's vector and columns, read once: each group of briefs is one matrix product against the
    # assets it may take (exact; one LanceDB scan per brief under a prefilter grew with briefs x assets)
    assets = store.read(table, [*ASSET_COLUMNS, "brand", "market", "vector"])
    asset_vectors = unit_rows(vector_rows(assets.column("vector")))
    ids = briefs.column("brief_id").to_pylist()
    vectors = unit_rows(vector_rows(briefs.column("vector")))
    groups: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(briefs.column("brand").to_pylist(), briefs.column("market").to_pylist())):
        groups[key].append(i)
    asset_ids_all = assets.column("asset_id").to_pylist()
    taken: list[int] = []  # the asset row of each output row: its other columns are read once, at the end
    searched = 0
    # first every brief's kept candidates, so the reranker scores all briefs' pairs in one call
    lists: list[_Candidates] = []
    for (brand, market), rows in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        # a brief of market ALL takes assets of every market; an asset of market ALL serves every market
        allowed = pc.is_null(assets.column("brand")) if brand is None else pc.equal(assets.column("brand"), brand)
        if market not in (None, ALL_MARKETS):
            in_market = pc.is_in(assets.column("market"), pa.array([market, ALL_MARKETS], pa.string()))
            allowed = pc.and_(allowed, in_market)
        candidates = np.flatnonzero(allowed.fill_null(False).to_numpy(zero_copy_only=False))
        if not len(candidates):
            continue
        allowed_vectors = asset_vectors[candidates]
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            top, top_sims = exact_top_n(allowed_vectors, vectors[chunk], pool)
            for qi, b in enumerate(chunk):
                found = sorted(zip(top_sims[qi].tolist(), candidates[top[qi]].tolist()),
                               key=lambda t: (-t[0], asset_ids_all[t[1]]))
                searched += len(found)
                hit_rows = [r for _, r in found]
                sims = [sim for sim, _ in found]
                asset_ids = [asset_ids_all[r] for r in hit_rows]
                keep, hidden = collapse_duplicates(asset_ids, sims, cluster_of)
                by_relevance = sorted(range(len(keep)), key=lambda j: (-sims[keep[j]], asset_ids[keep[j]]))
                lists.append(_Candidates(b, brand, market, hit_rows, sims, asset_ids, keep, hidden, by_relevance))
    scores = _rerank_scores(lists, reranker if weight > 0 else None, brief_texts or {}, ids,
                            assets.column("text"), rerank_depth)
    version = str(reranker.version) if reranker is not None and weight > 0 else None
    for (b, brand, market, hit_rows, sims, asset_ids, keep, hidden, by_relevance), scored in zip(lists, scores):
        relevance_rank = {keep[j]: pos + 1 for pos, j in enumerate(by_relevance)}
        relevance = _fused_relevance(np.array([sims[i] for i in keep]), scored, weight)
        picked = mmr(relevance, asset_vectors[[hit_rows[i] for i in keep]], k, mmr_lambda)
        for rank, j in enumerate(picked, start=1):
            i, r = keep[j], hit_rows[keep[j]]
            out["brief_id"].append(ids[b])
            out["rank"].append(rank)
            out["asset_id"].append(asset_ids[i])
            out["similarity"].append(sims[i])
            out["relevance_rank"].append(relevance_rank[i])
            out["cluster_id"].append(cluster_of.get(asset_ids[i]))
            out["duplicates_hidden"].append(hidden[j])
            out["is_known_match"].append((ids[b], asset_ids[i]) in known)
            out["brand"].append(brand)
            out["market"].append(market)
            asked = not np.isnan(scored[j])
            out["reranker_probability"].append(float(scored[j]) if asked else None)
            out["reranker_version"].append(version if asked else None)
            taken.append(r)
    rows_taken = pa.array(taken, pa.int64())
    for name, column in (("channel", "channel"), ("asset_type", "asset_type"), ("asset_text", "text"),
                         ("model_version", "model_version")):
        out[name] = assets.column(column).take(rows_taken).to_pylist()
    similarity = np.asarray(out["similarity"], dtype=np.float64)
    out["match_probability"] = (list(probability(similarity)) if probability is not None and len(similarity)
                                else [None] * len(similarity))
    logger.info(
        "brief matches: %d briefs in %d brand/market groups, %d candidates searched in memory, %d rows kept",
        len(ids), len(groups), searched, len(out["brief_id"]),
    )
    return _to_arrow(out)


class _Candidates(NamedTuple):
    """One brief's candidates: its row among the briefs, brand and market, the nearest assets (their rows in the
    assets table, cosines and ids), the kept ones after collapsing (indices into those, with the members each
    hides) and the kept ones in cosine order (indices into ``keep``)."""

    brief: int
    brand: Any
    market: Any
    hit_rows: list[int]
    sims: list[float]
    asset_ids: list[str]
    keep: list[int]
    hidden: list[int]
    by_relevance: list[int]


def _rerank_scores(lists: Sequence[_Candidates], reranker: Any, brief_texts: Mapping[str, str],
                   brief_ids: Sequence[str], asset_texts: Any, depth: int) -> list[np.ndarray]:
    """For each brief's kept candidates, the reranker's probability of its ``depth`` most similar (NaN for the
    rest, and for all without a reranker); every brief's pairs are scored in one call."""
    out = [np.full(len(c.keep), np.nan) for c in lists]
    if reranker is None:
        return out
    where = [(n, j) for n, c in enumerate(lists) for j in c.by_relevance[:depth]]
    if not where:
        return out
    rows = pa.array([lists[n].hit_rows[lists[n].keep[j]] for n, j in where], pa.int64())
    texts_b = asset_texts.take(rows).to_pylist()
    texts_a = [brief_texts.get(brief_ids[lists[n].brief]) for n, _ in where]
    probability = np.asarray(reranker.score(texts_a, texts_b), dtype=np.float64)
    for (n, j), p in zip(where, probability):
        out[n][j] = p
    logger.info("brief matches: brief reranker %s scored %d (brief, asset) pairs", reranker.version, len(where))
    return out


def _fused_relevance(similarity: np.ndarray, probability: np.ndarray, weight: float) -> np.ndarray:
    """The cosine plus ``weight`` times the reranker's logit where it scored; the unscored candidates after every
    scored one, in cosine order."""
    from semantic.encoding.reranker import fused

    scored = ~np.isnan(probability)
    if weight <= 0 or not scored.any():
        return similarity
    relevance = fused(similarity, probability, weight)
    rest = ~scored
    if rest.any():
        shift = min(0.0, float(relevance[scored].min()) - float(similarity[rest].max()) - 1e-6)
        relevance[rest] = similarity[rest] + shift
    return relevance


_SCHEMA = pa.schema([
    ("brief_id", pa.string()), ("rank", pa.int32()), ("asset_id", pa.string()), ("similarity", pa.float64()),
    ("match_probability", pa.float64()), ("relevance_rank", pa.int32()), ("cluster_id", pa.string()),
    ("duplicates_hidden", pa.int32()), ("is_known_match", pa.bool_()), ("brand", pa.string()),
    ("market", pa.string()), ("channel", pa.string()), ("asset_type", pa.string()), ("asset_text", pa.string()),
    ("model_version", pa.string()), ("reranker_probability", pa.float64()), ("reranker_version", pa.string()),
])


def _to_arrow(columns: Mapping[str, list[Any]]) -> pa.Table:
    return pa.table({f.name: pa.array(columns.get(f.name, []), type=f.type) for f in _SCHEMA}, schema=_SCHEMA)
