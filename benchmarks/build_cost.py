"""`dbt build` cost at N assets: a full build, a no-change rebuild and a 1 %-changed rebuild, same run.

Usage: nice .venv/bin/python benchmarks/build_cost.py [--n-assets 10000] [--train]

Lays out the example project (installing this checkout as a package) in a temp folder, generates the demo seeds at
``--n-assets`` (seed 42; briefs, references and labels scale with it) and runs `dbt build` there,
each in a fresh process as a user would:

1. full: everything embedded (assets, their sentences, briefs, references), calibrated, clustered,
   checked; encoder fine-tuning is off unless ``--train`` (it has its own benchmark, train_cost.py);
2. no change: the same seeds again, ``--no-change-runs`` times (default 3; a run of a few seconds
   is at the mercy of anything else on the cores, so each is printed and the median gives the
   ratio); the dbt log must show no encoder load (no "using the … backend" line) and nothing
   embedded;
3. 1 % changed: that many asset texts edited.

Prints wall time, the ratio to the full build, peak memory of the dbt process (resident memory
sampled every 0.2 s; dbt runs Python models in-process), whether the encoder was loaded, and per run
the slowest dbt nodes with the peak memory while each ran (from target/run_results.json).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from semantic.warehouse.scaffold import copy_example

ROOT = Path(__file__).resolve().parent.parent


def node_timings(project: Path) -> list[tuple[str, float]]:
    """(node, seconds) from dbt's run_results.json, slowest first."""
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return sorted(((r["unique_id"].split(".", 2)[-1], float(r["execution_time"])) for r in results),
                  key=lambda item: -item[1])


def sample_rss(pid: int, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    """Resident memory of the dbt process every 0.2 s (dbt runs the Python models in-process)."""
    status = Path(f"/proc/{pid}/status")
    while not stop.wait(0.2):
        try:
            kib = int(re.search(r"VmRSS:\s+(\d+)", status.read_text()).group(1))
        except (OSError, AttributeError):
            return
        samples.append((time.time(), kib))


def stage_peaks(project: Path, samples: list[tuple[float, int]]) -> dict[str, float]:
    """Peak RSS (MiB) of the dbt process while each node ran, from run_results.json timing."""
    peaks = {}
    for r in json.loads((project / "target" / "run_results.json").read_text())["results"]:
        spans = [t for t in r.get("timing", []) if t.get("name") == "execute" and t.get("started_at")]
        if not spans:
            continue
        start = datetime.fromisoformat(spans[0]["started_at"].replace("Z", "+00:00")).timestamp()
        end = datetime.fromisoformat(spans[0]["completed_at"].replace("Z", "+00:00")).timestamp()
        inside = [kib for t, kib in samples if start - 0.2 <= t <= end + 0.2]
        if inside:
            peaks[r["unique_id"].split(".", 2)[-1]] = max(inside) / 1024
    return peaks


def build(project: Path, train: bool) -> tuple[float, float, str, list[tuple[str, float]], dict[str, float]]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", DBT_PROFILES_DIR=str(project), SEMANTIC_HOME=str(project),
               SEMANTIC_DB=str(project / "data" / "semantic_assets.duckdb"),
               SEMANTIC_LANCE_DIR=str(project / "data" / "lance"), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    env.pop("SEMANTIC_MODEL_DIR", None)
    # one export and gate of the encoder for every run, as in the project (data/encoder_cache)
    env.setdefault("SEMANTIC_ENCODER_CACHE", str(ROOT / "data" / "encoder_cache"))
    args = [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(project)]
    if not train:
        args += ["--vars", "{semantic_train: false}"]
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        sampler = threading.Thread(target=sample_rss, args=(proc.pid, samples, stop), daemon=True)
        sampler.start()
        returncode = proc.wait()
        wall = time.perf_counter() - started
        stop.set()
        sampler.join()
        out.seek(0)
        log = out.read()
    if returncode != 0:
        raise SystemExit(f"dbt build failed:\n{log[-4000:]}")
    peak = max((kib for _, kib in samples), default=0) / 1024
    return wall, peak, log, node_timings(project), stage_peaks(project, samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-assets", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--top", type=int, default=8, help="slowest dbt nodes listed per run")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temp folder)")
    parser.add_argument("--no-change-runs", type=int, default=3,
                        help="no-change rebuilds in a row (a few seconds each, so noisier than the full build); "
                             "each is printed, and their median")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = args.keep or Path(tmp)
        project.mkdir(parents=True, exist_ok=True)
        # the demo's example project, installing this checkout as a package
        copy_example(project, seed=42, n_assets=args.n_assets, package=ROOT)
        subprocess.run([sys.executable, "-m", "dbt.cli.main", "deps", "--project-dir", str(project)], check=True,
                       capture_output=True, env=dict(os.environ, DBT_PROFILES_DIR=str(project)))
        results = []
        results.append(("full build", *build(project, args.train)))
        for run in range(1, max(1, args.no_change_runs) + 1):
            results.append((f"no change #{run}", *build(project, args.train)))
        path = project / "seeds" / "demo_assets.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        n = max(1, int(len(rows) * args.changed))
        for row in rows[:: max(1, len(rows) // n)][:n]:
            row["text"] = row["text"] + " Now with free delivery."
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        results.append((f"{n} assets changed", *build(project, args.train)))
    full = results[0][1]
    print(f"{args.n_assets:,} demo assets, dbt build on {os.cpu_count()} cores")
    print(f"{'run':<22} {'wall s':>8} {'x full':>7} {'peak MiB':>9}  encoder loaded  embedded")
    no_change = [r[1] for r in results if r[0].startswith("no change #")]
    for i, (name, wall, peak, log, _, _) in enumerate(results):
        loaded = "yes" if re.search(r"encoder \S+: using the \S+ backend", log) else "no"
        embedded = sum(int(m) for m in re.findall(r"embedding (\d+) of \d+ rows", log))
        print(f"{name:<22} {wall:>8.1f} {wall / full:>7.3f} {peak:>9,.0f}  {loaded:<14}  {embedded:,}")
        if i == len(no_change):  # the last no-change run
            median = statistics.median(no_change)
            print(f"{'no change, median':<22} {median:>8.1f} {median / full:>7.3f}")
    print("(peak: resident memory of the dbt process, sampled every 0.2 s; dbt runs the Python models in it)")
    for name, _, _, _, timings, peaks in results:
        print(f"\n{name}: slowest nodes (s, peak MiB while it ran)")
        for node, seconds in timings[: args.top]:
            print(f"  {node:<62} {seconds:>7.1f} {peaks.get(node, float('nan')):>8,.0f}")


if __name__ == "__main__":
    main()
