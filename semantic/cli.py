"""The ``semantic`` command line: demo data, a run summary, ad-hoc search and the SQL surface."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from semantic.errors import SemanticError


def _demo_data(args: argparse.Namespace) -> int:
    from semantic.config import project_root
    from semantic.demo import generate

    out = Path(args.out) if args.out else project_root() / "seeds"
    summary = generate(out, seed=args.seed, n_assets=args.n_assets)
    print(f"wrote demo data (seed {args.seed}) to {out}:")
    for key, value in asdict(summary).items():
        print(f"  {key}: {value}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.reporting import run_summary

    config = active().with_overrides(db_path=args.db, lance_dir=args.lance_dir)
    print(run_summary(config, n_briefs=args.briefs, k=args.k))
    return 0


def _search(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.encoder import load_encoder
    from semantic.store import VectorStore

    config = active().with_overrides(lance_dir=args.lance_dir)
    encoder = load_encoder(config.model_dir, config.batch_size)
    vector = encoder.encode([args.query])[0]
    if vector[0] != vector[0]:  # NaN: blank query
        raise SemanticError("the query is empty; pass some text, e.g. semantic search \"warm jacket\"")
    hits = VectorStore(config.lance_dir).search(
        "assets", vector, encoder.version, k=args.k,
        columns=["asset_id", "brand", "market", "channel", "text"],
    )
    for row in hits.to_pylist():
        text = (row["text"] or "")[:90]
        print(f"{row['rank']:>3}  {row['similarity']:.3f}  {row['asset_id']}  {row['brand']}/{row['market']}  {text}")
    return 0


def _check_seeds(args: argparse.Namespace) -> int:
    from semantic.config import project_root
    from semantic.validation import check_seed_encoding

    folder = Path(args.folder) if args.folder else project_root() / "seeds"
    files = sorted(folder.glob("*.csv"))
    check_seed_encoding(files)
    print(f"{len(files)} seed file(s) in {folder} are valid UTF-8")
    return 0


def _fix_encoding(args: argparse.Namespace) -> int:
    from semantic.validation import repair_utf8

    for name in args.files:
        n = repair_utf8(Path(name))
        print(f"{name}: replaced {n} invalid byte sequence(s)" + (f"; original kept as {name}.bak" if n else ""))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import csv

    from semantic.config import active, project_root
    from semantic.encoder import load_encoder
    from semantic.evaluation import encoder_scorer, evaluate_demo, format_results, tfidf_scorer

    seeds = Path(args.seeds) if args.seeds else project_root() / "seeds"
    if not (seeds / "demo_labelled_pairs.csv").is_file():
        raise SemanticError(f"no demo labels in {seeds}; run `semantic demo-data` first or pass --seeds")
    config = active()
    encoder = load_encoder(config.model_dir, config.batch_size)
    corpus: list[str] = []
    for name, column in (("demo_assets.csv", "text"), ("demo_briefs.csv", "text"),
                         ("demo_compliance_references.csv", "claim_text")):
        with open(seeds / name, newline="", encoding="utf-8") as fh:
            corpus += [row[column] for row in csv.DictReader(fh)]
    scorers = {"tfidf": tfidf_scorer(corpus), encoder.version: encoder_scorer(encoder)}
    print(f"demo labels in {seeds}, split {args.split}")
    print(format_results(evaluate_demo(seeds, scorers, split=args.split)))
    return 0


def _functions(args: argparse.Namespace) -> int:
    from semantic.functions import describe

    for signature, returns, doc in describe():
        print(f"{signature} -> {returns}\n    {doc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``semantic`` command."""
    parser = argparse.ArgumentParser(prog="semantic", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="generate the deterministic demo seeds")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--n-assets", type=int, default=3000)
    p.add_argument("--out", help="folder to write the CSV seeds to (default: the project's seeds/)")
    p.set_defaults(func=_demo_data)

    p = sub.add_parser("summary", help="print what the last dbt build produced")
    p.add_argument("--db", help="DuckDB file (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.add_argument("--lance-dir", help="LanceDB folder (default: $SEMANTIC_LANCE_DIR or data/lance)")
    p.add_argument("--briefs", type=int, default=2, help="briefs to show top matches for")
    p.add_argument("-k", type=int, default=3, help="matches shown per brief")
    p.set_defaults(func=_summary)

    p = sub.add_parser("search", help="search assets by free text with the active encoder")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--lance-dir", help="LanceDB folder")
    p.set_defaults(func=_search)

    p = sub.add_parser("evaluate", help="score the demo labels: TF-IDF floor against the active encoder")
    p.add_argument("--seeds", help="folder with the demo CSVs (default: the project's seeds/)")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("check-seeds", help="check that every seed CSV is valid UTF-8 (run before dbt)")
    p.add_argument("folder", nargs="?", help="seed folder (default: the project's seeds/)")
    p.set_defaults(func=_check_seeds)

    p = sub.add_parser("fix-encoding", help="replace invalid UTF-8 bytes in CSV files, keeping a .bak copy")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=_fix_encoding)

    p = sub.add_parser("functions", help="list the SQL functions the plugin registers")
    p.set_defaults(func=_functions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``semantic`` console script."""
    log = logging.getLogger("semantic")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SemanticError as e:
        print(f"semantic: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
