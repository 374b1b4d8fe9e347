"""The SQL fuzz worker (tests/test_fuzz.py): one DuckDB connection with every ``semantic_`` function registered,
answering one JSON call per line, so that a crash of DuckDB ends this process, not the test run.

    python tests/fuzz_worker.py FIXTURE_JSON

``FIXTURE_JSON`` names the fixture: ``lance_dir``, ``models_dir``, ``model_dir`` and ``reranker_dir``. The worker
writes ``{"ready": true, "version": ...}`` once registered, then reads ``{"sql": ..., "params": [...]}`` lines on
stdin and writes one line for each: ``{"ok": true, "rows": [...]}`` (values summarised: a vector becomes its length,
norm and whether it is finite) or ``{"ok": false, "error": <class>, "message": ...}``, with ``healthy``: whether the
connection still answers ``select 42`` afterwards (it is opened again when not). A parameter ``{"$date": iso}`` is a
date, ``{"$bytes": hex}`` bytes. Library output is sent to stderr, so stdout carries the protocol only.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from typing import Any

# the protocol gets its own copy of stdout; anything a library prints, C code included, goes to stderr
_PROTOCOL = os.fdopen(os.dup(1), "w", encoding="ascii")
os.dup2(2, 1)
sys.stdout = sys.stderr


def decode(value: Any) -> Any:
    """A parameter as the test process sent it (JSON), as Python."""
    if isinstance(value, dict) and "$date" in value:
        return dt.date.fromisoformat(value["$date"])
    if isinstance(value, dict) and "$bytes" in value:
        return bytes.fromhex(value["$bytes"])
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def summary(value: Any) -> Any:
    """A result value the JSON line can carry: vectors and long text shortened, NaN and inf as text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value[:20_000]
    if isinstance(value, list | tuple):
        if len(value) > 16 and all(isinstance(v, float) for v in value):
            return {"vector": len(value), "finite": all(math.isfinite(v) for v in value),
                    "norm": math.sqrt(sum(v * v for v in value))}
        return [summary(v) for v in value[:100]]
    if isinstance(value, dict):
        return {str(k): summary(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)[:300]


def connect(config: Any, encoder: Any) -> Any:
    """A connection with the functions registered on the fixture, and a small relation for semantic_check_inputs."""
    import duckdb

    from semantic.warehouse.functions import register

    con = duckdb.connect()
    register(con, config, encoder=encoder)
    con.execute("create table fuzz_assets as select 'a' || i as asset_id, 'text ' || i as text from range(5) t(i)")
    return con


def main() -> None:
    from pathlib import Path

    from semantic.config import SemanticConfig
    from semantic.encoding.encoder import load_encoder

    fixture = json.loads(Path(sys.argv[1]).read_text())
    config = SemanticConfig(
        db_path=Path(fixture["lance_dir"]).parent / "fuzz.duckdb", lance_dir=Path(fixture["lance_dir"]),
        model_dir=Path(fixture["model_dir"]), models_dir=Path(fixture["models_dir"]),
        reranker_dir=Path(fixture["reranker_dir"]) if fixture.get("reranker_dir") else None)
    encoder = load_encoder(Path(fixture["model_dir"]))
    con = connect(config, encoder)
    write({"ready": True, "version": encoder.version, "pid": os.getpid()})
    for line in sys.stdin:
        call = json.loads(line)
        try:
            rows = con.execute(call["sql"], decode(call.get("params") or [])).fetchall()
            answer: dict[str, Any] = {"ok": True, "rows": [summary(list(r)) for r in rows]}
        except Exception as e:  # noqa: BLE001 - every error is the answer, classified by the test
            answer = {"ok": False, "error": type(e).__name__, "message": str(e)}
        try:
            answer["healthy"] = con.execute("select 42").fetchone() == (42,)
        except Exception:  # noqa: BLE001
            answer["healthy"] = False
        if not answer["healthy"]:
            con = connect(config, encoder)
        write(answer)


def write(answer: dict[str, Any]) -> None:
    """One answer line on the protocol's stdout."""
    _PROTOCOL.write(json.dumps(answer) + "\n")  # ensure_ascii: lone surrogates travel escaped
    _PROTOCOL.flush()


if __name__ == "__main__":
    main()
