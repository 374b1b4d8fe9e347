"""Ad-hoc compliance checks: is this draft copy a lookalike of a claim compliance already rejected?

The same decision as the ``fct_compliance_lookalikes`` mart, for text that is not in the warehouse
yet: the draft and each of its sentences are embedded with the active encoder (a text scores as
its best unit, so one rejected claim in long copy is not diluted), the nearest active reference
(for a market, or any) is found in the LanceDB ``compliance_references`` table, and the calibrated ``lookalike``
thresholds of that encoder version (``dim_similarity_thresholds``, saved under
``data/calibration``) turn the similarity into ``flag``, ``review`` or ``clear``.
Used by ``semantic_compliance_check(text)`` in SQL and ``semantic check "text"`` on the shell.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from semantic.errors import SemanticConfigError

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig
    from semantic.encoder import Encoder

REFERENCES_TABLE = "compliance_references"
TASK = "lookalike"
MIN_SENTENCE_CHARS = 12
_SENTENCE_END = re.compile(r"[.!?]+\s+")


def split_sentences(text: str, min_chars: int = MIN_SENTENCE_CHARS) -> list[str]:
    """The sentences a text is also scored by: split after ``.``, ``!`` or ``?`` and whitespace
    (the same rule as the dbt model ``stg_demo__asset_sentences``), keeping those of at least
    ``min_chars`` characters; empty for single-sentence text, which is scored whole."""
    parts = _SENTENCE_END.split(text)
    if len(parts) < 2:
        return []
    return [p.strip() for p in parts if len(p.strip()) >= min_chars]


def scoring_units(texts: Sequence[str | None]) -> tuple[list[str], list[int]]:
    """Each text and its sentences, flattened, with the index of the text each unit belongs to:
    a text's lookalike score is the best score of any of its units."""
    units: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        if text is None or not text.strip():
            continue
        for unit in [text, *split_sentences(text)]:
            units.append(unit)
            owner.append(i)
    return units, owner


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
    from semantic.clustering import neighbours
    from semantic.store import VectorStore, sql_literal

    store = VectorStore(config.lance_dir)
    if not store.exists(REFERENCES_TABLE):
        raise SemanticConfigError(
            f"no compliance reference bank in {config.lance_dir}; run `dbt build` (or `make run`) first"
        )
    store.assert_model_version(REFERENCES_TABLE, encoder.version)
    cal = calibration.load(config.calibration_dir, encoder.version)[TASK]
    units, owner = scoring_units(texts)
    if not units:
        return [EMPTY] * len(texts)
    where = "is_active"
    if market:
        where += f" AND market IN ('ALL', {sql_literal(market.strip().upper())})"
    found = neighbours(store._db().open_table(REFERENCES_TABLE), "reference_id", [str(u) for u in range(len(units))],
                       encoder.encode(units), k=1, where=where, exclude_self=False, log_level=logging.DEBUG)
    nearest = {int(u): (ref, sim) for u, ref, sim in zip(
        *(found.column(c).to_pylist() for c in ("asset_id", "neighbour_id", "similarity")))}
    best: dict[int, tuple[float, str]] = {}
    for u, i in enumerate(owner):
        hit = nearest.get(u)
        if hit is not None and (i not in best or hit[1] > best[i][0]):
            best[i] = (hit[1], hit[0])
    refs = {r["reference_id"]: r for r in store.read(REFERENCES_TABLE, [
        "reference_id", "rule_id", "severity", "text", "rationale"]).to_pylist()}
    out = [EMPTY] * len(texts)
    for i in set(owner):
        if i not in best:
            out[i] = Check("clear", None, None, None, None, None, None, None)
            continue
        sim, ref_id = best[i]
        ref = refs[ref_id]
        out[i] = Check(cal.decision([sim])[0], ref_id, ref["rule_id"], ref["severity"], sim,
                       float(cal.probability(sim)), ref["text"], ref["rationale"])
    return out
