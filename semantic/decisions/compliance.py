"""Ad-hoc compliance checks: is this draft copy a lookalike of a claim compliance already rejected?

The same decision as the ``fct_compliance_lookalikes`` mart, for text that is not in the warehouse
yet: the draft and each of its sentences are embedded with the active encoder (a text scores as
its best unit, so one rejected claim in long copy is not diluted), each active reference (for a
market, or any) of the LanceDB ``compliance_references`` table is scored by that cosine less
the weighted typicality of the reference (:func:`typicality`, measured by the dbt model
``int_compliance_reference_typicality`` and saved beside the calibration), and the calibrated
``lookalike`` thresholds of that encoder version (``dim_similarity_thresholds``, saved under
``data/calibration``) turn the best score into ``flag``, ``review`` or ``clear``.
Used by ``semantic_compliance_check(text)`` in SQL and ``semantic check "text"`` on the shell.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semantic.encoding.units import LOOKALIKE_TASK as TASK
from semantic.encoding.units import scoring_units
from semantic.errors import SemanticConfigError

if TYPE_CHECKING:  # pragma: no cover
    from semantic.config import SemanticConfig
    from semantic.encoding.encoder import Encoder

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


EMPTY = Check(None, None, None, None, None, None, None, None, None)


def check_texts(texts: Sequence[str | None], config: SemanticConfig, encoder: Encoder,
                market: str | None = None, pins: Mapping[str, int] | None = None) -> list[Check]:
    """The compliance verdict for each text (an empty verdict for NULL or blank text).

    ``pins``: the LanceDB versions a reader's DuckDB file was published with (the reference bank is
    read at that version; :mod:`semantic.vectors.pins`), or None for the latest.

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
    return out
