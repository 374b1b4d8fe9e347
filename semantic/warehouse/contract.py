"""The source contract: which inputs semantic-assets reads, their columns, and the check of a relation
against them before anything is embedded (the role dbt's model contracts and dbt-expectations play
for a package's inputs).

The contract itself is data (``contract.yml`` beside this module). :func:`check_input` runs on any
DuckDB connection: it resolves the user's column names, checks types, keys and text, and turns the
database's errors (a missing table, a file that is not UTF-8) into one message that names the input,
the column, a few offending rows and the fix. The dbt package calls it through the SQL function
``semantic_check_inputs`` from ``stg_semantic__inputs``, which every staging model waits for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from semantic.errors import SemanticConfigError

#: How many offending rows a message names.
EXAMPLES = 3

_TYPES = {
    "id": "text or an integer (read as text)",
    "text": "text (VARCHAR)",
    "string": "any scalar (read as text)",
    "date": "a DATE, a TIMESTAMP or ISO date text",
    "boolean": "a BOOLEAN, 0/1 or true/false text",
    "integer": "an integer, a boolean or integer text",
}
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT", "UHUGEINT"}
_TEXT = {"VARCHAR"}
_NESTED = ("[]", "STRUCT", "MAP", "UNION", "BLOB", "BIT")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an input: its contract name, type family, whether it must be there, and its meaning."""

    name: str
    type: str
    required: bool
    key: bool
    meaning: str
    default: str | None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputSpec:
    """One input of the contract (assets, briefs, ...); ``when_absent`` says what is off without it."""

    name: str
    required: bool
    meaning: str
    when_absent: str
    columns: dict[str, ColumnSpec]

    @property
    def relation_var(self) -> str:
        """The dbt var that maps this input to a relation."""
        return f"semantic_input_{self.name}"

    @property
    def columns_var(self) -> str:
        """The dbt var that maps contract column names to the user's column names."""
        return f"semantic_columns_{self.name}"


@lru_cache(maxsize=1)
def load_contract() -> dict[str, InputSpec]:
    """The contract's inputs by name, from ``contract.yml``."""
    import yaml  # type: ignore[import-untyped]

    raw = yaml.safe_load((Path(__file__).with_name("contract.yml")).read_text(encoding="utf-8"))
    inputs: dict[str, InputSpec] = {}
    for name, spec in raw["inputs"].items():
        columns = {
            col: ColumnSpec(col, c["type"], bool(c.get("required")), bool(c.get("key")), c["meaning"],
                            c.get("default"), tuple(c.get("values") or ()))
            for col, c in spec["columns"].items()
        }
        inputs[name] = InputSpec(name, bool(spec["required"]), spec["meaning"], spec.get("when_absent") or "", columns)
    return inputs


@dataclass
class InputReport:
    """What the check found for one input.

    Attributes:
        name: The input (``assets``...).
        relation: The SQL that reads it, as the var gave it, or None when the input is off.
        columns: Contract column -> the user's column, for the columns present.
        n_rows: Rows in the relation (None when it could not be read).
        fingerprint: Row count and an order-independent hash of the mapped columns, so models that
            read a plain table name or a file are rebuilt when it changes.
        problems: One sentence each; empty when the input meets the contract.
    """

    name: str
    relation: str | None
    columns: dict[str, str] = field(default_factory=dict)
    n_rows: int | None = None
    fingerprint: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (what ``semantic_check_input`` returns)."""
        return {"name": self.name, "relation": self.relation, "columns": self.columns, "n_rows": self.n_rows,
                "fingerprint": self.fingerprint, "problems": self.problems}


def quote(identifier: str) -> str:
    """A DuckDB identifier in double quotes."""
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _short(value: Any, width: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _is_encoding_error(error: Exception) -> bool:
    text = str(error)
    return any(s in text for s in ("not utf-8 encoded", "Invalid unicode", "Invalid string encoding", "not valid UTF8"))


def _type_ok(family: str, duck_type: str) -> bool:
    t = duck_type.upper()
    if any(n in t for n in _NESTED):
        return False
    if family == "id":
        return t in _TEXT or t in _INTEGERS or t == "UUID"
    if family == "text":
        return t in _TEXT
    if family == "date":
        return t in _TEXT or t == "DATE" or t.startswith("TIMESTAMP")
    if family == "boolean":
        return t in _TEXT or t == "BOOLEAN" or t in _INTEGERS
    if family == "integer":
        return t in _TEXT or t == "BOOLEAN" or t in _INTEGERS
    return True  # string: any scalar


def _cast_sql(family: str, column: str, duck_type: str) -> str | None:
    """A boolean SQL expression, true where a non-NULL value cannot be read as its family (None: never)."""
    t = duck_type.upper()
    if family == "date" and t in _TEXT:
        return (f"{column} is not null and try_cast({column} as date) is null "
                f"and try_cast({column} as timestamp) is null")
    if family == "boolean" and t in _TEXT:
        return f"{column} is not null and try_cast(trim({column}) as boolean) is null"
    if family == "boolean" and t in _INTEGERS:
        return f"{column} is not null and {column} not in (0, 1)"
    if family == "integer" and t in _TEXT:
        return f"{column} is not null and try_cast(trim({column}) as integer) is null"
    return None


def _where_examples(conn: Any, source: str, condition: str, show: str) -> tuple[int, list[Any]]:
    """How many rows meet ``condition`` and the ``show`` value of the first few."""
    total, examples = conn.execute(
        f"select count(*), list({show}) filter (where _n <= {EXAMPLES}) from "
        f"(select *, row_number() over () as _n from (select * from {source} where {condition}))"
    ).fetchone()
    return int(total), list(examples or [])


def _resolve_columns(spec: InputSpec, available: list[str], mapping: dict[str, Any],
                     report: InputReport) -> None:
    by_lower = {c.lower(): c for c in available}
    unknown = sorted(set(mapping) - set(spec.columns))
    if unknown:
        report.problems.append(
            f"{spec.columns_var} maps {', '.join(unknown)}, which the contract does not have; its columns are "
            f"{', '.join(spec.columns)} (map a contract column to yours, e.g. {{text: body}})")
    for name, col in spec.columns.items():
        wanted = mapping.get(name)
        if wanted is not None and str(wanted).strip():
            found = by_lower.get(str(wanted).strip().lower())
            if found is None:
                report.problems.append(
                    f"{spec.columns_var} maps {name} to column {str(wanted)!r}, which {report.relation} does not "
                    f"have; its columns are {', '.join(available)}")
                continue
        else:
            found = by_lower.get(name.lower())
        if found is not None:
            report.columns[name] = found
        elif col.required:
            report.problems.append(
                f"required column {name} ({col.meaning.rstrip('.')}) is missing; {report.relation} has "
                f"{', '.join(available)}. Rename a column to {name}, or map yours: "
                f"`{spec.columns_var}: {{{name}: <your column>}}`")


def _check_values(conn: Any, spec: InputSpec, source: str, types: dict[str, str], report: InputReport) -> None:
    cols = report.columns
    key = next((c for c in spec.columns.values() if c.key), None)
    show_id = quote(cols[key.name]) if key is not None and key.name in cols else None
    for name, col in spec.columns.items():
        if name not in cols:
            continue
        column = quote(cols[name])
        duck_type = types[cols[name]]
        if not _type_ok(col.type, duck_type):
            report.problems.append(
                f"column {_named(cols, name)} is {duck_type}, but the contract needs {_TYPES[col.type]}; "
                f"cast it in a model of yours (e.g. `cast({cols[name]} as varchar)`) and point "
                f"{spec.relation_var} at that")
            continue
        bad = _cast_sql(col.type, column, duck_type)
        if bad:
            n, examples = _where_examples(conn, source, bad, f"{column}::varchar")
            if n:
                report.problems.append(
                    f"column {_named(cols, name)} has {n} value(s) that are not {_TYPES[col.type]}, e.g. "
                    f"{', '.join(_short(v) for v in examples)}; fix or cast them")
        accepted = col.values  # checked after lower(trim())
        if accepted:
            listed = ", ".join(_literal(v) for v in accepted)
            value = (f"try_cast(trim({column}::varchar) as integer)::varchar" if col.type == "integer"
                     and duck_type.upper() in _TEXT else f"{column}::integer::varchar" if col.type == "integer"
                     else f"lower(trim({column}::varchar))")
            n, examples = _where_examples(conn, source, f"{column} is not null and {value} not in ({listed})",
                                          f"{column}::varchar")
            if n:
                report.problems.append(
                    f"column {_named(cols, name)} has {n} value(s) outside {', '.join(accepted)}, e.g. "
                    f"{', '.join(_short(v) for v in examples)}")
        if col.required or col.key:
            show = show_id if show_id is not None and name != (key.name if key else None) else None
            n, examples = _where_examples(conn, source, f"{column} is null",
                                          f"{show}::varchar" if show else _row_preview(cols, exclude=name))
            if n:
                where = (f"{key.name if key else 'id'} {', '.join(_short(v) for v in examples)}" if show
                         else "e.g. " + "; ".join(str(v) for v in examples))
                need = f"{'a unique ' if col.key else 'a '}{name}"
                report.problems.append(
                    f"column {_named(cols, name)} is NULL in {n} row(s) ({where}); every row needs {need}: "
                    "fill it in or filter those rows out in a model of yours")
    if key is not None and key.name in cols:
        column = quote(cols[key.name])
        total, examples = conn.execute(
            f"select count(*), list(_id || ' (' || _n || ' times)') filter (where _r <= {EXAMPLES}) from ("
            f"select {column}::varchar as _id, count(*) as _n, row_number() over (order by count(*) desc, "
            f"{column}::varchar) as _r from {source} where {column} is not null group by 1 having count(*) > 1)"
        ).fetchone()
        if total:
            report.problems.append(
                f"column {_named(cols, key.name)} is not unique: {total} id(s) repeat, e.g. "
                f"{', '.join(examples or [])}; keep one row per {key.name} (deduplicate in a model of yours)")
    if spec.name == "labelled_pairs":
        for side, id_col, text_col in (("left", "left_id", "text_a"), ("right", "right_id", "text_b")):
            present = [quote(cols[c]) for c in (id_col, text_col) if c in cols]
            if not present:
                report.problems.append(
                    f"pairs need {id_col} or {text_col} for their {side} side; map one of them "
                    f"(`{spec.columns_var}: {{{id_col}: <your column>}}`)")
                continue
            condition = " and ".join(f"{p} is null" for p in present)
            n, examples = _where_examples(conn, source, condition, _row_preview(cols))
            if n:
                report.problems.append(
                    f"{n} pair(s) have neither {id_col} nor {text_col} (e.g. {'; '.join(str(v) for v in examples)}); "
                    "give each side an id or a text")


def _named(cols: dict[str, str], name: str) -> str:
    """The user's column, with the contract's name beside it when they differ."""
    return cols[name] if cols[name] == name else f"{cols[name]} ({name})"


def _row_preview(cols: dict[str, str], exclude: str | None = None) -> str:
    """SQL for a short text showing a row by its first few mapped columns."""
    names = [name for name in cols if name != exclude][:3]
    if not names:
        return "'(no columns)'"
    return " || ', ' || ".join(f"'{name}=' || coalesce(left({quote(cols[name])}::varchar, 30), 'NULL')"
                               for name in names)


def _encoding_problem(error: Exception, spec: InputSpec, report: InputReport, mapping: dict[str, Any]) -> str:
    """Name the file, the column and a few rows of an invalid UTF-8 error from DuckDB."""
    from semantic.warehouse.validation import locate_invalid_utf8

    key = next((c.name for c in spec.columns.values() if c.key), None)
    key_column = str(mapping.get(key) or key) if key else None
    path, where = locate_invalid_utf8(str(error), key_column)
    return (f"{path or report.relation} is not valid UTF-8{where}. Re-export it as UTF-8 "
            + ("(or run `semantic fix-encoding FILE`, which replaces the invalid bytes with U+FFFD and keeps a "
               ".bak copy)" if path is not None and path.suffix.lower() != ".parquet" else
               "(write the column as UTF-8 text, or decode it in a model of yours)"))


def check_input(conn: Any, name: str, relation: str | None, mapping: dict[str, Any] | None = None) -> InputReport:
    """Check one input against the contract.

    Args:
        conn: A DuckDB connection that can read the relation.
        name: The input (a key of ``contract.yml``).
        relation: SQL naming the relation (a table, a view, a quoted file path or a table function),
            or None when the input is not mapped.
        mapping: Contract column name -> the user's column name.

    Returns:
        The report; ``problems`` is empty when the input meets the contract.

    Raises:
        SemanticConfigError: ``name`` is not an input of the contract.
    """
    contract = load_contract()
    if name not in contract:
        raise SemanticConfigError(f"{name!r} is not an input of the contract; inputs are {', '.join(contract)}")
    spec = contract[name]
    report = InputReport(name, relation)
    if relation is None:
        if spec.required:
            report.problems.append(
                f"{spec.relation_var} is not set: point it at the relation holding your {name}, e.g. "
                f"`vars: {{{spec.relation_var}: \"{{{{ source('marketing', '{name}') }}}}\"}}` in dbt_project.yml")
        return report
    if mapping is not None and not isinstance(mapping, dict):
        report.problems.append(f"{spec.columns_var} must be a mapping {{contract column: your column}}, "
                               f"got {mapping!r}")
        return report
    source = f"(select * from {relation})"
    try:
        described = conn.execute(f"describe select * from {relation}").fetchall()
    except Exception as e:  # noqa: BLE001 - any database error reading the relation is the user's to fix
        if _is_encoding_error(e):
            report.problems.append(_encoding_problem(e, spec, report, mapping or {}))
        else:
            report.problems.append(
                f"{relation} cannot be read ({_first_line(e)}); check {spec.relation_var}: it must name a "
                "table or view that exists, a source(), a ref(), or a file DuckDB can read")
        return report
    types = {row[0]: str(row[1]) for row in described}
    _resolve_columns(spec, list(types), mapping or {}, report)
    if report.problems:
        return report
    try:
        _check_values(conn, spec, source, types, report)
        listed = ", ".join(quote(c) for c in report.columns.values())
        count, total = conn.execute(
            f"select count(*), sum(hash({listed})::hugeint) from {source}").fetchone()
        report.n_rows = int(count)
        report.fingerprint = f"{count}:{total}"
    except Exception as e:  # noqa: BLE001
        if _is_encoding_error(e):
            report.problems.append(_encoding_problem(e, spec, report, mapping or {}))
        else:
            report.problems.append(f"{relation} cannot be read ({_first_line(e)}); check {spec.relation_var}")
    return report


def check_inputs(conn: Any, inputs: list[dict[str, Any]]) -> list[InputReport]:
    """Check several inputs (``{name, relation, mapping}`` each, as the dbt package passes them).

    A relation given as an empty string or ``none`` counts as unset.
    """
    reports = []
    for item in inputs:
        relation = item.get("relation")
        relation = None if relation is None or str(relation).strip().lower() in ("", "none", "null") else str(relation)
        mapping = item.get("mapping")
        reports.append(check_input(conn, item["name"], relation, mapping if mapping not in ("", None) else None))
    return reports


def format_problems(reports: list[InputReport]) -> str | None:
    """One message for every input that breaks the contract, or None when all meet it."""
    failing = [r for r in reports if r.problems]
    if not failing:
        return None
    contract = load_contract()
    lines = ["semantic-assets: the inputs do not meet the source contract (docs/contract.md); the build stopped "
             "before anything was embedded."]
    for report in failing:
        spec = contract[report.name]
        where = f"{spec.relation_var} = {report.relation}" if report.relation else f"{spec.relation_var} unset"
        for problem in report.problems:
            lines.append(f"  - input {report.name} ({where}): {problem}")
    return "\n".join(lines)


def contract_markdown() -> str:
    """The contract as Markdown (``docs/contract.md`` is this, checked by a test)."""
    contract = load_contract()
    lines = [
        "# The source contract",
        "",
        "What semantic-assets reads from your warehouse, written from `semantic/warehouse/contract.yml`. Each input is",
        "mapped to a relation of your dbt project by the var `semantic_input_<input>` (a",
        "`\"{{ source('marketing', 'assets') }}\"`, a `\"{{ ref('my_project', 'my_model') }}\"`, a table name, or",
        "a file DuckDB reads, e.g. `\"'exports/assets.parquet'\"`). When your column names differ, map them with",
        "`semantic_columns_<input>: {<contract column>: <your column>}` (names match case-insensitively). Extra",
        "columns are ignored. Only `assets` is required; an optional input left unset switches its capability",
        "off, and an optional column that is absent takes its default.",
        "",
        "Every build checks the inputs first (`stg_semantic__inputs`): a missing relation, a missing or",
        "mistyped column, NULL or duplicate ids, NULL text, a value outside the accepted ones, or a CSV or",
        "Parquet file that is not UTF-8 stops the build before anything is embedded, with one message that",
        "names the input, the column, a few offending rows and the fix.",
        "",
        "Types: `id` text or an integer (read as text) · `text` VARCHAR · `string` any scalar (read as text) ·",
        "`date` a DATE, a TIMESTAMP or ISO date text · `boolean` a BOOLEAN, 0/1 or true/false text · `integer`",
        "an integer, a boolean or integer text.",
        "",
        "| input · column | type | required | meaning | when absent |",
        "|---|---|---|---|---|",
    ]
    for name, spec in contract.items():
        need = "**yes**" if spec.required else "no"
        lines.append(f"| **`{name}`** (`{spec.relation_var}`) | | {need} | {spec.meaning} | "
                     f"{spec.when_absent or 'the build stops'} |")
        for col in spec.columns.values():
            kind = col.type + (", unique" if col.key else "")
            meaning = col.meaning + (f" One of {', '.join(col.values)}." if col.values else "")
            absent = "" if col.required else (col.default or "NULL")
            lines.append(f"| `{name}.{col.name}` | {kind} | {'yes' if col.required else 'no'} | {meaning} | {absent} |")
    return "\n".join(lines) + "\n"
