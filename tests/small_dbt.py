"""A small dbt-duckdb project of its own for tests of the project's macros (no encoder, no plugin)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def small_dbt_project(path: Path, name: str, macro_folders: tuple[str, ...], seeds_config: str,
                      models: dict[str, str] | None = None) -> Path:
    """Write a project `name` at `path` with the project's `macros/<folder>`s, the given model files
    and seed config (YAML under `seeds: <name>:`), on a DuckDB file `<path>/<name>.duckdb`."""
    (path / "seeds").mkdir(parents=True, exist_ok=True)
    (path / "models").mkdir(exist_ok=True)
    for file, sql in (models or {}).items():
        (path / "models" / file).write_text(textwrap.dedent(sql))
    for folder in macro_folders:
        shutil.copytree(ROOT / "macros" / folder, path / "macros" / folder)
    (path / "dbt_project.yml").write_text(
        f'name: {name}\nversion: "1.0"\nconfig-version: 2\nprofile: {name}\nseeds:\n  {name}:\n'
        + textwrap.indent(textwrap.dedent(seeds_config).strip() + "\n", "    ")
    )
    database = path / f"{name}.duckdb"
    (path / "profiles.yml").write_text(
        f'{name}:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: "{database}", threads: 1}}\n'
    )
    return path


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` on the project, output captured."""
    env = dict(os.environ, DBT_PROFILES_DIR=str(project), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    return subprocess.run([str(BIN / "dbt"), *args, "--project-dir", str(project)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
