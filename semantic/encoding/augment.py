"""Text augmentation for training the encoder (``semantic train --augment N``, dbt var ``semantic_train_augment``).

The operators Ditto uses for entity matching (Li et al., 2020, "Deep Entity Matching with Pre-Trained Language
Models"), adapted to flat product and copy text:

* ``span_delete``: remove a span of one to four consecutive tokens;
* ``token_shuffle``: shuffle the order of a span of two to four consecutive tokens;
* ``attribute_drop``: remove one field of the text: a sentence, or a part between separators (`` - ``, ``,``,
  ``;``, ``|``, ``/``), as a listing's brand, category or colour is; a text of one field gets a span deleted.

A token holding a digit is never deleted, and a field holding one never dropped: model numbers, sizes, prices
and editions are what tells two products apart, and a copy that lost one is no longer a restatement of the same
thing. Each copy applies one operator drawn at random; the copies keep their example's label (pairs), class
(supcon) or role (anchor and positive of a triplet, whose negative is kept as it is).

Deterministic: the same text, seed and copy number give the same copy.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence

OPERATIONS = ("span_delete", "token_shuffle", "attribute_drop")
MAX_SPAN = 4
_FIELDS = re.compile(r"(?<=[.!?])\s+|\s+[-|/]\s+|\s*[,;]\s+")


def _protected(token: str) -> bool:
    return any(c.isdigit() for c in token)


def span_delete(text: str, rng: random.Random) -> str:
    """``text`` without 1 to ``MAX_SPAN`` consecutive tokens that hold no digit (tokens with one are stepped
    over, never deleted); at least two tokens stay."""
    tokens = text.split()
    free = [i for i, t in enumerate(tokens) if not _protected(t)]
    if len(tokens) < 3 or not free:
        return text
    length = rng.randint(1, min(MAX_SPAN, len(free), len(tokens) - 2))
    start = rng.randrange(0, len(free) - length + 1)
    gone = set(free[start : start + length])
    return " ".join(t for i, t in enumerate(tokens) if i not in gone)


def token_shuffle(text: str, rng: random.Random) -> str:
    """``text`` with the tokens of a span of 2 to ``MAX_SPAN`` in another order (the same text when every token
    of the span is the same)."""
    tokens = text.split()
    if len(tokens) < 2:
        return text
    length = rng.randint(2, min(MAX_SPAN, len(tokens)))
    start = rng.randrange(0, len(tokens) - length + 1)
    span = tokens[start : start + length]
    order = span[:]
    for _ in range(8):  # a shuffle may give the order back
        rng.shuffle(order)
        if order != span:
            break
    else:
        order = span[1:] + span[:1]
    return " ".join([*tokens[:start], *order, *tokens[start + length :]])


def attribute_drop(text: str, rng: random.Random) -> str:
    """``text`` without one of its fields that holds no digit (a span deleted when it has fewer than two)."""
    fields = [f for f in _FIELDS.split(text) if f.strip()]
    droppable = [i for i, f in enumerate(fields) if not any(_protected(t) for t in f.split())]
    if len(fields) < 2 or not droppable:
        return span_delete(text, rng)
    drop = rng.choice(droppable)
    return " ".join(f.strip() for i, f in enumerate(fields) if i != drop)


_OPERATORS = {"span_delete": span_delete, "token_shuffle": token_shuffle, "attribute_drop": attribute_drop}


def augment_text(text: str, seed: int, copy: int) -> str:
    """One augmented copy of ``text``: one operator, drawn (as its span) from the text, the seed and ``copy``."""
    digest = hashlib.sha256(f"{seed}\x1f{copy}\x1f{text}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    return _OPERATORS[rng.choice(OPERATIONS)](text, rng)


def augmented_pairs(
    texts_a: Sequence[str], texts_b: Sequence[str], labels: Sequence[int], copies: int, seed: int
) -> tuple[list[str], list[str], list[int]]:
    """The labelled pairs and ``copies`` augmented copies of each (both sides augmented, the label kept)."""
    a, b, y = list(texts_a), list(texts_b), list(labels)
    for copy in range(1, copies + 1):
        for x, z, label in zip(texts_a, texts_b, labels):
            a.append(augment_text(x, seed, copy))
            b.append(augment_text(z, seed + 1, copy))
            y.append(label)
    return a, b, y


def augmented_triplets(
    triplets: Sequence[tuple[str, str, str]], copies: int, seed: int
) -> list[tuple[str, str, str]]:
    """The triplets and ``copies`` copies of each with the anchor and the positive augmented."""
    out = list(triplets)
    for copy in range(1, copies + 1):
        out += [(augment_text(a, seed, copy), augment_text(p, seed + 1, copy), n) for a, p, n in triplets]
    return out


def augmented_classes(
    texts: Sequence[str], classes: Sequence[int], copies: int, seed: int
) -> tuple[list[str], list[int]]:
    """Class members and ``copies`` augmented copies of each in the same class; a copy equal to a text already
    there is left out."""
    out, labels = list(texts), list(classes)
    seen = set(out)
    for copy in range(1, copies + 1):
        for text, cls in zip(texts, classes):
            new = augment_text(text, seed, copy)
            if new not in seen:
                seen.add(new)
                out.append(new)
                labels.append(cls)
    return out, labels
