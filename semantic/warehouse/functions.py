"""The SQL surface: every function the project registers on a DuckDB connection.

Each function is declared once in :data:`FUNCTIONS` with explicit argument and return types.
Python-backed functions are Arrow-vectorised; the search is a table macro over DuckDB's lance
extension. Everything here works on a bare ``duckdb.connect()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from semantic.decisions import fusion
from semantic.errors import SemanticConfigError
from semantic.vectors.duckdb_lance import load_lance
from semantic.vectors.index import REFINE_FACTOR

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from semantic.config import SemanticConfig
    from semantic.encoding.encoder import Encoder

logger = logging.getLogger("semantic")

ASSETS_TABLE = "assets"


@dataclass(frozen=True)
class SqlFunction:
    """One Python-backed SQL function.

    Attributes:
        name: The SQL name, prefixed ``semantic_``.
        params: DuckDB argument types.
        returns: DuckDB return type (``{dim}`` is replaced by the encoder dimension).
        make: Builds the implementation for an encoder (and the connection, when it queries it).
        doc: One line for the README and ``semantic functions``.
        native: Called once per row with Python values instead of once per batch with Arrow.
        queries_connection: ``make`` also takes the connection, and the function reads it through its own cursor.
    """

    name: str
    params: tuple[str, ...]
    returns: str
    make: Callable[..., Callable[..., Any]]
    doc: str
    native: bool = False
    queries_connection: bool = False


def _texts(column: Any) -> list[str | None]:
    return [t if t is not None and t.strip() else None for t in column.to_pylist()]


def _vectors_to_arrow(vectors: np.ndarray, dim: int) -> pa.Array:
    valid = ~np.isnan(vectors).any(axis=1)
    flat = pa.array(np.nan_to_num(vectors).reshape(-1), type=pa.float32())
    mask = pa.array(~valid) if not valid.all() else None
    return pa.FixedSizeListArray.from_arrays(flat, dim, mask=mask)


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
        out = [
            float(np.dot(vectors[index[x]], vectors[index[y]])) if x is not None and y is not None else None
            for x, y in zip(a, b)
        ]
        return pa.array(out, type=pa.float64())

    return semantic_similarity


def _make_model_version(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    def semantic_model_version() -> str:
        return encoder.version

    return semantic_model_version


def _make_check_version(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    from semantic.vectors.store import check_model_versions

    def semantic_check_model_version(stored: Any) -> pa.Array:
        check_model_versions(stored.to_pylist(), encoder.version)
        return pa.array([True] * len(stored), type=pa.bool_())

    return semantic_check_model_version


def _make_lance_uri(encoder: Encoder, config: SemanticConfig) -> Callable[..., str]:
    from semantic.vectors.store import VectorStore

    store = VectorStore(config.lance_dir)

    def semantic_lance_uri(table: str) -> str:
        # DuckDB's lance extension caches an opened dataset per connection, keyed by its URI;
        # naming the current version in the URI makes every search read the latest commit.
        return store.versioned_uri(table)

    return semantic_lance_uri


def _make_ann_recall(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    from semantic.vectors.store import VectorStore

    store = VectorStore(config.lance_dir)

    def semantic_ann_recall(table: Any, sample: Any, k: Any) -> pa.Array:
        measured: dict[tuple[str, int, int], float] = {}  # one measurement per table in a batch
        out: list[float | None] = []
        for t, n, kk in zip(table.to_pylist(), sample.to_pylist(), k.to_pylist()):
            if t is None or n is None or kk is None:
                out.append(None)
                continue
            if (t, n, kk) not in measured:
                measured[(t, n, kk)] = store.ann_recall(t, sample=n, k=kk).recall
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
            scores = _active_reranker(config).score([a[i] for i in keep], [b[i] for i in keep])
            for i, value in zip(keep, scores):
                out[i] = float(value)
        return pa.array(out, type=pa.float64())

    return semantic_pair_score


def _make_reranker_version(encoder: Encoder, config: SemanticConfig) -> Callable[..., Any]:
    def semantic_reranker_version() -> str:
        return str(_active_reranker(config).version)

    return semantic_reranker_version


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

    def semantic_match_probability(similarity: Any, task: Any) -> pa.Array:
        calibrations = current()
        sims, tasks = similarity.to_pylist(), task.to_pylist()
        out: list[float | None] = []
        for s, t in zip(sims, tasks):
            if s is None or t is None:
                out.append(None)
                continue
            if t not in calibrations:
                raise SemanticConfigError(
                    f"semantic_match_probability: unknown task {t!r}; calibrated tasks for model version "
                    f"{encoder.version} are {sorted(calibrations)}"
                )
            out.append(float(calibrations[t].probability(s)))
        return pa.array(out, type=pa.float64())

    return semantic_match_probability


CHECK_TYPE = (
    "STRUCT(decision VARCHAR, reference_id VARCHAR, rule_id VARCHAR, severity VARCHAR, similarity DOUBLE, "
    "score DOUBLE, probability DOUBLE, claim VARCHAR, rationale VARCHAR)"
)


def _make_compliance_check(encoder: Encoder, config: SemanticConfig) -> Callable[..., pa.Array]:
    from semantic.decisions.compliance import check_texts

    def semantic_compliance_check(text: Any) -> pa.Array:
        checks = check_texts(_texts(text), config, encoder)
        rows = [c.as_dict() if c.decision is not None else None for c in checks]
        fields = [("decision", pa.string()), ("reference_id", pa.string()), ("rule_id", pa.string()),
                  ("severity", pa.string()), ("similarity", pa.float64()), ("score", pa.float64()),
                  ("probability", pa.float64()),
                  ("claim", pa.string()), ("rationale", pa.string())]
        return pa.array(rows, type=pa.struct(fields))

    return semantic_compliance_check


def _make_check_inputs(encoder: Encoder, config: SemanticConfig, conn: duckdb.DuckDBPyConnection) -> Callable[..., str]:
    import json

    from semantic.warehouse.contract import check_inputs, format_problems

    def semantic_check_inputs(inputs: str) -> str:
        # its own cursor: a query cannot run on the connection that is running this function; it sees
        # what earlier dbt nodes committed, which is every relation an input can name
        cursor = conn.cursor()
        try:
            reports = check_inputs(cursor, json.loads(inputs))
        finally:
            cursor.close()
        return json.dumps({"reports": [r.as_dict() for r in reports], "message": format_problems(reports)})

    return semantic_check_inputs


FUNCTIONS: tuple[SqlFunction, ...] = (
    SqlFunction(
        "semantic_embed", ("VARCHAR",), "FLOAT[{dim}]", _make_embed,
        "Embed a text with the active encoder; NULL for NULL, empty or blank text.",
    ),
    SqlFunction(
        "semantic_similarity", ("VARCHAR", "VARCHAR"), "DOUBLE", _make_similarity,
        "Cosine similarity in [-1, 1] of two texts under the active encoder; NULL if either is blank.",
    ),
    SqlFunction(
        "semantic_model_version", (), "VARCHAR", _make_model_version,
        "The version (directory name + file hash) of the active encoder.",
    ),
    SqlFunction(
        "semantic_pair_score", ("VARCHAR", "VARCHAR"), "DOUBLE", _make_pair_score,
        "Probability in [0, 1] that two texts are the same item, from the active pair reranker (a cross-encoder "
        "reading both at once, semantic train --cross-encoder; the mean of both orders); NULL if either is blank.",
    ),
    SqlFunction(
        "semantic_reranker_version", (), "VARCHAR", _make_reranker_version,
        "The version (directory name + file hash) of the active pair reranker; an error when none is active.",
    ),
    SqlFunction(
        "semantic_check_model_version", ("VARCHAR",), "BOOLEAN", _make_check_version,
        "True when a stored vector's model version is the active one; raises otherwise.",
    ),
    SqlFunction(
        "semantic_match_probability", ("DOUBLE", "VARCHAR"), "DOUBLE", _make_match_probability,
        "Calibrated probability that a cosine similarity is a match for a task (duplicate, brief_match; "
        "for lookalike the compliance score of fct_compliance_lookalikes) under the active encoder; "
        "BI tools use the persisted macro match_probability.",
    ),
    SqlFunction(
        "semantic_compliance_check", ("VARCHAR",), CHECK_TYPE, _make_compliance_check,
        "Check draft copy against the active compliance references: decision (flag/review/clear), "
        "nearest reference and rule, similarity, score (similarity less the reference's weighted typicality), "
        "calibrated probability, the claim and its rationale.",
    ),
    SqlFunction(
        "semantic_lance_uri", ("VARCHAR",), "VARCHAR", _make_lance_uri,
        "URI of the latest version of a LanceDB table (what semantic_search reads).",
    ),
    SqlFunction(
        "semantic_ann_recall", ("VARCHAR", "INTEGER", "INTEGER"), "DOUBLE", _make_ann_recall,
        "Recall@k of a LanceDB table's ANN index against exact search on a seeded sample of its rows "
        "(1.0 without an index, nothing searched); the semantic_ann_recall dbt test gates on it.",
    ),
    SqlFunction(
        "semantic_check_inputs", ("VARCHAR",), "VARCHAR", _make_check_inputs,
        "Check relations against the source contract (a JSON list of {name, relation, mapping}): JSON with "
        "each input's mapped columns, rows, fingerprint and problems, and one message when any breaks it; "
        "stg_semantic__inputs calls it before anything is embedded.",
        native=True, queries_connection=True,
    ),
)


# The filters of both search macros: pushed down to LanceDB as a prefilter; the values stay data.
FILTERS = """    where (cast(brand as varchar) is null or found.brand = cast(brand as varchar))
        and (cast(market as varchar) is null or found.market = cast(market as varchar))
        and (cast(channel as varchar) is null or found.channel = cast(channel as varchar))
        and (cast(asset_type as varchar) is null or found.asset_type = cast(asset_type as varchar))
        and (cast(created_from as date) is null or found.created_at >= cast(created_from as date))
        and (cast(created_to as date) is null or found.created_at <= cast(created_to as date))"""
# The ANN index serves unfiltered searches only (see the search macro).
USE_INDEX = ("not coalesce(cast(exact as boolean), false) and brand is null and market is null and channel is null "
             "and asset_type is null and created_from is null and created_to is null")
COLUMNS = "hits.asset_id, hits.brand, hits.channel, hits.market, hits.asset_type, hits.created_at"

SEARCH_MACRO = """
create or replace temp macro semantic_search(
    query, k := 10, brand := NULL, market := NULL, channel := NULL, asset_type := NULL,
    created_from := NULL, created_to := NULL, exact := false
) as table
with hits as (
    select * from lance_vector_search(
        semantic_lance_uri('{table}'),
        'vector',
        coalesce(
            cast(semantic_embed(cast(query as varchar)) as float[]),
            cast(error('semantic_search: the query text is NULL or blank; pass some text') as float[])
        ),
        k := k,
        -- the ANN index when the table has one and no filter is set (a prefiltered search through
        -- the index loses recall, 0.80 of the exact top 10 at 100k rows with one brand in 20); exact
        -- := true always searches every row. Candidates are re-ranked on the full vectors.
        use_index := {use_index},
        nprobs := {nprobes},
        refine_factor := {refine_factor},
        prefilter := true
    ) as found
    -- the filters reach LanceDB as a prefilter (applied before the vector search, so k rows come
    -- back whenever k rows match) and their values stay data, never pasted into filter text
{filters}
)
select
    {columns},
    1 - hits._distance / 2 as similarity,
    row_number() over (order by hits._distance, hits.asset_id) as rank
from hits
where semantic_check_model_version(hits.model_version)
order by rank
"""


_SIDE_EFFECTS = ("semantic_check_model_version", "semantic_lance_uri", "semantic_match_probability",
                 "semantic_compliance_check", "semantic_ann_recall", "semantic_check_inputs")


HYBRID_MACRO = """
create or replace temp macro semantic_hybrid_search(
    query, k := 10, alpha := {alpha}, brand := NULL, market := NULL, channel := NULL, asset_type := NULL,
    created_from := NULL, created_to := NULL, exact := false
) as table
with hits as (
    select * from lance_hybrid_search(
        semantic_lance_uri('{table}'),
        'vector',
        coalesce(
            cast(semantic_embed(cast(query as varchar)) as float[]),
            cast(error('semantic_hybrid_search: the query text is NULL or blank; pass some text') as float[])
        ),
        'text',
        cast(query as varchar),
        k := k,
        alpha := cast(alpha as float),
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
"""


def register(
    conn: duckdb.DuckDBPyConnection,
    config: SemanticConfig,
    encoder: Encoder | None = None,
) -> None:
    """Register every ``semantic_`` function and the search macro on a connection.

    Args:
        conn: A DuckDB connection (a dbt connection or a bare ``duckdb.connect()``).
        config: Says which encoder to use and where the LanceDB tables are.
        encoder: Use this encoder instead of loading the configured one (tests, notebooks).
    """
    from duckdb.func import FunctionNullHandling, PythonUDFType

    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.registry import encoder_dir
    from semantic.vectors.store import VectorStore

    encoder = encoder or load_encoder(encoder_dir(config), config.batch_size)
    for fn in FUNCTIONS:
        try:
            conn.remove_function(fn.name)
        except Exception:  # noqa: BLE001 - not registered yet on this connection
            pass
        vectorised = bool(fn.params) and fn.name != "semantic_lance_uri" and not fn.native
        conn.create_function(
            fn.name,
            fn.make(encoder, config, conn) if fn.queries_connection else fn.make(encoder, config),
            list(fn.params),
            fn.returns.format(dim=encoder.dim),
            type=PythonUDFType.ARROW if vectorised else PythonUDFType.NATIVE,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=fn.name in _SIDE_EFFECTS,
        )
    load_lance(conn)
    learned = fusion.load(config.calibration_dir, encoder.version)
    alpha = learned.alpha if learned is not None else fusion.DEFAULT_ALPHA
    for macro in (SEARCH_MACRO, HYBRID_MACRO):
        conn.execute(macro.format(table=ASSETS_TABLE, filters=FILTERS, columns=COLUMNS, refine_factor=REFINE_FACTOR,
                                  nprobes=VectorStore(config.lance_dir).search_probes(ASSETS_TABLE),
                                  use_index=USE_INDEX, alpha=float(alpha)))


def describe() -> list[tuple[str, str, str]]:
    """(signature, return type, description) of every registered function, for docs and the CLI."""
    return [
        (f"{fn.name}({', '.join(fn.params)})", fn.returns, fn.doc) for fn in FUNCTIONS
    ] + [("semantic_search(query VARCHAR, k := 10, brand := NULL, market := NULL, channel := NULL, "
         "asset_type := NULL, created_from := NULL, created_to := NULL, exact := false)", "TABLE",
         "Top-k assets for a free-text query; filters (created_from/created_to: an inclusive date range) are "
         "applied before the vector search (k rows whenever k match); through the ANN index when the table "
         "has one, unless exact := true."),
        ("semantic_hybrid_search(query VARCHAR, k := 10, alpha := <learned>, brand := NULL, market := NULL, "
         "channel := NULL, asset_type := NULL, created_from := NULL, created_to := NULL, exact := false)", "TABLE",
         "Vector and BM25 full-text search fused (alpha: weight of the vector side, 1 = vector only); finds "
         "product codes and campaign names the embedding misses. The default alpha is the weight the build learned "
         "on the briefs' known matches for the active encoder (dim_hybrid_search_weight), else 0.5.")]

