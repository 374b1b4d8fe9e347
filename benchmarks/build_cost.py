"""`dbt build` cost at N assets: a full build, a no-change rebuild and a 1 %-changed rebuild, same run.

Usage: nice .venv/bin/python benchmarks/build_cost.py [--n-assets 10000] [--train]

Copies the project (models, macros, profile) into a temp folder, generates the demo seeds at
``--n-assets`` (seed 42; briefs, references and labels scale with it) and runs `dbt build` there
three times, each in a fresh process as a user would:

1. full: everything embedded (assets, their sentences, briefs, references), calibrated, clustered,
   checked; encoder fine-tuning is off unless ``--train`` (it has its own benchmark, train_cost.py);
2. no change: the same seeds again; the dbt log must show no encoder load (no
   "using the … backend" line) and nothing embedded;
3. 1 % changed: that many asset texts edited.

Prints wall time, the ratio to the full build, peak memory of the dbt process (max RSS of the
child; dbt runs Python models in-process) and whether the encoder was loaded.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from semantic.demo import generate

ROOT = Path(__file__).resolve().parent.parent


def build(project: Path, train: bool) -> tuple[float, float, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", DBT_PROFILES_DIR=str(project), SEMANTIC_HOME=str(project),
               SEMANTIC_DB=str(project / "data" / "semantic_assets.duckdb"),
               SEMANTIC_LANCE_DIR=str(project / "data" / "lance"), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    env.pop("SEMANTIC_MODEL_DIR", None)
    # one export and gate of the encoder for every run, as in the project (data/encoder_cache)
    env.setdefault("SEMANTIC_ENCODER_CACHE", str(ROOT / "data" / "encoder_cache"))
    args = [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(project)]
    if not train:
        args += ["--vars", "{semantic_train: false}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{result.stdout[-4000:]}")
    # ru_maxrss of children is the largest child so far: only meaningful when it grew
    return wall, max(peak, before) / 1024, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-assets", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--train", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("dbt_project.yml", "profiles.yml"):
            shutil.copy(ROOT / name, project / name)
        for folder in ("models", "python_models", "macros"):
            shutil.copytree(ROOT / folder, project / folder)
        generate(project / "seeds", seed=42, n_assets=args.n_assets)
        shutil.copy(ROOT / "seeds" / "compliance_waivers.csv", project / "seeds" / "compliance_waivers.csv")
        results = []
        wall, peak, log = build(project, args.train)
        results.append(("full build", wall, peak, log))
        wall, peak, log = build(project, args.train)
        results.append(("no change", wall, peak, log))
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
        wall, peak, log = build(project, args.train)
        results.append((f"{n} assets changed", wall, peak, log))
    full = results[0][1]
    print(f"{args.n_assets:,} demo assets, dbt build on {os.cpu_count()} cores")
    print(f"{'run':<22} {'wall s':>8} {'x full':>7} {'peak MiB':>9}  encoder loaded  embedded")
    for name, wall, peak, log in results:
        loaded = "yes" if re.search(r"encoder \S+: using the \S+ backend", log) else "no"
        embedded = sum(int(m) for m in re.findall(r"embedding (\d+) of \d+ rows", log))
        print(f"{name:<22} {wall:>8.1f} {wall / full:>7.3f} {peak:>9,.0f}  {loaded:<14}  {embedded:,}")
    print("(peak: the largest dbt process so far, so a later run shows at least the earlier peak)")


if __name__ == "__main__":
    main()
