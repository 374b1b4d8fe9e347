"""Checks on input files: seeds and the CSV or Parquet files a source reads must be valid UTF-8.

dbt stops on a seed with invalid UTF-8 with a bare ``UnicodeDecodeError`` that names neither the
file nor the row, and DuckDB's error on a file names the file but not the row's id; this module
finds the file, line, column and id, and can repair a CSV file.
"""

from __future__ import annotations

import csv
import io
import re
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


def locate_invalid_utf8(error: str, key_column: str | None = None) -> tuple[Path | None, str]:
    """The file a DuckDB "not UTF-8" error is about, and where in it: line, column and id.

    Args:
        error: DuckDB's message (it names a CSV file as ``file = …``, a Parquet file in quotes).
        key_column: The file's id column, to name the offending rows by id.

    Returns:
        The file (None when the message names none) and a phrase such as
        ``": line 3, column text, asset_id 'a2' (byte 30)"`` (empty when the file cannot be read).
    """
    found = re.search(r'Parquet file "([^"]+)"', error) or re.search(r"file = (\S+)", error)
    if not found:
        return None, ""
    path = Path(found.group(1))
    if not path.is_file():
        return path, ""
    if path.suffix.lower() == ".parquet":
        return path, _parquet_invalid_rows(path, key_column)
    return path, _csv_invalid_rows(path, key_column)


def _csv_invalid_rows(path: Path, key_column: str | None) -> str:
    problem = find_invalid_utf8(path)
    if problem is None:
        return ""
    data = path.read_bytes().decode("utf-8", "backslashreplace")
    lines = data.splitlines()
    header = [h.strip().lower() for h in next(csv.reader(io.StringIO(lines[0] if lines else "")), [])]
    parsed = next(csv.reader(io.StringIO(lines[problem.line - 1] if problem.line <= len(lines) else "")), [])
    column = next((header[i] for i, v in enumerate(parsed) if "\\x" in v and i < len(header)), None)
    key = key_column.lower() if key_column else None
    ident = f", {key_column} {parsed[header.index(key)]!r}" if key in header and header.index(key) < len(parsed) else ""
    return f": line {problem.line}{', column ' + column if column else ''}{ident} (byte {problem.byte_offset})"


def _parquet_invalid_rows(path: Path, key_column: str | None, examples: int = 3) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    by_lower = {name.lower(): name for name in table.column_names}
    key = by_lower.get(key_column.lower()) if key_column else None
    for name in table.column_names:
        kind = table.schema.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        raw = table.column(name).cast(pa.large_binary()).to_pylist()  # no UTF-8 validation on the way
        bad = [i for i, v in enumerate(raw) if v is not None and not _is_utf8(v)]
        if bad:
            ids = ""
            if key is not None:
                values = table.column(key).take(pa.array(bad[:examples])).to_pylist()
                ids = f", {key} {', '.join(repr(v) for v in values)}"
            return f": column {name}, {len(bad)} row(s){ids}"
    return ""


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
