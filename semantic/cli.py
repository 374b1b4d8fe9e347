"""The ``semantic`` command line: demo data, a run summary, ad-hoc search and the SQL surface."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

from semantic.errors import SemanticError


def _demo_data(args: argparse.Namespace) -> int:
    from semantic.demo import generate
    from semantic.warehouse.scaffold import demo_seeds_dir

    out = Path(args.out) if args.out else demo_seeds_dir()
    summary = generate(out, seed=args.seed, n_assets=args.n_assets)
    print(f"wrote demo data (seed {args.seed}) to {out}:")
    for key, value in asdict(summary).items():
        print(f"  {key}: {value}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.warehouse.reporting import run_summary

    config = active().with_overrides(db_path=args.db, lance_dir=args.lance_dir)
    print(run_summary(config, n_briefs=args.briefs, k=args.k))
    return 0


def _check(args: argparse.Namespace) -> int:
    import json

    from semantic.config import active
    from semantic.decisions.compliance import check_texts
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import encoder_dir

    config = active().with_overrides(lance_dir=args.lance_dir)
    encoder = load_encoder(encoder_dir(config), config.batch_size)
    if any(not t.strip() for t in args.text):
        raise SemanticError("a text to check is empty; pass the draft copy, e.g. semantic check \"Clinically proven\"")
    from semantic.vectors.pins import read_pins_file

    # the reference bank as the published build left it (not a build running now, nor a killed one)
    checks = check_texts(args.text, config, encoder, market=args.market, pins=read_pins_file(config.db_path))
    failing = {"flag"} if args.fail_on == "flag" else {"flag", "review"}
    for text, c in zip(args.text, checks):
        if args.json:
            print(json.dumps({"text": text, **c.as_dict()}))
            continue
        print(f"{(c.decision or '').upper():6}  {text}")
        if c.reference_id:
            print(f"        nearest rejected claim {c.reference_id} (rule {c.rule_id}, {c.severity}): \"{c.claim}\"")
            print(f"        similarity {c.similarity:.3f}, score {c.score:.3f}, probability {c.probability:.2f}; "
                  f"why rejected: {c.rationale}")
        if c.reranker_probability is not None:
            print(f"        lookalike reranker {c.reranker_version}: probability {c.reranker_probability:.3f}"
                  + (" (review cleared)" if c.decision == "clear" else ""))
    return 1 if any(c.decision in failing for c in checks) else 0


def _search(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import encoder_dir
    from semantic.vectors.store import VectorStore

    config = active().with_overrides(lance_dir=args.lance_dir)
    encoder = load_encoder(encoder_dir(config), config.batch_size)
    vector = encoder.encode([args.query])[0]
    if vector[0] != vector[0]:  # NaN: blank query
        raise SemanticError("the query is empty; pass some text, e.g. semantic search \"warm jacket\"")
    from semantic.vectors.store import sql_literal

    filters = {"brand": args.brand, "market": args.market, "channel": args.channel, "asset_type": args.asset_type}
    where = " AND ".join(f"{column} = {sql_literal(value)}" for column, value in filters.items() if value)
    from semantic.vectors.pins import read_pins_file

    # the versions the published DuckDB file was built with: not those of a build running now, nor a killed one
    hits = VectorStore(config.lance_dir, pins=read_pins_file(config.db_path)).search(
        "assets", vector, encoder.version, k=args.k, where=where or None,
        columns=["asset_id", "brand", "market", "channel", "text"],
    )
    for row in hits.to_pylist():
        text = (row["text"] or "")[:90]
        print(f"{row['rank']:>3}  {row['similarity']:.3f}  {row['asset_id']}  {row['brand']}/{row['market']}  {text}")
    return 0


def _queue(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.review.queue import open_items

    config = active().with_overrides(db_path=args.db)
    items = open_items(config.db_path, limit=args.n, task=args.task)
    if not items:
        print("the review queue is empty: nothing waits for a decision")
        return 0
    for item in items:
        p = item["match_probability"]
        print(f"#{item['queue_rank']} item {item['review_id']}  {item['task']} ({item['reason']}), probability "
              f"{'?' if p is None else f'{p:.2f}'}, value {item['label_value']:.2f} bit, now {item['current_decision']}"
              + (f", decided {item['previous_label']} before the text changed" if item["previous_label"] else ""))
        print(f"    {item['left_id']}: {(item['left_text'] or '')[:110]}")
        print(f"    {item['right_id']}: {(item['right_text'] or '')[:110]}")
        if item["rule_id"]:
            print(f"    rule {item['rule_id']} ({item['severity']}): {item['rationale']}")
    print("decide one with: semantic label ITEM --label match|not_match|skip --reviewer NAME")
    return 0


def _label(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.review.decisions import record

    config = active().with_overrides(db_path=args.db)
    if args.item is not None and args.ids:
        raise SemanticError("name a queue item or --ids A B, not both; nothing was recorded")
    decision = record(config, args.label, args.reviewer if args.reviewer is not None else
                      os.environ.get("SEMANTIC_REVIEWER", ""), item=args.item, ids=args.ids or None,
                      task=args.task, note=args.note)
    print(decision.line())
    print(f"the next `semantic build` trains and calibrates on it (decision log: {config.review_log})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.web.app import serve

    serve(active().with_overrides(db_path=args.db, lance_dir=args.lance_dir), host=args.host, port=args.port)
    return 0


def _report(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.web.report import write_html

    config = active().with_overrides(db_path=args.db)
    if not config.db_path.exists():
        raise SemanticError(f"no published build at {config.db_path}: run `semantic build` (or `make run`) first")
    out = write_html(config, Path(args.out))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB; opens offline)")
    return 0


def _port_arg(value: str) -> int:
    """``--port``: 1 to 65535 (0: any free port)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a whole number from 0 to 65535, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be a whole number from 0 to 65535, got {value!r}")
    return port


def _check_seeds(args: argparse.Namespace) -> int:
    from semantic.warehouse.scaffold import demo_seeds_dir
    from semantic.warehouse.validation import check_seed_encoding

    folder = Path(args.folder) if args.folder else demo_seeds_dir()
    files = sorted(folder.glob("*.csv"))
    check_seed_encoding(files)
    print(f"{len(files)} seed file(s) in {folder} are valid UTF-8")
    return 0


def _fix_encoding(args: argparse.Namespace) -> int:
    from semantic.warehouse.validation import repair_utf8

    for name in args.files:
        n = repair_utf8(Path(name))
        print(f"{name}: replaced {n} invalid byte sequence(s)" + (f"; original kept as {name}.bak" if n else ""))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from semantic.config import default_model_dir
    from semantic.encoding.encoder import load_encoder

    models = {"base": load_encoder(default_model_dir())}
    for path in args.model or []:
        if path == "base" and not Path(path).exists():
            continue  # `base` names the packaged encoder, which is always scored
        encoder = load_encoder(path, allow_collapsed=True)
        models[Path(path).name if Path(path).name not in models else encoder.version] = encoder
    if args.data:
        return _evaluate_benchmark(args, models)
    if args.reranker:
        raise SemanticError("--reranker scores pairs and retrieval task folders: give them with --data")
    return _evaluate_demo(args, models)


def _evaluate_benchmark(args: argparse.Namespace, models: Mapping[str, Any]) -> int:
    from semantic.evaluation.benchmark import run, task_kind, to_json, to_markdown

    if args.calibrate_with and task_kind(Path(args.calibrate_with)) != "pairs":
        raise SemanticError(f"--calibrate-with {args.calibrate_with} is not a pairs folder "
                            "(train.csv, valid.csv and test.csv with text_a, text_b, label)")
    from semantic.encoding.reranker import load_reranker

    rerankers = {}
    for path in args.reranker or []:
        reranker = load_reranker(path)
        rerankers[f"reranker {reranker.version}"] = reranker
    rows = run(Path(args.data), dict(models), calibrate_with=Path(args.calibrate_with) if args.calibrate_with else None,
               hybrid=args.hybrid, rerankers=rerankers)
    table = to_markdown(rows)
    print(table)
    if args.json:
        Path(args.json).write_text(to_json(rows))
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


def _evaluate_demo(args: argparse.Namespace, models: Mapping[str, Any]) -> int:
    import csv

    from semantic.evaluation.evaluate import encoder_scorer, evaluate_demo, format_results, tfidf_scorer
    from semantic.warehouse.scaffold import demo_seeds_dir

    seeds = Path(args.seeds) if args.seeds else demo_seeds_dir()
    if not (seeds / "demo_labelled_pairs.csv").is_file():
        raise SemanticError(f"no demo labels in {seeds}; run `semantic demo-data` first or pass --seeds")
    corpus: list[str] = []
    for name, column in (("demo_assets.csv", "text"), ("demo_briefs.csv", "text"),
                         ("demo_compliance_references.csv", "claim_text")):
        with open(seeds / name, newline="", encoding="utf-8") as fh:
            corpus += [row[column] for row in csv.DictReader(fh)]
    scorers = {"tfidf": tfidf_scorer(corpus)}
    scorers.update({name: encoder_scorer(enc) for name, enc in models.items()})
    print(f"demo labels in {seeds}, split {args.split}")
    print(format_results(evaluate_demo(seeds, scorers, split=args.split)))
    return 0


def _train(args: argparse.Namespace) -> int:
    from semantic.config import default_model_dir
    from semantic.encoding.training import TrainingConfig, load_task, resolve_bf16, train

    if getattr(args, "lookalike", False) and not args.cross_encoder:
        raise SemanticError("--lookalike trains a lookalike reranker: give it with --cross-encoder")
    tasks = [load_task(path) for path in args.data]
    if args.cross_encoder:
        return _train_reranker(args, tasks)
    if not args.out:
        raise SemanticError("semantic train needs --out DIR, the directory to write the tuned encoder to")
    config = TrainingConfig(
        loss=args.loss, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
        learning_rate=args.learning_rate or 2e-5, max_seq_length=args.max_seq_length or 128,
        keep_base=args.keep_base, bf16=resolve_bf16(args.bf16), augment=args.augment, layer_decay=args.layer_decay,
    )
    _print_tasks(tasks)
    result = train(tasks, args.out, args.base or default_model_dir(), config)
    if result.mining:
        m = result.mining
        print(f"hard negatives: {m.labelled} labelled, {m.mined} mined; the false-negative guard dropped "
              f"{m.dropped_known_positive + m.dropped_by_margin} of {m.candidates} candidates")
    guard = result.guard
    print(f"collapse guard: passed (mean random cosine {guard['mean_random_cosine']:.3f}, "
          f"effective rank {guard['effective_rank']:.1f})")
    for name, value in sorted(result.valid.items()):
        print(f"{name}: {value:.4f}")
    general = result.general
    print(f"general ability: Spearman {general['base_agreement']:.3f} between base and tuned cosines over random "
          f"pairs of {general['texts']} task texts (keep_base {general['keep_base']:g}, layer_decay "
          f"{general['layer_decay']:g})")
    print(f"tuned model written to {result.out_dir} in {result.seconds:.0f} s")
    return 0


def _print_tasks(tasks: Sequence[Any]) -> None:
    for task in tasks:
        print(f"{task.name}: {len(task.train)} training pairs ({task.train.n_positive} positive)"
              + (f", {len(task.valid)} valid pairs" if task.valid else ""))


def _train_reranker(args: argparse.Namespace, tasks: Sequence[Any]) -> int:
    from semantic.config import active, default_model_dir
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import Registry
    from semantic.encoding.reranker import RerankerConfig, retrieval_pairs, train_reranker
    from semantic.encoding.training import version_name

    kinds = {task.kind for task in tasks}
    if len(kinds) > 1:
        raise SemanticError("--cross-encoder trains on pairs folders (a pair reranker) or on retrieval folders (a "
                            "query-first brief reranker), not both at once: give folders of one kind")
    query_first = kinds == {"retrieval"}
    lookalike = bool(getattr(args, "lookalike", False))
    if lookalike and query_first:
        raise SemanticError("--lookalike trains on pairs folders (text_a the rejected claim, text_b the copy, label 1 "
                            "for a restatement), not retrieval folders")
    config = RerankerConfig(epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
                            learning_rate=args.learning_rate or 5e-5,
                            max_length=args.max_seq_length or (128 if query_first or lookalike else 192),
                            symmetric=not (query_first or lookalike), clears=lookalike)
    base = args.base or default_model_dir()
    if query_first:  # each query with its relevant documents and the encoder's hardest near misses
        encoder = load_encoder(base)
        tasks = [retrieval_pairs(task, encoder, config.negatives) for task in tasks]
    registry = None
    out = Path(args.out) if args.out else None
    if out is None:  # into the project's registry, activated when it passes its guard
        registry = Registry(active().lookalike_rerankers_dir if lookalike else
                            active().brief_rerankers_dir if query_first else active().rerankers_dir)
        out = registry.root / version_name(tasks, config)
    _print_tasks(tasks)
    result = train_reranker(tasks, out, base, config)
    for name, value in sorted(result.valid.items()):
        print(f"valid {name}: {value:.4f}")
    passed = bool(result.guard.get("passed"))
    print(f"guard: {'passed' if passed else 'FAILED'} ({result.guard.get('reason')})")
    kind = "lookalike reranker" if lookalike else "brief reranker" if query_first else "pair reranker"
    print(f"{kind} {result.version} written to {result.out_dir} in {result.seconds:.0f} s")
    if registry is not None and passed:
        registry.activate(out.name, reason="trained by semantic train --cross-encoder")
        print(f"activated as the project's {kind} ({registry.root}); "
              + ("fct_compliance_lookalikes and semantic check clear the reviews it judges unlike their claim"
                 if lookalike else "fct_brief_asset_matches reorders each brief's top assets with it" if query_first
                 else "semantic_pair_score uses it"))
    return 0 if passed else 1


def _which(args: argparse.Namespace) -> str:
    """Which registry a versions, activate or rollback command works on: encoder, reranker, brief or lookalike."""
    chosen = [name for name, flag in (("reranker", "reranker"), ("brief", "brief_reranker"),
                                      ("lookalike", "lookalike_reranker")) if getattr(args, flag, False)]
    if len(chosen) > 1:
        raise SemanticError("give one of --reranker (pair rerankers), --brief-reranker (brief rerankers) or "
                            "--lookalike-reranker (lookalike rerankers), not several")
    return chosen[0] if chosen else "encoder"


def _registry(which: str = "encoder") -> Any:
    from semantic.config import active
    from semantic.encoding.registry import Registry

    config = active()
    return Registry({"encoder": config.models_dir, "reranker": config.rerankers_dir,
                     "brief": config.brief_rerankers_dir, "lookalike": config.lookalike_rerankers_dir}[which])


def _versions(args: argparse.Namespace) -> int:
    which = _which(args)
    registry = _registry(which)
    active_name = registry.active_name()
    base = {"encoder": "packaged all-MiniLM-L6-v2", "reranker": "no pair reranker", "brief": "no brief reranker",
            "lookalike": "no lookalike reranker"}
    print(f"{'*' if active_name == 'base' else ' '} base ({base[which]})")
    for v in registry.versions():
        guard = v.metrics.get("guard") or {}
        if which == "brief":
            detail = (f"  fusion weight {guard['fusion_weight']:g}, held-out MRR {guard['valid_mrr']:.3f} against "
                      f"{guard['cosine_valid_mrr']:.3f}" if "valid_mrr" in guard else "")
        elif which == "lookalike":
            detail = (f"  clears below {guard['clear_below']:.3g}: {guard['cleared_non_matches']:.0%} of the valid "
                      f"benign pairs, keeping {guard['kept_matches']:.0%} of the lookalikes"
                      if "cleared_non_matches" in guard else "")
        elif which == "reranker":
            detail = f"  valid AP {guard['valid_ap']:.3f}" if "valid_ap" in guard else ""
        else:
            ap = (v.metrics.get("valid") or {}).get("valid_cosine_ap")
            agreement = (v.metrics.get("general") or {}).get("base_agreement")
            detail = (f"  mean random cosine {guard.get('mean_random_cosine', float('nan')):.3f}"
                      + (f"  valid AP {ap:.3f}" if ap is not None else "")
                      + (f"  base agreement {agreement:.3f}" if agreement is not None else ""))
        print(f"{'*' if v.name == active_name else ' '} {v.name}  guard {'passed' if v.guard_passed else 'FAILED'}"
              + detail)
    return 0


_NEXT_BUILD = {"encoder": "the next `dbt build` (or `make run`) re-embeds with it",
               "reranker": "the next `dbt build` rescores the near-duplicate candidates with it",
               "brief": "the next `dbt build` reorders the brief matches with it",
               "lookalike": "the next `dbt build` (and `semantic check` now) asks it about the compliance reviews"}


def _activate(args: argparse.Namespace) -> int:
    which = _which(args)
    _registry(which).activate(args.version, reason="semantic activate")
    print(f"activated {args.version}; {_NEXT_BUILD[which]}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    which = _which(args)
    name = _registry(which).rollback()
    print(f"rolled back to {name}; {_NEXT_BUILD[which]}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from semantic.warehouse.publishing import build_project

    staging_dir = Path(args.staging_dir) if args.staging_dir else None
    output = "quiet" if args.quiet else "verbose" if args.verbose else "progress"
    return build_project(args.dbt_args, db_path=args.db, staging_dir=staging_dir, output=output)


def _forget(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.warehouse.erasure import forget

    dbt_args: list[str] = []
    for option in ("project_dir", "profiles_dir", "target"):
        if getattr(args, option):
            dbt_args += [f"--{option.replace('_', '-')}", getattr(args, option)]
    config = active().with_overrides(db_path=args.db)
    report = forget(args.ids, config, dbt_args, retrain=args.retrain, gone=args.gone)
    for line in report.lines():
        print(line)
    return 0 if report.complete else 1


def _doctor(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.warehouse.doctor import diagnose

    config = active().with_overrides(db_path=args.db, lance_dir=args.lance_dir)
    findings = diagnose(config, repair=not args.dry_run)
    for finding in findings:
        print(finding.line())
    failed = [f for f in findings if f.status == "fail"]
    print(f"{len(findings)} checks: {len(failed)} failed, "
          f"{sum(f.status == 'fixed' for f in findings)} fixed, {sum(f.status == 'warn' for f in findings)} warnings")
    return 1 if failed else 0


def _init(args: argparse.Namespace) -> int:
    from semantic.warehouse.scaffold import write_starter

    written = write_starter(Path(args.dir), package=args.package, name=args.name)
    for path in written:
        print(f"wrote {path}")
    print(f"next: put your assets in {Path(args.dir) / 'data' / 'inputs' / 'assets.parquet'} (columns asset_id, text; "
          f"see docs/contract.md), then `cd {args.dir} && DBT_PROFILES_DIR=. dbt deps && DBT_PROFILES_DIR=. "
          "semantic build`")
    return 0


def _min_rows_arg(value: str) -> int | None:
    """``--index-min-rows``: a positive integer, or ``none`` for no new index."""
    if value.strip().lower() in ("none", "null"):
        return None
    try:
        rows = int(value)
    except ValueError:
        rows = 0
    if rows < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer; pass e.g. 20000, or none")
    return rows


def _embed(args: argparse.Namespace) -> int:
    from semantic.config import active
    from semantic.encoding.registry import encoder_dir
    from semantic.scaleout.distributed import near_duplicate_candidates, sync

    config = active().with_overrides(model_dir=args.model_dir)
    result = sync(
        args.source, args.lance, id_column=args.id_column, text_column=args.text_column, engine=args.engine,
        workers=args.workers, cpus_per_worker=args.cpus_per_worker, model_dir=encoder_dir(config),
        batch_size=config.batch_size, ray_address=args.ray_address, index_min_rows=args.index_min_rows,
    )
    print(f"{result.uri}: embedded {result.embedded}, unchanged {result.unchanged}, deleted {result.deleted}, "
          f"skipped (no text) {result.skipped_empty}; {result.total} rows at Lance version {result.lance_version} "
          f"(model {result.model_version}, {result.workers} {result.engine} worker(s), {result.seconds:.1f} s); "
          f"vector index: {result.index_action}")
    if args.neighbours_k:
        out = args.neighbours_lance or result.uri[: -len(".lance")] + "_neighbours.lance"
        found = near_duplicate_candidates(result.uri, args.neighbours_k, id_column=args.id_column,
                                          engine=args.engine, workers=args.workers, out_uri=out,
                                          incremental=not args.full_candidates, ray_address=args.ray_address)
        print(f"{out}: {found.num_rows} near-duplicate candidate rows (top {args.neighbours_k} per asset)")
    return 0


def _functions(args: argparse.Namespace) -> int:
    from semantic.warehouse.functions import describe

    for signature, returns, doc in describe():
        print(f"{signature} -> {returns}\n    {doc}")
    return 0


#: The most results a search may ask for (the SQL functions' cap too).
MAX_K = 10_000


class _Parser(argparse.ArgumentParser):
    """argparse, with every error on one line (a refused argument holding a newline is shown escaped)."""

    def error(self, message: str) -> NoReturn:
        super().error(message.replace("\r", "\\r").replace("\n", "\\n"))


def _k_arg(value: str) -> int:
    """``-k``: a positive integer up to :data:`MAX_K`."""
    try:
        k = int(value)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer up to {MAX_K}; pass e.g. -k 10")
    return k


def _text_arg(value: str) -> str:
    """A text argument: valid UTF-8 (the shell can pass any bytes; Python keeps invalid ones as surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise argparse.ArgumentTypeError(f"{shown!r} is not valid UTF-8 text; pass the text in UTF-8") from None
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``semantic`` command."""
    parser = _Parser(prog="semantic", description=__doc__)
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
    p.add_argument("-k", type=_k_arg, default=3, help="matches shown per brief")
    p.set_defaults(func=_summary)

    p = sub.add_parser("search", help="search assets by free text with the active encoder")
    p.add_argument("query", type=_text_arg)
    p.add_argument("-k", type=_k_arg, default=5, help=f"results (1 to {MAX_K})")
    for column in ("brand", "market", "channel", "asset-type"):
        p.add_argument(f"--{column}", type=_text_arg,
                       help=f"only assets with this {column.replace('-', ' ')} (a prefilter)")
    p.add_argument("--lance-dir", help="LanceDB folder")
    p.set_defaults(func=_search)

    p = sub.add_parser("check", help="check draft copy against the compliance reference bank (exit 1 on a flag)")
    p.add_argument("text", nargs="+", type=_text_arg, help="one or more drafts")
    p.add_argument("--market", type=_text_arg, help="only references for this market (and ALL)")
    p.add_argument("--fail-on", default="flag", choices=["flag", "review"],
                   help="decision that makes the exit status 1")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.add_argument("--lance-dir", help="LanceDB folder")
    p.set_defaults(func=_check)

    p = sub.add_parser(
        "evaluate", help="score models side by side on task folders (--data) or on the demo labels"
    )
    p.add_argument("--model", action="append", help="a tuned model directory (repeatable); base is always scored")
    p.add_argument("--data", help="a task folder, or a root with pairs/, retrieval/, dedup/, lookalike/")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    p.add_argument("--markdown", help="also write the table as Markdown to this file")
    p.add_argument("--seeds", help="without --data: folder with the demo CSVs (default: the project's seeds/)")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--calibrate-with", help="a pairs folder of the same domain: dedup tasks calibrate their "
                   "threshold on its valid.csv (and learn the pair decision on its train.csv), then cluster")
    p.add_argument("--hybrid", action="store_true", help="retrieval tasks: also score semantic_hybrid_search "
                   "(vector + BM25)")
    p.add_argument("--reranker", action="append", help="a pair reranker directory (semantic train --cross-encoder; "
                   "repeatable): pairs tasks are also scored by it, alone and in the pair decision; a brief reranker "
                   "(trained on retrieval folders) also reorders each retrieval query's top 20")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("train", help="fine-tune the encoder contrastively on labelled task folders "
                       "(or, with --cross-encoder, a pair reranker)")
    p.add_argument("--data", action="append", required=True,
                   help="a pairs/<name> or retrieval/<name> folder (with --cross-encoder: pairs folders train a "
                   "pair reranker, retrieval folders a query-first brief reranker on each query's relevant "
                   "documents and the encoder's hardest near misses)")
    p.add_argument("--out", help="directory to write the tuned model to (required for the encoder; with "
                   "--cross-encoder the default is the project's reranker registry, data/rerankers, and the "
                   "reranker is activated when it passes its guard)")
    p.add_argument("--base", help="model directory to start from (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--loss", default="mnrl", choices=["mnrl", "contrastive", "triplet", "supcon"],
                   help="supcon: supervised contrastive over the classes the labelled matches form (R-SupCon)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--keep-base", type=float, default=0.0,
                   help="share of the base weights mixed back into the tuned encoder after training (0 to <1, "
                        "WiSE-FT): keeps more general ability at some cost to the tuned task; default 0")
    p.add_argument("--layer-decay", type=float, default=1.0,
                   help="layer-wise learning-rate decay (0 to 1): each lower layer learns at this share of the rate "
                        "of the one above, so tuning moves the general-purpose lower layers less; default 1 (off)")
    p.add_argument("--bf16", default="auto", choices=["auto", "true", "false"],
                   help="compute in bfloat16 (weights stay fp32): auto does on a CPU with bf16 instructions, where a "
                        "step costs about three quarters of fp32's; the encoder only")
    p.add_argument("--augment", type=int, default=0,
                   help="augmented copies of each training example (Ditto's span deletion, token shuffle and "
                        "attribute dropping; tokens with a digit are kept); the encoder only; default 0")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, help="default 2e-5 (encoder), 5e-5 (--cross-encoder)")
    p.add_argument("--max-seq-length", type=int, help="tokens per text (encoder, default 128) or per pair "
                   "(--cross-encoder, default 192)")
    p.add_argument("--cross-encoder", action="store_true", help="train a pair reranker (a cross-encoder reading both "
                   "texts at once, from the base model's transformer) on pairs folders instead of the encoder, or a "
                   "brief reranker (query first) on retrieval folders; exits 1 when it does not beat the encoder's "
                   "cosine on the valid pairs (the held-out queries)")
    p.add_argument("--lookalike", action="store_true", help="with --cross-encoder: a lookalike reranker on pairs "
                   "folders (text_a the rejected claim, text_b the copy); its guard chooses on the valid pairs the "
                   "probability below which it clears a compliance review (data/lookalike_rerankers)")
    p.set_defaults(func=_train)

    on_rerankers = "the pair rerankers (data/rerankers) instead of the encoders; 'base' is no reranker"
    on_briefs = "the brief rerankers (data/brief_rerankers) instead of the encoders; 'base' is no reranker"
    on_lookalikes = "the lookalike rerankers (data/lookalike_rerankers) instead of the encoders; 'base' is no reranker"
    p = sub.add_parser("versions", help="list tuned encoder versions; * marks the active one")
    p.add_argument("--reranker", action="store_true", help=on_rerankers)
    p.add_argument("--brief-reranker", action="store_true", help=on_briefs)
    p.add_argument("--lookalike-reranker", action="store_true", help=on_lookalikes)
    p.set_defaults(func=_versions)
    p = sub.add_parser("activate", help="make a version (or 'base') the active encoder")
    p.add_argument("version")
    p.add_argument("--reranker", action="store_true", help=on_rerankers)
    p.add_argument("--brief-reranker", action="store_true", help=on_briefs)
    p.add_argument("--lookalike-reranker", action="store_true", help=on_lookalikes)
    p.set_defaults(func=_activate)
    p = sub.add_parser("rollback", help="re-activate the version that was active before the current one")
    p.add_argument("--reranker", action="store_true", help=on_rerankers)
    p.add_argument("--brief-reranker", action="store_true", help=on_briefs)
    p.add_argument("--lookalike-reranker", action="store_true", help=on_lookalikes)
    p.set_defaults(func=_rollback)

    p = sub.add_parser(
        "queue", help="list the review queue (fct_review_queue): the items a person should decide, most valuable first",
    )
    p.add_argument("-n", type=_k_arg, default=10, help="items shown")
    p.add_argument("--task", choices=["duplicate", "brief_match", "lookalike"], help="only this task's items")
    p.add_argument("--db", help="the DuckDB file (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.set_defaults(func=_queue)

    p = sub.add_parser(
        "label", help="record a reviewer's decision on a queue item or any two ids; the next build learns from it",
        description="Record match, not_match or skip for an item of `semantic queue` (its id) or for any two ids "
        "(--ids A B; the task follows from their kinds: two assets are a duplicate pair, a brief and an asset a "
        "brief match, an asset and a compliance reference a lookalike). Decisions are appended to the decision log "
        "beside the DuckDB file (data/review/decisions.jsonl), which no build, swap or rollback replaces; the next "
        "build reads them as labelled pairs. Checked against the published build first: a bad decision records "
        "nothing.",
    )
    p.add_argument("item", nargs="?", help="a review_id of `semantic queue` / fct_review_queue")
    p.add_argument("--ids", nargs=2, metavar=("LEFT", "RIGHT"), help="two ids instead of a queue item")
    p.add_argument("--task", help="duplicate, brief_match or lookalike (with --ids; default: from the ids' kinds)")
    p.add_argument("--label", required=True, help="match, not_match ('not a match') or skip")
    p.add_argument("--reviewer", help="who decides (default: $SEMANTIC_REVIEWER); required")
    p.add_argument("--note", help="optional note kept with the decision")
    p.add_argument("--db", help="the published DuckDB file (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.set_defaults(func=_label)

    p = sub.add_parser(
        "serve", help="start the local web app: search, asset pages, the review queue, compliance and the model report",
        description="Serve the published build read-only (it never blocks a build, and a newly published build "
        "shows on the next request) at http://127.0.0.1:PORT/. Review decisions are recorded like `semantic label`. "
        "Bound to another address than localhost it warns: there is no login.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port_arg, default=8765, help="port (default 8765)")
    p.add_argument("--db", help="the published DuckDB file (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.add_argument("--lance-dir", help="LanceDB folder")
    p.set_defaults(func=_serve)

    p = sub.add_parser(
        "report", help="write the model report (reliability, precision/recall, score histograms, training loss, "
        "collapse guard; this version beside the previous) as one self-contained HTML file",
    )
    p.add_argument("--out", required=True, help="the HTML file to write (e.g. model-report.html)")
    p.add_argument("--db", help="the published DuckDB file (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.set_defaults(func=_report)

    p = sub.add_parser("check-seeds", help="check that every seed CSV is valid UTF-8 (run before dbt)")
    p.add_argument("folder", nargs="?", help="seed folder (default: the project's seeds/)")
    p.set_defaults(func=_check_seeds)

    p = sub.add_parser("fix-encoding", help="replace invalid UTF-8 bytes in CSV files, keeping a .bak copy")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=_fix_encoding)

    p = sub.add_parser(
        "build", allow_abbrev=False,
        help="run `dbt build` into a copy of the DuckDB file and swap it in atomically (readers keep working)",
        description="Run `dbt build` into <db folder>/.building/<db name> and rename it onto the DuckDB file "
        "when dbt succeeds, so BI tools holding the file read-only never block the build nor see it half "
        "built. Every other argument goes to `dbt build` (--select, --vars, --full-refresh, ...). Exit "
        "status: dbt's; on failure the live file is untouched and the failed build is kept in staging.",
    )
    p.add_argument("--db", help="the DuckDB file readers open (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.add_argument("--staging-dir", help="folder to build in, on the same filesystem (default: <db folder>/.building)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--quiet", action="store_true",
                       help="print only warnings, errors and the last line (for CI); dbt's lines stay in its log")
    shown.add_argument("--verbose", action="store_true",
                       help="print dbt's own lines as they come instead of one progress line per stage")
    p.set_defaults(func=_build, dbt_args=[])

    p = sub.add_parser(
        "forget", allow_abbrev=False,
        help="erase assets' text and vectors from everything under the data folder, and prove it",
        description="Erase assets by id: a build that leaves them out (their ids are kept in semantic_forgotten, "
        "so a restored source cannot bring them back), the DuckDB file rewritten without free blocks, every "
        "LanceDB table compacted with its indexes rebuilt and old versions removed, dbt log lines naming them "
        "removed; then every file under the data folder and every DuckDB table is searched for their text. "
        "Exit status 0: erased and verified; 1: something still holds a text (named), or the build failed; "
        "2: bad arguments.",
    )
    p.add_argument("ids", nargs="*", help="asset ids to forget")
    p.add_argument("--gone", action="store_true",
                   help="also every asset that has left the source but an older LanceDB version still holds "
                   "(with no ids: erase only what deleted rows left behind)")
    p.add_argument("--retrain", action="store_true",
                   help="train an encoder version without the assets and delete the versions trained on them "
                   "(default: training is off for this build and those versions are named)")
    p.add_argument("--project-dir", help="the dbt project to build (default: the project root)")
    p.add_argument("--profiles-dir", help="dbt's profiles folder")
    p.add_argument("--target", help="dbt target")
    p.add_argument("--db", help="the DuckDB file readers open (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.set_defaults(func=_forget)

    p = sub.add_parser(
        "doctor", help="check the data folder (DuckDB, LanceDB, registry, leftovers) and repair what is safe",
        description="Check that the published DuckDB file opens and answers, every LanceDB table reads and holds "
        "exactly the build's ids embedded by the active encoder, the registry's active version is intact, and no "
        "killed build left a staging copy, unreferenced files or unreadable caches; remove those leftovers "
        "(unless --dry-run). Exit status 1 when a check fails (each names its fix).",
    )
    p.add_argument("--dry-run", action="store_true", help="report only; repair nothing")
    p.add_argument("--db", help="the DuckDB file (default: $SEMANTIC_DB or data/semantic_assets.duckdb)")
    p.add_argument("--lance-dir", help="LanceDB folder")
    p.set_defaults(func=_doctor)

    p = sub.add_parser(
        "embed", help="embed a Parquet source into a Lance table (s3:// or local) on Ray workers, incrementally",
        description="Sync a Lance table with a Parquet source: only rows whose content_hash or model version "
        "changed are embedded, rows gone from the source are deleted, and the table changes in one Lance commit "
        "at the end. S3 credentials and endpoint come from the environment (AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY, SEMANTIC_S3_ENDPOINT or AWS_ENDPOINT_URL).",
    )
    p.add_argument("--engine", default="ray", choices=["ray", "local"],
                   help="ray: Ray Data workers (a local cluster unless --ray-address); local: this process")
    p.add_argument("--source", required=True, help="Parquet file or folder (local or s3://) with the id and the text")
    p.add_argument("--lance", required=True, help="the Lance table, e.g. s3://bucket/vectors/assets.lance")
    p.add_argument("--workers", type=int, default=2, help="embedding workers (Ray actors)")
    p.add_argument("--cpus-per-worker", type=int, default=1, help="cores per worker (its encoder threads)")
    p.add_argument("--id-column", default="asset_id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--model-dir", help="sentence-transformers model directory (default: the active encoder)")
    p.add_argument("--ray-address", help="a running Ray cluster (default: $RAY_ADDRESS, else a local one)")
    p.add_argument("--neighbours-k", type=int, help="also write each row's top-k near-duplicate candidates")
    p.add_argument("--neighbours-lance", help="where the candidates go (default: <table>_neighbours.lance beside it)")
    p.add_argument("--full-candidates", action="store_true",
                   help="query every row for candidates (default: only new and changed rows and those whose "
                   "stored neighbours changed, when the stored candidates allow it)")
    p.add_argument("--index-min-rows", type=_min_rows_arg, default=20000,
                   help="rows from which the table gets its ANN index, kept current after each job; 'none' for "
                   "no new index (default 20000, like the dbt var vector_index_min_rows)")
    p.set_defaults(func=_embed)

    p = sub.add_parser(
        "init", help="write a minimal dbt project for your own data: profile with the plugin, packages.yml, "
        "sources with the contract's columns, the vars",
    )
    p.add_argument("dir", help="folder to create (must be empty or absent)")
    p.add_argument("--package", help="where packages.yml finds semantic-assets: a local path or a git URL "
                   "(default: the checkout this package was installed from)")
    p.add_argument("--name", help="dbt project name (default: the folder name)")
    p.set_defaults(func=_init)

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
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "build":
        args.dbt_args = extra  # everything else is dbt's
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args))
    except SemanticError as e:
        print(f"semantic: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"semantic: error: {e.strerror} ({e.filename or 'writing'}): free space and run again; a build "
              "publishes nothing until it has finished, so the data it replaces is untouched", file=sys.stderr)
        return 2


def run() -> NoReturn:
    """The ``semantic`` console script: :func:`main`, then an exit that leaves out the native libraries' teardown.

    The command's work is done and its output written when :func:`main` returns; what is left is the
    interpreter's shutdown, where OpenVINO, DuckDB and Lance destroy their thread pools in whatever order
    their modules are collected. In one CI run of the fuzz suite, on two loaded cores, that teardown aborted
    after a ``semantic check --fail-on flag`` had finished (``terminate called without an active exception``,
    exit -6; the same call passed when run again): a verdict of 0 or 1 reached the job reading the status as
    a crash. So the output is flushed, the log handlers closed, and the process ends with the command's own
    status at once.
    An exception out of :func:`main` (a bug) still ends the usual way, with its traceback.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`semantic check ... | head`): Python's own status for it
        code = code or 120
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
