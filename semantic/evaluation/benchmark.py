"""Scoring models on task folders in the ``../shared/data`` layout, side by side.

Every model (and a ``lexical`` TF-IDF character 3-5-gram floor) is reduced to an ``embed``
function whose rows have unit length, so cosine similarity is a dot product; metrics come from
scikit-learn (AP, AUROC) or are the standard IR definitions (recall@k, MRR@10, nDCG@10 with
binary relevance). Pair thresholds are chosen on ``valid`` and applied to ``test``.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semantic.decisions.pair_decision import cosines as similarities  # cosine of aligned pairs (a[i], b[i])
from semantic.decisions.pair_decision import lexical_embed  # the lexical floor (TF-IDF character 3-5-grams)
from semantic.errors import SemanticDataError

logger = logging.getLogger("semantic")

Embed = Callable[[Sequence[str]], Any]  # dense ndarray or scipy sparse matrix, unit rows


@dataclass(frozen=True)
class Row:
    """One task scored with one model."""

    task: str
    kind: str
    model: str
    metrics: dict[str, float]


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _dense(m: Any) -> np.ndarray:
    return m.toarray() if hasattr(m, "toarray") else np.asarray(m)


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold with the highest F1 (predict match when score >= threshold), and that F1."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return (float(thresholds[best]) if len(thresholds) else 0.5), float(f1[best])


def f1_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of ``score >= threshold``."""
    predicted = scores >= threshold
    tp = float((predicted & (labels == 1)).sum())
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float((labels == 1).sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _pairs(path: Path, name: str) -> tuple[list[str], list[str], np.ndarray]:
    rows = _read(path / f"{name}.csv")
    return [r["text_a"] for r in rows], [r["text_b"] for r in rows], np.array([int(r["label"]) for r in rows])


def calibration_figures(valid_scores: np.ndarray, valid_labels: np.ndarray, test_scores: np.ndarray,
                        test_labels: np.ndarray, target_precision: float = 0.95) -> dict[str, float]:
    """Isotonic calibration fitted on valid at the target precision, applied to test."""
    from semantic.decisions import calibration

    cal = calibration.fit(valid_scores, valid_labels, target_precision=target_precision, n_boot=200)
    held_out = calibration.evaluate(cal, test_scores, test_labels, n_boot=200)
    return {"ece": held_out["ece"], "brier": held_out["brier"], "target_precision": target_precision,
            "threshold@target": cal.threshold, "precision@target": held_out["precision"],
            "recall@target": held_out["recall"], "fallback": float(cal.fallback)}


PairScore = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def pairs_task(path: Path, embed: Embed) -> dict[str, float]:
    """AP on test, F1 on test at the F1-best threshold of valid, and the calibration's figures on test."""
    return scored_pairs_task(path, lambda a, b: similarities(embed, a, b))


def scored_pairs_task(path: Path, score: PairScore) -> dict[str, float]:
    """:func:`pairs_task` for any pair scorer (the cosine of an encoder, a pair reranker's probability);
    also the scorer's seconds per 1,000 pairs."""
    import time

    from sklearn.metrics import average_precision_score

    timing = [0.0, 0.0]

    def split(name: str) -> tuple[np.ndarray, np.ndarray]:
        a, b, labels = _pairs(path, name)
        started = time.perf_counter()
        scores = np.asarray(score(a, b), dtype=float)
        timing[0] += time.perf_counter() - started
        timing[1] += len(a)
        return scores, labels

    valid_scores, valid_labels = split("valid")
    threshold, valid_f1 = best_f1_threshold(valid_scores, valid_labels)
    test_scores, test_labels = split("test")
    out = {"ap": float(average_precision_score(test_labels, test_scores)), "threshold": threshold,
           "valid_f1": valid_f1}
    out.update(f1_at(test_scores, test_labels, threshold))
    out.update(calibration_figures(valid_scores, valid_labels, test_scores, test_labels))
    out["seconds_per_1000_pairs"] = 1000 * timing[0] / max(timing[1], 1.0)
    return out


def pair_decision_task(path: Path, embed: Embed, lexical: Embed, reranker: PairScore | None = None,
                       reranker_version: str = "reranker") -> dict[str, float]:
    """The product's pair decision (see :mod:`semantic.decisions.pair_decision`; ``boosted`` is 1 where its
    ``auto`` model chose the trees): weights learned on train,
    score calibrated and thresholded (F1-best) on valid, scored on test. With ``reranker``, the second
    stage of :mod:`semantic.decisions.reranked`: the reranker scores the pairs in the uncertainty band
    only, stacked on valid out of fold; ``band_share`` is the share of test pairs it scored."""
    from sklearn.metrics import average_precision_score

    from semantic.decisions import pair_decision, reranked

    def split(name: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
        a, b, labels = _pairs(path, name)
        return a, b, pair_decision.features(a, b, embed, lexical), labels

    _, _, x_train, y_train = split("train")
    va, vb, x_valid, y_valid = split("valid")
    decision = pair_decision.fit(x_train, y_train, x_valid, y_valid, objective="f1")
    ta, tb, x_test, y_test = split("test")
    valid_score, test_score = decision.score(x_valid), decision.score(x_test)
    out: dict[str, float] = {"boosted": float(decision.trees is not None)}  # which model pair_decision_model auto chose
    threshold, valid_f1 = decision.calibration.threshold, decision.calibration.figures["f1"]
    if reranker is not None:
        band = reranked.score_band(decision)
        valid_reranker = reranked.ask_in_band(valid_score, band, va, vb, reranker)
        stage, reason = reranked.fit(decision, valid_score, valid_reranker, y_valid, reranker_version, objective="f1")
        out["band_share"] = float(reranked.band_mask(test_score, band).mean())
        if stage is None:  # the first stage's figures, marked as such
            logger.warning("pairs task %s: the reranker is left out of the decision (%s)", path.name, reason)
            out["reranker_used"] = 0.0
        else:
            valid_score = stage.combine(valid_score, valid_reranker)
            test_score = stage.combine(test_score, reranked.ask_in_band(test_score, band, ta, tb, reranker))
            threshold, valid_f1 = stage.calibration.threshold, stage.calibration.figures["f1"]
            out.update({"reranker_used": 1.0, "valid_ap_first_stage": stage.first_ap,
                        "valid_ap_reranked_oof": stage.reranked_ap})
    out.update({"ap": float(average_precision_score(y_test, test_score)), "threshold": threshold,
                "valid_f1": valid_f1})
    out.update(f1_at(test_score, y_test, threshold))
    out.update(calibration_figures(valid_score, y_valid, test_score, y_test))
    return out


def ranking(sims: np.ndarray, relevant: list[set[int]], ks: Sequence[int] = (1, 10)) -> dict[str, float]:
    """recall@k, MRR@10 and nDCG@10 (binary relevance) of each query's row of similarities."""
    top = np.argsort(-sims, axis=1, kind="stable")[:, : max(max(ks), 10)]
    return ranked_lists([[int(j) for j in row] for row in top], relevant, ks)


def ranked_lists(found: Sequence[Sequence[int]], relevant: list[set[int]], ks: Sequence[int] = (1, 10)
                 ) -> dict[str, float]:
    """recall@k, MRR@10 and nDCG@10 (binary relevance) of each query's ranked list of corpus rows."""
    totals: dict[str, float] = defaultdict(float)
    for row, rel in zip(found, relevant):
        hits = [j in rel for j in row]
        for k in ks:
            totals[f"recall@{k}"] += sum(hits[:k]) / max(len(rel), 1)
        first = next((i for i, h in enumerate(hits[:10]) if h), None)
        totals["mrr@10"] += 1.0 / (first + 1) if first is not None else 0.0
        dcg = sum(1.0 / math.log2(i + 2) for i, h in enumerate(hits[:10]) if h)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        totals["ndcg@10"] += dcg / ideal if ideal else 0.0
    return {k: v / max(len(relevant), 1) for k, v in totals.items()}


INDEX_MIN_ROWS = 1000
"""Corpora of at least this many documents are also searched through an ANN index."""


def _retrieval_set(path: Path) -> tuple[list[dict[str, str]], list[dict[str, str]], list[set[int]]]:
    """A retrieval folder's queries that have a relevant document, its corpus, and each query's relevant rows."""
    queries = _read(path / "queries.csv")
    corpus = _read(path / "corpus.csv")
    index = {r["id"]: i for i, r in enumerate(corpus)}
    qrels: dict[str, set[int]] = defaultdict(set)
    for r in _read(path / "qrels.csv"):
        if float(r["relevance"] or 0) > 0 and r["doc_id"] in index:
            qrels[r["query_id"]].add(index[r["doc_id"]])
    queries = [q for q in queries if q["id"] in qrels]
    return queries, corpus, [qrels[q["id"]] for q in queries]


def retrieval_task(path: Path, embed: Embed, hybrid: bool = False) -> dict[str, float]:
    """Every query searched over the corpus.

    Dense models go through the project's own SQL search (``semantic_search`` over a LanceDB
    ``assets`` table built from the corpus): exact (``exact := true``), then through the ANN index
    the store builds (``ann_`` metrics and ``ann_vs_exact_recall@10``, the share of the exact top 10
    the index returns), and with ``hybrid`` through ``semantic_hybrid_search`` (``hybrid_``). Sparse
    rows (the lexical floor) are ranked by an exact matrix product.
    """
    queries, corpus, relevant = _retrieval_set(path)
    eq = embed([q["text"] for q in queries])
    ec = embed([c["text"] for c in corpus])
    if not hasattr(ec, "multiply"):  # dense vectors: through the SQL search functions
        return sql_search_metrics([q["text"] for q in queries], [c["text"] for c in corpus], np.asarray(ec),
                                  relevant, embed, hybrid=hybrid)
    out: dict[str, float] = defaultdict(float)
    for start in range(0, len(queries), 256):
        sims = _dense(eq[start : start + 256] @ ec.T)
        part = ranking(sims, relevant[start : start + 256])
        for k, v in part.items():
            out[k] += v * len(sims)
    return {k: v / len(queries) for k, v in out.items()}


RERANK_DEPTH = 20
"""Documents per query a query-first reranker reorders: the bi-encoder's exact top this many."""


def reranked_retrieval_task(path: Path, embed: Embed, score: PairScore, depth: int = RERANK_DEPTH,
                            folds: int = 5, guard_weight: float | None = None) -> dict[str, float]:
    """Every query's exact top ``depth`` documents reordered by the cosine plus a weight times a query-first
    reranker's logit (:func:`semantic.encoding.reranker.fused`).

    The weight is chosen on labelled queries (:func:`~semantic.encoding.reranker.choose_fusion_weight`), so
    the figures are out of fold: each fold of queries is ordered with the weight chosen on the others.
    ``fusion_weight`` is the weight all the queries choose; ``seconds_per_1000_pairs`` the reranker's cost;
    with ``guard_weight`` (the weight the reranker's guard chose, which the build uses) also the figures at it.
    """
    import time

    from semantic.encoding.reranker import choose_fusion_weight, fused

    queries, corpus, relevant = _retrieval_set(path)
    eq = np.asarray(embed([q["text"] for q in queries]))
    ec = np.asarray(embed([c["text"] for c in corpus]))
    tops, sims = [], []
    for i in range(0, len(queries), 256):
        chunk = eq[i : i + 256] @ ec.T
        tops.append(np.argsort(-chunk, axis=1, kind="stable")[:, :depth])
        sims.append(np.take_along_axis(chunk, tops[-1], 1))
    top, cosines = np.vstack(tops), np.vstack(sims)
    started = time.perf_counter()
    probability = np.asarray(score([q["text"] for q in queries for _ in range(top.shape[1])],
                                   [corpus[j]["text"] for row in top for j in row]), dtype=np.float64)
    seconds = time.perf_counter() - started
    probability = probability.reshape(top.shape)
    labels = np.array([[int(j) in rel for j in row] for row, rel in zip(top, relevant)], dtype=int)
    groups = [(cosines[i], probability[i], labels[i]) for i in range(len(queries))]
    fold_of = np.arange(len(queries)) % folds

    def ordered(i: int, weight: float) -> list[int]:
        return [int(top[i][j]) for j in np.argsort(-fused(cosines[i], probability[i], weight), kind="stable")]

    found: list[list[int]] = [[] for _ in queries]
    for f in range(folds):
        weight = choose_fusion_weight([g for g, k in zip(groups, fold_of) if k != f])["weight"]
        for row in np.flatnonzero(fold_of == f).tolist():
            found[row] = ordered(row, weight)
    out = ranked_lists(found, relevant)
    out.update({"fusion_weight": choose_fusion_weight(groups)["weight"], "rerank_depth": float(depth),
                "seconds_per_1000_pairs": 1000 * seconds / max(top.size, 1)})
    if guard_weight is not None:  # what the build would do: the weight the reranker's own guard chose
        at_guard = ranked_lists([ordered(i, guard_weight) for i in range(len(queries))], relevant)
        out.update({"guard_weight": guard_weight, "guard_weight_recall@1": at_guard["recall@1"],
                    "guard_weight_mrr@10": at_guard["mrr@10"]})
    return out


class _EmbedEncoder:
    """The encoder interface over an ``embed`` function, so the SQL functions can run on a task."""

    def __init__(self, embed: Embed, dim: int, version: str = "evaluate") -> None:
        self.embed, self.dim, self.version = embed, dim, version

    def encode(self, texts: Sequence[str | None], progress: Any = None) -> np.ndarray:
        out = np.asarray(self.embed([t or "" for t in texts]), dtype=np.float32).reshape(len(texts), self.dim)
        out[[not (t and t.strip()) for t in texts]] = np.nan
        return out


def sql_search_metrics(query_texts: list[str], corpus_texts: list[str], corpus: np.ndarray,
                       relevant: list[set[int]], embed: Embed, hybrid: bool = False, k: int = 10,
                       index_min_rows: int = INDEX_MIN_ROWS) -> dict[str, float]:
    """Ranking metrics of ``semantic_search`` (exact and through the ANN index) and optionally
    ``semantic_hybrid_search``, over a LanceDB ``assets`` table of the corpus in a temp folder."""
    import tempfile

    import duckdb
    import lancedb
    import pyarrow as pa
    from lancedb.index import FTS

    from semantic.config import SemanticConfig
    from semantic.vectors.store import VectorStore
    from semantic.warehouse.functions import register

    encoder = _EmbedEncoder(embed, corpus.shape[1])
    n = len(corpus_texts)
    data = pa.table({
        "asset_id": [str(i) for i in range(n)],
        **{c: pa.nulls(n, pa.string()) for c in ("brand", "channel", "market", "asset_type")},
        "created_at": pa.nulls(n, pa.date32()),
        "text": corpus_texts,
        "model_version": [encoder.version] * n,
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(corpus.astype(np.float32).ravel()), corpus.shape[1]),
    })

    def search(conn: Any, sql: str) -> list[list[int]]:
        return [[int(r[0]) for r in conn.execute(sql, [text]).fetchall()] for text in query_texts]

    with tempfile.TemporaryDirectory() as tmp:
        table = lancedb.connect(tmp).create_table("assets", data)
        if hybrid:
            table.create_index("text", config=FTS())
        conn = duckdb.connect()
        register(conn, SemanticConfig.from_plugin({"lance_dir": tmp}), encoder=encoder)  # type: ignore[arg-type]
        exact = search(conn, f"select asset_id from semantic_search(?, k := {k}, exact := true)")
        metrics = ranked_lists(exact, relevant)
        built = VectorStore(tmp).ensure_vector_index("assets", index_min_rows)
        if built.action in ("created", "rebuilt"):
            ann = search(conn, f"select asset_id from semantic_search(?, k := {k})")
            metrics.update({f"ann_{m}": v for m, v in ranked_lists(ann, relevant).items()})
            metrics[f"ann_vs_exact_recall@{k}"] = float(np.mean(
                [len(set(a) & set(e)) / max(len(e), 1) for a, e in zip(ann, exact)]))
        if hybrid:
            fused = search(conn, f"select asset_id from semantic_hybrid_search(?, k := {k})")
            metrics.update({f"hybrid_{m}": v for m, v in ranked_lists(fused, relevant).items()})
            metrics.update(_learned_fusion(conn, search, relevant, k))
        conn.close()
    return metrics


def _learned_fusion(conn: Any, search: Callable[[Any, str], list[list[int]]], relevant: list[set[int]],
                    k: int) -> dict[str, float]:
    """The hybrid weight learned from labelled queries (:mod:`semantic.decisions.fusion`), scored honestly:
    the queries are split in two halves (every other query), the weight is chosen on one half and scored
    on the other, then the other way round; ``hybrid_learned_*`` is over all queries, each ranked with the
    weight chosen on the half it is not in, and ``hybrid_learned_alpha_a`` / ``_b`` are the two choices."""
    from semantic.decisions.fusion import ALPHAS, choose_alpha

    ranked = {a: search(conn, f"select asset_id from semantic_hybrid_search(?, k := {k}, alpha := {a})")
              for a in ALPHAS}
    halves = [list(range(0, len(relevant), 2)), list(range(1, len(relevant), 2))]
    learned: list[list[int]] = [[] for _ in relevant]
    out: dict[str, float] = {}
    for name, (choose_on, score_on) in zip("ab", (halves, halves[::-1])):
        choice = choose_alpha({a: [lists[i] for i in choose_on] for a, lists in ranked.items()},
                              [relevant[i] for i in choose_on])
        out[f"hybrid_learned_alpha_{name}"] = choice.alpha
        for i in score_on:
            learned[i] = ranked[choice.alpha][i]
    out.update({f"hybrid_learned_{m}": v for m, v in ranked_lists(learned, relevant).items()})
    return out


@contextmanager
def _vector_table(vectors: Any, ids: Sequence[str] | None = None, **columns: Any) -> Iterator[Any]:
    """A throwaway LanceDB table of ``id`` (the row number unless given), ``columns`` and ``vector``."""
    import tempfile

    import lancedb
    import pyarrow as pa

    vectors = np.asarray(vectors, dtype=np.float32)
    data = {
        "id": list(ids) if ids is not None else pa.array(np.arange(len(vectors)), type=pa.int64()),
        **columns,
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        yield lancedb.connect(tmp).create_table("vectors", pa.table(data))


def _unit_reference_similarity(refs: Any, units: Any) -> np.ndarray:
    """(units x references) similarity: exact products, in blocks for sparse TF-IDF rows (the bank
    is small, and production scores every active reference exactly too)."""
    if hasattr(refs, "toarray"):
        return np.concatenate([_dense(units[s : s + 1024] @ refs.T) for s in range(0, units.shape[0], 1024)])
    from semantic.decisions.compliance import normalised

    return normalised(units) @ normalised(refs).T


@dataclass(frozen=True)
class LookalikeBank:
    """A lookalike folder scored as production scores it (:func:`lookalike_scores`)."""

    references: list[dict[str, str]]
    probes: list[dict[str, str]]
    #: (probes x references) compliance scores.
    adjusted: np.ndarray
    labels: np.ndarray

    @property
    def scores(self) -> np.ndarray:
        """Each probe's best compliance score over the bank."""
        return self.adjusted.max(axis=1)

    @property
    def best_reference(self) -> np.ndarray:
        """The reference each probe scored best against."""
        return self.adjusted.argmax(axis=1)

    def halves(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The seeded half of the probes thresholds are fitted on, and the half they are scored on."""
        order = np.random.default_rng(seed).permutation(len(self.probes))
        return order[: len(order) // 2], order[len(order) // 2 :]


def lookalike_scores(path: Path, embed: Embed, typicality_weight: float | None = None,
                     typicality_k: int | None = None) -> LookalikeBank:
    """Each probe of a lookalike folder (references.csv, probes.csv) scored against the bank: its best unit (the
    whole text or one of its sentences; :func:`semantic.encoding.units.scoring_units`), the similarity less
    ``typicality_weight`` times the reference's typicality among the probes, as in production."""
    from semantic.decisions.compliance import TYPICALITY_K, TYPICALITY_WEIGHT, best_of_units, typicality
    from semantic.encoding.units import scoring_units

    weight = TYPICALITY_WEIGHT if typicality_weight is None else typicality_weight
    refs = _read(path / "references.csv")
    probes = _read(path / "probes.csv")
    units, owner = scoring_units([p["text"] for p in probes])
    similarity = best_of_units(_unit_reference_similarity(embed([r["text"] for r in refs]), embed(units)),
                               owner, len(probes))
    typical = typicality(similarity, TYPICALITY_K if typicality_k is None else typicality_k)
    adjusted = similarity - weight * typical[None, :]
    return LookalikeBank(refs, probes, adjusted, np.array([int(p["label"]) for p in probes]))


def lookalike_task(path: Path, embed: Embed, target_precision: float = 0.95, review_recall: float = 0.9,
                   seed: int = 0, review_confidence: float | None = 0.95, typicality_weight: float | None = None,
                   typicality_k: int | None = None) -> dict[str, float]:
    """The real compliance check on a reference bank and labelled probes.

    Each probe's score is its best compliance score against the bank, as in production: over its
    whole text and its sentences (:func:`semantic.encoding.units.scoring_units`), the similarity less
    ``typicality_weight`` times the reference's typicality among the probes (the corpus being
    checked; :func:`semantic.decisions.compliance.typicality`, no labels used). The flag threshold (precision
    ``target_precision``) and the review threshold (recall ``review_recall``, with
    ``review_confidence`` as in production) are fitted on a
    seeded half of the probes (:func:`semantic.decisions.calibration.fit`); the other half is scored: AUROC,
    AP, and precision and recall of ``flag`` and of ``flag or review``.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    from semantic.decisions import calibration

    bank = lookalike_scores(path, embed, typicality_weight, typicality_k)
    scores, labels = bank.scores, bank.labels
    fit_idx, held = bank.halves(seed)
    cal = calibration.fit(scores[fit_idx], labels[fit_idx], target_precision=target_precision,
                          review_recall=review_recall, review_confidence=review_confidence,
                          fallback_rule="low", n_boot=100)
    decisions = np.array(cal.decision(scores[held]))
    y = labels[held]
    out = {"auroc": float(roc_auc_score(y, scores[held])), "ap": float(average_precision_score(y, scores[held])),
           "flag_threshold": cal.threshold, "review_threshold": float(cal.review_threshold or cal.threshold)}
    for name, predicted in (("flag", decisions == "flag"), ("flag_or_review", decisions != "clear")):
        tp = int((predicted & (y == 1)).sum())
        out[f"{name}_precision"] = tp / int(predicted.sum()) if predicted.any() else 1.0
        out[f"{name}_recall"] = tp / max(int(y.sum()), 1)
    return out


def _dedup_candidates(ids: list[str], e: Any, k: int) -> dict[tuple[str, str], float]:
    """Each record's top-k neighbours: through a LanceDB table for dense vectors (as in production,
    see :func:`semantic.decisions.clustering.neighbours`), by exact blocked products for sparse TF-IDF rows."""
    candidates: dict[tuple[str, str], float] = {}
    if not hasattr(e, "toarray"):
        from semantic.decisions.clustering import neighbours

        e = np.asarray(e, dtype=np.float32)
        with _vector_table(e, ids=ids) as table:
            found = neighbours(table, "id", ids, e, k)
        for a, b, sim in zip(*(found.column(c).to_pylist() for c in ("asset_id", "neighbour_id", "similarity"))):
            candidates[(min(a, b), max(a, b))] = float(sim)
        return candidates
    for start in range(0, len(ids), 512):
        sims = _dense(e[start : start + 512] @ e.T)
        for row in range(len(sims)):
            sims[row, start + row] = -np.inf
        top = np.argsort(-sims, axis=1)[:, :k]
        for row, cols in enumerate(top):
            for j in cols:
                a, b = ids[start + row], ids[int(j)]
                candidates[(min(a, b), max(a, b))] = float(sims[row, j])
    return candidates


def pairwise_prf(predicted: set[tuple[str, str]], gold: set[tuple[str, str]]) -> dict[str, float]:
    tp = len(predicted & gold)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def bcubed_f1(ids: Sequence[str], predicted: Sequence[Sequence[str]], gold: set[tuple[str, str]]) -> float:
    """B-cubed F1 of a clustering against the clusters the gold pairs imply."""
    from semantic.decisions.clustering import connected_components

    truth = {x: set(g) for g in connected_components(ids, gold) for x in g}
    found = {x: set(g) for g in predicted for x in g}
    p = r = 0.0
    for x in ids:
        c, g = found.get(x, {x}), truth.get(x, {x})
        both = len(c & g)
        p += both / len(c)
        r += both / len(g)
    p, r = p / max(len(ids), 1), r / max(len(ids), 1)
    return 2 * p * r / (p + r) if p + r else 0.0


def _within_clusters(groups: Sequence[Sequence[str]]) -> set[tuple[str, str]]:
    return {(min(a, b), max(a, b)) for g in groups for i, a in enumerate(g) for b in g[i + 1 :]}


def dedup_task(path: Path, embed: Embed, k: int = 10, calibrate_with: Path | None = None,
               decision: bool = False, target_precision: float = 0.95) -> dict[str, float]:
    """Near-duplicate detection inside one table, end to end.

    Always: candidate recall of each record's top-k neighbours, and the best pairwise F1 over them at
    any threshold. With ``calibrate_with`` (a pairs folder of the same domain): the threshold is
    calibrated on its ``valid`` pairs for ``target_precision``; pairs at or above it are clustered
    (see :mod:`semantic.decisions.clustering`, chain guard at threshold - 0.10) and scored against the gold
    pairs: pairwise precision, recall and F1 before and after clustering, and B-cubed F1.
    With ``decision``, the scorer is the pair decision instead of the cosine, as the warehouse runs
    it (:func:`semantic.decisions.pair_decision.decide_duplicates`: weights learned on the folder's
    ``train``, score calibrated on its ``valid``, TF-IDF fitted on those labelled texts).
    """
    from semantic.decisions import calibration
    from semantic.decisions.clustering import clusters

    records = _read(path / "records.csv")
    ids = [r["id"] for r in records]
    known = set(ids)
    gold = {(min(g["id_a"], g["id_b"]), max(g["id_a"], g["id_b"])) for g in _read(path / "gold_pairs.csv")
            if g["id_a"] in known and g["id_b"] in known}
    texts = {r["id"]: r["text"] for r in records}
    e = embed([r["text"] for r in records])
    candidates = _dedup_candidates(ids, e, k)
    pairs = list(candidates)
    scores = np.array([candidates[p] for p in pairs])
    labels = np.array([p in gold for p in pairs], dtype=int)
    order = np.argsort(-scores)
    tp = np.cumsum(labels[order])
    precision = tp / np.arange(1, len(order) + 1)
    recall = tp / max(len(gold), 1)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    out = {f"candidate_recall@{k}": int(labels.sum()) / max(len(gold), 1),
           "best_pair_f1": float(f1.max()) if len(f1) else 0.0}
    if calibrate_with is None:
        return out
    va, vb, vy = _pairs(Path(calibrate_with), "valid")
    if not decision:
        cal = calibration.fit(similarities(embed, va, vb), vy, target_precision=target_precision, n_boot=100)
        decision_scores = scores
    else:
        import pyarrow as pa

        from semantic.decisions import pair_decision

        # what the warehouse runs (int_duplicate_pair_scores): the labelled pairs teach the weights
        # (train) and calibrate the score (valid), and the candidates are scored the same way
        ta, tb, ty = _pairs(Path(calibrate_with), "train")
        labelled = pa.table({"text_a": ta + va, "text_b": tb + vb,
                             "similarity": np.concatenate([similarities(embed, ta, tb), similarities(embed, va, vb)]),
                             "label": np.concatenate([ty, vy]).astype(int),
                             "split": ["train"] * len(ta) + ["valid"] * len(va)})
        candidate_table = pa.table({"text_a": [texts[a] for a, _ in pairs], "text_b": [texts[b] for _, b in pairs],
                                    "similarity": scores})
        scored, fitted, reason = pair_decision.decide_duplicates(
            labelled, candidate_table, calibration_splits=["valid"], target_precision=target_precision)
        if fitted is None:
            raise SemanticDataError(f"dedup task {path.name}: no pair decision ({reason})")
        cal = fitted.calibration
        decision_scores = scored.column("decision_score").to_numpy(zero_copy_only=False)
    kept = [(a, b, float(candidates[(a, b)])) for (a, b), s in zip(pairs, decision_scores) if s >= cal.threshold]
    dense = not hasattr(e, "toarray")
    vectors = dict(zip(ids, np.asarray(e))) if dense else {}
    floor = min(s for *_, s in kept) - 0.10 if kept else 0.0
    groups = clusters(ids, kept, vectors, floor)
    out.update({"threshold": cal.threshold, "fallback": float(cal.fallback)})
    out.update({f"pair_{k_}": v for k_, v in pairwise_prf({(a, b) for a, b, _ in kept}, gold).items()})
    out.update({f"clustered_{k_}": v for k_, v in pairwise_prf(_within_clusters(groups), gold).items()})
    out["bcubed_f1"] = bcubed_f1(ids, groups, gold)
    return out


def general_task(path: Path, embed: Embed) -> dict[str, float]:
    """Graded relatedness (``general/<name>/test.csv``: text_a, text_b, score): Spearman and Pearson of the
    cosine against the score. One encoder serves search, dedup and compliance, so tuning it for one task
    must not cost the others: this is the check that it kept its general ability."""
    from scipy.stats import pearsonr, spearmanr

    rows = _read(path / "test.csv")
    a, b = [r["text_a"] for r in rows], [r["text_b"] for r in rows]
    gold = np.array([float(r["score"]) for r in rows])
    sims = similarities(embed, a, b)
    return {"spearman": float(spearmanr(sims, gold).statistic), "pearson": float(pearsonr(sims, gold).statistic),
            "n": float(len(rows))}


TASKS: dict[str, Callable[[Path, Embed], dict[str, float]]] = {
    "pairs": pairs_task,
    "retrieval": retrieval_task,
    "lookalike": lookalike_task,
    "general": general_task,
    "dedup": dedup_task,
}


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), [])


def task_kind(path: Path) -> str | None:
    """Which task a folder holds, from the files in it (a pairs folder needs valid.csv and test.csv;
    train.csv is only for the pair decision)."""
    if (path / "test.csv").is_file() and (path / "valid.csv").is_file():
        return "pairs"
    if (path / "test.csv").is_file() and "score" in _header(path / "test.csv"):
        return "general"
    if (path / "qrels.csv").is_file():
        return "retrieval"
    if (path / "references.csv").is_file() and (path / "probes.csv").is_file():
        return "lookalike"
    if (path / "records.csv").is_file() and (path / "gold_pairs.csv").is_file():
        return "dedup"
    return None


def find_tasks(root: Path) -> list[tuple[str, str, Path]]:
    """(name, kind, folder) of a task folder, or of every task folder under a data root."""
    root = Path(root)
    kind = task_kind(root)
    if kind:
        return [(root.name, kind, root)]
    found = []
    for group in ("pairs", "retrieval", "dedup", "lookalike", "general"):
        for folder in sorted((root / group).glob("*")) if (root / group).is_dir() else []:
            if folder.is_dir() and task_kind(folder):
                found.append((f"{group}/{folder.name}", str(task_kind(folder)), folder))
    if not found:
        raise SemanticDataError(
            f"no task folder at or under {root}: expected pairs/, retrieval/, dedup/, lookalike/ or general/ folders "
            "in the ../shared/data layout (see its README)"
        )
    return found


def _all_texts(path: Path, kind: str) -> list[str]:
    names = {"pairs": ["train", "valid", "test"], "general": ["test"], "retrieval": ["queries", "corpus"],
             "lookalike": ["references", "probes"], "dedup": ["records"]}[kind]
    texts: list[str] = []
    for name in names:
        if not (path / f"{name}.csv").is_file():
            continue
        for row in _read(path / f"{name}.csv"):
            texts += [row[c] for c in ("text", "text_a", "text_b") if c in row]
    return texts


def encoder_embed(encoder: Any) -> Embed:
    """A caching embed function over an encoder (each distinct text is embedded once)."""
    cache: dict[str, np.ndarray] = {}

    def embed(texts: Sequence[str]) -> np.ndarray:
        missing = sorted(set(texts) - set(cache))
        if missing:
            cache.update(zip(missing, encoder.encode(missing)))
        return np.stack([np.nan_to_num(cache[t]) for t in texts]) if texts else np.zeros((0, encoder.dim))

    return embed


def run(root: Path, models: dict[str, Any], lexical: bool = True, sample_size: int = 512,
        calibrate_with: Path | None = None, hybrid: bool = False, rerankers: dict[str, Any] | None = None) -> list[Row]:
    """Score every task under ``root`` with the lexical floor and every model, side by side.

    Each model also gets a ``collapse`` row: the collapse guard's figures on a fixed sample of the
    tasks' texts (see :mod:`semantic.encoding.collapse`). Each pair reranker (``rerankers``: label to
    :class:`~semantic.encoding.reranker.Reranker`) scores the pairs tasks alone and as a feature of the
    pair decision beside the last model given; a query-first (brief) reranker also reorders the last
    model's top documents of the retrieval tasks (:func:`reranked_retrieval_task`).
    """
    import random

    from semantic.encoding.collapse import check_collapse

    rows = []
    sample: set[str] = set()
    for name, kind, path in find_tasks(root):
        texts = _all_texts(path, kind)
        sample.update(random.Random(0).sample(sorted(set(texts)), min(sample_size, len(set(texts)))))
        scorers: dict[str, Embed] = {}
        if lexical:
            extra = _all_texts(Path(calibrate_with), "pairs") if kind == "dedup" and calibrate_with else []
            scorers["lexical"] = lexical_embed(texts + extra)
        scorers.update({label: encoder_embed(enc) for label, enc in models.items()})
        for label, embed in scorers.items():
            if kind == "dedup":
                rows.append(Row(name, kind, label, dedup_task(path, embed, calibrate_with=calibrate_with)))
                if calibrate_with is not None and lexical and label != "lexical":
                    rows.append(Row(name, kind, f"{label}+decision", dedup_task(
                        path, embed, calibrate_with=calibrate_with, decision=True)))
                continue
            if kind == "retrieval":
                rows.append(Row(name, kind, label, retrieval_task(path, embed, hybrid=hybrid)))
                continue
            rows.append(Row(name, kind, label, TASKS[kind](path, embed)))
            if kind == "pairs" and lexical and label != "lexical" and (path / "train.csv").is_file():
                rows.append(Row(name, kind, f"{label}+decision", pair_decision_task(path, embed, scorers["lexical"])))
        if kind == "retrieval" and models:
            last = list(models)[-1]
            for label, reranker in (rerankers or {}).items():
                if not getattr(reranker, "symmetric", True):  # a query-first (brief) reranker reorders the top
                    rows.append(Row(name, kind, f"{last}+{label}", reranked_retrieval_task(
                        path, scorers[last], reranker.score,
                        guard_weight=getattr(reranker, "fusion_weight", None) or None)))
        if kind == "pairs":
            for label, reranker in (rerankers or {}).items():
                cached = _cached_pair_score(reranker.score)
                alone = scored_pairs_task(path, cached)
                rows.append(Row(name, kind, label, alone))
                if lexical and models and (path / "train.csv").is_file():
                    last = list(models)[-1]
                    staged = pair_decision_task(path, scorers[last], scorers["lexical"], reranker=cached,
                                                reranker_version=str(getattr(reranker, "version", label)))
                    # the reranker's cost per 1,000 candidate pairs: it scores the band's share of them (when used)
                    staged["seconds_per_1000_pairs"] = (staged["band_share"] * alone["seconds_per_1000_pairs"]
                                                        if staged.get("reranker_used") else 0.0)
                    rows.append(Row(name, kind, f"{last}+decision+{label}", staged))
    for task_name in {r.task for r in rows if r.kind == "general"}:  # the forgetting check: each model against base
        base = next((r for r in rows if r.task == task_name and r.model == "base"), None)
        for r in rows:
            if base is not None and r.task == task_name and r.kind == "general" and r.model != "lexical":
                r.metrics["spearman_drop_vs_base"] = base.metrics["spearman"] - r.metrics["spearman"]
    fixed = random.Random(1).sample(sorted(sample), min(sample_size, len(sample)))
    for label, enc in models.items():
        report = check_collapse(np.nan_to_num(enc.encode(fixed)))
        rows.append(Row("sample of the task texts", "collapse", label, {
            "mean_random_cosine": report.mean_random_cosine, "effective_rank": report.effective_rank,
            "uniformity": report.uniformity, "guard_passed": float(report.passed),
        }))
    return rows


def _cached_pair_score(score: PairScore) -> PairScore:
    """A pair scorer that scores each distinct (a, b) once (the decision rescores the splits)."""
    cache: dict[tuple[str, str], float] = {}

    def cached(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        missing = sorted({(x, y) for x, y in zip(a, b)} - set(cache))
        if missing:
            cache.update(zip(missing, np.asarray(score([m[0] for m in missing], [m[1] for m in missing]), dtype=float)))
        return np.array([cache[(x, y)] for x, y in zip(a, b)], dtype=float)

    return cached


def to_markdown(rows: Sequence[Row]) -> str:
    """A Markdown table per task kind."""
    out = []
    for kind in (*TASKS, "collapse"):
        these = [r for r in rows if r.kind == kind]
        if not these:
            continue
        keys = list(dict.fromkeys(k for r in these for k in r.metrics))  # every metric any row has
        out.append(f"| {kind} task | model | " + " | ".join(keys) + " |")
        out.append("|---|---|" + "---|" * len(keys))
        for r in these:
            cells = (f"{r.metrics[k]:.3f}" if k in r.metrics else "" for k in keys)
            out.append(f"| {r.task} | {r.model} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def to_json(rows: Sequence[Row]) -> str:
    """The rows as JSON (a list of objects)."""
    return json.dumps([asdict(r) for r in rows], indent=2)
