"""Active learning: does the review queue's order teach the pair decision faster than random labels?

A reviewer is simulated on each pairs folder. The pool is ``train`` + ``valid`` (labels hidden until
a pair is "asked"); ``test`` is only scored. Start: ``--start`` pairs drawn at random from the pool
(seeded); then rounds of ``--batch`` labels up to ``--rounds-to``, in two orders from the same start:

- ``queue``: after each refit the rest of the pool is scored (:func:`semantic.decisions.pair_decision.score_duplicates`)
  and ranked by :func:`semantic.review.queue.review_order` (calibrated probability, then the raw
  score's distance from the threshold): the top ``--batch`` are asked;
- ``random``: ``--batch`` random pairs of the rest.

Each asked pair joins the split a new reviewer label would (:func:`semantic.review.decisions.split_of`
on a stable id per pair), and the decision is refitted as the build does
(:func:`semantic.decisions.pair_decision.fit_duplicates`, objective F1, weights on ``train``, calibration on
``valid`` + ``test`` of the labels), with ``--min-positives`` lowered from the build's 30 (100 labels
cannot meet it). Where it returns no decision, the round falls back to the cosine: threshold F1-best
on the labelled pairs, and the queue ranks the rest by closeness of the cosine to that threshold.
The encoder is not retrained between rounds; each round refits the pair decision and its
calibration. Every distinct text is embedded once (default encoder: the packaged base).

Per round and order: test F1 at the decision's threshold and test AP of its score (of the cosine on
a fallback), mean over ``--seeds`` seeds (the start set and the random draws change per seed); the
labels at which the queue reaches random's F1 at ``--rounds-to``; the learning curves as an SVG.

    .venv/bin/python benchmarks/active_learning.py                      # pairs/abt_buy and pairs/walmart_amazon
    .venv/bin/python benchmarks/active_learning.py --sets abt_buy --seeds 1 --rounds-to 500

Reads ``$SEMANTIC_EVAL_DATA`` (default ``../shared/data``); writes ``--out`` (default
``docs/assets/active_learning.svg``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NOTE = "the encoder is not retrained between rounds; each round refits the pair decision and its calibration"
ORDERS = ("queue", "random")
COLOURS = {"queue": "#1f77b4", "random": "#d62728"}
TIMES: dict[str, float] = defaultdict(float)


@dataclass
class Pairs:
    """Aligned pairs of one folder: texts, encoder cosine, labels, and (for the pool) each pair's split."""

    a: list[str]
    b: list[str]
    cosine: np.ndarray
    label: np.ndarray
    split: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    def table(self, rows: np.ndarray | None = None) -> Any:
        import pyarrow as pa

        rows = np.arange(len(self.a)) if rows is None else rows
        columns = {"text_a": [self.a[i] for i in rows], "text_b": [self.b[i] for i in rows],
                   "similarity": pa.array(self.cosine[rows], pa.float64())}
        if len(self.split):
            columns.update(label=pa.array(self.label[rows], pa.int64()), split=list(self.split[rows]))
        return pa.table(columns)


@dataclass
class Round:
    labels: int
    f1: float
    ap: float
    fallback: bool


@dataclass
class Fit:
    """One refit: the fitted decision (or the cosine threshold on a fallback) and its test figures."""

    fitted: Any
    cosine_threshold: float
    round: Round


def load(path: Path, name: str, embed: Any) -> tuple[Pairs, Pairs]:
    """The pool (train + valid, each pair with its reviewer split) and the test pairs of one folder."""
    from semantic.decisions.pair_decision import cosines
    from semantic.evaluation.benchmark import _pairs
    from semantic.review.decisions import split_of

    parts = {}
    for source in ("train", "valid", "test"):
        a, b, y = _pairs(path, source)
        started = time.perf_counter()
        cos = cosines(embed, a, b)
        TIMES["embed"] += time.perf_counter() - started
        splits = [split_of("duplicate", f"{name}:{source}:{i}:a", f"{name}:{source}:{i}:b") for i in range(len(a))]
        parts[source] = Pairs(a, b, cos, y, np.array(splits, dtype=object))
    train, valid, test = parts["train"], parts["valid"], parts["test"]
    pool = Pairs(train.a + valid.a, train.b + valid.b, np.concatenate([train.cosine, valid.cosine]),
                 np.concatenate([train.label, valid.label]), np.concatenate([train.split, valid.split]))
    test.split = np.array([], dtype=object)
    return pool, test


def cosine_threshold(cosine: np.ndarray, label: np.ndarray) -> float:
    """The F1-best cosine threshold on labelled pairs (above every pair when none is a match)."""
    from semantic.evaluation.benchmark import best_f1_threshold

    if label.sum() == 0:
        return float(cosine.max()) + 1e-6
    return best_f1_threshold(cosine, label)[0]


def refit(pool: Pairs, labelled: np.ndarray, test: Pairs, test_table: Any, min_positives: int) -> Fit:
    """Refit as the build does on the labelled pool pairs; score test (F1 at the threshold, AP)."""
    from sklearn.metrics import average_precision_score

    from semantic.decisions.pair_decision import fit_duplicates, score_duplicates
    from semantic.evaluation.benchmark import f1_at

    started = time.perf_counter()
    fitted = fit_duplicates(pool.table(labelled), objective="f1", calibration_splits=("valid", "test"),
                            train_split="train", min_positives=min_positives)
    TIMES["fit"] += time.perf_counter() - started
    started = time.perf_counter()
    if fitted.decision is None:
        threshold = cosine_threshold(pool.cosine[labelled], pool.label[labelled])
        score, fallback = test.cosine, True
    else:
        scored = score_duplicates(test_table, fitted)
        score = scored.column("decision_score").to_numpy(zero_copy_only=False)
        threshold, fallback = fitted.decision.calibration.threshold, False
    f1 = f1_at(score, test.label, threshold)["f1"]
    ap = float(average_precision_score(test.label, score))
    TIMES["score test"] += time.perf_counter() - started
    return Fit(fitted, threshold, Round(len(labelled), f1, ap, fallback))


def queue_pick(pool: Pairs, rest: np.ndarray, fit: Fit, k: int) -> np.ndarray:
    """The top ``k`` of the rest of the pool in the review queue's order."""
    from semantic.decisions.pair_decision import score_duplicates
    from semantic.review.queue import review_order

    started = time.perf_counter()
    if fit.fitted.decision is None:  # the cosine: every item worth the same, nearest the threshold first
        order = review_order(np.full(len(rest), np.nan), pool.cosine[rest] - fit.cosine_threshold)
    else:
        scored = score_duplicates(pool.table(rest), fit.fitted)
        probability = scored.column("decision_probability").to_numpy(zero_copy_only=False)
        margin = (scored.column("decision_score").to_numpy(zero_copy_only=False)
                  - scored.column("decision_threshold").to_numpy(zero_copy_only=False))
        order = review_order(probability, margin)
    TIMES["score pool"] += time.perf_counter() - started
    return rest[order[:k]]


def simulate(pool: Pairs, test: Pairs, test_table: Any, order: str, start: np.ndarray, rng: np.random.Generator,
             args: argparse.Namespace, first: Fit | None = None) -> list[Round]:
    """One learning curve: from ``start``, rounds of ``args.batch`` labels picked in ``order``."""
    labelled = np.array(start)
    fit = first or refit(pool, labelled, test, test_table, args.min_positives)
    rounds = [fit.round]
    while len(labelled) < args.rounds_to:
        rest = np.setdiff1d(np.arange(len(pool.a)), labelled)
        k = min(args.batch, args.rounds_to - len(labelled), len(rest))
        if k <= 0:
            break
        if order == "random":
            picked = rng.choice(rest, k, replace=False)
        else:
            picked = queue_pick(pool, rest, fit, k)
        labelled = np.concatenate([labelled, picked])
        fit = refit(pool, labelled, test, test_table, args.min_positives)
        rounds.append(fit.round)
    return rounds


def reach_line(curves: dict[str, list[tuple[int, float]]], order: str, rounds_to: int) -> str:
    """random's F1 at the last round, and the labels at which ``order`` first reaches it."""
    target = curves["random"][-1][1]
    hit = next((n for n, f in curves[order] if f >= target - 1e-12), None)
    head = f"random reaches F1 {target:.3f} at {rounds_to:,} labels; the {order} order "
    if hit is not None:
        return head + f"reaches it at {hit:,} labels"
    n, best = max(curves[order], key=lambda item: item[1])
    return head + f"never reaches it (best F1 {best:.3f} at {n:,} labels)"


def line_chart(panels: list[dict[str, Any]], path: Path) -> None:
    """A self-contained SVG: one panel per set, x = labels, y = test F1, one line per order, a legend,
    and a dashed reference line (the decision fitted on every pool label)."""
    width, height, left, right, top, bottom = 460, 330, 56, 16, 46, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    legend_h = 40
    total = max(width * len(panels), 860)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{height + legend_h}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{total}" height="{height + legend_h}" fill="white"/>']
    for p, panel in enumerate(panels):
        x0 = p * width + left
        xs = [n for series in panel["series"].values() for n, _ in series]
        ys = [f for series in panel["series"].values() for _, f in series] + [panel["reference"][1]]
        x_lo, x_hi = 0, max(xs)
        y_lo, y_hi = np.floor(min(ys) * 20) / 20, np.ceil(max(ys) * 20) / 20
        if y_hi - y_lo < 0.1:
            y_lo = y_hi - 0.1

        def sx(v: float, x0: float = x0, x_lo: float = x_lo, x_hi: float = x_hi) -> float:
            return x0 + (v - x_lo) / (x_hi - x_lo) * plot_w

        def sy(v: float, y_lo: float = y_lo, y_hi: float = y_hi) -> float:
            return top + (1 - (v - y_lo) / (y_hi - y_lo)) * plot_h

        label, value = panel["reference"]
        out.append(f'<text x="{x0 + plot_w / 2}" y="{top - 26}" text-anchor="middle" font-size="13" '
                   f'font-weight="bold">{escape(panel["title"])}</text>')
        out.append(f'<text x="{x0 + plot_w / 2}" y="{top - 10}" text-anchor="middle" fill="#555">dashed: '
                   f'{escape(label)}</text>')
        out.append(f'<rect x="{x0}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
        step = 200 if x_hi > 600 else 100
        for t in range(0, int(x_hi) + 1, step):
            out.append(f'<line x1="{sx(t):.1f}" y1="{top + plot_h}" x2="{sx(t):.1f}" y2="{top + plot_h + 4}" '
                       'stroke="#333"/>')
            out.append(f'<text x="{sx(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{t:,}</text>')
        y_step = 0.05 if y_hi - y_lo <= 0.4 else 0.1
        for t in np.arange(y_lo, y_hi + 1e-9, y_step):
            out.append(f'<line x1="{x0 - 4}" y1="{sy(t):.1f}" x2="{x0 + plot_w}" y2="{sy(t):.1f}" '
                       'stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 7}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:.2f}</text>')
        out.append(f'<text x="{x0 + plot_w / 2}" y="{top + plot_h + 34}" text-anchor="middle">labels</text>')
        out.append(f'<text transform="translate({x0 - 42},{top + plot_h / 2}) rotate(-90)" '
                   'text-anchor="middle">test F1</text>')
        out.append(f'<line x1="{x0}" y1="{sy(value):.1f}" x2="{x0 + plot_w}" y2="{sy(value):.1f}" stroke="#777" '
                   'stroke-dasharray="5,4"/>')
        for name, series in panel["series"].items():
            points = " ".join(f"{sx(n):.1f},{sy(f):.1f}" for n, f in series)
            colour = COLOURS.get(name, "#555")
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
            out += [f'<circle cx="{sx(n):.1f}" cy="{sy(f):.1f}" r="2.5" fill="{colour}"/>' for n, f in series]
    names = list(panels[0]["series"]) if panels else []
    for i, name in enumerate(names):
        lx = left + i * 130
        out.append(f'<line x1="{lx}" y1="{height + 8}" x2="{lx + 22}" y2="{height + 8}" '
                   f'stroke="{COLOURS.get(name, "#555")}" stroke-width="2"/>')
        out.append(f'<text x="{lx + 28}" y="{height + 12}">{escape(name)} order</text>')
    out.append(f'<text x="{left}" y="{height + 30}" fill="#555">Mean test F1 over seeds; {escape(NOTE)}.</text>')
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main() -> int:
    from semantic.config import default_model_dir
    from semantic.decisions.calibration import MIN_POSITIVES
    from semantic.encoding.encoder import load_encoder
    from semantic.evaluation.benchmark import encoder_embed

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("SEMANTIC_EVAL_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--sets", default="abt_buy,walmart_amazon", help="pairs folders, comma-separated")
    parser.add_argument("--model", help="encoder directory (default: the packaged base)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per order (start set and random draws)")
    parser.add_argument("--start", type=int, default=100, help="random labels to start from")
    parser.add_argument("--batch", type=int, default=100, help="labels per round")
    parser.add_argument("--rounds-to", type=int, default=1000, help="labels at the last round")
    parser.add_argument("--min-positives", type=int, default=5,
                        help=f"positives per split the decision needs (the build's is {MIN_POSITIVES})")
    parser.add_argument("--out", default=str(ROOT / "docs" / "assets" / "active_learning.svg"), help="SVG path")
    args = parser.parse_args()
    root = Path(args.data) / "pairs"
    if not root.is_dir():
        print(f"no pairs folder at {root}: set SEMANTIC_EVAL_DATA or --data", file=sys.stderr)
        return 2
    orders = list(ORDERS)
    began = time.perf_counter()
    encoder = load_encoder(args.model or default_model_dir())
    embed = encoder_embed(encoder)
    print(f"Encoder {encoder.version}; {NOTE}. Pool: train + valid (labels hidden until asked); F1 and AP on "
          f"test. Start {args.start} random labels, rounds of {args.batch} to {args.rounds_to:,}, {args.seeds} "
          f"seed(s). The simulation lowers the decision's min_positives from the build's {MIN_POSITIVES} to "
          f"{args.min_positives} (a few hundred labels cannot meet {MIN_POSITIVES} per split); a round without a "
          "decision falls back to the cosine (threshold F1-best on the labelled pairs).\n")
    panels, reach = [], []
    for name in args.sets.split(","):
        pool, test = load(root / name, name, embed)
        test_table = test.table()
        everything = refit(pool, np.arange(len(pool.a)), test, test_table, MIN_POSITIVES).round
        curves: dict[str, list[list[Round]]] = defaultdict(list)
        for seed in range(args.seeds):
            start = np.random.default_rng(seed).choice(len(pool.a), args.start, replace=False)
            first = refit(pool, start, test, test_table, args.min_positives)
            for order in orders:
                rng = np.random.default_rng([seed, 1])
                curves[order].append(simulate(pool, test, test_table, order, start, rng, args, first))
        mean: dict[str, list[tuple[int, float]]] = {}
        print(f"### {name}: pool {len(pool.a):,} pairs ({int(pool.label.sum())} duplicates), test "
              f"{len(test.a):,} ({int(test.label.sum())})\n")
        head = " | ".join(f"{o} F1" for o in orders) + " | " + " | ".join(f"{o} AP" for o in orders)
        fall = " / ".join(orders)
        print(f"| labels | {head} | cosine fallback (seeds, {fall}) |\n|---|" + "---|" * (2 * len(orders) + 1))
        for r in range(len(curves["random"][0])):
            n = curves["random"][0][r].labels
            cells = []
            for metric in ("f1", "ap"):
                for o in orders:
                    values = [getattr(run[r], metric) for run in curves[o]]
                    spread = f" ± {np.std(values):.3f}" if len(values) > 1 else ""
                    cells.append(f"{np.mean(values):.3f}{spread}")
            fallbacks = " / ".join(str(sum(run[r].fallback for run in curves[o])) for o in orders)
            print(f"| {n:,} | {' | '.join(cells)} | {fallbacks} |")
            for o in orders:
                mean.setdefault(o, []).append((n, float(np.mean([run[r].f1 for run in curves[o]]))))
        print(f"\nEvery pool label ({everything.labels:,}, the build's min_positives {MIN_POSITIVES}): test F1 "
              f"{everything.f1:.3f}, AP {everything.ap:.3f}.\n")
        reach += [f"{name}: {reach_line(mean, o, args.rounds_to)}" for o in orders if o != "random"]
        reference = f"the decision on every pool label ({everything.labels:,}): F1 {everything.f1:.3f}"
        panels.append({"title": name, "series": mean, "reference": (reference, everything.f1)})
    line_chart(panels, Path(args.out))
    print("\n".join(reach))
    print("Mean ± standard deviation over seeds; F1 at the decision's threshold (the cosine's on a fallback).")
    print(f"Learning curves: {args.out}")
    print(f"Wall {time.perf_counter() - began:.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in TIMES.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
