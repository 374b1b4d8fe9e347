"""The text cache: how many texts a build encodes with it and without it, same run, same vectors.

Usage: nice .venv/bin/python benchmarks/text_cache.py [--n-assets 3000] [--transcripts PATH] [--train]

1. The demo: the example project at ``--n-assets`` (3,000, as `make run`; seed 42) built twice with
   `dbt build` in fresh folders, once with ``SEMANTIC_TEXT_CACHE=off`` (every row encoded, the path
   before the cache) and once with it; encoder fine-tuning off unless ``--train`` (both builds then
   train the same model). Prints rows embedded and texts encoded per vector table (from ``sync_runs``),
   the build times, the lowest cosine between the two builds' vectors of each row, and every table of
   the two DuckDB files that differs (time stamps left out; doubles rounded to 9 places).
2. Real ad copy: ``../shared/data/corpus/ad_transcripts`` (``--transcripts``; skipped when absent) as
   assets and their sentence units (the rule of ``stg_semantic__asset_sentences``), synced into
   LanceDB with the packaged encoder, with and without the cache.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_cost import build  # noqa: E402  (a sibling script)

from semantic.vectors import text_cache  # noqa: E402
from semantic.warehouse.scaffold import copy_example  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"assets": "asset_id", "asset_sentences": "sentence_id", "briefs": "brief_id",
        "compliance_references": "reference_id", "labelled_texts": "text_id"}


def sync_counts(lance_dir: Path) -> dict[str, tuple[int, int]]:
    """(rows embedded, texts encoded) per table over every sync in the folder's ``sync_runs``."""
    import lancedb

    runs = lancedb.connect(str(lance_dir)).open_table("sync_runs").to_arrow().to_pylist()
    out: dict[str, tuple[int, int]] = {}
    for r in runs:
        embedded, encoded = out.get(r["table"], (0, 0))
        out[r["table"]] = (embedded + r["embedded"],
                           encoded + (r["encoded"] if r.get("encoded") is not None else r["embedded"]))
    return out


def lowest_cosine(a: Path, b: Path, table: str) -> float:
    import lancedb

    key = KEYS[table]

    def vectors(folder: Path) -> dict[str, np.ndarray]:
        t = lancedb.connect(str(folder)).open_table(table).to_arrow().select([key, "vector"])
        return dict(zip(t.column(key).to_pylist(), np.asarray(t.column("vector").to_pylist(), dtype=np.float64)))

    va, vb = vectors(a), vectors(b)
    if va.keys() != vb.keys() or not va:
        return float("nan")
    return min(float(va[k] @ vb[k] / np.linalg.norm(va[k]) / np.linalg.norm(vb[k])) for k in va)


def differing_tables(a: Path, b: Path, places: int) -> tuple[int, list[str]]:
    """How many tables both DuckDB files hold, and those whose rows differ, with the columns that do.

    Time stamps and fingerprints (hashes of the inputs, vectors included) are left out; doubles are
    rounded to ``places``.
    """
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    tables = [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = 'a' and schema_name = 'main' "
        "intersect select table_name from duckdb_tables() where database_name = 'b' and schema_name = 'main' "
        "order by 1").fetchall()]

    def differs(t: str, select: str) -> int:
        return con.execute(f"select count(*) from ((select {select} from a.main.\"{t}\" except all "
                           f"select {select} from b.main.\"{t}\") union all (select {select} from b.main.\"{t}\" "
                           f"except all select {select} from a.main.\"{t}\"))").fetchone()[0]

    differ = []
    for t in tables:
        cols = con.execute("select column_name, data_type from duckdb_columns() where database_name = 'a' "
                           "and schema_name = 'main' and table_name = ?", [t]).fetchall()
        keep = {}
        for name, kind in cols:
            if "TIMESTAMP" in kind or kind == "DATE" or name.endswith("_at") or "fingerprint" in name:
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            if kind in ("DOUBLE", "FLOAT"):
                keep[name] = f"round({quoted}, {places})"
            elif kind.startswith("FLOAT[") or kind.startswith("DOUBLE["):
                keep[name] = f"list_transform({quoted}, x -> round(x, {places}))"
            else:
                keep[name] = quoted
        if not keep:
            continue
        n = differs(t, ", ".join(keep.values()))
        if n:
            columns = [c for c, expr in keep.items() if differs(t, expr)]
            differ.append(f"{t}: {n} rows ({', '.join(columns) or 'the combination'})")
    return len(tables), differ


#: What the build decides, compared row for row between the two builds.
DECISIONS = {
    "near-duplicate pairs accepted": "select asset_id_a, asset_id_b from {db}.main.fct_asset_near_duplicates",
    "cluster of each asset (its canonical asset)":
        "select asset_id, canonical_asset_id from {db}.main.dim_asset_clusters",
    "lookalike decisions": "select asset_id, reference_id, decision from {db}.main.fct_compliance_lookalikes",
    "brief matches (brief, rank, asset)": "select brief_id, rank, asset_id from {db}.main.fct_brief_asset_matches",
    "thresholds (3 places)": "select task, round(threshold, 3), round(review_threshold, 3) from "
                             "{db}.main.dim_similarity_thresholds",
    "review queue items": "select review_id from {db}.main.fct_review_queue",
}


def decisions_compared(a: Path, b: Path) -> list[tuple[str, int, int]]:
    """(what, rows in ``a``, rows in one build and not the other) for each of :data:`DECISIONS`."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    out = []
    for what, sql in DECISIONS.items():
        qa, qb = sql.format(db="a"), sql.format(db="b")
        n = con.execute(f"select count(*) from {qa.split(' from ')[1]}").fetchone()[0]
        diff = con.execute(f"select count(*) from (({qa} except all {qb}) union all ({qb} except all {qa}))"
                           ).fetchone()[0]
        out.append((what, n, diff))
    return out


def demo(n_assets: int, train: bool) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("off", "on"):
            project = Path(tmp) / mode
            copy_example(project, seed=42, n_assets=n_assets, package=ROOT)
            subprocess.run([sys.executable, "-m", "dbt.cli.main", "deps", "--project-dir", str(project)], check=True,
                           capture_output=True, env=dict(os.environ, DBT_PROFILES_DIR=str(project)))
            os.environ[text_cache.ENV_SWITCH] = mode
            wall, peak, *_ = build(project, train)
            results[mode] = (wall, peak, sync_counts(project / "data" / "lance"))
        os.environ.pop(text_cache.ENV_SWITCH)
        off, on = results["off"], results["on"]
        print(f"The demo, {n_assets:,} assets, dbt build{' with fine-tuning' if train else ''} on {os.cpu_count()} "
              "cores, text cache off and on")
        print(f"{'table':<24} {'rows embedded':>14} {'encoded, off':>13} {'encoded, on':>12} {'lowest cosine':>14}")
        for table in sorted(off[2]):
            cosine = lowest_cosine(Path(tmp) / "off" / "data" / "lance", Path(tmp) / "on" / "data" / "lance", table)
            print(f"{table:<24} {off[2][table][0]:>14,} {off[2][table][1]:>13,} {on[2].get(table, (0, 0))[1]:>12,} "
                  f"{cosine:>14.7f}")
        total_off = sum(v[1] for v in off[2].values())
        total_on = sum(v[1] for v in on[2].values())
        print(f"{'all':<24} {sum(v[0] for v in off[2].values()):>14,} {total_off:>13,} {total_on:>12,}")
        print(f"texts encoded: {total_on:,} instead of {total_off:,}, {1 - total_on / total_off:.1%} fewer")
        print(f"build: {off[0]:.1f} s off, {on[0]:.1f} s on ({on[0] / off[0]:.3f}x); "
              f"peak {off[1]:,.0f} MiB off, {on[1]:,.0f} MiB on")
        print("What the build decides, off against on:")
        for what, n, diff in decisions_compared(Path(tmp) / "off" / "data" / "semantic_assets.duckdb",
                                                Path(tmp) / "on" / "data" / "semantic_assets.duckdb"):
            print(f"  {what:<46} {n:>7,} rows, {diff:>6,} differ")
        for places in (9, 4):
            n, differ = differing_tables(Path(tmp) / "off" / "data" / "semantic_assets.duckdb",
                                         Path(tmp) / "on" / "data" / "semantic_assets.duckdb", places)
            print(f"DuckDB tables compared: {n}, doubles to {places} places; differing: {len(differ) or 'none'}")
            for line in differ:
                print(f"  {line}")


def transcripts(path: Path) -> None:
    import duckdb
    import pyarrow as pa

    from semantic.config import default_model_dir
    from semantic.encoding.encoder import load_encoder
    from semantic.vectors.store import VectorStore

    with open(path, newline="", encoding="utf-8") as fh:
        records = [r for r in csv.DictReader(fh) if r["text"].strip()]
    assets = pa.table({"asset_id": [r["id"] for r in records], "text": [r["text"] for r in records]})
    con = duckdb.connect()
    con.register("assets", assets)
    sentences = con.sql(
        "with s as (select asset_id, regexp_split_to_array(text, '[.!?]+\\s+') as parts from assets), "
        "u as (select asset_id, unnest(parts) as text, unnest(generate_series(1, len(parts))) as position, "
        "len(parts) as n from s) select asset_id || '#' || position as sentence_id, trim(text) as text, "
        "md5(trim(text)) as content_hash from u where n > 1 and length(trim(text)) >= 12").to_arrow_table()
    assets = con.sql("select *, md5(text) as content_hash from assets").to_arrow_table()
    encoder = load_encoder(default_model_dir())
    encoder.encode(["warm up the backend"] * 300)
    print(f"\nad_transcripts: {len(assets):,} transcripts and {len(sentences):,} sentence units, packaged encoder "
          f"({encoder.backend_name})")
    seconds, counts = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("off", "on"):
            os.environ[text_cache.ENV_SWITCH] = mode
            store = VectorStore(Path(tmp) / mode)
            started = time.perf_counter()
            a = store.sync("assets", assets, encoder, id_column="asset_id")
            s = store.sync("asset_sentences", sentences, encoder, id_column="sentence_id")
            seconds[mode] = time.perf_counter() - started
            counts[mode] = (a.embedded + s.embedded, a.encoded + s.encoded)
            cosine = lowest_cosine(Path(tmp) / "off", Path(tmp) / "on", "asset_sentences") if mode == "on" else None
        os.environ.pop(text_cache.ENV_SWITCH)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"rows embedded {counts['off'][0]:,}; texts encoded {counts['off'][1]:,} off, {counts['on'][1]:,} on "
          f"({1 - counts['on'][1] / counts['off'][1]:.1%} fewer); {seconds['off']:.1f} s off, {seconds['on']:.1f} s "
          f"on ({seconds['on'] / seconds['off']:.3f}x); lowest sentence cosine {cosine:.7f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-assets", type=int, default=3000)
    parser.add_argument("--train", action="store_true", help="fine-tune in both builds (slow)")
    data = Path(os.environ.get("SEMANTIC_EVAL_DATA", ROOT.parent / "shared" / "data"))
    parser.add_argument("--transcripts", type=Path, default=data / "corpus" / "ad_transcripts" / "records.csv")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    if not args.skip_demo:
        demo(args.n_assets, args.train)
    if args.transcripts.is_file():
        transcripts(args.transcripts)
    else:
        print(f"\nad_transcripts: {args.transcripts} not found (set SEMANTIC_EVAL_DATA); skipped")


if __name__ == "__main__":
    main()
