"""Ad-hoc compliance checks: is this draft copy a lookalike of a claim compliance already rejected?

The same decision as the ``fct_compliance_lookalikes`` mart, for text that is not in the warehouse
yet: the draft and each of its sentences are embedded with the active encoder (a text scores as
its best unit, so one rejected claim in long copy is not diluted), each active reference (for a
market, or any) of the LanceDB ``compliance_references`` table is scored by that cosine less
the weighted typicality of the reference (:func:`typicality`, measured by the dbt model
``int_compliance_reference_typicality`` and saved beside the calibration), and the calibrated
``lookalike`` thresholds of that encoder version (``dim_similarity_thresholds``, saved under
``data/calibration``) turn the best score into ``flag``, ``review`` or ``clear``. An active lookalike
reranker (a cross-encoder that reads the rejected claim and then the copy, trained on the labelled lookalikes;
:func:`clear_reviews`) is then asked about the ``review`` verdicts only, and clears those it judges below the
probability its guard chose: it never raises a verdict nor touches a ``flag``.
Used by ``semantic_compliance_check(text)`` in SQL and ``semantic check "text"`` on the shell.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semantic.encoding.units import LOOKALIKE_TASK as TASK
from semantic.encoding.units import scoring_units
from semantic.errors import SemanticConfigError

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig
    from semantic.encoding.encoder import Encoder

logger = logging.getLogger("semantic")

REFERENCES_TABLE = "compliance_references"
#: The dbt vars ``lookalike_typicality_k`` and ``lookalike_typicality_weight`` default to these.
TYPICALITY_K = 10
TYPICALITY_WEIGHT = 0.5


def best_unit_scores(unit_vectors: Any, owner: Sequence[int], n_texts: int, reference_vectors: Any) -> np.ndarray:
    """(texts x references) cosine of each text's best unit (whole text or sentence) with each
    reference; -1 for a text without units. Vectors are L2-normalised here."""
    return best_of_units(normalised(unit_vectors) @ normalised(reference_vectors).T, owner, n_texts)


def best_of_units(unit_scores: Any, owner: Sequence[int], n_texts: int) -> np.ndarray:
    """(texts x references) from (units x references) scores: each text's best unit, the owner of
    each unit as :func:`scoring_units` gives it; -1 for a text without units."""
    unit_scores = np.asarray(unit_scores)
    scores = np.full((n_texts, unit_scores.shape[1]), -1.0, dtype=unit_scores.dtype)
    if len(unit_scores):
        np.maximum.at(scores, np.asarray(owner, dtype=int), unit_scores)
    return scores


def typicality(text_scores: Any, k: int = TYPICALITY_K, applies: Any = None) -> np.ndarray:
    """How much each reference looks like ordinary copy: the mean of its ``k`` highest scores in
    the columns of ``text_scores`` (texts x references, :func:`best_unit_scores`), over the texts
    it ``applies`` to (a boolean mask of the same shape; all by default), 0.0 where none do.

    The compliance score is ``similarity - weight * typicality``: a generic claim that sits near
    hundreds of harmless texts needs a closer match than a specific one (hubness reduction, as in
    CSLS, Conneau et al. 2018). The same statistic as the dbt model
    ``int_compliance_reference_typicality``.
    """
    if k < 1:
        raise SemanticConfigError(f"typicality k must be a positive integer; got {k}")
    s = np.asarray(text_scores, dtype=np.float64)
    mask = np.ones(s.shape, dtype=bool) if applies is None else np.asarray(applies, dtype=bool)
    out = np.zeros(s.shape[1])
    for j in range(s.shape[1]):
        column = s[mask[:, j], j]
        if len(column):
            out[j] = float(np.sort(column)[-k:].mean())
    return out


def normalised(vectors: Any) -> np.ndarray:
    """Rows scaled to unit length (zero rows left as they are)."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        v = v.reshape(len(v), -1)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def typicality_path(directory: Path | str, model_version: str) -> Path:
    return Path(directory) / f"{model_version}.typicality.json"


def save_typicality(directory: Path | str, model_version: str, weight: float, values: Mapping[str, float]) -> Path:
    """Write the references' typicality and the weight the lookalike calibration of
    ``model_version`` was fitted with, beside it (atomically): ``semantic check`` scores as the
    build did."""
    path = typicality_path(directory, model_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"weight": float(weight), "typicality": {k: float(v) for k, v in sorted(values.items())}},
                              indent=1))
    os.replace(tmp, path)
    return path


def load_typicality(directory: Path | str, model_version: str) -> tuple[float, dict[str, float]]:
    """The weight and the references' typicality saved by :func:`save_typicality`.

    Raises:
        SemanticConfigError: None saved for this model version yet.
    """
    path = typicality_path(directory, model_version)
    if not path.is_file():
        raise SemanticConfigError(
            f"no reference typicality for model version {model_version} in {path.parent}; "
            "run `dbt build` (or `make run`) to measure it"
        )
    saved = json.loads(path.read_text())
    return float(saved["weight"]), {str(k): float(v) for k, v in saved["typicality"].items()}


@dataclass(frozen=True)
class Check:
    """The verdict on one text."""

    decision: str | None
    reference_id: str | None
    rule_id: str | None
    severity: str | None
    similarity: float | None
    score: float | None
    probability: float | None
    claim: str | None
    rationale: str | None
    reranker_probability: float | None = None
    reranker_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


EMPTY = Check(None, None, None, None, None, None, None, None, None)


def clear_reviews(decisions: Sequence[str | None], claims: Sequence[str | None], texts: Sequence[str | None],
                  reranker: Any) -> tuple[list[str | None], np.ndarray]:
    """Ask a lookalike reranker about the ``review`` verdicts and clear those it judges unlike the claim.

    Only the abstain zone is asked (the cost is bounded by the reviews, not the candidates): a ``review`` whose
    reranker probability is below ``reranker.clear_below`` (chosen by its guard on the valid pairs so that the
    known restatements stay above it; :func:`semantic.encoding.reranker.clear_guard`) becomes ``clear``. A
    ``flag`` or ``clear`` is never changed, nor a review it gave no probability (a blank text).

    Args:
        decisions: ``flag``, ``review``, ``clear`` (or None) per (text, claim) row.
        claims: The rejected claim of each row (read first).
        texts: The copy of each row (the asset's whole text, as the reranker was trained).
        reranker: A loaded lookalike reranker (``score``, ``clear_below``), or None: nothing changes.

    Returns:
        The decisions, and the reranker's probability per row (NaN where it was not asked).
    """
    out = list(decisions)
    probability = np.full(len(out), np.nan)
    asked = [i for i, d in enumerate(out) if d == "review"]
    if reranker is None or not asked or not reranker.clear_below > 0:
        return out, probability
    probability[asked] = reranker.score([claims[i] for i in asked], [texts[i] for i in asked])
    for i in asked:
        if probability[i] < reranker.clear_below:
            out[i] = "clear"
    return out, probability


#: The columns of ``int_compliance_reviews_reranked`` (:func:`rerank_review_zone`).
REVIEWS_RERANKED_SCHEMA = (("asset_id", "string"), ("reference_id", "string"), ("score", "float64"),
                           ("reranker_probability", "float64"), ("clear_below", "float64"),
                           ("reranker_version", "string"))


def rerank_review_zone(zone: Any, asset_texts: Mapping[str, str | None], claims: Mapping[str, str | None],
                       reranker: Any) -> Any:
    """The build's :func:`clear_reviews`: the lookalike reranker's probability for every candidate in the abstain
    zone, as ``fct_compliance_lookalikes`` decides it.

    Args:
        zone: Arrow table of the candidates in the zone (asset_id, reference_id, score): at or above the review
            threshold and below the flag threshold in force (``int_compliance_thresholds``), or None.
        asset_texts: Asset id to its whole text (what the reranker reads after the claim).
        claims: Reference id to its claim text.
        reranker: The active lookalike reranker (:func:`active_lookalike_reranker`), or None: no rows.

    Returns:
        Arrow table of :data:`REVIEWS_RERANKED_SCHEMA`, one row per candidate asked.
    """
    import pyarrow as pa

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in REVIEWS_RERANKED_SCHEMA])
    if reranker is None or not reranker.clear_below > 0 or zone is None or not zone.num_rows:
        return schema.empty_table()
    rows = zone.to_pylist()
    _, probability = clear_reviews(["review"] * len(rows), [claims.get(r["reference_id"]) for r in rows],
                                   [asset_texts.get(r["asset_id"]) for r in rows], reranker)
    logger.info("compliance: lookalike reranker %s scored %d reviews (clears below %.3g)", reranker.version,
                len(rows), reranker.clear_below)
    return pa.Table.from_pylist([
        {"asset_id": r["asset_id"], "reference_id": r["reference_id"], "score": float(r["score"]),
         "reranker_probability": None if p != p else float(p), "clear_below": reranker.clear_below,
         "reranker_version": reranker.version} for r, p in zip(rows, probability)], schema=schema)


def active_lookalike_reranker(config: SemanticConfig) -> Any:
    """The active lookalike reranker, loaded (None when ``base`` is active or none passed its guard)."""
    from semantic.encoding.registry import lookalike_reranker_dir
    from semantic.encoding.reranker import load_reranker

    path = lookalike_reranker_dir(config)
    return None if path is None else load_reranker(path)


def check_texts(texts: Sequence[str | None], config: SemanticConfig, encoder: Encoder,
                market: str | None = None, pins: Mapping[str, int] | None = None) -> list[Check]:
    """The compliance verdict for each text (an empty verdict for NULL or blank text).

    ``pins``: the LanceDB versions a reader's DuckDB file was published with (the reference bank is
    read at that version; :mod:`semantic.vectors.pins`), or None for the latest. A ``review`` is then put to the
    active lookalike reranker, as the build does (:func:`clear_reviews`).

    Raises:
        SemanticConfigError: No reference bank or no calibration for the active encoder yet.
        SemanticModelVersionError: The bank was embedded with another model version.
    """
    from semantic.decisions import calibration
    from semantic.vectors.store import VectorStore

    store = VectorStore(config.lance_dir, pins=pins)
    if not store.exists(REFERENCES_TABLE):
        raise SemanticConfigError(
            f"no compliance reference bank in {config.lance_dir}; run `dbt build` (or `make run`) first"
        )
    store.assert_model_version(REFERENCES_TABLE, encoder.version)
    cal = calibration.load(config.calibration_dir, encoder.version)[TASK]
    weight, typical = load_typicality(config.calibration_dir, encoder.version)
    units, owner = scoring_units(texts)
    if not units:
        return [EMPTY] * len(texts)
    refs = [r for r in store.read(REFERENCES_TABLE, [
        "reference_id", "rule_id", "severity", "text", "rationale", "market", "is_active", "vector"]).to_pylist()
        if r["is_active"]]
    refs.sort(key=lambda r: r["reference_id"])  # ties go to the lowest id, as in int_compliance_candidates
    if market and market.strip().upper() != "ALL":  # an asset of market ALL runs everywhere
        refs = [r for r in refs if r["market"] in ("ALL", market.strip().upper())]
    out = [EMPTY] * len(texts)
    if not refs:
        for i in set(owner):
            out[i] = Check("clear", *[None] * 8)
        return out
    similarity = best_unit_scores(encoder.encode(units), owner, len(texts), [r["vector"] for r in refs])
    similarity = np.clip(similarity, -1.0, 1.0)  # float32 rounding: a draft that is a reference gives 1.0000001
    penalty = weight * np.array([typical.get(r["reference_id"], 0.0) for r in refs])
    scores = similarity - penalty[None, :]
    for i in set(owner):
        j = int(np.argmax(scores[i]))
        ref, score = refs[j], float(scores[i, j])
        out[i] = Check(cal.decision([score])[0], ref["reference_id"], ref["rule_id"], ref["severity"],
                       float(similarity[i, j]), score, float(cal.probability(score)), ref["text"], ref["rationale"])
    if any(c.decision == "review" for c in out):  # the reranker is loaded only when there is a review to ask about
        reranker = active_lookalike_reranker(config)
        decided, probability = clear_reviews([c.decision for c in out], [c.claim for c in out], texts, reranker)
        out = [c if np.isnan(p) else replace(c, decision=d, reranker_probability=float(p),
                                             reranker_version=reranker.version)
               for c, d, p in zip(out, decided, probability)]
    return out
