"""Checks on input files before dbt reads them: seeds must be valid UTF-8.

dbt stops on a seed with invalid UTF-8 with a bare ``UnicodeDecodeError`` that names neither the
file nor the row; this module finds the file, line and byte, and can repair the file.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from semantic.errors import SemanticDataError


@dataclass(frozen=True)
class EncodingProblem:
    """One invalid UTF-8 sequence in a file.

    Attributes:
        path: The file.
        line: 1-based line number.
        byte_offset: 0-based offset of the first invalid byte in the file.
        snippet: The line with invalid bytes shown as escapes.
    """

    path: Path
    line: int
    byte_offset: int
    snippet: str


def find_invalid_utf8(path: Path) -> EncodingProblem | None:
    """Return the first invalid UTF-8 sequence in a file, or None when the file is valid."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as e:
        start = data.rfind(b"\n", 0, e.start) + 1
        end = data.find(b"\n", e.start)
        line = data[start : end if end != -1 else len(data)]
        snippet = line.decode("utf-8", "backslashreplace")[:160]
        return EncodingProblem(path, data.count(b"\n", 0, e.start) + 1, e.start, snippet)


def check_seed_encoding(paths: Iterable[Path]) -> None:
    """Raise one error naming every seed file that is not valid UTF-8.

    Raises:
        SemanticDataError: A file has invalid UTF-8; the message names file, line and fix.
    """
    problems = [p for p in (find_invalid_utf8(path) for path in sorted(paths)) if p is not None]
    if problems:
        detail = "; ".join(
            f"{p.path} line {p.line} (byte {p.byte_offset}): {p.snippet!r}" for p in problems
        )
        raise SemanticDataError(
            f"seed file(s) are not valid UTF-8: {detail}. Re-export them as UTF-8, or run "
            "`semantic fix-encoding FILE` to replace the invalid bytes with U+FFFD (a .bak copy is kept)"
        )


def repair_utf8(path: Path) -> int:
    """Replace invalid UTF-8 bytes in a file with U+FFFD, keeping ``<file>.bak``.

    Returns:
        The number of replacement characters written (0 when the file was already valid).
    """
    data = path.read_bytes()
    text = data.decode("utf-8", "replace")
    n = text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")
    if n:
        shutil.copy2(path, path.with_suffix(path.suffix + ".bak"))
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return n
