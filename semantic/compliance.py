"""Ad-hoc compliance checks: is this draft copy a lookalike of a claim compliance already rejected?

The same decision as the ``fct_compliance_lookalikes`` mart, for text that is not in the warehouse
yet: the draft is embedded with the active encoder, its nearest active reference (for a market,
or any) is found in the LanceDB ``compliance_references`` table, and the calibrated ``lookalike``
thresholds of that encoder version (``dim_similarity_thresholds``, saved under
``data/calibration``) turn the similarity into ``flag``, ``review`` or ``clear``.
Used by ``semantic_compliance_check(text)`` in SQL and ``semantic check "text"`` on the shell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from semantic.errors import SemanticConfigError

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig
    from semantic.encoder import Encoder

REFERENCES_TABLE = "compliance_references"
TASK = "lookalike"


@dataclass(frozen=True)
class Check:
    """The verdict on one text."""

    decision: str | None
    reference_id: str | None
    rule_id: str | None
    severity: str | None
    similarity: float | None
    probability: float | None
    claim: str | None
    rationale: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


EMPTY = Check(None, None, None, None, None, None, None, None)


def check_texts(texts: Sequence[str | None], config: SemanticConfig, encoder: Encoder,
                market: str | None = None) -> list[Check]:
    """The compliance verdict for each text (an empty verdict for NULL or blank text).

    Raises:
        SemanticConfigError: No reference bank or no calibration for the active encoder yet.
        SemanticModelVersionError: The bank was embedded with another model version.
    """
    from semantic import calibration
    from semantic.store import VectorStore

    store = VectorStore(config.lance_dir)
    if not store.exists(REFERENCES_TABLE):
        raise SemanticConfigError(
            f"no compliance reference bank in {config.lance_dir}; run `dbt build` (or `make run`) first"
        )
    store.assert_model_version(REFERENCES_TABLE, encoder.version)
    cal = calibration.load(config.calibration_dir, encoder.version)[TASK]
    vectors = encoder.encode(list(texts))
    keep = [i for i in range(len(texts)) if not np.isnan(vectors[i]).any()]
    if not keep:
        return [EMPTY] * len(texts)
    table = store._db().open_table(REFERENCES_TABLE)
    where = "is_active"
    if market:
        where += f" AND (market = 'ALL' OR market = '{market.strip().upper().replace(chr(39), chr(39) * 2)}')"
    ids = [str(i) for i in keep]
    found = _nearest(table, ids, vectors[keep], where)
    refs = {r["reference_id"]: r for r in store.read(REFERENCES_TABLE, [
        "reference_id", "rule_id", "severity", "text", "rationale"]).to_pylist()}
    out = [EMPTY] * len(texts)
    for i in keep:
        hit = found.get(str(i))
        if hit is None:
            out[i] = Check("clear", None, None, None, None, None, None, None)
            continue
        ref_id, sim = hit
        ref = refs[ref_id]
        out[i] = Check(cal.decision([sim])[0], ref_id, ref["rule_id"], ref["severity"], sim,
                       float(cal.probability(sim)), ref["text"], ref["rationale"])
    return out


def _nearest(table: Any, ids: list[str], vectors: np.ndarray, where: str) -> dict[str, tuple[str, float]]:
    """Nearest reference (id, cosine) per query id, prefiltered by ``where``."""
    from semantic.store import cosine_from_distance

    hits = (table.search(np.asarray(vectors, dtype=np.float32)).distance_type("cosine")
            .where(where, prefilter=True).limit(1).select(["reference_id", "_distance"]).to_arrow())
    if "query_index" not in hits.column_names:
        hits = hits.append_column("query_index", pa.array([0] * hits.num_rows, pa.int32()))
    sims = cosine_from_distance(hits.column("_distance").to_numpy(), "cosine")
    out: dict[str, tuple[str, float]] = {}
    for qi, ref_id, sim in zip(hits.column("query_index").to_pylist(), hits.column("reference_id").to_pylist(), sims):
        out[ids[qi]] = (ref_id, float(sim))
    return out
