"""Property-based fuzzing (Hypothesis) of every SQL function and macro and of the CLI commands that take user input.

Two promises are checked on NULL, empty and blank text, 100,000-character text, lone surrogates, right-to-left
text, zero-width characters, emoji, SQL-looking text, numbers out of range, NaN and infinity, wrong types where SQL
lets them through, zero, negative and huge k and dates that are not dates:

* nothing crashes: every SQL call runs in one long-lived worker process (tests/fuzz_worker.py, DuckDB with the
  functions registered over a small LanceDB fixture), so a segfault or abort ends the worker, not the test run;
  the test names the input that killed it and starts a new worker. Each CLI call is a process of its own.
* no raw error reaches the user: an error is one line of ours, starting with the name of a ``semantic_`` function
  (DuckDB's wrapping around it, ``Invalid Input Error: Python exception occurred while executing the UDF:
  SemanticDataError:`` before and the Python frames or the SQL position after, is allowed), never a conversion,
  binder or Lance error or a Python exception of another class; the CLI exits 0, 1 or 2 with at most one
  ``semantic: error:`` line and never a traceback. Input a function must accept gives a value (or NULL), input it
  must refuse gives our error: each check is tested to fire.

Arguments of another type than the declared one (a number or a date where text is, text where a number is) are
fuzzed too: the macro in front of each function answers them, or reads them as the declared type. What never
reaches our code is counted apart: DuckDB's Python client refuses a string with a lone surrogate (not UTF-8) and an
integer beyond 128 bits before any function runs ("boundary" in the report), and its parser reads SQL text only up
to a NUL, so text with a NUL travels as a parameter.

Tiers: the quick tier runs in ``make test`` (derandomized, so CI sees the same examples every run); ``make fuzz``
sets ``SEMANTIC_FUZZ_EXAMPLES`` (examples per SQL function; a tenth of it, at least 10, per CLI command) and uses
random seeds (Hypothesis prints how to reproduce a failure). The last test prints the inputs per function and
command and the counts of crashes, raw errors and known CLI bugs (``-s`` is not needed).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from semantic.warehouse.contract import load_contract
from semantic.warehouse.functions import COSINE_SLACK, FUNCTIONS, MAX_K, SEARCH_USAGE, describe

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
WORKER = TESTS / "fuzz_worker.py"
DEEP = int(os.environ.get("SEMANTIC_FUZZ_EXAMPLES") or 0)
SQL_EXAMPLES = DEEP or 40
CLI_EXAMPLES = max(10, DEEP // 10) if DEEP else 5
CALL_TIMEOUT = 120.0
DIM = 384
TASKS = ("duplicate", "brief_match", "lookalike")
VECTOR_TABLES = ("assets", "compliance_references", "indexed")

#: Per function or command: inputs, and how each ended (value, explained, boundary, raw, crash, known).
STATS: dict[str, Counter[str]] = defaultdict(Counter)
STARTED = time.monotonic()


def fuzz(examples: int) -> settings:
    """Hypothesis settings of one fuzz test: no deadline, no example database (nothing written outside the run)."""
    return settings(max_examples=examples, deadline=None, database=None, derandomize=not DEEP,
                    suppress_health_check=list(HealthCheck), print_blob=True)


# --- values and how they reach SQL ------------------------------------------------------------------------------


class Sql(str):
    """SQL text put in the query as it is (a literal only SQL can spell: ``now()``, a list)."""


@dataclass(frozen=True)
class V:
    """An argument and what the function must do with it: accept it (True), refuse it with our message (False),
    or either (None: DuckDB's own reading decides, e.g. whether ``' 7 '`` is a number)."""

    value: Any
    valid: bool | None = True


def literal(value: Any) -> str | None:
    """``value`` as a SQL literal, or None when it can only travel as a parameter."""
    if isinstance(value, Sql):
        return str(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"'{value!r}'::double"
    if isinstance(value, str):
        return None if "\x00" in value else "'" + value.replace("'", "''") + "'"  # the parser stops at a NUL
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bytes):
        return None
    raise TypeError(f"no literal for {value!r}")


@st.composite
def rendered(draw: Any, values: list[Any]) -> tuple[list[str], list[Any]]:
    """Each value as a literal or a ``?`` parameter (drawn), with the parameters in order."""
    sql, params = [], []
    for value in values:
        text = literal(value)
        if text is not None and (isinstance(value, Sql) or draw(st.booleans())):
            sql.append(text)
        else:
            sql.append("?")
            params.append(value)
    return sql, params


def has_surrogate(value: Any) -> bool:
    return isinstance(value, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def at_boundary(sql: str, params: list[Any]) -> bool:
    """Whether DuckDB's Python client refuses the call before any function runs (lone surrogate, huge integer)."""
    return has_surrogate(sql) or any(
        has_surrogate(p) or (isinstance(p, int) and not isinstance(p, bool) and not -(2**127) <= p < 2**127)
        for p in params)


def encoded(value: Any) -> Any:
    """A parameter as JSON carries it to the worker."""
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, list):
        return [encoded(v) for v in value]
    return value


def blank(text: Any) -> bool:
    return text is None or (isinstance(text, str) and not text.strip())


def short(value: Any, width: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= width else f"{text[:width]}... ({len(text)} chars)"


ODD_TEXT = [
    "", " ", "\t\n\r ", "\u3000\u00a0\u2028", "x" * 100_000, "word " * 20_000, "🙂" * 2_000, "👩‍👩‍👧‍👦 🏳️‍🌈",
    "مرحبا بالعالم، هذا نص عربي", "שלום עולם, טקסט בעברית", "\u202eevil\u202c text", "a\u200db", "\u200b", "\u200d",
    "\ufeffbom", "e\u0301" * 500, "'); drop table x; --", "' OR 1=1 --", '"; select 1; --', "semantic_embed('x')",
    "NULL", "null", "NaN", "%s %n {0} $1", "\\", "\x00", "a\x00b", "\x1b[31mred\x1b[0m", "\r\n", "\U0010ffff\ufffe",
    "Z̴̡̛a̷l̶g̵o̸", "ǅ ß ﬁ İ", "a" * 513, " " * 5_000 + "x", "warm winter jacket", "Clinically proven to cure colds",
]
SURROGATE_TEXT = st.sampled_from(["\ud800", "a\udfffb", "\udc80", "🙂\ud83d", "\udbff\udfff\ud800"])
UTF8_TEXT = st.one_of(
    st.none(), st.sampled_from(ODD_TEXT), st.text(max_size=40), st.text(st.characters(codec="utf-8"), max_size=300),
    st.text(st.characters(codec="utf-8", categories=["Cf", "Zs", "Mn", "Cc", "So"]), max_size=30),
)
#: Text as SQL gets it; one draw in sixteen has a lone surrogate (refused by DuckDB's client: it wastes the call).
TEXT = st.integers(0, 15).flatmap(lambda i: SURROGATE_TEXT if i == 0 else UTF8_TEXT)
SHORT_TEXT = st.one_of(st.sampled_from(["", " ", "x", "assets", "'); drop table x; --", "\u200d", "🙂"]),
                       st.text(max_size=12))
NUMBER = st.one_of(
    st.none(), st.floats(-1.0, 1.0), st.floats(-2.5, 2.5), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3), st.integers(-(2**200), 2**200),
    st.sampled_from([1.0000002, -1.0000002, 1 + 2e-5, 2.0000001, 5e-324, -0.0, 1e308, math.nan, math.inf]),
)
BIGINT = st.one_of(st.none(), st.integers(-3, 12), st.integers(1, MAX_K), st.integers(-(2**63), 2**63 - 1),
                   st.sampled_from([0, -1, MAX_K, MAX_K + 1, 2**31, 2**63 - 1, -(2**63)]))


def number_ok(x: Any, bound: float) -> bool:
    """A similarity semantic_match_probability takes: finite, within the bound and its float-rounding slack."""
    return x is None or (isinstance(x, int | float) and math.isfinite(x)
                         and -bound - COSINE_SLACK <= x <= bound + COSINE_SLACK)


# --- the fixture and the worker ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fuzz_home(tmp_path_factory: pytest.TempPathFactory, real_encoder: Any) -> Path:
    """A project home with what every function reads: an assets table (with a full-text index), a compliance
    reference bank, an indexed table, calibrations and typicality for the encoder, and an untrained reranker."""
    from semantic.config import default_model_dir
    from semantic.decisions import calibration
    from semantic.decisions.compliance import save_typicality
    from semantic.encoding.encoder import model_version
    from semantic.vectors.store import VectorStore

    home = tmp_path_factory.mktemp("fuzz_home")
    data = home / "data"
    store = VectorStore(data / "lance")
    texts = {"a1": "Our down jacket keeps you toasty on winter hikes", "a2": "Single-origin espresso, roasted weekly",
             "a3": "Open a savings account with no monthly fees", "a4": "A parka that traps body heat in the snow",
             "a5": "SKU ZX9000Q trail shoe, 30% off", "a6": "مرحبا: معطف شتوي دافئ"}
    n = len(texts)
    store.sync("assets", pa.table({
        "asset_id": list(texts), "brand": ["n", "b", "c", "n", "s", "n"], "channel": ["social", "email"] * 3,
        "market": ["US", "UK", "US", "UK", "US", "AE"], "asset_type": ["headline"] * n,
        "created_at": [dt.date(2026, 1, d) for d in range(1, n + 1)], "text": list(texts.values()),
        "content_hash": list(texts)}), real_encoder, id_column="asset_id", full_text=True)
    claims = ["Clinically proven to cure colds", "Guaranteed weight loss in 7 days", "The safest car on the road"]
    store.sync("compliance_references", pa.table({
        "reference_id": ["R1", "R2", "R3"], "rule_id": ["health", "health", "safety"],
        "severity": ["high", "high", "medium"], "market": ["ALL", "US", "UK"], "is_active": [True, True, True],
        "text": claims, "rationale": ["unsupported medical claim", "unsupported result", "unprovable superlative"],
        "content_hash": claims}), real_encoder, id_column="reference_id")
    words = ["jacket", "coffee", "savings", "parka", "bike", "leash", "serum", "tent", "shoe", "lamp", "mug", "desk"]
    many = [f"{words[i % 12]} {words[(i * 7) % 12]} {words[(i * 5 + 3) % 12]} {i}" for i in range(300)]
    store.sync("indexed", pa.table({"asset_id": [f"i{i}" for i in range(300)], "text": many, "content_hash": many}),
               real_encoder, id_column="asset_id", vector_index_min_rows=100)
    curve = {"duplicate": (-1.0, 0.6, 0.9, 1.0), "brief_match": (-1.0, 0.3, 0.6, 1.0),
             "lookalike": (-2.0, 0.2, 0.5, 2.0)}
    calibration.save(data / "calibration", real_encoder.version, {
        task: calibration.Calibration(method="isotonic", x=x, y=(0.0, 0.1, 0.9, 1.0), threshold=x[2],
                                      objective="precision", target_precision=0.95, n_pairs=100, n_positives=40,
                                      review_threshold=x[1])
        for task, x in curve.items()})
    save_typicality(data / "calibration", real_encoder.version, 0.5, {"R1": 0.2, "R2": 0.1, "R3": 0.3})
    reranker = _untrained_reranker(data / "reranker")
    fixture = {"lance_dir": str(data / "lance"), "models_dir": str(data / "models"),
               "model_dir": str(default_model_dir()), "reranker_dir": str(reranker),
               "reranker_version": model_version(reranker), "version": real_encoder.version,
               "tables": sorted(p.name[:-6] for p in (data / "lance").glob("*.lance"))}
    (home / "fixture.json").write_text(json.dumps(fixture))
    return home


def _untrained_reranker(out: Path) -> Path:
    """A cross-encoder over the packaged MiniLM with an untrained head: what semantic_pair_score loads, in seconds."""
    from sentence_transformers.cross_encoder import CrossEncoder

    from semantic.config import default_model_dir
    from semantic.encoding.tokenizer import transformer_path

    source = default_model_dir() / transformer_path(default_model_dir())
    base = out.parent / "reranker_base"
    base.mkdir(parents=True)
    bi_encoder = {"modules.json", "config_sentence_transformers.json", "sentence_bert_config.json"}
    for f in source.iterdir():
        if f.is_file() and f.name not in bi_encoder:
            shutil.copy(f, base / f.name)
    CrossEncoder(str(base), num_labels=1, max_length=64, local_files_only=True, device="cpu").save_pretrained(str(out))
    return out


class Worker:
    """The SQL worker process: one call at a time; a call it does not answer (it died or hung) is a crash."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.fixture = json.loads((home / "fixture.json").read_text())
        self.starts = 0
        self.proc: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(self.home / "fixture.json")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr, text=True, encoding="ascii", cwd=self.home,
            env={**os.environ, "SEMANTIC_HOME": str(self.home)})
        self.starts += 1
        ready = self._answer()
        assert ready is not None and ready.get("ready"), f"the fuzz worker did not start: {self._stderr_tail()}"

    def _answer(self) -> dict[str, Any] | None:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], CALL_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-1500:]

    def call(self, sql: str, params: list[Any]) -> dict[str, Any]:
        """The worker's answer, or ``{"crash": ...}`` when it died or hung (then a new worker is started)."""
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"sql": sql, "params": encoded(params)}) + "\n")
            self.proc.stdin.flush()
            answer = self._answer()
        except (BrokenPipeError, OSError):
            answer = None
        if answer is not None:
            return answer
        hung = self.proc.poll() is None
        if hung:
            self.proc.kill()
        returncode = self.proc.wait()
        how = f"no answer in {CALL_TIMEOUT:.0f} s (killed)" if hung else f"the worker died (exit {returncode})"
        crash = {"crash": True, "how": how, "stderr": self._stderr_tail()}
        self.start()
        return crash

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def worker(fuzz_home: Path) -> Iterator[Worker]:
    w = Worker(fuzz_home)
    yield w
    w.close()


def test_a_crash_of_the_worker_is_caught_and_the_worker_restarted(worker: Worker) -> None:
    assert worker.proc is not None
    os.kill(worker.proc.pid, signal.SIGSEGV)  # what a segfault in DuckDB or Lance does to the process
    worker.proc.wait(timeout=30)
    kind, message = classify(worker.call("select semantic_embed('x') is not null", []))
    assert kind == "crash" and "the worker died (exit -11)" in message
    assert worker.call("select semantic_embed('x') is not null", [])["rows"] == [[True]]


# --- what counts as our error -----------------------------------------------------------------------------------

_BOUNDARY = re.compile(r"Unable to cast Python instance|surrogates not allowed|Python integer too large")


def our_message(error: str, message: str) -> str | None:
    """Our one-line message inside a DuckDB error, or None when the error is not ours (a raw one)."""
    if error != "InvalidInputException":
        return None
    head = re.split(r"\n\nAt:\n|\n\nLINE \d+:", message, maxsplit=1)[0].removeprefix("Invalid Input Error: ")
    udf = re.match(r"Python exception occurred while executing the UDF: (\w+): ", head)
    if udf:
        if not udf.group(1).startswith("Semantic"):
            return None
        head = head[udf.end():]
    return head if "\n" not in head and re.match(r"semantic_\w+[: ]", head) else None


def classify(answer: dict[str, Any]) -> tuple[str, str]:
    """(how the call ended, the message): value, explained, boundary, raw or crash."""
    if answer.get("crash"):
        return "crash", f"{answer['how']}; its stderr ends: {answer['stderr']}"
    if answer["ok"]:
        return "value", ""
    error, message = answer["error"], answer["message"]
    if error in ("RuntimeError", "UnicodeEncodeError", "InvalidInputException") and _BOUNDARY.search(message):
        return "boundary", message
    ours = our_message(error, message)
    return ("explained", ours) if ours is not None else ("raw", f"{error}: {message}")


def run_sql(worker: Worker, surface: str, sql: str, params: list[Any], valid: bool | None) -> list[Any] | None:
    """Run one call and assert the promises; the rows when it gave a value."""
    boundary = at_boundary(sql, params)
    answer = worker.call(sql, params)
    kind, message = classify(answer)
    STATS[surface]["inputs"] += 1
    STATS[surface][kind] += 1
    where = f"{short(sql, 300)} with parameters {short(params)}"
    note(f"{surface}: {kind} {message[:300]}")
    assert kind != "crash", f"{surface}: crash on {where}: {message}"
    assert answer.get("healthy", True), f"{surface}: the connection stopped answering after {where}"
    if boundary:
        assert kind == "boundary", f"{surface}: DuckDB's client took a string it cannot encode: {where} -> {kind}"
        return None
    assert kind != "boundary", f"{surface}: refused at DuckDB's client boundary: {where}: {message}"
    assert kind != "raw", f"{surface}: a raw error reached the user for {where}: {message[:800]}"
    if valid is True:
        assert kind == "value", f"{surface}: input it must accept was refused: {where}: {message}"
    if valid is False:
        assert kind == "explained", f"{surface}: input it must refuse gave a value: {where}: {answer['rows']}"
    return answer["rows"] if kind == "value" else None


# --- one strategy per SQL function ------------------------------------------------------------------------------


class Case:
    """One SQL call: the query, its parameters, whether it must succeed, and what its rows must satisfy."""

    def __init__(self, sql: str, params: list[Any], valid: bool | None,
                 check: Callable[[list[Any]], None] | None = None) -> None:
        self.sql, self.params, self.valid, self.check = sql, params, valid, check

    def __repr__(self) -> str:  # what Hypothesis prints of a failing case: long text shortened
        return f"Case({short(self.sql, 400)}, params={short(self.params, 400)}, valid={self.valid})"


def overall(valids: list[bool | None]) -> bool | None:
    """A call with one argument it must refuse must fail; with every argument one it must accept, succeed."""
    return False if False in valids else True if all(v is True for v in valids) else None


@st.composite
def rows_case(draw: Any, function: str, columns: list[Any], rows: int = 3) -> tuple[str, list[Any], list[list[Any]]]:
    """``select function(...)`` on one drawn row of arguments, or over a VALUES list of up to ``rows`` rows (one
    batch, NULLs and all)."""
    n = draw(st.integers(1, rows))
    values = [[draw(column) for column in columns] for _ in range(n)]
    if n == 1:
        sql, params = draw(rendered(values[0]))
        return f"select {function}({', '.join(sql)})", params, values
    sql_rows, params = [], []
    for i, row in enumerate(values):
        sql, p = draw(rendered(row))
        sql_rows.append(f"({i}, {', '.join(sql)})")
        params += p
    names = ", ".join(f"c{j}" for j in range(len(columns)))
    return (f"select {function}({names}) from (values {', '.join(sql_rows)}) v(i, {names}) order by i",
            params, values)


def text_case(function: str, arity: int, check_one: Callable[[list[Any], Any], None]) -> Any:
    @st.composite
    def case(draw: Any) -> Case:
        sql, params, values = draw(rows_case(function, [TEXT] * arity))

        def check(rows: list[Any]) -> None:
            assert len(rows) == len(values)
            for row, args in zip(rows, values):
                check_one(args, row[0])

        return Case(sql, params, True, check)

    return case()


def _embedding(args: list[Any], value: Any) -> None:
    if blank(args[0]):
        assert value is None, f"semantic_embed of blank text {short(args[0])} is not NULL"
    else:
        assert value["vector"] == DIM and value["finite"] and abs(value["norm"] - 1) < 1e-3, (args, value)


def _similarity(args: list[Any], value: Any) -> None:
    if blank(args[0]) or blank(args[1]):
        assert value is None
    else:
        assert value is not None and -1.0 <= value <= 1.0, f"cosine {value} outside [-1, 1] for {short(args)}"
        if args[0] == args[1]:
            assert value > 0.999


def _probability(args: list[Any], value: Any) -> None:
    if blank(args[0]) or blank(args[1]):
        assert value is None
    else:
        assert value is not None and 0.0 <= value <= 1.0, (args, value)


def _compliance(args: list[Any], value: Any) -> None:
    if blank(args[0]):
        assert value is None
    else:
        assert value["decision"] in ("flag", "review", "clear") and value["reference_id"] in ("R1", "R2", "R3")
        assert 0.0 <= value["probability"] <= 1.0 and -1.0 <= value["similarity"] <= 1.0, value


@st.composite
def match_probability_case(draw: Any) -> Case:
    task = st.one_of(st.sampled_from(TASKS), st.sampled_from(["Duplicate", "dup", "", " duplicate"]), TEXT)
    similarity = st.one_of(NUMBER, st.just(Sql("0.25::float")))
    sql, params, values = draw(rows_case("semantic_match_probability", [similarity, task]))

    def ok(s: Any, t: Any) -> bool:
        if s is None or t is None:
            return True
        s = float(s.split("::")[0]) if isinstance(s, Sql) else s
        return t in TASKS and number_ok(s, 2.0 if t == "lookalike" else 1.0)

    def check(rows: list[Any]) -> None:
        for row, (s, t) in zip(rows, values):
            assert (row[0] is None) == (s is None or t is None) and (row[0] is None or 0 <= row[0] <= 1), (s, t, row)

    return Case(sql, params, overall([ok(s, t) for s, t in values]), check)


TABLE_NAMES = st.one_of(
    st.none(), st.sampled_from([*VECTOR_TABLES, "sync_runs", "vector_indexes"]),
    st.sampled_from(["", ".", "..", "../lance/assets", "assets.lance", "ASSETS", "assets/", "/etc/passwd", "a\x00b",
                     "nope", "_versions", "assets ", " assets", "assets; drop table x", "%", "*", "assets\ud800"]),
    SHORT_TEXT,
)


def lance_uri_case(tables: list[str]) -> Any:
    @st.composite
    def case(draw: Any) -> Case:
        sql, params, values = draw(rows_case("semantic_lance_uri", [TABLE_NAMES]))

        def check(rows: list[Any]) -> None:
            for row, (name,) in zip(rows, values):
                assert (row[0] is None) if name is None else row[0].startswith("file://") and f"/{name}.lance" in row[0]

        return Case(sql, params, overall([t is None or t in tables for (t,) in values]), check)

    return case()


@st.composite
def ann_recall_case(draw: Any) -> Case:
    sql, params, values = draw(rows_case("semantic_ann_recall", [TABLE_NAMES, BIGINT, BIGINT], rows=2))

    def ok(t: Any, sample: Any, k: Any) -> bool:
        return None in (t, sample, k) or (t in VECTOR_TABLES and sample >= 1 and 1 <= k <= MAX_K)

    def check(rows: list[Any]) -> None:
        for row, args in zip(rows, values):
            assert (row[0] is None) == (None in args) and (row[0] is None or 0.0 <= row[0] <= 1.0), (args, row)

    return Case(sql, params, overall([ok(*args) for args in values]), check)


def check_version_case(version: str, name: str = "semantic_check_model_version") -> Any:
    @st.composite
    def case(draw: Any) -> Case:
        column = st.one_of(st.just(version), st.just(version + " "), st.just(version.upper()), TEXT)
        sql, params, values = draw(rows_case(name, [column]))

        def check(rows: list[Any]) -> None:
            assert [r[0] for r in rows] == [None if v is None else True for (v,) in values]

        return Case(sql, params, overall([v is None or v == version for (v,) in values]), check)

    return case()


CONTRACT = list(load_contract())
MAPPING = st.one_of(st.none(), st.just(""), st.dictionaries(SHORT_TEXT, SHORT_TEXT, max_size=3),
                    st.dictionaries(SHORT_TEXT, st.one_of(st.integers(), st.none(), st.lists(st.integers())),
                                    min_size=1, max_size=2), SHORT_TEXT, st.integers())
SPEC = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(CONTRACT), SHORT_TEXT, st.none(), st.integers())},
    optional={"relation": st.one_of(st.none(), st.sampled_from(
        ["fuzz_assets", "range(3)", "'missing.csv'", "", "none", "'); drop table x; --", "(select 1 as asset_id)",
         "read_csv('/dev/null')", "fuzz_assets; drop table fuzz_assets", "range(3);"]), SHORT_TEXT, st.integers()),
              "mapping": MAPPING},
)
JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


def inputs_ok(text: Any) -> bool | None:
    """What semantic_check_inputs accepts: NULL, or a JSON list of {name, relation, mapping} with known names."""
    if text is None:
        return True
    try:
        parsed = json.loads(text)
    except ValueError:
        return False

    def mapping_ok(mapping: Any) -> bool:
        return not isinstance(mapping, dict) or all(isinstance(v, str) for v in mapping.values())

    ok = isinstance(parsed, list) and all(
        isinstance(item, dict) and item.get("name") in CONTRACT and mapping_ok(item.get("mapping")) for item in parsed)
    # a relation of several statements is refused; whether text with a ';' is several, DuckDB's parser says
    return None if ok and any(";" in str(item.get("relation")) for item in parsed) else ok


@st.composite
def check_inputs_case(draw: Any) -> Case:
    column = st.one_of(st.lists(SPEC, max_size=3).map(json.dumps), JSON.map(json.dumps), TEXT)
    sql, params, values = draw(rows_case("semantic_check_inputs", [column], rows=2))

    def check(rows: list[Any]) -> None:
        for row, (text,) in zip(rows, values):
            assert (row[0] is None) == (text is None)
            if text is not None and len(row[0]) < 20_000:  # the worker cuts longer text
                assert set(json.loads(row[0])) == {"reports", "message"}

    return Case(sql, params, overall([inputs_ok(t) for (t,) in values]), check)


def constant_case(function: str) -> Any:
    """A function without arguments: called plainly and once per row of a range."""
    return st.integers(1, 3).map(
        lambda n: Case(f"select {function}()" if n == 1 else f"select {function}() from range({n})", [], True))


# the search macros

K = st.one_of(
    st.integers(1, 12).map(V), st.integers(1, MAX_K).map(V), st.integers(-(2**63), 0).map(lambda n: V(n, False)),
    st.integers(MAX_K + 1, 2**70).map(lambda n: V(n, False)),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: V(x, math.isfinite(x) and x == int(x) and 1 <= x <= MAX_K)),
    st.sampled_from([V(None, False), V(True, False), V(False, False), V("5"), V("abc", False), V("", False),
                     V(" 7 ", None), V("1e3"), V("2.5", False), V("-1", False), V(dt.date(2026, 1, 1), False),
                     V(Sql("[1, 2]"), False), V(3.0), V(2.5, False), V(Sql("'nan'::double"), False)]),
)
ALPHA = st.one_of(
    st.floats(0, 1).map(V), st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: V(x, math.isfinite(x) and 0 <= x <= 1)),
    st.sampled_from([V(0), V(1), V(2, False), V(-1, False), V(None, False), V("0.5"), V("abc", False),
                     V(True, False), V("", False), V(1.0000001, False), V(Sql("'nan'::double"), False)]),
)
DATE = st.one_of(
    st.dates().map(V), st.sampled_from([V(None), V("2026-01-03"), V("2026-01-01 10:00:00"), V("yesterday", False),
                                        V("2026-02-30", False), V("", False), V("infinity", False),
                                        V("-infinity", False), V(20260101, False), V(True, False),
                                        V("'); drop table x; --", False), V(Sql("now()")),
                                        V(Sql("TIMESTAMP '2026-01-02 12:00:00'")), V("0001-01-01"),
                                        V("9999-12-31")]),
    TEXT.map(lambda t: V(t, None if t is not None else True)),
)
EXACT = st.sampled_from([V(True), V(False), V(None), V("true"), V("false"), V(1), V(0), V("maybe", False),
                         V(2, False), V(2.5, False), V("", False), V("yes", None)])
FILTER = st.one_of(st.sampled_from(["n", "b", "US", "UK", "social", "headline", "AE"]).map(V), TEXT.map(V),
                   st.integers().map(V), st.floats().map(V), st.dates().map(V), st.just(V(Sql("[1, 2]"))))
QUERY = st.one_of(TEXT.map(lambda t: V(t, not blank(t))), st.sampled_from([V(42), V(Sql("[1, 2]")), V(2.5)]))


def search_case(function: str) -> Any:
    hybrid = function == "semantic_hybrid_search"
    named: dict[str, Any] = {"k": K, "brand": FILTER, "market": FILTER, "channel": FILTER, "asset_type": FILTER,
                             "created_from": DATE, "created_to": DATE, "exact": EXACT}
    if hybrid:
        named["alpha"] = ALPHA

    @st.composite
    def case(draw: Any) -> Case:
        query = draw(QUERY)
        chosen = draw(st.lists(st.sampled_from(sorted(named)), unique=True, max_size=5))
        args = {name: draw(named[name]) for name in chosen}
        positional_k = "k" in args and draw(st.booleans())
        order = (["k"] if positional_k else []) + [a for a in chosen if not (positional_k and a == "k")]
        sql, params = draw(rendered([query.value] + [args[a].value for a in order]))
        parts = [sql[0]] + [s if positional_k and a == "k" else f"{a} := {s}" for a, s in zip(order, sql[1:])]
        text = f"select * from {function}({', '.join(parts)})"
        k = args["k"].value if "k" in args and args["k"].valid else 10

        def check(rows: list[Any]) -> None:
            assert len(rows) <= int(float(k)) and [r[-1] for r in rows] == list(range(1, len(rows) + 1)), rows
            for row in rows:
                score = row[6]
                assert (0.0 <= score <= 1.0) if hybrid else (-1.0 <= score <= 1.0), f"score {score} out of range"
                for column, index in (("brand", 1), ("channel", 2), ("market", 3), ("asset_type", 4)):
                    given_value = args.get(column, V(None)).value
                    if isinstance(given_value, str) and not isinstance(given_value, Sql):
                        assert row[index] == given_value, (column, given_value, row)
                low, high = args.get("created_from", V(None)).value, args.get("created_to", V(None)).value
                if isinstance(low, dt.date):
                    assert row[5] >= low.isoformat()
                if isinstance(high, dt.date):
                    assert row[5] <= high.isoformat()

        return Case(text, params, overall([query.valid] + [args[a].valid for a in order]), check)

    return case()


def sql_cases(fixture: dict[str, Any]) -> dict[str, Any]:
    """The strategy of every SQL function and macro, by name."""
    version = fixture["version"]
    return {
        "semantic_embed": text_case("semantic_embed", 1, _embedding),
        "semantic_similarity": text_case("semantic_similarity", 2, _similarity),
        "semantic_pair_score": text_case("semantic_pair_score", 2, _probability),
        "semantic_compliance_check": text_case("semantic_compliance_check", 1, _compliance),
        "semantic_model_version": constant_case("semantic_model_version"),
        "semantic_reranker_version": constant_case("semantic_reranker_version"),
        "semantic_check_model_version": check_version_case(version),
        "semantic_check_reranker_version": check_version_case(fixture["reranker_version"],
                                                              "semantic_check_reranker_version"),
        "semantic_match_probability": match_probability_case(),
        "semantic_lance_uri": lance_uri_case(fixture["tables"]),
        "semantic_ann_recall": ann_recall_case(),
        "semantic_check_inputs": check_inputs_case(),
        "semantic_search": search_case("semantic_search"),
        "semantic_hybrid_search": search_case("semantic_hybrid_search"),
    }


SQL_NAMES = [signature.split("(")[0] for signature, _, _ in describe()]


def test_every_sql_function_and_macro_has_a_fuzz_strategy(fuzz_home: Path) -> None:
    fixture = json.loads((fuzz_home / "fixture.json").read_text())
    assert sorted(sql_cases(fixture)) == sorted(SQL_NAMES), "a new SQL function needs a strategy in sql_cases()"


@pytest.mark.parametrize("name", SQL_NAMES)
def test_no_input_crashes_a_sql_function_or_leaks_a_raw_error(name: str, worker: Worker) -> None:
    strategy = sql_cases(worker.fixture)[name]

    @fuzz(SQL_EXAMPLES)
    @given(case=strategy)
    def run(case: Case) -> None:
        rows = run_sql(worker, name, case.sql, case.params, case.valid)
        if rows is not None:
            if name == "semantic_model_version":
                assert all(r == [worker.fixture["version"]] for r in rows)
            elif name == "semantic_reranker_version":
                assert all(r[0].startswith("reranker-") for r in rows)
            elif case.check is not None:
                case.check(rows)

    run()


#: Per declared type: a value SQL hands over and the function can take, and values of other types with whether
#: the function must refuse them (False) or may take them (None: a number spelled as text, a whole float).
FITTING = {"VARCHAR": "warm jacket", "DOUBLE": 0.5, "BIGINT": 5}
FOREIGN = {
    "VARCHAR": [(42, False), (2.5, False), (True, False), (dt.date(2026, 1, 1), False), (Sql("[1, 2]"), False),
                (Sql("{'a': 1}"), False), (b"bytes", False)],
    "DOUBLE": [(Sql("'0.5'"), None), (Sql("'abc'"), False), (True, False), (dt.date(2026, 1, 1), False),
               (Sql("[0.5]"), False), ("", False)],
    "BIGINT": [(2.5, False), (1e20, False), (10.0, None), (Sql("'10'"), None), (Sql("'abc'"), False), (True, False),
               (Sql("9223372036854775808"), False), (dt.date(2026, 1, 1), False)],
}


@pytest.mark.parametrize("fn", [fn for fn in FUNCTIONS if fn.params], ids=[fn.name for fn in FUNCTIONS if fn.params])
def test_an_argument_of_another_type_gets_our_message_not_a_binder_error(fn: Any, worker: Worker) -> None:
    @fuzz(max(6, SQL_EXAMPLES // 4))
    @given(data=st.data())
    def run(data: Any) -> None:
        at = data.draw(st.integers(0, len(fn.params) - 1), label="argument")
        value, valid = data.draw(st.sampled_from(FOREIGN[fn.params[at]]), label="value")
        fitting = {**{a: FITTING[d] for a, d in zip(fn.args, fn.params)}, "table_name": "assets", "task": "duplicate"}
        values = [value if i == at else fitting[arg] for i, arg in enumerate(fn.args)]
        sql, params = data.draw(rendered(values))
        run_sql(worker, f"{fn.name} (types)", f"select {fn.name}({', '.join(sql)})", params, valid)

    run()


SIMPLE = st.one_of(st.none(), st.integers(-5, 5), st.floats(-2, 2), st.sampled_from(["x", "", "duplicate", "assets"]))


@pytest.mark.parametrize("fn", FUNCTIONS, ids=[fn.name for fn in FUNCTIONS])
def test_a_wrong_number_of_arguments_gets_the_usage_line(fn: Any, worker: Worker) -> None:
    @fuzz(max(4, SQL_EXAMPLES // 4))
    @given(data=st.data())
    def run(data: Any) -> None:
        n = data.draw(st.integers(0, 6).filter(lambda n: n != len(fn.params)), label="arguments")
        sql, params = data.draw(rendered([data.draw(SIMPLE) for _ in range(n)]))
        answer = worker.call(f"select {fn.name}({', '.join(sql)})", params)
        kind, message = classify(answer)
        STATS[f"{fn.name} (arity)"]["inputs"] += 1
        STATS[f"{fn.name} (arity)"][kind] += 1
        assert kind == "explained" and message == fn.usage, (n, kind, message)

    run()


@pytest.mark.parametrize("name", ["semantic_search", "semantic_hybrid_search"])
def test_a_search_without_its_query_gets_the_usage_line(name: str, worker: Worker) -> None:
    kind, message = classify(worker.call(f"select * from {name}()", []))
    assert kind == "explained" and message == SEARCH_USAGE.format(name=name)


# --- the CLI ----------------------------------------------------------------------------------------------------

SEMANTIC = Path(sys.executable).with_name("semantic")
CLI_TIMEOUT = 180.0
#: Text a shell can pass: no NUL; invalid UTF-8 as bytes (Python reads it back with surrogate escapes).
ARG_TEXT = st.one_of(
    st.sampled_from([t for t in ODD_TEXT if "\x00" not in t and len(t) < 20_000]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60),
    st.sampled_from([b"\xff\xfe", b"caf\xe9", b"\xed\xa0\x80", b"ok \xc3"]),
)


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def cli_verdict(proc: subprocess.CompletedProcess[bytes]) -> tuple[bool, bool]:
    """(crashed, raw): an exit status other than 0, 1 and 2; a traceback, or an exit 2 whose stderr does not end
    with its one ``semantic: error:`` line (log lines and argparse's usage lines may come before it)."""
    err = proc.stderr.decode("utf-8", "replace")
    lines = [line for line in err.split("\n") if line.strip()]  # a CR in an argument is no new line
    errors = [line for line in lines if re.match(r"semantic( [\w-]+)?: error: ", line)]
    raw = "Traceback (most recent call last)" in err or (proc.returncode == 2 and (
        len(errors) != 1 or lines[-1] != errors[0]))
    return proc.returncode not in (0, 1, 2), raw


class Cli:
    """Where the CLI runs: the fixture's home and an environment pointing every path into it."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env

    def __repr__(self) -> str:  # what Hypothesis prints of a failing case
        return f"Cli({self.home})"

    def run(self, command: str, argv: list[Any]) -> subprocess.CompletedProcess[bytes]:
        """Run ``semantic <command> <argv>`` and assert the CLI's promises (or count a known bug)."""
        program = [str(SEMANTIC)] if SEMANTIC.exists() else [sys.executable, "-m", "semantic.cli"]
        stats = STATS[f"semantic {command}"]
        stats["inputs"] += 1
        try:
            proc = subprocess.run([*program, command, *argv], capture_output=True, env=self.env, cwd=self.home,
                                  timeout=CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            stats["crash"] += 1
            raise AssertionError(f"semantic {command} {short(argv)} hung for {CLI_TIMEOUT:.0f} s") from None
        err = proc.stderr.decode("utf-8", "replace")
        crashed, raw = cli_verdict(proc)
        note(f"semantic {command} {short(argv)}: exit {proc.returncode}; stderr ends {err[-600:]!r}")
        if crashed or raw:
            stats["crash" if crashed else "raw"] += 1
        assert not crashed, f"semantic {command} {short(argv)} crashed (exit {proc.returncode}): {err[-1500:]}"
        assert not raw, f"semantic {command} {short(argv)}: not one error line (exit {proc.returncode}): {err[-1500:]}"
        stats["value" if proc.returncode in (0, 1) else "explained"] += 1
        return proc


@pytest.fixture(scope="session")
def cli(fuzz_home: Path) -> Cli:
    fixture = json.loads((fuzz_home / "fixture.json").read_text())
    data = fuzz_home / "data"
    return Cli(fuzz_home, {
        **os.environ, "SEMANTIC_HOME": str(fuzz_home), "SEMANTIC_LANCE_DIR": fixture["lance_dir"],
        "SEMANTIC_MODELS_DIR": fixture["models_dir"], "SEMANTIC_MODEL_DIR": fixture["model_dir"],
        "SEMANTIC_DB": str(data / "semantic_assets.duckdb"), "SEMANTIC_RERANKER_DIR": fixture["reranker_dir"],
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})


@fuzz(CLI_EXAMPLES)
@given(query=ARG_TEXT, k=st.one_of(st.none(), st.integers(-3, 12), st.integers(-(2**70), 2**70),
                                   st.sampled_from(["abc", "2.5", "", "1e3"])),
       filters=st.dictionaries(st.sampled_from(["--brand", "--market", "--channel", "--asset-type"]),
                               st.one_of(st.sampled_from(["n", "US", "social", "headline"]), ARG_TEXT), max_size=2))
def test_cli_search_never_crashes(query: Any, k: Any, filters: dict[str, Any], cli: Cli) -> None:
    argv = [*(["-k", str(k)] if k is not None else []), *[x for kv in filters.items() for x in kv], "--", query]
    proc = cli.run("search", argv)
    text = query.decode("utf-8", "surrogateescape") if isinstance(query, bytes) else query
    if proc.returncode == 0 and blank(text):
        raise AssertionError(f"an empty query was searched: {short(argv)}")


@fuzz(CLI_EXAMPLES)
@given(texts=st.lists(ARG_TEXT, min_size=1, max_size=3), market=st.one_of(st.none(), ARG_TEXT),
       fail_on=st.sampled_from([None, "flag", "review", "bogus"]), as_json=st.booleans())
def test_cli_check_never_crashes(texts: list[Any], market: Any, fail_on: Any, as_json: bool, cli: Cli) -> None:
    argv: list[Any] = [*(["--market", market] if market is not None else []),
                       *(["--fail-on", fail_on] if fail_on else []), *(["--json"] if as_json else []), "--", *texts]
    proc = cli.run("check", argv)
    if proc.returncode in (0, 1) and as_json:
        assert len(proc.stdout.splitlines()) == len(texts)


@fuzz(CLI_EXAMPLES)
@given(extra=st.lists(st.one_of(st.sampled_from(["--json", "-k", "--help", "semantic_embed"]), ARG_TEXT), max_size=2))
def test_cli_functions_never_crashes(extra: list[Any], cli: Cli) -> None:
    proc = cli.run("functions", extra)
    if not extra:
        assert proc.returncode == 0 and all(name.encode() in proc.stdout for name in SQL_NAMES)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


CSV_BYTES = st.one_of(
    st.binary(max_size=400),
    st.lists(st.lists(st.text(st.characters(codec="utf-8"), max_size=30), min_size=1, max_size=4), max_size=6).map(
        lambda rows: _csv(rows).encode("utf-8")),
    st.sampled_from([b"", b"\xef\xbb\xbfid,text\n1,ok\n", b"id,text\r\n1,caf\xe9\r\n", b"a,b\n" + b"x" * 100_000,
                     b"id\n\x00\x00\n", b"id,text\n1,\xed\xa0\x80\n", "id,text\n1,مرحبا 🙂\n".encode()]),
)


@fuzz(CLI_EXAMPLES)
@given(files=st.lists(CSV_BYTES, min_size=1, max_size=3))
def test_cli_check_seeds_never_crashes(files: list[bytes], cli: Cli) -> None:
    folder = Path(tempfile.mkdtemp(dir=cli.home))
    for i, content in enumerate(files):
        (folder / f"seed_{i}.csv").write_bytes(content)
    proc = cli.run("check-seeds", [str(folder)])
    valid = all(_utf8(content) for content in files)
    assert proc.returncode == (0 if valid else 2), (files, proc.returncode)
    shutil.rmtree(folder)


@fuzz(CLI_EXAMPLES)
@given(seed=st.one_of(st.none(), st.integers(-(2**70), 2**70), st.sampled_from(["abc", "1.5", ""])),
       n_assets=st.one_of(st.none(), st.integers(-5, 200), st.integers(120, 4000 if not DEEP else 20_000),
                          st.sampled_from(["abc", "1e3", "", "119", "120"])))
def test_cli_demo_data_never_crashes(seed: Any, n_assets: Any, cli: Cli) -> None:
    folder = Path(tempfile.mkdtemp(dir=cli.home))
    argv = [*(["--seed", str(seed)] if seed is not None else []),
            *(["--n-assets", str(n_assets)] if n_assets is not None else []), "--out", str(folder)]
    proc = cli.run("demo-data", argv)
    if proc.returncode == 0:
        assert len(list(folder.glob("*.csv"))) == 5
    shutil.rmtree(folder)


@pytest.fixture(scope="session")
def label_cli(cli: Cli) -> Cli:
    """The CLI over a published build with two assets, a brief, a reference and one queue item, and its own log."""
    db = cli.home / "label" / "semantic_assets.duckdb"
    db.parent.mkdir(exist_ok=True)
    with duckdb.connect(str(db)) as con:
        con.execute("create table stg_semantic__assets as select * from (values ('A1', 'Warm jacket'), "
                    "('A2', 'A warm jacket')) t(asset_id, text)")
        con.execute("create table stg_semantic__briefs as select 'B1' as brief_id, 'Winter brief' as text")
        con.execute("create table stg_semantic__compliance_references as select 'R1' as reference_id, "
                    "'Guaranteed returns' as text")
        for table in ("stg_semantic__assets", "stg_semantic__briefs", "stg_semantic__compliance_references"):
            con.execute(f"alter table {table} add column content_hash varchar")
            con.execute(f"update {table} set content_hash = md5(text)")
        con.execute("create table fct_review_queue as select 'feedc0ffee00' as review_id, 'duplicate' as task, "
                    "'A1' as left_id, 'A2' as right_id, 'm1' as model_version")
    return Cli(cli.home, {**cli.env, "SEMANTIC_DB": str(db), "SEMANTIC_REVIEW_LOG": str(db.parent / "log.jsonl")})


ID_ARG = st.one_of(st.sampled_from(["A1", "A2", "B1", "R1", "feedc0ffee00", " A1 ", ""]), ARG_TEXT)


@fuzz(CLI_EXAMPLES)
@given(item=st.one_of(st.none(), ID_ARG), ids=st.one_of(st.none(), st.lists(ID_ARG, min_size=2, max_size=2)),
       label=st.one_of(st.sampled_from(["match", "not a match", "skip", "no", "maybe", ""]), ARG_TEXT),
       reviewer=st.one_of(st.none(), st.sampled_from(["Ann", "  ", ""]), ARG_TEXT),
       task=st.one_of(st.none(), st.sampled_from(["duplicate", "lookalike", "brief_match", "dup"]), ARG_TEXT),
       note=st.one_of(st.none(), ARG_TEXT))
def test_cli_label_never_crashes_and_records_only_what_it_accepts(item: Any, ids: Any, label: Any, reviewer: Any,
                                                                   task: Any, note: Any, label_cli: Cli) -> None:
    log = Path(label_cli.env["SEMANTIC_REVIEW_LOG"])
    before = log.read_bytes() if log.exists() else b""
    argv: list[Any] = [*(["--ids", *ids] if ids else []), *(["--task", task] if task is not None else []),
                       "--label", label, *(["--reviewer", reviewer] if reviewer is not None else []),
                       *(["--note", note] if note is not None else []), *(["--", item] if item is not None else [])]
    proc = label_cli.run("label", argv)
    after = log.read_bytes() if log.exists() else b""
    if proc.returncode == 0:
        assert after.startswith(before) and after[len(before):].count(b"\n") == 1  # one decision, appended
        json.loads(after[len(before):])
    else:
        assert after == before, f"semantic label {short(argv)} failed yet wrote to the log"


@pytest.mark.parametrize("command, argv", [
    ("demo-data", ["--n-assets", "20"]),
    ("search", ["-k", str(2**64), "jacket"]),
    ("search", ["--brand", b"\xff", "jacket"]),
    ("functions", ["\n0"]),
])
def test_cli_bugs_the_fuzzer_found_stay_fixed(command: str, argv: list[Any], cli: Cli, tmp_path: Path) -> None:
    """A traceback for too small a demo, for -k beyond 2**64 and for a filter that is not UTF-8; an error of two
    lines for an argument holding a newline: each one line now, naming the argument."""
    if command == "demo-data":
        argv = [*argv, "--out", str(tmp_path)]
    program = [str(SEMANTIC)] if SEMANTIC.exists() else [sys.executable, "-m", "semantic.cli"]
    proc = subprocess.run([*program, command, *argv], capture_output=True, env=cli.env, cwd=cli.home,
                          timeout=CLI_TIMEOUT)
    assert proc.returncode == 2 and cli_verdict(proc) == (False, False), proc.stderr[-1500:]


# --- the figures ------------------------------------------------------------------------------------------------


def test_zz_report_the_fuzz_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Print the inputs per function and command and how they ended (the last test of the module)."""
    kinds = ["value", "explained", "boundary", "raw", "crash"]
    lines = [f"fuzz figures ({'deep, ' + str(DEEP) if DEEP else 'quick, ' + str(SQL_EXAMPLES)} examples per SQL "
             f"function, {CLI_EXAMPLES} per CLI command; {time.monotonic() - STARTED:.0f} s):",
             f"  {'function or command':44} {'inputs':>7} " + " ".join(f"{k:>9}" for k in kinds)]
    for surface in sorted(STATS):
        counts = STATS[surface]
        lines.append(f"  {surface:44} {counts['inputs']:>7} " + " ".join(f"{counts[k]:>9}" for k in kinds))
    total = sum((STATS[s] for s in STATS), Counter())
    lines.append(f"  {'total':44} {total['inputs']:>7} " + " ".join(f"{total[k]:>9}" for k in kinds))
    report = "\n".join(lines)
    with capsys.disabled():
        print("\n" + report)
    if os.environ.get("SEMANTIC_FUZZ_REPORT"):
        Path(os.environ["SEMANTIC_FUZZ_REPORT"]).write_text(report + "\n")
    assert total["crash"] == 0 and total["raw"] == 0
