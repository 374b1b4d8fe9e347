"""The units a text is scored by: the whole text and each of its sentences.

A compliance lookalike is scored by the asset's best unit (``semantic.decisions.compliance``), so
one rejected claim inside longer copy counts in full; the encoder is trained on the same units
(``semantic.encoding.training.best_units``). Both use these functions, which is why they live
here, below both: plain text rules, no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: The training task and calibration name of compliance lookalikes.
LOOKALIKE_TASK = "lookalike"
MIN_SENTENCE_CHARS = 12
_SENTENCE_END = re.compile(r"[.!?]+\s+")


def split_sentences(text: str, min_chars: int = MIN_SENTENCE_CHARS) -> list[str]:
    """The sentences a text is also scored by: split after ``.``, ``!`` or ``?`` and whitespace
    (the same rule as the dbt model ``stg_semantic__asset_sentences``), keeping those of at least
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


def components(a: Sequence[str], b: Sequence[str], labels: Sequence[int]) -> dict[str, int]:
    """Connected components of the positive pairs (union-find over texts)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y, label in zip(a, b, labels):
        if label:
            parent[find(x)] = find(y)
    roots: dict[str, int] = {}
    return {x: roots.setdefault(find(x), len(roots)) for x in list(parent)}
