"""`dbt build` cost at N assets: a full build, a no-change rebuild and a 1 %-changed rebuild, same run.

Usage: nice .venv/bin/python benchmarks/build_cost.py [--n-assets 10000] [--train]

Lays out the example project (installing this checkout as a package) in a temp folder, generates the demo seeds at
``--n-assets`` (seed 42; briefs, references and labels scale with it) and runs `dbt build` there,
each in a fresh process as a user would:

1. full: everything embedded (assets, their sentences, briefs, references), calibrated, clustered,
   checked; encoder and pair-reranker training are off unless ``--train`` (train_cost.py measures training);
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
    """(node, seconds) from dbt's run_results.json, slowest first: a model by its name, anything else as
    ``type:name`` (``test:not_null_…``, ``seed:demo_assets``)."""
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return sorted(((node_name(r["unique_id"]), float(r["execution_time"])) for r in results), key=lambda item: -item[1])


def node_name(unique_id: str) -> str:
    kind, _, rest = unique_id.split(".", 2)
    return rest if kind == "model" else f"{kind}:{rest}"


def sample_rss(pid: int, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    """Resident memory of the dbt process every 0.2 s (dbt runs the Python models in-process)."""
    status = Path(f"/proc/{pid}/status")
    while not stop.wait(0.2):
        try:
            kib = int(re.search(r"VmRSS:\s+(\d+)", status.read_text()).group(1))  # type: ignore[union-attr]
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
            peaks[node_name(r["unique_id"])] = max(inside) / 1024
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
        # neither the encoder nor the pair, brief or lookalike reranker (past 1,000 labelled pairs of a task, from
        # about 10,000 demo assets, the build would train them: minutes that train_cost.py measures, not the build;
        # the brief reranker alone ran past 16 minutes at 100,000 assets before it was switched off here)
        args += ["--vars", "{semantic_train: false, semantic_train_reranker: false, "
                           "semantic_train_brief_reranker: false, semantic_train_lookalike_reranker: false}"]
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


Run = tuple[str, float, float, str, list[tuple[str, float]], dict[str, float]]


def measure(n_assets: int, train: bool, changed: float, no_change_runs: int, keep: Path | None) -> list[Run]:
    """A full build, ``no_change_runs`` no-change rebuilds and a ``changed``-share rebuild at ``n_assets``."""
    with tempfile.TemporaryDirectory() as tmp:
        project = keep or Path(tmp)
        project.mkdir(parents=True, exist_ok=True)
        # the demo's example project, installing this checkout as a package
        copy_example(project, seed=42, n_assets=n_assets, package=ROOT)
        subprocess.run([sys.executable, "-m", "dbt.cli.main", "deps", "--project-dir", str(project)], check=True,
                       capture_output=True, env=dict(os.environ, DBT_PROFILES_DIR=str(project)))
        results: list[Run] = [("full build", *build(project, train))]
        for run in range(1, max(1, no_change_runs) + 1):
            results.append((f"no change #{run}", *build(project, train)))
        path = project / "seeds" / "demo_assets.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        n = max(1, int(len(rows) * changed))
        for row in rows[:: max(1, len(rows) // n)][:n]:
            row["text"] = row["text"] + " Now with free delivery."
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        results.append((f"{n} assets changed", *build(project, train)))
    return results


def print_size(n_assets: int, results: list[Run], top: int) -> None:
    full = results[0][1]
    print(f"{n_assets:,} demo assets, dbt build on {os.cpu_count()} cores")
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
    for name, _, peak, _, _, peaks in results:
        if peaks:  # where the build reached its peak: what to look at to lower it
            node = max(peaks, key=lambda n: peaks[n])
            print(f"{name}: peak {peak:,.0f} MiB reached while {node} ran")
    for name, _, _, _, timings, peaks in results:
        print(f"\n{name}: slowest nodes (s, peak MiB while it ran)")
        for node, seconds in timings[:top]:
            print(f"  {node:<62} {seconds:>7.1f} {peaks.get(node, float('nan')):>8,.0f}")


def stages(wall: float, timings: list[tuple[str, float]]) -> dict[str, float]:
    """A build's wall time by stage: each model, the data tests and seeds summed, and dbt itself (start-up,
    parsing, connection: the wall time no node accounts for)."""
    out: dict[str, float] = {}
    for node, seconds in timings:
        key = {"test": "data tests", "seed": "seeds"}.get(node.split(":", 1)[0], node) if ":" in node else node
        out[key] = out.get(key, 0.0) + seconds
    out["dbt start-up, parsing, connection"] = max(0.0, wall - sum(s for _, s in timings))
    return out


def fit_power(sizes: list[int], values: list[float]) -> tuple[float, float]:
    """Least-squares fit of ``value = a * n ** b`` on log-log axes; returns (a, b)."""
    import numpy as np

    x, y = np.log(np.asarray(sizes, float)), np.log(np.maximum(np.asarray(values, float), 1e-3))
    b, log_a = np.polyfit(x, y, 1)
    return float(np.exp(log_a)), float(b)


def curve(per_size: dict[int, list[Run]], predict: int) -> dict[str, object]:
    """Full, no-change and changed time and peak memory at each size, their growth exponents and the
    prediction at ``predict`` assets, plus each full-build stage's exponent."""
    sizes = sorted(per_size)
    series: dict[str, list[float]] = {"full build s": [], "no change s": [], "1 % changed s": [], "peak MiB": []}
    for n in sizes:
        runs = per_size[n]
        series["full build s"].append(runs[0][1])
        series["no change s"].append(statistics.median(r[1] for r in runs if r[0].startswith("no change #")))
        series["1 % changed s"].append(runs[-1][1])
        series["peak MiB"].append(max(r[2] for r in runs))
    fits = {name: growth(sizes, values, predict) for name, values in series.items()}
    by_stage = [stages(per_size[n][0][1], per_size[n][0][4]) for n in sizes]
    largest = by_stage[-1]
    total = sum(largest.values())
    stage_fits = {}
    for name in sorted(largest, key=lambda k: -largest[k]):
        if largest[name] < 0.02 * total:  # a stage under 2 % of the largest build is noise in the fit
            continue
        values = [s.get(name, 0.0) for s in by_stage]
        stage_fits[name] = {"seconds": values, **growth(sizes, values, predict)}
    return {"sizes": sizes, "series": series, "predict": predict, "fits": fits, "stages": stage_fits}


def growth(sizes: list[int], values: list[float], predict: int) -> dict[str, float]:
    """The exponent fitted over every size, the exponent between the two largest sizes, and the value at
    ``predict`` extrapolated from the largest size with the latter: a fixed cost (start-up, a model
    load) makes the early sizes grow slower than the late ones, so the local slope predicts better."""
    import math

    local = math.log(max(values[-1], 1e-3) / max(values[-2], 1e-3)) / math.log(sizes[-1] / sizes[-2])
    return {"exponent": fit_power(sizes, values)[1], "local_exponent": local,
            "predicted": values[-1] * (predict / sizes[-1]) ** local}


def print_curve(result: dict[str, object]) -> None:
    sizes: list[int] = result["sizes"]  # type: ignore[assignment]
    series: dict[str, list[float]] = result["series"]  # type: ignore[assignment]
    fits: dict[str, dict[str, float]] = result["fits"]  # type: ignore[assignment]
    predict: int = result["predict"]  # type: ignore[assignment]
    print(f"\ncost curve: dbt build on {os.cpu_count()} cores (fit: value = a * assets ** exponent, least squares "
          "on log-log axes)")
    header = "predicted " + format(predict, ",")
    print(f"{'':<16}" + "".join(f"{n:>12,}" for n in sizes) + f"{'exponent':>10}{'last step':>10}{header:>22}")
    for name, values in series.items():
        fit = fits[name]
        print(f"{name:<16}" + "".join(f"{v:>12,.1f}" for v in values) + f"{fit['exponent']:>10.2f}"
              f"{fit['local_exponent']:>10.2f}{fit['predicted']:>22,.0f}")
    print("(exponent: fitted over every size; last step: between the two largest, which the prediction uses)")
    print(f"\nfull build by stage (s; stages of 2 % or more of the {sizes[-1]:,}-asset build)")
    print(f"{'stage':<44}" + "".join(f"{n:>10,}" for n in sizes) + f"{'exponent':>10}{'last step':>10}"
          f"{'predicted':>11}")
    for name, stage in result["stages"].items():  # type: ignore[attr-defined]
        flag = "  <- grows faster than linear" if stage["local_exponent"] > 1.1 else ""
        print(f"{name[:44]:<44}" + "".join(f"{v:>10.1f}" for v in stage["seconds"]) + f"{stage['exponent']:>10.2f}"
              f"{stage['local_exponent']:>10.2f}{stage['predicted']:>11,.0f}{flag}")
    stage_sum = sum(stage["predicted"] for stage in result["stages"].values())  # type: ignore[attr-defined]
    print(f"the full build at {predict:,} predicted stage by stage (the stages above, each at its own growth): "
          f"{stage_sum:,.0f} s; from the total's growth: {fits['full build s']['predicted']:,.0f} s")


def plot(result: dict[str, object], path: Path) -> None:
    """The curve as an SVG: time (left) and peak memory (right panel) against assets, log-log axes, the
    measured points joined and the fit extended (dashed) to the predicted size."""
    import math

    sizes: list[int] = result["sizes"]  # type: ignore[assignment]
    series: dict[str, list[float]] = result["series"]  # type: ignore[assignment]
    fits: dict[str, dict[str, float]] = result["fits"]  # type: ignore[assignment]
    predict: int = result["predict"]  # type: ignore[assignment]
    colours = {"full build s": "#1f77b4", "1 % changed s": "#ff7f0e", "no change s": "#2ca02c", "peak MiB": "#9467bd"}
    width, height, pad_l, pad_r, pad_t, pad_b = 460, 360, 64, 36, 40, 100
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height}" '
           'font-family="sans-serif" font-size="11">', f'<rect width="{2 * width}" height="{height}" fill="white"/>']
    panels = [("dbt build wall time (s)", ["full build s", "1 % changed s", "no change s"], 0),
              ("peak resident memory (MiB)", ["peak MiB"], width)]
    x_lo, x_hi = math.log10(sizes[0]), math.log10(predict)
    for title, names, left in panels:
        values = [v for name in names for v in series[name]] + [fits[name]["predicted"] for name in names]
        y_lo, y_hi = math.floor(math.log10(max(min(values), 0.1))), math.ceil(math.log10(max(values)))
        x0, x1, y0, y1 = left + pad_l, left + width - pad_r, height - pad_b, pad_t

        def px(n: float, x0: float = x0, x1: float = x1) -> float:
            return x0 + (math.log10(n) - x_lo) / (x_hi - x_lo) * (x1 - x0)

        def py(v: float, y0: float = y0, y1: float = y1, y_lo: float = y_lo, y_hi: float = y_hi) -> float:
            return y0 - (math.log10(max(v, 10 ** y_lo)) - y_lo) / (y_hi - y_lo) * (y0 - y1)

        out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="20" text-anchor="middle" font-size="13" '
                   f'font-weight="bold">{title}</text>')
        out.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#333"/>')
        for n in [*sizes, predict]:
            out.append(f'<line x1="{px(n):.1f}" y1="{y0}" x2="{px(n):.1f}" y2="{y0 + 4}" stroke="#333"/>')
            out.append(f'<text x="{px(n):.1f}" y="{y0 + 16}" text-anchor="middle">{n:,}</text>')
        out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y0 + 32}" text-anchor="middle">demo assets (log scale; '
                   f'{predict:,} predicted)</text>')
        steps = (1, 2, 5) if y_hi - y_lo <= 2 else (1,)  # a short range gets 2 and 5 between the powers of ten
        for tick in [m * 10 ** e for e in range(y_lo, y_hi + 1) for m in steps if m * 10 ** e <= 10 ** y_hi]:
            out.append(f'<line x1="{x0}" y1="{py(tick):.1f}" x2="{x1}" y2="{py(tick):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 4}" y="{py(tick) + 4:.1f}" text-anchor="end">{tick:,}</text>')
        for i, name in enumerate(names):
            colour = colours[name]
            points = " ".join(f"{px(n):.1f},{py(v):.1f}" for n, v in zip(sizes, series[name], strict=True))
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for n, v in zip(sizes, series[name], strict=True):
                out.append(f'<circle cx="{px(n):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}"/>')
            fit = fits[name]
            out.append(f'<line x1="{px(sizes[-1]):.1f}" y1="{py(series[name][-1]):.1f}" x2="{px(predict):.1f}" '
                       f'y2="{py(fit["predicted"]):.1f}" stroke="{colour}" stroke-width="2" stroke-dasharray="5,4"/>')
            out.append(f'<circle cx="{px(predict):.1f}" cy="{py(fit["predicted"]):.1f}" r="3" fill="white" '
                       f'stroke="{colour}"/>')
            label = name.replace(" s", "").replace(" MiB", "")
            out.append(f'<text x="{x0 + 8}" y="{height - 14 - 14 * (len(names) - 1 - i)}" fill="{colour}">'
                       f'{label}: exponent {fit["local_exponent"]:.2f} (last step), '
                       f'{fit["predicted"]:,.0f} predicted</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-assets", type=int, default=10_000)
    parser.add_argument("--sizes", help="the cost curve: comma-separated sizes (e.g. 10000,100000,300000), each "
                                        "built full, unchanged and 1 %% changed; prints the growth fit and the "
                                        "prediction at --predict")
    parser.add_argument("--predict", type=int, default=1_000_000)
    parser.add_argument("--plot", type=Path, help="with --sizes: write the curve as an SVG here")
    parser.add_argument("--json", type=Path, help="with --sizes: write the figures as JSON here (and the runs so "
                                                  "far, after each size, beside it as .partial.json)")
    parser.add_argument("--resume", type=Path, help="with --sizes: a .partial.json of an earlier run; its sizes are "
                                                    "taken from it, not built again")
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--top", type=int, default=8, help="slowest dbt nodes listed per run")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temp folder)")
    parser.add_argument("--no-change-runs", type=int, default=3,
                        help="no-change rebuilds in a row (a few seconds each, so noisier than the full build); "
                             "each is printed, and their median")
    args = parser.parse_args()
    if not args.sizes:
        print_size(args.n_assets, measure(args.n_assets, args.train, args.changed, args.no_change_runs, args.keep),
                   args.top)
        return
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",")})
    if len(sizes) < 2:
        parser.error("--sizes needs at least two sizes to fit a growth curve")
    per_size: dict[int, list[Run]] = {}
    if args.resume:
        earlier = json.loads(args.resume.read_text(encoding="utf-8"))
        per_size = {int(n): [(r[0], r[1], r[2], "", [tuple(t) for t in r[3]], {}) for r in runs]
                    for n, runs in earlier.items()}
    for n in sizes:
        if n in per_size:
            print(f"{n:,} demo assets: the runs of {args.resume}")
            continue
        per_size[n] = measure(n, args.train, args.changed, args.no_change_runs, None)
        print_size(n, per_size[n], args.top)
        print(flush=True)
        if args.json:  # the runs so far (without their logs), should a later size fail
            partial = {size: [(r[0], r[1], r[2], r[4]) for r in runs] for size, runs in per_size.items()}
            args.json.with_suffix(".partial.json").write_text(json.dumps(partial), encoding="utf-8")
    result = curve({n: per_size[n] for n in sizes}, args.predict)
    print_curve(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if args.plot:
        plot(result, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
