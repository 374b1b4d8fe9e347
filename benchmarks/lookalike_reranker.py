"""The lookalike reranker on a real reference bank: how many compliance reviews it clears, and what it costs.

On ``lookalike/sms_spam`` (321 known spam messages as the bank, 4,839 labelled probes): every probe is scored
against the bank as production scores it, and the flag and review thresholds are fitted on the seeded half of the
probes that ``semantic evaluate`` fits them on (:func:`semantic.evaluation.benchmark.lookalike_task`). That half is
split again: 70 % train a lookalike reranker (``semantic.encoding.reranker``, query first: the reference, then the
probe; each probe paired with its ``--negatives-per-probe`` best-scoring references, labelled by the probe), 30 %
are its guard (each probe with its best reference), which chooses the probability below which a review is cleared
(:func:`semantic.encoding.reranker.clear_guard`). The other half of the probes is decided as the build decides:
flag, review or clear by the thresholds, then each review put to the reranker (:func:`semantic.decisions.compliance.
clear_reviews`). Prints precision and recall of ``flag`` and of ``flag or review`` with and without the reranker,
the reviews a person would read, training time and scoring time per 1,000 reviews.

    nice .venv/bin/python benchmarks/lookalike_reranker.py [--out /tmp/lookalike_rr] [--model DIR] [--keep-matches 1]

An existing reranker in ``--out`` is reused (delete the folder to retrain). Reads ``$SEMANTIC_EVAL_DATA``
(default ``../shared/data``); exits 0 without output when the set is absent.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from semantic.config import default_model_dir
    from semantic.decisions import calibration
    from semantic.decisions.compliance import clear_reviews
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.reranker import RerankerConfig, clear_guard, load_reranker, train_reranker
    from semantic.encoding.training import METRICS_FILE, TRAINING_FILE, PairSet, Task
    from semantic.evaluation.benchmark import encoder_embed, lookalike_scores

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("SEMANTIC_EVAL_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--set", default="sms_spam", help="a lookalike/<name> folder")
    parser.add_argument("--model", help="encoder directory (default: the packaged base)")
    parser.add_argument("--out", default="/tmp/lookalike_rr", help="where the reranker is written (reused if there)")
    parser.add_argument("--negatives-per-probe", type=int, default=3, help="references per training probe")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-matches", type=float, default=0.98,
                        help="the guard's share of lookalikes to keep (var lookalike_reranker_keep_matches); another "
                             "value than the trained one re-chooses the clearing probability on the guard's pairs")
    args = parser.parse_args()
    path = Path(args.data) / "lookalike" / args.set
    if not (path / "probes.csv").is_file():
        return 0
    model_dir = Path(args.model) if args.model else default_model_dir()
    bank = lookalike_scores(path, encoder_embed(load_encoder(model_dir)))
    fit, held = bank.halves(args.seed)
    cal = calibration.fit(bank.scores[fit], bank.labels[fit], target_precision=0.95, review_recall=0.9,
                          review_confidence=0.95, fallback_rule="low", n_boot=100)
    cut = int(0.7 * len(fit))
    claims = [r["text"] for r in bank.references]
    probes = [p["text"] for p in bank.probes]

    def pairs(rows: np.ndarray, per_probe: int) -> PairSet:
        a, b, y = [], [], []
        for i in rows:
            for j in bank_order[i][:per_probe]:
                a.append(claims[j])
                b.append(probes[i])
                y.append(int(bank.labels[i]))
        return PairSet(a, b, y)

    # each probe's references by its compliance score, the best first (the one the bank is asked about)
    bank_order = np.argsort(-bank.adjusted, axis=1, kind="stable")[:, : max(args.negatives_per_probe, 1)]
    out = Path(args.out)
    trained_in = None
    if not (out / METRICS_FILE).is_file():
        start = time.monotonic()
        train_reranker([Task(args.set, "pairs", pairs(fit[:cut], args.negatives_per_probe), pairs(fit[cut:], 1),
                             path)], out, model_dir,
                       RerankerConfig(epochs=args.epochs, max_length=128, symmetric=False, clears=True,
                                      seed=args.seed, keep_matches=args.keep_matches))
        trained_in = time.monotonic() - start
    reranker = load_reranker(out)
    guard = reranker.metrics().get("guard") or {}
    trained_keep = (json.loads((out / TRAINING_FILE).read_text())["config"]).get("keep_matches", 0.98)
    if args.keep_matches != trained_keep:  # the same reranker, its probability chosen again on the guard's pairs
        valid = pairs(fit[cut:], 1)
        guard = clear_guard(reranker.score(valid.texts_a, valid.texts_b), valid.labels, args.keep_matches)
        reranker = copy.copy(reranker)
        reranker.clear_below = guard["clear_below"]
    print(f"lookalike/{args.set}: {len(claims)} references, {len(probes)} probes; thresholds on {len(fit)} "
          f"(flag {cal.threshold:.3f}, review {cal.review_threshold:.3f}); reranker trained on {cut} of them"
          + (f" in {trained_in:.0f} s" if trained_in is not None else f" (reused {out})"))
    print(f"guard on {len(fit) - cut} probes: {guard.get('reason')}")
    y = bank.labels[held]
    plain = list(cal.decision(bank.scores[held]))
    start = time.monotonic()
    best = bank.best_reference
    cleared, probability = clear_reviews(plain, [claims[int(best[i])] for i in held],
                                         [probes[i] for i in held], reranker)
    asked = int(np.sum(~np.isnan(probability)))
    seconds = time.monotonic() - start
    print(f"held-out probes: {len(held)} ({int(y.sum())} spam); reviews asked: {asked}, "
          f"{1000 * seconds / max(asked, 1):.1f} s per 1,000")
    print(f"{'decisions':24} {'flag P':>7} {'flag R':>7} {'f|r P':>7} {'f|r R':>7} {'reviews':>8}")
    for name, decisions in (("thresholds", plain), ("+ lookalike reranker", cleared)):
        d = np.array(decisions)
        figures = []
        for predicted in (d == "flag", d != "clear"):
            tp = int((predicted & (y == 1)).sum())
            figures += [tp / max(int(predicted.sum()), 1), tp / max(int(y.sum()), 1)]
        print(f"{name:24} " + " ".join(f"{f:7.3f}" for f in figures) + f" {int((d == 'review').sum()):8d}")
    return 0



if __name__ == "__main__":
    raise SystemExit(main())
