"""The documentation: generated reference pages are current, the README stays short, links resolve."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
_REFERENCE_USE = re.compile(r"\]\[([^\]]+)\]")


def _prose(text: str) -> str:
    """The Markdown without fenced code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _relative_targets(path: Path) -> list[str]:
    text = _prose(path.read_text(encoding="utf-8"))
    targets = _INLINE_LINK.findall(text) + [target for _, target in _REFERENCE_DEF.findall(text)]
    return [t for t in targets if not re.match(r"^([a-z][a-z0-9+.-]*:|#|//)", t, re.IGNORECASE)]


def test_generated_reference_pages_are_current() -> None:
    result = subprocess.run([sys.executable, "docs/gen_reference.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{result.stderr}{result.stdout}"


def test_readme_is_short_and_names_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, "README.md is over 200 lines: move the detail into docs/"
    assert "make run" in text and "make test" in text


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md"])
def test_relative_links_point_at_files_that_exist(name: str) -> None:
    path = ROOT / name
    targets = _relative_targets(path)
    assert targets, f"{name} has no relative link: the link check would prove nothing"
    missing = [t for t in targets if not (path.parent / t.split("#", 1)[0]).exists()]
    assert not missing, f"{name} links to files that do not exist: {missing}"
    text = _prose(path.read_text(encoding="utf-8"))
    defined = {label.lower() for label, _ in _REFERENCE_DEF.findall(text)}
    undefined = sorted({label for label in _REFERENCE_USE.findall(text) if label.lower() not in defined})
    assert not undefined, f"{name} uses reference links without a definition: {undefined}"


def test_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) [gone](missing.md#part) `[code](not-a-link.md)` [web](https://example.com)\n"
                    "\n[ref]: also-missing.md\n", encoding="utf-8")
    targets = _relative_targets(page)
    assert targets == ["page.md", "missing.md#part", "also-missing.md"]
    assert [t for t in targets if not (tmp_path / t.split("#", 1)[0]).exists()] == ["missing.md#part",
                                                                                      "also-missing.md"]


@pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
                    reason="mkdocs is not installed in this environment")
def test_site_builds_strictly(tmp_path: Path) -> None:
    # No --quiet: in mkdocs 1.6.1 it keeps warnings from reaching strict mode's count (mkdocs#4126).
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    assert mkdocs is not None
    result = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert (tmp_path / "site" / "contributing" / "index.html").exists()
