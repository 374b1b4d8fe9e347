"""Attribute evidence for the pair decision: the numbers and words that make two similar texts different items.

Two listings of "the same" software or hardware often differ only in an attribute an embedding blurs:
the capacity (1 TB / 2 TB), the edition (Home / Professional), the platform (Mac / Windows), the
licence count (1 user / 5 users), the year or version (2009 / 2010), the price. Each is read from
each text once (:func:`attributes`) and compared per pair (:func:`attribute_features`):

* ``measure_conflict``: both texts give a measurement in the same unit family (storage, length,
  power, resolution, volume, weight, frequency, zoom...) and no value agrees (within 2 %);
  ``measure_shared``: some value agrees.
* ``count_conflict``: both give a count of users, licences, seats, devices or a pack size, and no count agrees.
* ``year_conflict``: both name a year or version year (1990-2049) and none is shared.
* ``edition_conflict`` and ``platform_conflict``: both name an edition (home, professional,
  student...) or a platform (mac, windows, linux, xbox...), and none is shared.
* ``price_gap``: the absolute log ratio of the two prices (currency-marked, or a decimal amount not
  followed by a unit), capped at 2; ``no_price``: either text has none.
* ``colour_conflict``: both name a colour (black, cyan, navy...; grey and gray are one) and none is shared: the
  black and the cyan ink cartridge of one model, the red and the white edition of one drive or one creative.
* ``number_shared`` and ``number_conflict``: both give a bare number of four to six digits (not a decimal, not
  followed by a unit, not part of a hyphenated code: a model or catalogue number such as ``8691`` or ``07227``,
  which the identifiers, letters and digits mixed or seven digits and more, leave out) and some is shared, or none
  is.

Nothing here is weighted by hand: the pair decision learns a weight for every feature from the
labelled pairs (:mod:`semantic.decisions.pair_decision`), so a feature that does not separate the
team's matches from its non-matches gets a weight near zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

ATTRIBUTE_FEATURES = ("measure_conflict", "measure_shared", "count_conflict", "year_conflict", "edition_conflict",
                      "platform_conflict", "price_gap", "no_price", "colour_conflict", "number_shared",
                      "number_conflict")
#: The largest value each feature takes (the pair decision's bound on what evidence can add).
ATTRIBUTE_MAX = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0)

# unit spelling -> (family, factor to the family's base unit)
_UNITS: dict[str, tuple[str, float]] = {
    **{u: ("storage", f) for u, f in (("kb", 1e-6), ("mb", 1e-3), ("gb", 1.0), ("tb", 1e3), ("gig", 1.0))},
    **{u: ("length", f) for u, f in (("mm", 0.1), ("cm", 1.0), ("m", 100.0), ("in", 2.54), ("inch", 2.54),
                                       ("inches", 2.54), ("ft", 30.48), ('"', 2.54), ("'", 2.54))},
    **{u: ("power", f) for u, f in (("w", 1.0), ("watt", 1.0), ("watts", 1.0), ("kw", 1e3))},
    **{u: ("voltage", 1.0) for u in ("v", "volt", "volts")},
    **{u: ("charge", 1.0) for u in ("mah",)},
    **{u: ("frequency", f) for u, f in (("hz", 1.0), ("khz", 1e3), ("mhz", 1e6), ("ghz", 1e9))},
    **{u: ("resolution", 1.0) for u in ("mp", "megapixel", "megapixels")},
    **{u: ("volume", f) for u, f in (("ml", 1.0), ("l", 1e3), ("litre", 1e3), ("liter", 1e3), ("qt", 946.0),
                                       ("gal", 3785.0), ("cu", 28317.0))},
    **{u: ("weight", f) for u, f in (("g", 1.0), ("kg", 1e3), ("oz", 28.35), ("lb", 453.6), ("lbs", 453.6))},
    **{u: ("zoom", 1.0) for u in ("x",)},
    **{u: ("speed", 1.0) for u in ("rpm",)},
    **{u: ("display", 1.0) for u in ("p", "k")},  # 1080p, 4k
}
_COUNTS = {"user": "users", "users": "users", "pc": "devices", "pcs": "devices", "computer": "devices",
           "computers": "devices", "device": "devices", "devices": "devices", "seat": "seats", "seats": "seats",
           "license": "licences", "licenses": "licences", "licence": "licences", "licences": "licences",
           "pack": "pack", "pk": "pack", "count": "pack", "ct": "pack", "piece": "pack", "pieces": "pack"}
_EDITIONS = frozenset({"home", "professional", "pro", "premium", "ultimate", "deluxe", "standard", "basic",
                       "student", "academic", "enterprise", "business", "personal", "express", "platinum",
                       "upgrade", "lite", "plus", "elite", "gold", "starter"})
_PLATFORMS = {"mac": "mac", "macintosh": "mac", "osx": "mac", "macos": "mac", "windows": "windows", "win": "windows",
              "linux": "linux", "xbox": "xbox", "ps2": "ps2", "ps3": "ps3", "ps4": "ps4", "psp": "psp",
              "wii": "wii", "ds": "ds", "ipad": "ipad", "iphone": "iphone", "android": "android"}
_COLOURS = {**{c: c for c in ("black", "white", "red", "blue", "green", "yellow", "pink", "purple", "orange", "brown",
                              "silver", "gold", "cyan", "magenta", "beige", "navy", "teal", "bronze", "ivory", "violet",
                              "maroon", "turquoise", "charcoal", "graphite", "burgundy", "lavender", "khaki", "coral")},
            "grey": "gray", "gray": "gray"}

_NUMBER_UNIT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(" + "|".join(
    sorted((re.escape(u) for u in _UNITS), key=len, reverse=True)) + r")(?![a-z])")
_COUNT = re.compile(r"(?<![\w.])(\d{1,4})\s?-?\s?(" + "|".join(sorted(_COUNTS, key=len, reverse=True)) + r")\b")
_YEAR = re.compile(r"(?<![\w.])(199\d|20[0-4]\d)(?![\w.])")
_PRICE_MARKED = re.compile(r"[$€£]\s?(\d{1,6}(?:[.,]\d{2})?)")
_DECIMAL = re.compile(r"(?<![\w.])(\d{1,6}\.\d{1,2})(?![\w.]|\s?[a-z%\"'])")
_WORD = re.compile(r"[a-z0-9]+")
# 8691, 07227; not 150 (in copy, 150 currencies is a fact a campaign repeats), 2608.99, 1,000, 500gb, 0101082300 or a
# part of 010-10823-00 (an identifier already)
_NUMBER = re.compile(r"(?<![\w.,\-/])\d{4,6}(?![\w.,\-/])")


@dataclass(frozen=True)
class Attributes:
    """What one text says about the item's attributes."""

    measures: dict[str, frozenset[float]] = field(default_factory=dict)
    counts: dict[str, frozenset[int]] = field(default_factory=dict)
    years: frozenset[str] = frozenset()
    editions: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    price: float | None = None
    colours: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()


def attributes(text: str | None) -> Attributes:
    """Read the attributes of one text (lower-cased first)."""
    t = (text or "").lower()
    measures: dict[str, set[float]] = {}
    for value, unit in _NUMBER_UNIT.findall(t):
        family, factor = _UNITS[unit]
        measures.setdefault(family, set()).add(float(value) * factor)
    counts: dict[str, set[int]] = {}
    for value, word in _COUNT.findall(t):
        counts.setdefault(_COUNTS[word], set()).add(int(value))
    words = set(_WORD.findall(t))
    marked = _PRICE_MARKED.findall(t)
    amounts = marked or _DECIMAL.findall(t)
    price = float(amounts[-1].replace(",", ".")) if amounts else None
    return Attributes(
        measures={k: frozenset(v) for k, v in measures.items()},
        counts={k: frozenset(v) for k, v in counts.items()},
        years=frozenset(_YEAR.findall(t)),
        editions=frozenset(words & _EDITIONS),
        platforms=frozenset(_PLATFORMS[w] for w in words if w in _PLATFORMS),
        price=price if price and price > 0 else None,
        colours=frozenset(_COLOURS[w] for w in words if w in _COLOURS),
        numbers=frozenset(_NUMBER.findall(t)),
    )


def _agree(x: frozenset[float], y: frozenset[float]) -> bool:
    return any(abs(a - b) <= 0.02 * max(abs(a), abs(b)) for a in x for b in y)


def _disjoint(x: frozenset[str], y: frozenset[str]) -> float:
    return float(bool(x) and bool(y) and not (x & y))


def pair_features(a: Attributes, b: Attributes) -> tuple[float, ...]:
    """The :data:`ATTRIBUTE_FEATURES` of one pair."""
    families = set(a.measures) & set(b.measures)
    agreeing = [f for f in families if _agree(a.measures[f], b.measures[f])]
    count_kinds = set(a.counts) & set(b.counts)
    count_conflict = any(not (a.counts[k] & b.counts[k]) for k in count_kinds)
    if a.price is None or b.price is None:
        gap, no_price = 0.0, 1.0
    else:
        gap, no_price = min(2.0, abs(math.log(a.price / b.price))), 0.0
    return (float(len(agreeing) < len(families)), float(bool(agreeing)), float(count_conflict),
            _disjoint(a.years, b.years), _disjoint(a.editions, b.editions), _disjoint(a.platforms, b.platforms),
            gap, no_price, _disjoint(a.colours, b.colours), float(bool(a.numbers & b.numbers)),
            _disjoint(a.numbers, b.numbers))


def attribute_features(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """(pairs x :data:`ATTRIBUTE_FEATURES`) for aligned pairs; each distinct text is read once."""
    cache: dict[str, Attributes] = {}

    def read(text: str) -> Attributes:
        if text not in cache:
            cache[text] = attributes(text)
        return cache[text]

    out = np.empty((len(a), len(ATTRIBUTE_FEATURES)))  # row by row, never a list of a tuple per pair
    for row, (x, y) in enumerate(zip(a, b)):
        out[row] = pair_features(read(x), read(y))
    return out
