"""The layers contract of the ``semantic`` package: one-way imports, no cycle.

``lint-imports`` (config in pyproject.toml, ``[tool.importlinter]``) runs in ``make test`` and
checks that a module imports only from its own subpackage or the layers below it. These tests
add what it does not check, that no import cycle exists at all (within a layer too, imports inside
functions included), and prove both checks fail when someone adds an upward import or a cycle.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def import_cycles(package: str = "semantic") -> list[list[str]]:
    """Every set of modules of ``package`` that import each other in a circle (Tarjan's strongly
    connected components of size > 1, or a module importing itself), each sorted."""
    graph = grimp.build_graph(package, cache_dir=None)
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in graph.find_modules_directly_imported_by(module):
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in modules:
        if module not in index:
            visit(module)
    return found


def _copy_package(tmp_path: Path) -> Path:
    """A copy of the package and the import-linter config, to break on purpose."""
    shutil.copytree(ROOT / "semantic", tmp_path / "semantic", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(cwd), "HOME": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)


def _cycles_in(cwd: Path) -> list[list[str]]:
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
            "from test_layers import import_cycles; print(json.dumps(import_cycles()))")
    out = subprocess.run([sys.executable, "-c", code, str(cwd), str(Path(__file__).parent)], cwd=cwd,
                         capture_output=True, text=True, check=True)
    import json

    return json.loads(out.stdout)


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def test_the_package_has_no_import_cycle():
    assert import_cycles() == []


@pytest.mark.skipif(not LINT_IMPORTS.is_file(), reason="import-linter is not installed (make install)")
def test_the_layers_contract_holds():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.skipif(not LINT_IMPORTS.is_file(), reason="import-linter is not installed (make install)")
def test_an_upward_import_inside_a_function_breaks_the_layers_contract(tmp_path):
    copy = _copy_package(tmp_path)
    # the encoder's collapse guard reaching up into the warehouse face, hidden in a function
    _append(copy / "semantic" / "encoding" / "collapse.py",
            "\n\ndef _sneaky() -> None:\n    from semantic.warehouse.functions import register  # noqa: F401\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "semantic.encoding.collapse -> semantic.warehouse.functions" in result.stdout


@pytest.mark.skipif(not LINT_IMPORTS.is_file(), reason="import-linter is not installed (make install)")
def test_config_reaching_up_into_the_registry_breaks_the_layers_contract(tmp_path):
    copy = _copy_package(tmp_path)
    _append(copy / "semantic" / "config.py", "\n\nfrom semantic.encoding.registry import Registry  # noqa: E402,F401\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "semantic.config -> semantic.encoding.registry" in result.stdout


def test_a_cycle_inside_one_layer_is_found(tmp_path):
    copy = _copy_package(tmp_path)
    # store imports embedding; embedding importing store back (lazily) closes a circle in one layer
    _append(copy / "semantic" / "vectors" / "embedding.py",
            "\n\ndef _back() -> None:\n    from semantic.vectors.store import VectorStore  # noqa: F401\n")
    cycles = _cycles_in(copy)
    assert any({"semantic.vectors.embedding", "semantic.vectors.store"} <= set(c) for c in cycles), cycles
