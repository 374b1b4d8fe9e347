"""Evaluation on labelled pairs: the encoder against a lexical TF-IDF floor.

Pair tasks are scored by ROC AUC and average precision of cosine similarity (scikit-learn's
metrics); brief matching by top-1 accuracy and recall@k among the brief's brand and market.
The TF-IDF floor (word 1-2 grams, cosine) shows whether a task needs more than word overlap.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from semantic.encoding.encoder import Encoder

Scorer = Callable[[Sequence[str], Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class TaskResult:
    """One task's figures for one scorer.

    Attributes:
        task: ``duplicate``, ``lookalike`` or ``brief_match``.
        scorer: ``tfidf`` or the encoder's model version.
        n: Pairs (or briefs) evaluated.
        metrics: Metric name to value.
    """

    task: str
    scorer: str
    n: int
    metrics: dict[str, float]


def tfidf_scorer(corpus: Sequence[str]) -> Scorer:
    """A TF-IDF cosine scorer fitted on ``corpus`` (word 1-2 grams, sublinear tf)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit(corpus)

    def score(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        va, vb = vectorizer.transform(a), vectorizer.transform(b)
        return np.asarray(va.multiply(vb).sum(axis=1)).ravel()

    return score


def encoder_scorer(encoder: Encoder) -> Scorer:
    """A cosine scorer over the encoder's unit vectors; each distinct text is embedded once."""
    from semantic.evaluation.benchmark import encoder_embed, similarities

    embed = encoder_embed(encoder)
    return lambda a, b: similarities(embed, a, b)


def pair_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """ROC AUC and average precision of similarity scores against 0/1 labels."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "auroc": float(roc_auc_score(labels, scores)),
        "average_precision": float(average_precision_score(labels, scores)),
    }


def ranking_metrics(scores: np.ndarray, relevant: np.ndarray, k: int = 5) -> dict[str, float]:
    """Top-1 accuracy, precision@k, recall@k and reciprocal rank of the first relevant candidate.

    Args:
        scores: One similarity per candidate.
        relevant: A 0/1 mask of the relevant candidates.
        k: The cut-off of precision@k.
    """
    hits = relevant[np.argsort(-scores, kind="stable")]
    first = np.flatnonzero(hits)
    return {
        "top1": float(hits[0]),
        f"precision@{k}": float(hits[:k].mean()),
        f"recall@{k}": float(hits[:k].sum() / max(relevant.sum(), 1)),
        "mrr": float(1.0 / (first[0] + 1)) if len(first) else 0.0,
    }


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def evaluate_demo(
    seeds_dir: Path, scorers: dict[str, Scorer], split: str = "test", k: int = 5
) -> list[TaskResult]:
    """Score every task of the demo labels with each scorer.

    Args:
        seeds_dir: The folder with the demo CSV seeds.
        scorers: Scorer name to scorer.
        split: Which split of the labelled pairs to score.
        k: The cut-off of recall@k for brief matching.
    """
    assets = {r["asset_id"]: r for r in _read(seeds_dir / "demo_assets.csv")}
    briefs = {r["brief_id"]: r for r in _read(seeds_dir / "demo_briefs.csv")}
    refs = {r["reference_id"]: r for r in _read(seeds_dir / "demo_compliance_references.csv")}
    all_pairs = _read(seeds_dir / "demo_labelled_pairs.csv")
    pairs = [p for p in all_pairs if p["split"] == split]
    valid_pairs = [p for p in all_pairs if p["split"] == "valid"]
    text_of = {
        "duplicate": (lambda i: assets[i]["text"], lambda i: assets[i]["text"]),
        "lookalike": (lambda i: assets[i]["text"], lambda i: refs[i]["claim_text"]),
    }
    results: list[TaskResult] = []
    for task, (left, right) in text_of.items():
        rows = [p for p in pairs if p["task"] == task]
        if not rows:
            continue
        a = [left(p["left_id"]) for p in rows]
        b = [right(p["right_id"]) for p in rows]
        labels = np.array([int(p["label"]) for p in rows])
        valid = [p for p in valid_pairs if p["task"] == task]
        for name, scorer in scorers.items():
            metrics = pair_metrics(scorer(a, b), labels)
            if valid:
                from semantic.evaluation.benchmark import best_f1_threshold, f1_at

                valid_scores = scorer([left(p["left_id"]) for p in valid], [right(p["right_id"]) for p in valid])
                threshold, _ = best_f1_threshold(valid_scores, np.array([int(p["label"]) for p in valid]))
                metrics[f"f1@valid_threshold({threshold:.2f})"] = f1_at(scorer(a, b), labels, threshold)["f1"]
            results.append(TaskResult(task, name, len(rows), metrics))

    matches: dict[str, set[str]] = defaultdict(set)
    for m in _read(seeds_dir / "demo_brief_matches.csv"):
        matches[m["brief_id"]].add(m["asset_id"])
    test_briefs = sorted({p["left_id"] for p in pairs if p["task"] == "brief_match"})
    if test_briefs:
        by_group: dict[tuple[str, str], list[str]] = defaultdict(list)
        for asset_id, row in assets.items():
            by_group[(row["brand"], row["market"])].append(asset_id)
        for name, scorer in scorers.items():
            totals: dict[str, float] = defaultdict(float)
            for brief_id in test_briefs:
                brief = briefs[brief_id]
                candidates = sorted(by_group[(brief["brand"], brief["market"])])
                scores = scorer([brief["text"]] * len(candidates), [assets[c]["text"] for c in candidates])
                relevant = np.array([c in matches[brief_id] for c in candidates], dtype=float)
                for metric, value in ranking_metrics(scores, relevant, k).items():
                    totals[metric] += value
            results.append(
                TaskResult(
                    "brief_match", name, len(test_briefs), {m: v / len(test_briefs) for m, v in totals.items()}
                )
            )
    return results


def format_results(results: Sequence[TaskResult]) -> str:
    """A plain-text table of results, one line per task and scorer."""
    lines = [f"{'task':<12} {'scorer':<34} {'n':>6}  metrics"]
    for r in results:
        metrics = "  ".join(f"{k}={v:.3f}" for k, v in r.metrics.items())
        lines.append(f"{r.task:<12} {r.scorer:<34} {r.n:>6}  {metrics}")
    return "\n".join(lines)
