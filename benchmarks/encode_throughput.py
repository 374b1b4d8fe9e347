"""Encoding throughput and peak memory: sentence-transformers fp32 against our encoder's backends.

Usage: nice -n 5 .venv/bin/python benchmarks/encode_throughput.py [--sets ads,headlines,transcripts]
       [--n-texts 2000] [--rounds 3] [--paths st_one_call,st_per_batch,fp32,bf16,openvino] [--profile]
       nice -n 5 .venv/bin/python benchmarks/encode_throughput.py --demo-floor 100000

Every path runs in its own subprocess (so peak RSS is that path's own), loads once, then embeds
the same texts once per round; the paths run interleaved, in an order rotated each round, so load
on a shared machine hits them alike. Paths:

* ``st_one_call``  sentence-transformers fp32, one ``encode()`` over all texts (it sorts by length);
  the baseline every ratio is taken against, within the same round;
* ``st_per_batch`` sentence-transformers fp32, one ``encode()`` per consecutive 64 texts (what a
  naive UDF or per-record-batch Python model does);
* ``fp32``, ``bf16``, ``openvino``: :meth:`semantic.encoding.encoder.Encoder.encode` with that backend forced
  (global length sorting; exports and gate results come from the encoder cache, as in production).

Sets: ``ads`` demo ad copy of every asset type (:func:`semantic.demo.generate`), ``headlines`` the
demo's short assets (headlines, subjects, calls to action), ``transcripts`` real radio/TV ad
transcripts from ``$SEMANTIC_EVAL_DATA/corpus/ad_transcripts`` (skipped when absent). Columns:
wall texts/s (median over rounds) and its ratio to ``st_one_call`` (median of per-round ratios);
texts per CPU second times the cores and its ratio (CPU time, user + system over all threads, is
moved much less than wall time by other jobs on the machine); peak RSS; load time (including a
first export and quality gate, if the cache lacked them); and quality against ``st_one_call``: the
smallest cosine and the share of each text's top-10 neighbours (among the set) that fp32 also has.

**The hardware limit.** In the same run (before the paths load, so nothing else competes), the
cores' bf16 matrix-multiply throughput is measured with torch on the three GEMM shapes a MiniLM
layer is made of (384→384 for the query, key, value and output projections, 384→1536 and
1536→384 for the feed-forward), 4,096 token rows at a time, on all cores. It is converted to texts
per second for the set's own token lengths (each text's real tokens, no padding): a text of T
tokens costs ``layers x (2 T (4 h^2 + 2 h f) + 4 T^2 h)`` FLOPs (the linear layers and the
attention products; h = 384, f = 1,536, 6 layers), all counted at the best GEMM rate measured.
That is what the matrix units could do if every cycle went to the model's multiplies; softmax,
layer norms, GELU, padding and batching overhead are the encoder's to hide. ``share of limit``
is a path's texts/s over that figure.

``--profile`` then shows where the OpenVINO path's time goes on each set: one single-threaded stream on a batch
of 16 texts of the set's median length, OpenVINO's per-node times summed by node type, and the rate of its
matrix-multiply nodes against the per-core share of the torch GEMM rate. ``--demo-floor N`` prints instead the
least time a demo build of N assets can spend encoding: its distinct texts, each at the measured limit.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from semantic.encoding.backends import available_cores, cpu_bf16_flags

PATHS = ("st_one_call", "st_per_batch", "fp32", "bf16", "openvino")
SETS = ("ads", "headlines", "transcripts")
BATCH = 64


def make_texts(name: str, n: int) -> list[str] | None:
    """The texts of one set, or None when the set's data is absent."""
    from semantic.demo import generate

    if name == "transcripts":
        root = Path(os.environ.get("SEMANTIC_EVAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
        path = root / "corpus" / "ad_transcripts" / "records.csv"
        if not path.is_file():
            return None
        with open(path, newline="", encoding="utf-8") as fh:
            return [r["text"] for r in csv.DictReader(fh)][:n]
    short = {"headline", "email_subject", "cta"}
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), seed=1, n_assets=max(120, n if name == "ads" else 4 * n))
        with open(Path(tmp) / "demo_assets.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows if name == "ads" or r["asset_type"] in short]
    return texts[:n]


def gemm_rate(seconds: float = 2.0, rows: int = 4096, hidden: int = 384, ffn: int = 1536) -> dict[str, float]:
    """bf16 matrix-multiply throughput (FLOP/s) of torch on all cores, per MiniLM GEMM shape, and the best."""
    import torch

    torch.set_num_threads(available_cores())
    rates: dict[str, float] = {}
    for name, (k, n) in {"384x384": (hidden, hidden), "384x1536": (hidden, ffn), "1536x384": (ffn, hidden)}.items():
        a = torch.randn(rows, k).to(torch.bfloat16)
        b = torch.randn(k, n).to(torch.bfloat16)
        for _ in range(5):
            torch.matmul(a, b)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            torch.matmul(a, b)
            reps += 1
        rates[name] = 2.0 * rows * k * n * reps / (time.perf_counter() - start)
    rates["best"] = max(rates.values())
    return rates


def token_lengths(texts: list[str]) -> np.ndarray:
    """Each text's token count as the encoder sees it (special tokens included, truncated at its limit)."""
    from semantic.config import default_model_dir
    from semantic.encoding.encoder import Encoder

    ids, _, _ = Encoder(default_model_dir(), backend="fp32").tokenizer.encode(texts)
    return np.array([len(row) for row in ids], dtype=np.float64)


def limit_texts_per_s(lengths: np.ndarray, flops_per_s: float, layers: int = 6, hidden: int = 384,
                      ffn: int = 1536) -> float:
    """Texts per second the matrix units allow for these token lengths at ``flops_per_s`` (no padding)."""
    per_text = layers * (2 * lengths * (4 * hidden**2 + 2 * hidden * ffn) + 4 * lengths**2 * hidden)
    return float(len(lengths) * flops_per_s / per_text.sum())


def worker(path: str, texts_file: Path, vectors_file: Path) -> None:
    """Load one path, then embed all texts once per ``run`` line on stdin; answer with a JSON line each.

    The JSON line holds wall seconds, CPU seconds (user + system, all threads) and peak RSS;
    the vectors of the last run are saved on ``quit``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = json.loads(texts_file.read_text())
    start = time.perf_counter()
    if path.startswith("st_"):
        import torch
        from sentence_transformers import SentenceTransformer

        from semantic.config import default_model_dir
        from semantic.encoding.backends import available_cores

        torch.set_num_threads(available_cores())  # the same threads as our backends get
        model = SentenceTransformer(str(default_model_dir()), device="cpu", local_files_only=True)
        model.encode(["warm-up"], normalize_embeddings=True)
        backend = "torch fp32"

        def encode() -> np.ndarray:
            if path == "st_one_call":
                return model.encode(texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False)
            return np.vstack([
                model.encode(texts[i : i + BATCH], batch_size=BATCH, normalize_embeddings=True,
                             show_progress_bar=False)
                for i in range(0, len(texts), BATCH)
            ])
    else:
        from semantic.config import default_model_dir
        from semantic.encoding.encoder import Encoder

        encoder = Encoder(default_model_dir(), batch_size=BATCH, backend=path)
        encoder.encode(["warm-up"])
        backend = encoder.backend_name

        def encode() -> np.ndarray:
            return encoder.encode(texts)

    load = time.perf_counter() - start
    print(json.dumps({"ready": True, "load": load, "backend": backend}), flush=True)
    vectors = None
    for line in sys.stdin:
        if line.strip() != "run":
            break
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        vectors = encode()
        took, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        rss_mb = after.ru_maxrss / 1024
        print(json.dumps({"seconds": took, "cpu": cpu, "rss_mb": rss_mb}), flush=True)
    if vectors is not None:
        np.save(vectors_file, np.asarray(vectors, dtype=np.float32))


def neighbour_recall(fast: np.ndarray, ref: np.ndarray, k: int = 10) -> float:
    """Share of each text's top-k neighbours under ``ref`` that ``fast`` also returns."""

    def top(v: np.ndarray) -> np.ndarray:
        scores = v @ v.T
        np.fill_diagonal(scores, -np.inf)
        return np.argpartition(-scores, k, axis=1)[:, :k]

    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(top(fast).tolist(), top(ref).tolist())]))


def run_set(name: str, texts: list[str], paths: list[str], rounds: int, tmp: Path, limit_rate: float) -> None:
    texts_file = tmp / f"{name}.json"
    texts_file.write_text(json.dumps(texts))
    workers: dict[str, subprocess.Popen[str]] = {}
    info: dict[str, dict[str, object]] = {}
    results: dict[str, list[dict[str, float]]] = {p: [] for p in paths}
    for path in paths:  # loaded one after another, so load times are not contended by each other
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", path, "--texts-file", str(texts_file),
             "--vectors", str(tmp / f"{name}-{path}.npy")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            sys.exit(f"{path} failed to start (see its stderr above)")
        workers[path], info[path] = proc, json.loads(line)
    for r in range(rounds):
        for path in paths[r % len(paths):] + paths[: r % len(paths)]:  # rotate who goes first
            proc = workers[path]
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("run\n")
            proc.stdin.flush()
            row = json.loads(proc.stdout.readline())
            results[path].append(row)
            print(f"  {name} round {r + 1} {path:<13} {len(texts) / row['seconds']:7.1f} texts/s, "
                  f"{row['cpu']:.1f} CPU s", file=sys.stderr, flush=True)
    vectors = {}
    for path, proc in workers.items():
        proc.communicate("quit\n", timeout=300)
        vectors[path] = np.load(tmp / f"{name}-{path}.npy")
    cores = available_cores()
    ref = vectors.get("st_one_call")
    mean_chars = sum(len(t) for t in texts) / len(texts)
    lengths = token_lengths(texts)
    limit = limit_texts_per_s(lengths, limit_rate)
    print(f"\n### {name}: {len(texts)} texts, {mean_chars:.0f} characters and {lengths.mean():.1f} tokens on average, "
          f"{rounds} rounds; bf16 matrix-multiply limit {limit:.0f} texts/s\n")
    print("| path | backend | texts/s (median) | × st_one_call (median of rounds) | share of limit | "
          "texts per CPU s × cores | × st_one_call (CPU) | peak RSS MB | load s | min cosine | top-10 overlap |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in paths:
        rows = results[path]
        rate = statistics.median(len(texts) / x["seconds"] for x in rows)
        cpu_rate = statistics.median(len(texts) * cores / x["cpu"] for x in rows)
        if ref is not None:
            base = results["st_one_call"]
            ratio = f"{statistics.median(b['seconds'] / x['seconds'] for x, b in zip(rows, base)):.2f}"
            cpu_ratio = f"{statistics.median(b['cpu'] for b in base) / statistics.median(x['cpu'] for x in rows):.2f}"
            v = vectors[path]
            cos = f"{float(np.min(np.sum(v * ref, axis=1))):.5f}"
            overlap = f"{neighbour_recall(v, ref):.4f}"
        else:
            ratio = cpu_ratio = cos = overlap = "–"
        print(f"| {path} | {info[path]['backend']} | {rate:.1f} | {ratio} | {rate / limit:.3f} | {cpu_rate:.1f} | "
              f"{cpu_ratio} | "
              f"{max(x['rss_mb'] for x in rows):.0f} | {float(info[path]['load']):.1f} | {cos} | {overlap} |")


def openvino_profile(name: str, texts: list[str], limit_rate: float, batch: int = 16, runs: int = 20) -> None:
    """Where the OpenVINO path's time goes: one single-threaded stream (as each of the backend's streams runs) on a
    batch of ``batch`` texts of the set's median length, its per-node times summed by node type, and the
    matrix-multiply nodes' rate against the per-core share of ``limit_rate`` (the best torch GEMM rate, all cores)."""
    import collections

    from semantic.config import default_model_dir
    from semantic.encoding.backends import export_openvino, import_openvino
    from semantic.encoding.encoder import Encoder

    encoder = Encoder(default_model_dir(), backend="fp32")
    compiled = import_openvino().Core().compile_model(
        str(export_openvino(encoder._context()) / "model.xml"), "CPU",
        {"INFERENCE_PRECISION_HINT": "bf16" if cpu_bf16_flags() else "f32", "PERFORMANCE_HINT": "LATENCY",
         "NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": 1, "PERF_COUNT": True})
    ids, types, _ = encoder.tokenizer.encode(texts)
    order = np.argsort([len(row) for row in ids], kind="stable")
    middle = order[max(0, len(order) // 2 - batch // 2):][:batch]
    features = encoder.tokenizer.pad([ids[i] for i in middle], [types[i] for i in middle])
    names = [i.get_any_name() for i in compiled.inputs]
    request = compiled.create_infer_request()
    for _ in range(3):
        request.infer({k: features[k] for k in names})
    by_type: collections.Counter[str] = collections.Counter()
    start = time.perf_counter()
    for _ in range(runs):
        request.infer({k: features[k] for k in names})
        for node in request.profiling_info:
            by_type[f"{node.node_type} ({node.exec_type})"] += node.real_time.total_seconds() / runs
    wall = (time.perf_counter() - start) / runs
    rows, tokens = features["input_ids"].shape
    linear_flops = 6 * 2 * rows * tokens * (4 * 384**2 + 2 * 384 * 1536)
    total = sum(by_type.values())
    print(f"\n### {name}: where the OpenVINO path's time goes (one stream on one core, {rows} texts of {tokens} tokens,"
          f" {runs} runs; {wall * 1e3:.1f} ms a batch)\n")
    print("| node type (kernel) | ms a batch | share |\n|---|---:|---:|")
    for node_type, seconds in by_type.most_common(10):
        print(f"| {node_type} | {seconds * 1e3:.2f} | {seconds / total:.3f} |")
    matmul = sum(v for k, v in by_type.items() if k.startswith("FullyConnected"))
    per_core = limit_rate / available_cores()
    print(f"\nmatrix-multiply nodes: {linear_flops / matmul / 1e9:.0f} GFLOP/s on one core, "
          f"{linear_flops / matmul / per_core:.2f} of the torch GEMM rate per core ({per_core / 1e9:.0f} GFLOP/s)")


def demo_floor(n_assets: int, limit_rate: float) -> None:
    """The least time a demo build of ``n_assets`` can spend encoding on these cores: each distinct text it
    encodes (through the text cache: assets, their sentence units, briefs and compliance claims, each text once),
    every multiply at ``limit_rate`` and nothing else costing anything."""
    import re

    from semantic.config import default_model_dir
    from semantic.demo import generate
    from semantic.encoding.encoder import Encoder

    def column(path: Path, name: str) -> list[str]:
        with open(path, newline="", encoding="utf-8") as fh:
            return [r[name] for r in csv.DictReader(fh) if r[name]]

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), seed=1, n_assets=n_assets)
        assets = column(Path(tmp) / "demo_assets.csv", "text")
        kinds = {"assets": assets, "briefs": column(Path(tmp) / "demo_briefs.csv", "text"),
                 "compliance claims": column(Path(tmp) / "demo_compliance_references.csv", "claim_text")}
    parts = [[p.strip() for p in re.split(r"[.!?]+\s+", text)] for text in assets]  # stg_semantic__asset_sentences
    kinds["sentence units"] = [p for split in parts if len(split) > 1 for p in split if p]
    tokenizer = Encoder(default_model_dir(), backend="fp32").tokenizer
    print(f"\n### the encoding floor of a demo build of {n_assets:,} assets ({limit_rate / 1e9:.0f} GFLOP/s)\n")
    print("| texts | rows | distinct | tokens (mean) | seconds at the limit |\n|---|---:|---:|---:|---:|")
    seen: set[str] = set()
    total = 0.0
    for kind, texts in kinds.items():
        new = [t for t in dict.fromkeys(texts) if t not in seen]  # the cache encodes a text once, whatever its kind
        seen.update(new)
        ids, _, _ = tokenizer.encode(new) if new else ([], None, 0)
        lengths = np.array([len(row) for row in ids], dtype=np.float64)
        seconds = len(new) / limit_texts_per_s(lengths, limit_rate) if len(new) else 0.0
        total += seconds
        print(f"| {kind} | {len(texts):,} | {len(new):,} | {lengths.mean() if len(new) else 0:.1f} | {seconds:.1f} |")
    print(f"| **all** | {sum(len(t) for t in kinds.values()):,} | {len(seen):,} | | **{total:.1f}** |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="ads,headlines,transcripts")
    parser.add_argument("--n-texts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--demo-floor", type=int, metavar="N_ASSETS",
                        help="only print the least time a demo build of N_ASSETS can spend encoding (at the limit)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the OpenVINO path by node type on each set (where its time goes)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.texts_file, args.vectors)
        return
    paths = [p for p in args.paths.split(",") if p]
    unknown = sorted(set(paths) - set(PATHS)) + sorted(set(args.sets.split(",")) - set(SETS))
    if unknown:
        sys.exit(f"unknown path or set {unknown}; paths: {', '.join(PATHS)}; sets: {', '.join(SETS)}")
    print(f"{available_cores()} cores, bf16 CPU flags: {', '.join(cpu_bf16_flags()) or 'none'}, batch size {BATCH}")
    rates = gemm_rate()
    print("bf16 matrix multiply (torch, 4,096 rows, all cores): "
          + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in rates.items()))
    if args.demo_floor:
        demo_floor(args.demo_floor, rates["best"])
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            texts = make_texts(name, args.n_texts)
            if texts is None:
                print(f"\n### {name}: skipped (no ad_transcripts under $SEMANTIC_EVAL_DATA or ../shared/data)")
                continue
            run_set(name, texts, paths, args.rounds, Path(tmp), rates["best"])
            if args.profile:
                openvino_profile(name, texts, rates["best"])


if __name__ == "__main__":
    main()
