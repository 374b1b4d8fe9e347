"""dbt projects that install semantic-assets as a package: the starter ``semantic init`` writes, the
demo's example project, and what ``semantic build`` prepares before dbt runs (the package install,
the seed check).

The repository root is a dbt package (``dbt_project.yml``, ``models/``, ``python_models/``,
``macros/``); a project installs it with ``packages.yml`` and maps its own relations to the inputs
of the source contract (:mod:`semantic.warehouse.contract`) through dbt vars, as dbt-utils' and Elementary's
``integration_tests`` projects install theirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

from semantic.errors import SemanticConfigError, SemanticError

#: The dbt package's name (``dbt_project.yml`` at the repository root).
PACKAGE_NAME = "semantic_assets"


def package_root() -> Path | None:
    """The checkout holding the dbt package this Python package came from, or None (a wheel install)."""
    checkout = Path(__file__).resolve().parents[2]
    project = checkout / "dbt_project.yml"
    if project.is_file() and f"name: {PACKAGE_NAME}" in project.read_text(encoding="utf-8"):
        return checkout
    return None


def demo_seeds_dir() -> Path:
    """Where the demo's seeds live: ``example/seeds`` of the project, else its ``seeds``."""
    from semantic.config import project_root

    root = project_root()
    if (root / "example" / "dbt_project.yml").is_file():
        return root / "example" / "seeds"
    return root / "seeds"


def project_seed_files(project_dir: Path) -> list[Path]:
    """Every CSV seed of a dbt project (its ``seed-paths``, default ``seeds``)."""
    import yaml  # type: ignore[import-untyped]

    config_path = project_dir / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    folders = (config or {}).get("seed-paths") or ["seeds"]
    return sorted(p for folder in folders for p in (project_dir / str(folder)).rglob("*.csv"))


def install_packages(project_dir: Path, env: Mapping[str, str] | None = None) -> bool:
    """Run ``dbt deps`` when the project lists packages that are not installed yet.

    Returns:
        True when it ran ``dbt deps``.

    Raises:
        SemanticError: ``dbt deps`` failed.
    """
    if not (project_dir / "packages.yml").is_file() and not (project_dir / "dependencies.yml").is_file():
        return False
    installed = project_dir / "dbt_packages"
    if installed.is_dir() and any(installed.iterdir()):
        return False
    result = subprocess.run([sys.executable, "-m", "dbt.cli.main", "deps", "--project-dir", str(project_dir)],
                            env=dict(env or os.environ), capture_output=True, text=True)
    if result.returncode != 0:
        raise SemanticError(f"`dbt deps` failed in {project_dir}; fix packages.yml:\n{result.stdout[-2000:]}")
    return True


def copy_example(dest: Path, seed: int = 42, n_assets: int = 3000, package: Path | None = None) -> Path:
    """Lay out the demo's example project at ``dest`` with freshly generated seeds (tests, benchmarks).

    Its ``packages.yml`` names ``package`` (default: this checkout) by absolute path, and it gets the
    repository's ``profiles.yml``.
    """
    from semantic.demo import generate

    root = package or package_root()
    if root is None:
        raise SemanticConfigError("the example project ships with the repository checkout; clone it, or pass package")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "example" / "dbt_project.yml", dest / "dbt_project.yml")
    shutil.copy(root / "profiles.yml", dest / "profiles.yml")
    (dest / "packages.yml").write_text(f"packages:\n  - local: {root}\n", encoding="utf-8")
    generate(dest / "seeds", seed=seed, n_assets=n_assets)
    shutil.copy(root / "example" / "seeds" / "compliance_waivers.csv", dest / "seeds" / "compliance_waivers.csv")
    return dest


def _sources_yml() -> str:
    """A sources file with one external (Parquet) table per input, each column from the contract."""
    from semantic.warehouse.contract import load_contract

    lines = [
        "version: 2",
        "",
        "# Your inputs, one Parquet file each under data/inputs/ (dbt-duckdb external sources; a CSV works",
        "# too: external_location: \"read_csv('data/inputs/{name}.csv')\"). A warehouse table instead: drop the",
        "# meta and name its schema. Only assets is required; map the others in dbt_project.yml to switch",
        "# their capability on. The columns are the contract's (docs/contract.md).",
        "sources:",
        "  - name: inputs",
        "    meta:",
        "      external_location: \"data/inputs/{name}.parquet\"",
        "    tables:",
    ]
    for name, spec in load_contract().items():
        lines += [f"      - name: {name}", f"        description: \"{spec.meaning}\"", "        columns:"]
        for column in spec.columns.values():
            need = "required" if column.required else f"optional, default {column.default or 'NULL'}"
            meaning = f"{column.type}, {need}: {column.meaning}".replace('"', "'")
            lines += [f"          - name: {column.name}", f"            description: \"{meaning}\""]
    return "\n".join(lines) + "\n"


def write_starter(dest: Path, package: str | None = None, name: str | None = None) -> list[Path]:
    """Write a minimal dbt project for one's own data (what ``semantic init DIR`` does).

    Args:
        dest: The folder; created, and it must be empty when it exists.
        package: Where ``packages.yml`` finds semantic-assets: a local path or a git URL (default: the
            checkout this package was installed from).
        name: The dbt project's name (default: the folder's name).

    Returns:
        The files written.

    Raises:
        SemanticConfigError: ``dest`` is not empty, or no package location is known.
    """
    if dest.exists() and any(dest.iterdir()):
        raise SemanticConfigError(f"{dest} is not empty; pass a new folder to `semantic init`")
    if package is None:
        root = package_root()
        if root is None:
            raise SemanticConfigError(
                "this semantic-assets install has no dbt package beside it (a wheel); pass --package with the "
                "git URL or the local path of the semantic-assets repository")
        package = str(root)
    project = (name or dest.resolve().name).replace("-", "_").replace(" ", "_").lower()
    if not project.isidentifier():
        raise SemanticConfigError(f"{project!r} is not a valid dbt project name; pass --name my_project")
    if package.startswith(("http://", "https://", "git@")) or package.endswith(".git"):
        packages = f"packages:\n  - git: \"{package}\"\n    revision: main\n"
    else:
        packages = f"packages:\n  - local: \"{Path(package).expanduser().resolve()}\"\n"
    files = {
        "dbt_project.yml": textwrap.dedent(f"""\
            name: {project}
            version: "0.1.0"
            config-version: 2
            profile: {project}
            model-paths: ["models"]

            vars:
              # the source contract of semantic-assets (docs/contract.md): each input is a relation of
              # this project; only assets is required, an input left out is off
              semantic_input_assets: "{{{{ source('inputs', 'assets') }}}}"
              # semantic_input_briefs: "{{{{ source('inputs', 'briefs') }}}}"
              # semantic_input_brief_matches: "{{{{ source('inputs', 'brief_matches') }}}}"
              # semantic_input_labelled_pairs: "{{{{ source('inputs', 'labelled_pairs') }}}}"
              # semantic_input_compliance_references: "{{{{ source('inputs', 'compliance_references') }}}}"
              # semantic_input_compliance_waivers: "{{{{ source('inputs', 'compliance_waivers') }}}}"
              # your column names, when they differ from the contract's:
              # semantic_columns_assets: {{text: body, asset_id: id}}
            """),
        "packages.yml": packages,
        "profiles.yml": textwrap.dedent(f"""\
            {project}:
              target: dev
              outputs:
                dev:
                  type: duckdb
                  # `semantic build` builds into a copy (SEMANTIC_DB) and swaps it in when dbt succeeds
                  path: "{{{{ env_var('SEMANTIC_DB', 'data/semantic_assets.duckdb') }}}}"
                  threads: 1
                  plugins:
                    - module: semantic.warehouse.dbt_plugin
                      config:
                        lance_dir: "{{{{ env_var('SEMANTIC_LANCE_DIR', 'data/lance') }}}}"
            """),
        "models/sources.yml": _sources_yml(),
        ".gitignore": "data/*.duckdb*\ndata/lance/\ndata/models/\ndata/calibration/\ndata/.building/\n"
                      "target/\nlogs/\ndbt_packages/\npackage-lock.yml\n",
    }
    written = []
    for relative, text in files.items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    (dest / "data" / "inputs").mkdir(parents=True, exist_ok=True)
    return written
