"""The pair decision with and without each kind of evidence: identifiers' idf, attributes, colours, numbers, text.

On each pairs folder: features of every split under one encoder (default: the packaged base), the
decision's weights learned on ``train``, its threshold F1-best on ``valid``, F1, precision, recall
and AP on ``test``; first with the four original features (cosine, character TF-IDF, identifier
evidence), then adding the identifiers' idf (``identifier_shared_idf``, ``identifier_conflict_idf``),
then :data:`semantic.decisions.attributes.ATTRIBUTE_FEATURES` but the colour and the bare numbers, then the
colour, then the numbers, then the text evidence (``token_containment``, ``identifier_in_text``,
``identifier_not_in_text``): all of them, each with the logistic weights; then all of them with the monotone
boosted trees (:mod:`semantic.decisions.boosted`), and what ``pair_decision_model: auto`` chooses. Same encoder,
same TF-IDF, same splits: only the columns and the model differ. Prints the learned weights of the logistic over
all features.

    .venv/bin/python benchmarks/pair_attributes.py                      # pairs/abt_buy and pairs/walmart_amazon
    .venv/bin/python benchmarks/pair_attributes.py --model /tmp/models/abt_con2 --sets abt_buy

Reads ``$SEMANTIC_EVAL_DATA`` (default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from sklearn.metrics import average_precision_score

    from semantic.config import default_model_dir
    from semantic.decisions import pair_decision
    from semantic.decisions.attributes import ATTRIBUTE_FEATURES
    from semantic.encoding.encoder import load_encoder
    from semantic.evaluation.benchmark import _all_texts, _pairs, encoder_embed, f1_at

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("SEMANTIC_EVAL_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--sets", default="abt_buy,walmart_amazon", help="pairs folders, comma-separated")
    parser.add_argument("--model", help="encoder directory (default: the packaged base)")
    args = parser.parse_args()
    root = Path(args.data) / "pairs"
    if not root.is_dir():
        print(f"no pairs folder at {root}: set SEMANTIC_EVAL_DATA or --data", file=sys.stderr)
        return 2
    encoder = load_encoder(args.model or default_model_dir())
    embed = encoder_embed(encoder)
    names = pair_decision.FEATURES
    later = ("colour_conflict", "number_shared", "number_conflict", *pair_decision.TEXT_FEATURES)
    with_colour = (*names[:6], *(n for n in ATTRIBUTE_FEATURES if n not in later), "colour_conflict")
    steps = {
        "original": names[:4],
        "+ identifier idf": names[:6],
        "+ attributes but colour": with_colour[:-1],
        "+ colour": with_colour,
        "+ numbers": (*with_colour, "number_shared", "number_conflict"),
        "+ containment, identifiers in text (all)": names,
    }
    print("| set | encoder | features | F1 | precision | recall | AP |\n|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        path = root / name
        lexical = pair_decision.lexical_embed(_all_texts(path, "pairs"))
        splits = {}
        for split in ("train", "valid", "test"):
            a, b, y = _pairs(path, split)
            splits[split] = (pair_decision.features(a, b, embed, lexical), y)
        runs = [(label, kept, "logistic") for label, kept in steps.items()]
        runs += [("boosted trees (all)", names, "boosted"), ("auto", names, "auto")]
        for label, kept, model in runs:
            columns = [names.index(n) for n in kept]
            (xt, yt), (xv, yv), (xs, ys) = ((x[:, columns], y) for x, y in splits.values())
            decision = pair_decision.fit(xt, yt, xv, yv, objective="f1", model=model, names=kept)
            if model == "auto":
                label = f"auto ({decision.choice})"
            scores = decision.score(xs)
            f = f1_at(scores, ys, decision.calibration.threshold)
            print(f"| {name} | {encoder.version} | {label} | {f['f1']:.3f} | {f['precision']:.3f} | {f['recall']:.3f} "
                  f"| {average_precision_score(ys, scores):.3f} |")
            if kept == names and model == "logistic":
                weights = {k: round(float(w), 2) for k, w in zip(names[1:], decision.coef[1:])}
                print(f"|  |  | weights: {weights} |  |  |  |  |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
