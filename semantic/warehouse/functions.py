"""The SQL surface: every function the project registers on a DuckDB connection.

Each function is declared once in :data:`FUNCTIONS` with explicit argument and return types.
Python-backed functions are Arrow-vectorised; the search is a table macro over DuckDB's lance
extension. Everything here works on a bare ``duckdb.connect()``.

Every argument is checked: a value outside what a function accepts raises one line naming the function,
the argument, what it accepts and the fix (Python functions raise a :class:`~semantic.errors.SemanticError`,
which DuckDB reports as ``Invalid Input Error: Python exception occurred while executing the UDF:
SemanticDataError: <message>``; the macros call ``error()``), while NULL, blank or merely unusual text gives
NULL or a value. On the connection :func:`register` runs on, each Python function also gets a temp macro of
the same name in front of it: the declared types go straight through, another type is read as the declared one
(a number spelled as text) or refused with our message, and a wrong number of arguments gets a usage line, where
DuckDB's binder would only say that no function matches or fail to cast a literal.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from semantic.decisions import fusion
from semantic.errors import SemanticConfigError, SemanticDataError, SemanticError, SemanticModelVersionError
from semantic.vectors.duckdb_lance import load_lance
from semantic.vectors.index import REFINE_FACTOR

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import duckdb

    from semantic.config import SemanticConfig
    from semantic.encoding.encoder import Encoder

logger = logging.getLogger("semantic")

ASSETS_TABLE = "assets"
#: The most rows a search returns and the most neighbours ``semantic_ann_recall`` compares: a top-k
#: search, not an export (read the LanceDB table itself for every row).
MAX_K = 10_000
#: Float rounding allowed on a cosine handed to ``semantic_match_probability`` (float32 dot products of unit
#: vectors reach 1.0000002); values within it are clipped to [-1, 1].
COSINE_SLACK = 1e-5
#: The range of the compliance score (similarity less a weight in [0, 1] times a typicality in [-1, 1]).
LOOKALIKE_SCORE_RANGE = 2.0
#: A LanceDB table name as LanceDB accepts it (letters, digits, ``_``, ``-``, ``.``; not a path).
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
#: Characters of each text ``semantic_pair_score`` hands to the reranker. The reranker reads at most its
#: ``max_length`` tokens of a pair (192 by default), and the tokenizer's pair truncation takes time quadratic in the
#: texts' lengths (two 100,000-character texts: minutes); 4,000 characters are 800 tokens of English or more, so
#: only a text made of very long words or whitespace scores differently.
PAIR_TEXT_CHARS = 4_000
#: What an argument accepts, as the error messages of the Python functions and of their macros say it.
_SAMPLE = "a positive integer, the rows used as queries"
_K = f"a positive integer up to {MAX_K}"
_SIMILARITY = "a number: a cosine similarity in [-1, 1] (for task lookalike a compliance score in [-2, 2])"
_ANN_RECALL_EXAMPLE = "semantic_ann_recall('assets', 200, 10)"
#: Wrong argument counts, from none up to this, get a usage line instead of DuckDB's binder error.
_MAX_ARGS = 6
_COUNTS = ("no", "one", "two", "three", "four", "five", "six")


@dataclass(frozen=True)
class SqlFunction:
    """One Python-backed SQL function.

    Attributes:
        name: The SQL name, prefixed ``semantic_``.
        params: DuckDB argument types.
        returns: DuckDB return type (``{dim}`` is replaced by the encoder dimension).
        make: Builds the implementation for an encoder (and the connection, when it queries it).
        doc: One line for the README and ``semantic functions``.
        args: The arguments' names, for the usage line and the messages (one per entry of ``params``).
        takes: What the arguments are, in words, for the usage line ("the text to embed").
        hint: What to do instead, appended to the usage line (optional).
        accepts: What each argument that is not text accepts, in words, for the message a value that is not
            one gets (by argument name).
        example: A call that works, for those messages.
        native: Called once per row with Python values instead of once per batch with Arrow.
        queries_connection: ``make`` also takes the connection, and the function reads it through its own cursor.
        reads_pins: ``make`` also takes ``pins``, the LanceDB versions to read (a reader's: those its DuckDB
            file was published with, :mod:`semantic.vectors.pins`; empty inside a build: the latest).
    """

    name: str
    params: tuple[str, ...]
    returns: str
    make: Callable[..., Callable[..., Any]]
    doc: str
    args: tuple[str, ...] = ()
    takes: str = ""
    hint: str = ""
    accepts: tuple[tuple[str, str], ...] = ()
    example: str = ""
    native: bool = False
    queries_connection: bool = False
    reads_pins: bool = False

    @property
    def usage(self) -> str:
        """The one line a call with the wrong number of arguments gets."""
        n = len(self.params)
        counted = f"{_COUNTS[n]} argument{'' if n == 1 else 's'}" + (f", {self.takes}" if self.takes else "")
        line = f"{self.name} takes {counted}: {self.name}({', '.join(self.args)})"
        return f"{line}; {self.hint}" if self.hint else line


def _shown(value: Any, width: int = 40) -> str:
    """A value as a message quotes it: its repr on one line, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _whole_number(function: str, name: str, value: Any, accepts: str, example: str, most: int | None = None) -> int:
    """``value`` as a positive integer (at most ``most``), or an error naming the function and argument."""
    ok = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and math.isfinite(value) and value == int(value))
    if not ok or value < 1 or (most is not None and value > most):
        raise SemanticDataError(f"{function}: {name} must be {accepts} (got {_shown(value)}); e.g. {example}")
    return int(value)


@contextmanager
def _named(function: str) -> Iterator[None]:
    """Prefix the function's name to an error of a lower layer (no calibration, no reference bank yet)."""
    try:
        yield
    except SemanticError as e:
        if str(e).startswith(f"{function}:"):
            raise
        raise type(e)(f"{function}: {e}") from e


def _texts(column: Any) -> list[str | None]:
    return [t if t is not None and t.strip() else None for t in column.to_pylist()]


def _vectors_to_arrow(vectors: np.ndarray, dim: int) -> pa.Array:
    valid = ~np.isnan(vectors).any(axis=1)
    flat = pa.array(np.nan_to_num(vectors).reshape(-1), type=pa.float32())
    mask = pa.array(~valid) if not valid.all() else None
    return pa.FixedSizeListArray.from_arrays(flat, dim, mask=mask)


def _lance_tables(lance_dir: Path) -> list[str]:
    """The names of the LanceDB tables in a folder (its ``<name>.lance`` datasets), sorted."""
    if not lance_dir.is_dir():
        return []
    return sorted(p.name[: -len(".lance")] for p in lance_dir.glob("*.lance") if p.is_dir())


def _check_table(function: str, table: Any, lance_dir: Path, example: str) -> str:
    """A LanceDB table name that exists in ``lance_dir``, or an error naming the tables that do."""
    if isinstance(table, str) and _TABLE_NAME.fullmatch(table) and (lance_dir / f"{table}.lance").is_dir():
        return table
    names = _lance_tables(lance_dir)
    listed = ", ".join(names) if names else "none yet (run `dbt build` first)"
    raise SemanticDataError(f"{function}: no LanceDB table {_shown(table)} in {lance_dir}; table must name one of "
                            f"its tables: {listed}; e.g. {example}")


def _make_embed(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    def semantic_embed(text: Any) -> pa.Array:
        return _vectors_to_arrow(encoder.encode(_texts(text)), encoder.dim)

    return semantic_embed


def _make_similarity(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    def semantic_similarity(left: Any, right: Any) -> pa.Array:
        a, b = _texts(left), _texts(right)
        unique = sorted({t for t in a + b if t is not None})
        index = {t: i for i, t in enumerate(unique)}
        vectors = encoder.encode(unique) if unique else np.zeros((0, encoder.dim), np.float32)
        out: list[float | None] = []
        for x, y in zip(a, b):
            cosine = float(np.dot(vectors[index[x]], vectors[index[y]])) if x is not None and y is not None else None
            # float32 unit vectors give 1.0000002 for a text with itself: the cosine stays in [-1, 1]; a text
            # the encoder could not embed (NaN) is NULL, as semantic_embed gives
            out.append(min(1.0, max(-1.0, cosine)) if cosine is not None and math.isfinite(cosine) else None)
        return pa.array(out, type=pa.float64())

    return semantic_similarity


def _make_model_version(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    def semantic_model_version() -> str:
        return encoder.version

    return semantic_model_version


def _make_check_version(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    def semantic_check_model_version(stored: Any) -> pa.Array:
        values = stored.to_pylist()
        others = sorted({v for v in values if v is not None and v != encoder.version})
        if others:
            more = f" and {len(others) - 1} other(s)" if len(others) > 1 else ""
            raise SemanticModelVersionError(
                f"semantic_check_model_version: model_version must be the active encoder's, {encoder.version} (got "
                f"{_shown(others[0])}{more}); vectors of different models are not comparable: run `dbt build` to "
                f"re-embed with the active model, or set model_dir back to the model of version {_shown(others[0])}")
        return pa.array([None if v is None else True for v in values], type=pa.bool_())

    return semantic_check_model_version


def _make_lance_uri(encoder: Encoder, config: SemanticConfig) -> Callable[..., str | None]:
    from semantic.vectors.store import VectorStore

    store = VectorStore(config.lance_dir)

    def semantic_lance_uri(table: str | None) -> str | None:
        if table is None:
            return None
        # DuckDB's lance extension caches an opened dataset per connection, keyed by its URI, and reads the
        # latest version whatever the URI says: naming the latest version in the URI makes every search
        # read the latest commit instead of the cached one (the extension has no time travel, so the SQL
        # searches cannot read a pinned version; the Python ones do).
        return store.versioned_uri(_check_table("semantic_lance_uri", table, config.lance_dir,
                                                f"semantic_lance_uri('{ASSETS_TABLE}')"))

    return semantic_lance_uri


def _make_ann_recall(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    from semantic.vectors.store import VectorStore

    store = VectorStore(config.lance_dir)
    example = _ANN_RECALL_EXAMPLE

    def vector_table(name: Any) -> str:
        table = _check_table("semantic_ann_recall", name, config.lance_dir, example)
        vector_tables = store.vector_tables()
        if table not in vector_tables:
            raise SemanticDataError(
                f"semantic_ann_recall: table must hold vectors; {table!r} has none (vector tables: "
                f"{', '.join(vector_tables) or 'none'}); e.g. {example}")
        return table

    def semantic_ann_recall(table: Any, sample: Any, k: Any) -> pa.Array:
        measured: dict[tuple[str, int, int], float] = {}  # one measurement per table in a batch
        out: list[float | None] = []
        for t, n, kk in zip(table.to_pylist(), sample.to_pylist(), k.to_pylist()):
            if t is None or n is None or kk is None:
                out.append(None)
                continue
            n = _whole_number("semantic_ann_recall", "sample", n, _SAMPLE, example)
            kk = _whole_number("semantic_ann_recall", "k", kk, _K, example, most=MAX_K)
            if (t, n, kk) not in measured:
                with _named("semantic_ann_recall"):
                    measured[(t, n, kk)] = store.ann_recall(vector_table(t), sample=n, k=kk).recall
            out.append(measured[(t, n, kk)])
        return pa.array(out, type=pa.float64())

    return semantic_ann_recall


def _active_reranker(config: SemanticConfig) -> Any:
    from semantic.encoding.registry import reranker_dir
    from semantic.encoding.reranker import load_reranker

    folder = reranker_dir(config)
    if folder is None:
        raise SemanticConfigError(
            f"no pair reranker is active ({config.rerankers_dir} has none): train one with `semantic train "
            "--cross-encoder --data <pairs folder>`, or set reranker_dir / $SEMANTIC_RERANKER_DIR to one")
    return load_reranker(folder)


def _make_pair_score(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    def semantic_pair_score(left: Any, right: Any) -> pa.Array:
        a, b = _texts(left), _texts(right)
        keep = [i for i, (x, y) in enumerate(zip(a, b)) if x is not None and y is not None]
        out: list[float | None] = [None] * len(a)
        if keep:
            # leading whitespace is no token: cut after it, so a text that is not blank never becomes blank
            left_texts = [str(a[i]).lstrip()[:PAIR_TEXT_CHARS] for i in keep]
            right_texts = [str(b[i]).lstrip()[:PAIR_TEXT_CHARS] for i in keep]
            with _named("semantic_pair_score"):
                scores = _active_reranker(config).score(left_texts, right_texts)
            for i, value in zip(keep, scores):
                out[i] = float(value) if math.isfinite(value) else None
        return pa.array(out, type=pa.float64())

    return semantic_pair_score


def _make_reranker_version(encoder: Encoder, config: SemanticConfig) -> Callable[..., Any]:
    def semantic_reranker_version() -> str:
        with _named("semantic_reranker_version"):
            return str(_active_reranker(config).version)

    return semantic_reranker_version


def _make_check_reranker_version(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    def semantic_check_reranker_version(stored: Any) -> pa.Array:
        values = stored.to_pylist()
        given = sorted({v for v in values if v is not None})
        if given:  # only rows a reranker scored need one: all-NULL passes with none active
            from semantic.encoding.registry import reranker_dir
            from semantic.encoding.reranker import load_reranker

            with _named("semantic_check_reranker_version"):
                folder = reranker_dir(config)
                current = load_reranker(folder).version if folder is not None else None
            others = [v for v in given if v != current]
            if others:
                more = f" and {len(others) - 1} other(s)" if len(others) > 1 else ""
                now = f"the active pair reranker's, {current}" if current else "an active pair reranker's (none is)"
                raise SemanticModelVersionError(
                    f"semantic_check_reranker_version: reranker_version must be {now} (got {_shown(others[0])}{more}); "
                    "scores of different rerankers are not comparable: run `dbt build` to rescore the pairs with the "
                    f"active reranker, or activate that reranker again (`semantic activate --reranker VERSION`)")
        return pa.array([None if v is None else True for v in values], type=pa.bool_())

    return semantic_check_reranker_version


def _make_match_probability(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    from semantic.decisions import calibration

    cache: dict[str, Any] = {}

    def current() -> dict[str, calibration.Calibration]:
        path = config.calibration_dir / f"{encoder.version}.json"
        stamp = path.stat().st_mtime_ns if path.is_file() else None
        if cache.get("stamp") != stamp or "calibrations" not in cache:
            cache["calibrations"] = calibration.load(config.calibration_dir, encoder.version)
            cache["stamp"] = stamp
        return cache["calibrations"]

    def checked(s: float, task: str) -> float:
        bound = LOOKALIKE_SCORE_RANGE if task == "lookalike" else 1.0
        if not -bound - COSINE_SLACK <= s <= bound + COSINE_SLACK:  # NaN fails too
            what = (f"a compliance score in [-{bound:g}, {bound:g}]" if task == "lookalike"
                    else "a cosine similarity in [-1, 1]")
            raise SemanticDataError(
                f"semantic_match_probability: similarity must be {what} for task {task!r} (got {_shown(s)}); pass "
                "semantic_similarity(a, b) or array_cosine_similarity(u, v), or NULL for a NULL probability")
        return min(bound, max(-bound, s))

    def semantic_match_probability(similarity: Any, task: Any) -> pa.Array:
        pairs = list(zip(similarity.to_pylist(), task.to_pylist()))
        with _named("semantic_match_probability"):
            calibrations = current() if any(s is not None and t is not None for s, t in pairs) else {}
        out: list[float | None] = []
        for s, t in pairs:
            if s is None or t is None:
                out.append(None)
                continue
            if t not in calibrations:
                raise SemanticConfigError(
                    f"semantic_match_probability: unknown task {_shown(t)}; task must be one of the tasks calibrated "
                    f"for model version {encoder.version}: {', '.join(sorted(calibrations))}")
            out.append(float(calibrations[t].probability(checked(s, t))))
        return pa.array(out, type=pa.float64())

    return semantic_match_probability


CHECK_TYPE = (
    "STRUCT(decision VARCHAR, reference_id VARCHAR, rule_id VARCHAR, severity VARCHAR, similarity DOUBLE, "
    "score DOUBLE, probability DOUBLE, claim VARCHAR, rationale VARCHAR, reranker_probability DOUBLE, "
    "reranker_version VARCHAR)"
)


def _make_compliance_check(encoder: Encoder, config: SemanticConfig, pins: Mapping[str, int]
                           ) -> Callable[..., pa.Array]:
    from semantic.decisions.compliance import check_texts

    def semantic_compliance_check(text: Any) -> pa.Array:
        with _named("semantic_compliance_check"):
            checks = check_texts(_texts(text), config, encoder, pins=pins)
        rows = [c.as_dict() if c.decision is not None else None for c in checks]
        for row in rows:  # float32 rounding gives 1.0000001 for a draft that is a reference: cosines stay in [-1, 1]
            if row is not None and row["similarity"] is not None:
                row["similarity"] = min(1.0, max(-1.0, row["similarity"]))
        fields = [("decision", pa.string()), ("reference_id", pa.string()), ("rule_id", pa.string()),
                  ("severity", pa.string()), ("similarity", pa.float64()), ("score", pa.float64()),
                  ("probability", pa.float64()),
                  ("claim", pa.string()), ("rationale", pa.string()), ("reranker_probability", pa.float64()),
                  ("reranker_version", pa.string())]
        return pa.array(rows, type=pa.struct(fields))

    return semantic_compliance_check


def _parse_inputs(inputs: str) -> list[dict[str, Any]]:
    """The JSON argument of ``semantic_check_inputs``, checked: a list of {name, relation, mapping}."""
    import json

    from semantic.warehouse.contract import load_contract

    usage = ("inputs must be a JSON list of {name, relation, mapping} objects, e.g. "
             "'[{\"name\": \"assets\", \"relation\": \"my_assets\", \"mapping\": null}]' (the dbt macro "
             "semantic_check_inputs builds it from the semantic_input_<name> vars)")
    try:
        parsed = json.loads(inputs)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise SemanticDataError(f"semantic_check_inputs: {usage} (got {_shown(inputs)})")
    names = list(load_contract())
    for item in parsed:
        if item.get("name") not in names:
            raise SemanticDataError(f"semantic_check_inputs: each input's name must be one of {', '.join(names)} "
                                    f"(got {_shown(item.get('name'))}); {usage}")
        mapping = item.get("mapping")
        if isinstance(mapping, dict) and not all(isinstance(v, str) for v in mapping.values()):
            raise SemanticDataError(
                f"semantic_check_inputs: the mapping of input {item['name']!r} must map contract columns to your "
                f"column names, as text (got {_shown(mapping)}); e.g. {{\"text\": \"body_copy\"}}")
    return parsed


def _check_one_relation(cursor: Any, item: dict[str, Any]) -> None:
    """Refuse a relation that is several statements: the contract check reads it with ``select * from
    <relation>``, and DuckDB would run every statement after the first too."""
    relation = item.get("relation")
    if relation is None:
        return
    try:
        statements = len(cursor.extract_statements(f"select * from {relation}"))
    except Exception:  # noqa: BLE001 - not SQL at all: the contract check reports it as a relation it cannot read
        return
    if statements > 1:
        raise SemanticDataError(
            f"semantic_check_inputs: the relation of input {item['name']!r} must name one relation (a table, a view, "
            f"a quoted file path or a table function), not several statements (got {_shown(relation)}); e.g. "
            "\"my_schema.assets\" or \"'exports/assets.parquet'\"")


def _make_check_inputs(
    encoder: Encoder, config: SemanticConfig, conn: duckdb.DuckDBPyConnection
) -> Callable[..., str | None]:
    import json

    from semantic.warehouse.contract import check_inputs, format_problems

    def semantic_check_inputs(inputs: str | None) -> str | None:
        if inputs is None:
            return None
        parsed = _parse_inputs(inputs)
        # its own cursor: a query cannot run on the connection that is running this function; it sees
        # what earlier dbt nodes committed, which is every relation an input can name
        cursor = conn.cursor()
        try:
            for item in parsed:
                _check_one_relation(cursor, item)
            with _named("semantic_check_inputs"):
                reports = check_inputs(cursor, parsed)
        finally:
            cursor.close()
        return json.dumps({"reports": [r.as_dict() for r in reports], "message": format_problems(reports)})

    return semantic_check_inputs


FUNCTIONS: tuple[SqlFunction, ...] = (
    SqlFunction(
        "semantic_embed", ("VARCHAR",), "FLOAT[{dim}]", _make_embed,
        "Embed a text with the active encoder; NULL for NULL, empty or blank text (any other text, however long "
        "or unusual, gets a vector).",
        args=("text",), takes="the text to embed",
    ),
    SqlFunction(
        "semantic_similarity", ("VARCHAR", "VARCHAR"), "DOUBLE", _make_similarity,
        "Cosine similarity in [-1, 1] of two texts under the active encoder; NULL if either is NULL or blank.",
        args=("left_text", "right_text"), takes="the two texts",
    ),
    SqlFunction(
        "semantic_model_version", (), "VARCHAR", _make_model_version,
        "The version (directory name + file hash) of the active encoder.",
    ),
    SqlFunction(
        "semantic_pair_score", ("VARCHAR", "VARCHAR"), "DOUBLE", _make_pair_score,
        "Probability in [0, 1] that two texts are the same item, from the active pair reranker (a cross-encoder "
        "reading both at once, semantic train --cross-encoder; the mean of both orders; each text read up to its "
        "first 4,000 characters); NULL if either is NULL or blank.",
        args=("left_text", "right_text"), takes="the two texts of the pair",
    ),
    SqlFunction(
        "semantic_reranker_version", (), "VARCHAR", _make_reranker_version,
        "The version (directory name + file hash) of the active pair reranker; an error when none is active.",
    ),
    SqlFunction(
        "semantic_check_model_version", ("VARCHAR",), "BOOLEAN", _make_check_version,
        "True when a stored vector's model version is the active one, NULL for NULL; raises, naming both "
        "versions, otherwise.",
        args=("model_version",), takes="a stored vector's model version",
    ),
    SqlFunction(
        "semantic_check_reranker_version", ("VARCHAR",), "BOOLEAN", _make_check_reranker_version,
        "True when the pair reranker that scored a row (reranker_version) is the active one, NULL for NULL; raises, "
        "naming both versions, otherwise.",
        args=("reranker_version",), takes="the reranker version a row records",
    ),
    SqlFunction(
        "semantic_match_probability", ("DOUBLE", "VARCHAR"), "DOUBLE", _make_match_probability,
        "Calibrated probability that a cosine similarity in [-1, 1] is a match for a task (duplicate, brief_match; "
        "for lookalike the compliance score of fct_compliance_lookalikes, in [-2, 2]) under the active encoder; "
        "NULL if either is NULL; a value out of range, NaN or a task without a calibration is an error. "
        "BI tools use the persisted macro match_probability.",
        args=("similarity", "task"), takes="a cosine similarity and a task (duplicate, brief_match or lookalike)",
        accepts=(("similarity", _SIMILARITY),), example="semantic_match_probability(semantic_similarity(a, b), "
        "'duplicate')",
    ),
    SqlFunction(
        "semantic_compliance_check", ("VARCHAR",), CHECK_TYPE, _make_compliance_check,
        "Check draft copy against the active compliance references: decision (flag/review/clear), "
        "nearest reference and rule, similarity, score (similarity less the reference's weighted typicality), "
        "calibrated probability, the claim and its rationale, and where the active lookalike reranker was asked "
        "about a review its probability and version (below its clearing probability the review is cleared); "
        "NULL for NULL or blank text.",
        args=("text",), takes="the draft text",
        hint="to check against one market's references, run `semantic check --market <market> TEXT`",
        reads_pins=True,
    ),
    SqlFunction(
        "semantic_lance_uri", ("VARCHAR",), "VARCHAR", _make_lance_uri,
        "URI of the latest version of a LanceDB table of the project (what semantic_search reads); NULL for NULL; "
        "any other name that is not a table is an error naming the tables.",
        args=("table_name",), takes="a LanceDB table name", native=True,
    ),
    SqlFunction(
        "semantic_ann_recall", ("VARCHAR", "BIGINT", "BIGINT"), "DOUBLE", _make_ann_recall,
        f"Recall@k (k from 1 to {MAX_K}) of a LanceDB vector table's ANN index against exact search on a seeded "
        "sample of its rows (sample: rows used as queries, a positive integer; 1.0 without an index, nothing "
        "searched); NULL if any argument is NULL; the semantic_ann_recall dbt test gates on it.",
        args=("table_name", "sample", "k"), takes="a LanceDB table name, the sample size and k",
        accepts=(("sample", _SAMPLE), ("k", _K)), example=_ANN_RECALL_EXAMPLE,
    ),
    SqlFunction(
        "semantic_check_inputs", ("VARCHAR",), "VARCHAR", _make_check_inputs,
        "Check relations against the source contract (a JSON list of {name, relation, mapping}): JSON with "
        "each input's mapped columns, rows, fingerprint and problems, and one message when any breaks it; "
        "NULL for NULL; stg_semantic__inputs calls it before anything is embedded.",
        args=("inputs",), takes="a JSON list of {name, relation, mapping}",
        native=True, queries_connection=True,
    ),
)


def _sql_string(text: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _sql_shown(arg: str) -> str:
    """SQL for a macro argument as an error message quotes it: on one line, cut to 40 characters, text quoted."""
    text = rf"left(regexp_replace(cast({arg} as varchar), '\s+', ' ', 'g'), 40)"
    return f"coalesce(case when typeof({arg}) = 'VARCHAR' then '''' || {text} || '''' else {text} end, 'NULL')"


def _sql_fail(function: str, arg: str, accepts: str, example: str) -> str:
    """SQL raising ``<function>: <arg> must be <accepts> (got <value>); e.g. <example>``."""
    head = _sql_string(f"{function}: {arg} must be {accepts} (got ")
    return f"error({head} || {_sql_shown(arg)} || {_sql_string(f'); e.g. {example}')})"


def _sql_k(function: str) -> str:
    """The macro's ``k``, checked: a whole number from 1 to :data:`MAX_K` (text or a float that is one too)."""
    num = "try_cast(cast(k as varchar) as double)"
    return (f"(case when {num} >= 1 and {num} <= {MAX_K} and {num} = floor({num}) then cast({num} as bigint) "
            f"else {_sql_fail(function, 'k', f'a positive integer up to {MAX_K}', 'k := 10')} end)")


def _sql_alpha(function: str) -> str:
    """The macro's ``alpha``, checked: a number in [0, 1] (NaN is not)."""
    num = "try_cast(cast(alpha as varchar) as double)"
    accepts = "a number in [0, 1], the weight of the vector side (1 = vector only, 0 = full text only)"
    return (f"(case when {num} >= 0 and {num} <= 1 then cast({num} as float) "
            f"else {_sql_fail(function, 'alpha', accepts, 'alpha := 0.5')} end)")


def _sql_date(function: str, arg: str) -> str:
    """A date filter of the macro, checked: NULL, a finite DATE (or TIMESTAMP), or text DuckDB reads as one."""
    fail = _sql_fail(function, arg, "a DATE or a 'YYYY-MM-DD' string", f"{arg} := DATE '2026-01-31'")
    # infinity is a DATE to DuckDB but no date to LanceDB's prefilter
    return (f"(case when {arg} is null then null::date when isfinite(try_cast({arg} as date)) "
            f"then try_cast({arg} as date) else {fail} end)")


def _sql_exact(function: str) -> str:
    """The macro's ``exact``, checked: true or false (NULL is false)."""
    flag = "try_cast(cast(exact as varchar) as boolean)"
    return (f"(case when exact is null then false when {flag} is not null then {flag} "
            f"else {_sql_fail(function, 'exact', 'true or false', 'exact := true')} end)")


def _filters(function: str) -> str:
    """The filters of a search macro: pushed down to LanceDB as a prefilter; the values stay data."""
    created_from, created_to = _sql_date(function, "created_from"), _sql_date(function, "created_to")
    return f"""    where (cast(brand as varchar) is null or found.brand = cast(brand as varchar))
        and (cast(market as varchar) is null or found.market = cast(market as varchar))
        and (cast(channel as varchar) is null or found.channel = cast(channel as varchar))
        and (cast(asset_type as varchar) is null or found.asset_type = cast(asset_type as varchar))
        and ({created_from} is null or found.created_at >= {created_from})
        and ({created_to} is null or found.created_at <= {created_to})"""


def _use_index(function: str) -> str:
    """The ANN index serves unfiltered searches only (see the search macro).

    The checks of the dates and of ``exact`` run here: DuckDB evaluates a table function's parameters at every
    call (``list_value`` evaluates both dates), whereas in the filters a check only runs for rows that pass the
    filters before it, and a search with no such row would take a bad date silently.
    """
    dates = f"list_value({_sql_date(function, 'created_from')}, {_sql_date(function, 'created_to')})"
    return (f"len({dates}) = 2 and not {_sql_exact(function)} and brand is null and market is null "
            "and channel is null and asset_type is null and created_from is null and created_to is null")


#: The asset columns a search returns, in order (then its score and rank).
RESULT_COLUMNS = ("asset_id", "brand", "channel", "market", "asset_type", "created_at")
COLUMNS = ", ".join(f"hits.{c}" for c in RESULT_COLUMNS)
NEAREST_TYPE = ("STRUCT(asset_id VARCHAR, brand VARCHAR, channel VARCHAR, market VARCHAR, asset_type VARCHAR, "
                "created_at DATE, similarity DOUBLE)[]")
NEAREST_PARAMS: list[Any] = ["VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "DATE", "DATE", "BOOLEAN"]

SEARCH_MACRO = """
create or replace temp macro semantic_search(
    query, k := 10, brand := NULL, market := NULL, channel := NULL, asset_type := NULL,
    created_from := NULL, created_to := NULL, exact := false
) as table (
select
    {struct_columns},
    found.hit.similarity,
    row_number() over (order by found.hit.similarity desc, found.hit.asset_id) as rank
-- the search runs in Python (semantic_search_nearest: VectorStore.search): unfiltered through the version's HNSW
-- graph or its IVF index, filtered or exact := true by an exact scan of the matching rows; the filters reach
-- LanceDB as a prefilter (k rows come back whenever k rows match) whose values stay data, never filter text.
-- One list of structs, unnested once: a recursive unnest of it cost about 1.5 ms more a search.
from (select unnest(semantic_search_nearest(
    cast(query as varchar), {k}, cast(brand as varchar), cast(market as varchar), cast(channel as varchar),
    cast(asset_type as varchar), {created_from}, {created_to}, {exact}
)) as hit) as found
order by rank
), () as table (select {usage} as asset_id)
"""


_SIDE_EFFECTS = ("semantic_check_model_version", "semantic_lance_uri", "semantic_match_probability",
                 "semantic_compliance_check", "semantic_ann_recall", "semantic_check_inputs")


HYBRID_MACRO = """
create or replace temp macro semantic_hybrid_search(
    query, k := 10, alpha := {alpha}, brand := NULL, market := NULL, channel := NULL, asset_type := NULL,
    created_from := NULL, created_to := NULL, exact := false
) as table (
with hits as (
    select * from lance_hybrid_search(
        semantic_lance_uri(if(query is null, '{table}', '{table}')),
        'vector',
        coalesce(
            cast(semantic_embed(cast(query as varchar)) as float[]),
            cast(error('semantic_hybrid_search: the query text is NULL or blank; pass some text') as float[])
        ),
        'text',
        cast(query as varchar),
        k := {k},
        alpha := {checked_alpha},
        use_index := {use_index},
        nprobs := {nprobes},
        refine_factor := {refine_factor},
        prefilter := true
    ) as found
{filters}
)
select
    {columns},
    hits._hybrid_score as score,
    row_number() over (order by hits._hybrid_score desc, hits.asset_id) as rank
from hits
where semantic_check_model_version(hits.model_version)
order by rank
), () as table (select {usage} as asset_id)
"""

#: What a search macro called without its query says.
SEARCH_USAGE = ("{name} takes the query text first, then k and the filters by name: {name}('warm jacket', "
                "k := 10, brand := 'Acme', created_from := '2026-01-01')")


def _sql_converted(fn: SqlFunction, index: int) -> str:
    """SQL for argument ``index`` of ``fn``'s untyped overload: the value as the declared type, or our error.

    The overload gets what the typed one does not: a number or a date where text is declared, text where a
    number is (a number spelled as text is read as one), a fraction where an integer is.
    """
    arg, declared = fn.args[index], fn.params[index]
    if declared == "VARCHAR":
        fail = (f"error({_sql_string(f'{fn.name}: {arg} must be VARCHAR (got ')} || {_sql_shown(arg)} || ', of type ' "
                f"|| typeof({arg}) || {_sql_string('); to read a value as text, cast it: cast(x as varchar)')})")
        text_like = f"typeof({arg}) like 'VARCHAR%' or typeof({arg}) = 'JSON' or typeof({arg}) like 'ENUM(%'"
        return (f"(case when {arg} is null then null::varchar when {text_like} then cast({arg} as varchar) "
                f"else {fail} end)")
    number = f"try_cast(cast({arg} as varchar) as double)"
    fail = _sql_fail(fn.name, arg, dict(fn.accepts)[arg], fn.example)
    if declared == "DOUBLE":
        return f"(case when {arg} is null then null::double when {number} is not null then {number} else {fail} end)"
    assert declared == "BIGINT", f"{fn.name}: no conversion for {declared}"
    whole = f"{number} = floor({number}) and abs({number}) < 9e18"
    return f"(case when {arg} is null then null::bigint when {whole} then cast({number} as bigint) else {fail} end)"


def _wrapper_macro(fn: SqlFunction) -> str:
    """A temp macro named like ``fn`` in front of the Python function (``system.main``): an overload with the
    declared types passes its arguments straight on (DuckDB casts what it casts implicitly); an untyped one of
    the same arity converts any other type or gives our error (DuckDB's binder would say that no function matches,
    or fail to cast a literal); any other number of arguments, up to :data:`_MAX_ARGS`, gets ``fn.usage``."""
    names = ", ".join(fn.args)
    typed = ", ".join(f"{arg} {declared}" for arg, declared in zip(fn.args, fn.params))
    overloads = [f"({typed}) as system.main.{fn.name}({names})"]
    if fn.params:
        converted = ", ".join(_sql_converted(fn, i) for i in range(len(fn.params)))
        overloads.append(f"({names}) as system.main.{fn.name}({converted})")
    fail = f"error({_sql_string(fn.usage)})"
    overloads += [f"({', '.join(f'arg{i + 1}' for i in range(n))}) as {fail}"
                  for n in range(_MAX_ARGS + 1) if n != len(fn.params)]
    return f"create or replace temp macro {fn.name}" + ", ".join(overloads)


def register(
    conn: duckdb.DuckDBPyConnection,
    config: SemanticConfig,
    encoder: Encoder | None = None,
    pinned: bool = False,
) -> None:
    """Register every ``semantic_`` function and the search macros on a connection.

    Each Python function is registered under its name, with a temp macro of that name in front of it that
    checks the number and types of its arguments (:func:`_wrapper_macro`); another cursor of the connection,
    which does not see temp macros, calls the function itself, with DuckDB's binder errors.

    Args:
        conn: A DuckDB connection (a dbt connection or a bare ``duckdb.connect()``).
        config: Says which encoder to use and where the LanceDB tables are.
        encoder: Use this encoder instead of loading the configured one (tests, notebooks).
        pinned: A reader's connection: the Python-backed functions that read LanceDB
            (``semantic_compliance_check``) read the versions the connection's DuckDB file was published with
            (``dim_lance_versions``), not the latest, so they match the marts it reads even while another build
            writes LanceDB. The dbt plugin registers unpinned: a build reads what it writes. The search macros
            go through DuckDB's lance extension, which reads the latest version.
    """
    from duckdb.func import FunctionNullHandling, PythonUDFType

    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import encoder_dir
    from semantic.vectors.pins import read_pins
    from semantic.vectors.store import VectorStore

    encoder = encoder or load_encoder(encoder_dir(config), config.batch_size)
    pins = read_pins(conn) if pinned else {}
    for fn in FUNCTIONS:
        conn.execute(f"drop macro if exists temp.main.{fn.name}")  # the wrapper of an earlier register
        try:
            conn.remove_function(fn.name)
        except Exception:  # noqa: BLE001 - not registered yet on this connection
            pass
        vectorised = bool(fn.params) and not fn.native
        conn.create_function(
            fn.name,
            fn.make(encoder, config, conn) if fn.queries_connection
            else fn.make(encoder, config, pins) if fn.reads_pins else fn.make(encoder, config),
            list(fn.params),
            fn.returns.format(dim=encoder.dim),
            type=PythonUDFType.ARROW if vectorised else PythonUDFType.NATIVE,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=fn.name in _SIDE_EFFECTS,
        )
        conn.execute(_wrapper_macro(fn))
    _register_nearest(conn, config, encoder, pins)
    load_lance(conn)
    learned = fusion.load(config.calibration_dir, encoder.version)
    alpha = learned.alpha if learned is not None else fusion.DEFAULT_ALPHA
    for name, macro in (("semantic_search", SEARCH_MACRO), ("semantic_hybrid_search", HYBRID_MACRO)):
        conn.execute(macro.format(
            table=ASSETS_TABLE, filters=_filters(name), columns=COLUMNS, refine_factor=REFINE_FACTOR,
            created_from=_sql_date(name, "created_from"), created_to=_sql_date(name, "created_to"),
            exact=_sql_exact(name),
            struct_columns=", ".join(f"found.hit.{c} as {c}" for c in RESULT_COLUMNS),
            nprobes=VectorStore(config.lance_dir).search_probes(ASSETS_TABLE), use_index=_use_index(name),
            k=_sql_k(name), alpha=float(alpha), checked_alpha=_sql_alpha(name),
            usage=f"error({_sql_string(SEARCH_USAGE.format(name=name))})"))


def _register_nearest(conn: duckdb.DuckDBPyConnection, config: SemanticConfig, encoder: Encoder,
                      pins: dict[str, int]) -> None:
    """``semantic_search_nearest``: the search behind the ``semantic_search`` macro, which checks its arguments.

    In Python rather than DuckDB's lance extension: the query vector never becomes a DuckDB list parameter and no
    dataset is opened per query (the extension's path took 14 ms of a search at 1,000,000 rows), the unfiltered
    search goes through the version's HNSW graph when it has one (:mod:`semantic.vectors.graph`), and a reader's
    connection reads the LanceDB version its DuckDB file was published with (the extension has no time travel).
    """
    import pyarrow.compute as pc
    from duckdb.func import FunctionNullHandling, PythonUDFType

    from semantic.vectors.store import VectorStore

    store = VectorStore(config.lance_dir, pins=pins)
    columns = list(RESULT_COLUMNS)

    def semantic_search_nearest(query: str | None, k: int | None, brand: str | None, market: str | None,
                                channel: str | None, asset_type: str | None, created_from: Any, created_to: Any,
                                exact: bool | None) -> list[dict[str, Any]]:
        if query is None or not str(query).strip():
            raise SemanticDataError("semantic_search: the query text is NULL or blank; pass some text")
        table = _check_table("semantic_search", ASSETS_TABLE, config.lance_dir, "semantic_search('warm jacket')")
        where = None
        for column, value in (("brand", brand), ("market", market), ("channel", channel),
                              ("asset_type", asset_type)):
            if value is not None:
                where = _and(where, pc.field(column) == pc.scalar(value))
        if created_from is not None:
            where = _and(where, pc.field("created_at") >= pc.scalar(created_from))
        if created_to is not None:
            where = _and(where, pc.field("created_at") <= pc.scalar(created_to))
        vector = encoder.encode([query])[0]
        hits = store.search(table, vector, encoder.version, k=int(k or 10), where=where, columns=columns,
                            exact=bool(exact))
        return hits.select([*columns, "similarity"]).to_pylist()

    try:
        conn.remove_function("semantic_search_nearest")
    except Exception:  # noqa: BLE001 - not registered yet on this connection
        pass
    conn.create_function("semantic_search_nearest", semantic_search_nearest, list(NEAREST_PARAMS), NEAREST_TYPE,
                         type=PythonUDFType.NATIVE, null_handling=FunctionNullHandling.SPECIAL, side_effects=True)


def _and(left: Any, right: Any) -> Any:
    return right if left is None else left & right


def describe() -> list[tuple[str, str, str]]:
    """(signature, return type, description) of every registered function, for docs and the CLI."""
    return [
        (f"{fn.name}({', '.join(fn.params)})", fn.returns, fn.doc) for fn in FUNCTIONS
    ] + [("semantic_search(query VARCHAR, k := 10, brand := NULL, market := NULL, channel := NULL, "
         "asset_type := NULL, created_from := NULL, created_to := NULL, exact := false)", "TABLE",
         f"Top-k assets (k from 1 to {MAX_K}) for a free-text query (NULL or blank: an error); filters "
         "(created_from/created_to: an inclusive date range, each a DATE or 'YYYY-MM-DD') are applied before the "
         "vector search (k rows whenever k match); through the ANN index when the table has one, unless "
         "exact := true."),
        ("semantic_hybrid_search(query VARCHAR, k := 10, alpha := <learned>, brand := NULL, market := NULL, "
         "channel := NULL, asset_type := NULL, created_from := NULL, created_to := NULL, exact := false)", "TABLE",
         "Vector and BM25 full-text search fused (alpha in [0, 1]: weight of the vector side, 1 = vector only); "
         "finds product codes and campaign names the embedding misses. The default alpha is the weight the build "
         "learned on the briefs' known matches for the active encoder (dim_hybrid_search_weight), else 0.5; k and "
         "the filters as semantic_search.")]
