"""The copy bank of the demo data, read from the YAML files in ``data/``.

The bank holds the invented brands, products, angles, offers, copy frames, markets, brief wording
and rejected claims the generator assembles assets, briefs and pairs from (``data/brands.yml``,
``angles.yml``, ``offers.yml``, ``copy.yml``, ``templates.yml``, ``markets.yml``, ``briefs.yml``,
``claims.yml``; each file's header says what it holds). This module reads them once, on import,
checks every record has the fields it needs and that names refer to entries that exist, and builds
the structures the generator uses: frozen dataclasses, tuples of strings, dicts in file order and
the compiled British-spelling pattern. File order is the order of every tuple and dict, and the
generator draws from them with a seeded random generator: reordering entries changes the output.

A malformed or inconsistent file raises :class:`CopyBankError`, naming the file and the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml  # type: ignore[import-untyped]

__all__ = [
    "ANGLES", "ASSET_TYPE_WEIGHTS", "BOILERPLATE_KINDS", "BRANDS", "BRAND_USAGE", "BRIEF_OBJECTIVES",
    "BRIEF_TEMPLATES", "BRITISH_SPELLING", "CATEGORY_PREFIX", "CATEGORY_SEVERITY", "CHANNELS", "CLAIMS", "CURRENCY",
    "DEADLINE_FRAMES", "FEATURE_FRAMES", "FRAMING_KINDS", "FREE_PRICE_FRAMES", "GREETINGS", "HELP_LINES",
    "LINE_GROUPS", "LOOKALIKE_TEMPLATES", "LOOKALIKE_TYPES", "MANDATORIES", "MARKETS", "MARKET_NAMES", "OFFERS",
    "PRICE_FRAMES", "REFERENCE_MARKETS", "REFORMAT_TARGETS", "REGULATIONS", "SENTENCE_TEMPLATES", "SIGNOFFS",
    "SPELLING_RE", "TERMS_LINES", "TONES", "Angle", "Brand", "Claim", "CopyBankError", "Offer", "Product",
]

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CopyBankError(ValueError):
    """A data file of the copy bank is missing, malformed or refers to an entry that does not exist."""


# --------------------------------------------------------------------------------------------
# The records of the bank
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A product of a brand with three selling points, each phrased three ways."""

    name: str
    short: str
    usd_price: float
    unit: str
    features: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Brand:
    """A fictional brand: its products, voice, offers and the campaign angles it uses."""

    key: str
    name: str
    category: str
    products: tuple[Product, ...]
    angles: tuple[str, ...]
    offers: tuple[str, ...]
    story: tuple[str, ...]
    proofs: tuple[tuple[str, ...], ...]
    ctas: tuple[str, ...]
    cta_shorts: tuple[str, ...]
    gifts: tuple[str, ...]
    audiences: tuple[str, ...]
    usd_amount: int
    hashtag: str


@dataclass(frozen=True)
class Angle:
    """A campaign's message angle: customer-facing hooks, short hooks and brief wording."""

    key: str
    hooks: tuple[str, ...]
    shorts: tuple[str, ...]
    brief: tuple[str, ...]
    hashtag: str


@dataclass(frozen=True)
class Offer:
    """A promotional mechanic: full sentences, short phrases and the brief's wording."""

    key: str
    sentences: tuple[str, ...]
    shorts: tuple[str, ...]
    brief: str


@dataclass(frozen=True)
class Claim:
    """A claim compliance rejected, how copywriters restate it, and compliant wording on the topic."""

    category: str
    brands: tuple[str, ...]
    text: str
    rationale: str
    restatements: tuple[str, ...]
    benign: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Reading and checking values
# --------------------------------------------------------------------------------------------


def _read(name: str) -> dict[str, Any]:
    """The top-level mapping of ``data/<name>``."""
    text = (resources.files("semantic.demo") / "data" / name).read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CopyBankError(f"data/{name}: not valid YAML: {exc}") from exc
    return _mapping(data, f"data/{name}")


def _fail(where: str, expected: str, value: object) -> CopyBankError:
    hint = " (quote a string that starts with # or contains ': ')" if value is None or isinstance(value, bool) else ""
    return CopyBankError(f"{where}: expected {expected}, got {value!r}{hint}")


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) for k in value):
        raise _fail(where, "a mapping", value)
    return value


def _record(value: object, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, Any]:
    """A mapping with exactly the ``required`` keys, plus any of the ``optional`` ones."""
    data = _mapping(value, where)
    required = tuple(required)
    missing = [k for k in required if k not in data]
    unknown = [k for k in data if k not in required and k not in tuple(optional)]
    if missing or unknown:
        raise CopyBankError(f"{where}: missing {missing}, unknown {unknown}")
    return data


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _fail(where, "a non-empty list", value)
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "a non-empty string", value)
    return value


def _texts(value: object, where: str) -> tuple[str, ...]:
    return tuple(_text(item, f"{where}[{i}]") for i, item in enumerate(_list(value, where)))


def _nested(value: object, where: str) -> tuple[tuple[str, ...], ...]:
    return tuple(_texts(item, f"{where}[{i}]") for i, item in enumerate(_list(value, where)))


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(where, "a whole number >= 0", value)
    return value


def _number(value: object, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise _fail(where, "a number >= 0", value)
    return value


def _known(names: Iterable[str], known: Iterable[str], where: str) -> None:
    """Check every name refers to an entry that exists."""
    known = tuple(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CopyBankError(f"{where}: unknown {unknown}; known: {list(known)}")


# --------------------------------------------------------------------------------------------
# Building the bank
# --------------------------------------------------------------------------------------------


def _product(value: object, where: str) -> Product:
    data = _record(value, where, ("name", "short", "usd_price", "features"), optional=("unit",))
    features = []
    for i, ways in enumerate(_nested(data["features"], f"{where}.features")):
        if len(ways) != 3:
            raise CopyBankError(f"{where}.features[{i}]: a selling point is said three ways, got {len(ways)}")
        features.append((ways[0], ways[1], ways[2]))
    unit = _text(data["unit"], f"{where}.unit") if "unit" in data else ""
    return Product(name=_text(data["name"], f"{where}.name"), short=_text(data["short"], f"{where}.short"),
                   usd_price=_number(data["usd_price"], f"{where}.usd_price"),
                   unit=f" {unit}" if unit else "", features=tuple(features))


_BRAND_TEXTS = ("angles", "offers", "story", "ctas", "cta_shorts", "gifts", "audiences", "usage")


def _brands(data: dict[str, Any]) -> tuple[tuple[Brand, ...], dict[str, tuple[str, ...]]]:
    """The brands of brands.yml and each brand's usage lines."""
    brands, usage = [], {}
    for i, value in enumerate(_list(data.get("brands"), "data/brands.yml: brands")):
        where = f"data/brands.yml: brands[{i}]"
        raw = _record(value, where, ("key", "name", "category", "products", "proofs", "usd_amount", "hashtag",
                                     *_BRAND_TEXTS))
        texts = {k: _texts(raw[k], f"{where}.{k}") for k in _BRAND_TEXTS}
        key = _text(raw["key"], f"{where}.key")
        usage[key] = texts.pop("usage")
        brands.append(Brand(
            key=key, name=_text(raw["name"], f"{where}.name"), category=_text(raw["category"], f"{where}.category"),
            products=tuple(_product(p, f"{where}.products[{j}]")
                           for j, p in enumerate(_list(raw["products"], f"{where}.products"))),
            proofs=_nested(raw["proofs"], f"{where}.proofs"), usd_amount=_int(raw["usd_amount"], f"{where}.usd_amount"),
            hashtag=_text(raw["hashtag"], f"{where}.hashtag"), **texts,
        ))
        if len(brands[-1].offers) < 2 or len(brands[-1].angles) < 2:
            raise CopyBankError(f"{where}: a brand needs two offers and two angles (a campaign tests two of each)")
    return tuple(brands), usage


def _angles(data: dict[str, Any]) -> dict[str, Angle]:
    angles = {}
    for key, value in _mapping(data.get("angles"), "data/angles.yml: angles").items():
        where = f"data/angles.yml: angles.{key}"
        raw = _record(value, where, ("hashtag", "hooks", "shorts", "brief"))
        angles[key] = Angle(key=key, hooks=_texts(raw["hooks"], f"{where}.hooks"),
                            shorts=_texts(raw["shorts"], f"{where}.shorts"),
                            brief=_texts(raw["brief"], f"{where}.brief"),
                            hashtag=_text(raw["hashtag"], f"{where}.hashtag"))
    return angles


def _offers(data: dict[str, Any]) -> dict[str, Offer]:
    offers = {}
    for key, value in _mapping(data.get("offers"), "data/offers.yml: offers").items():
        where = f"data/offers.yml: offers.{key}"
        raw = _record(value, where, ("sentences", "shorts", "brief"))
        offers[key] = Offer(key=key, sentences=_texts(raw["sentences"], f"{where}.sentences"),
                            shorts=_texts(raw["shorts"], f"{where}.shorts"),
                            brief=_text(raw["brief"], f"{where}.brief"))
    return offers


def _groups(value: object, where: str) -> dict[str, tuple[str, ...]]:
    """A mapping of names to lists of strings."""
    return {k: _texts(v, f"{where}.{k}") for k, v in _mapping(value, where).items()}


def _templates(value: object, where: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """A mapping of asset types to lists of sentence-kind lists."""
    return {k: _nested(v, f"{where}.{k}") for k, v in _mapping(value, where).items()}


def _claims(data: dict[str, Any], brand_keys: tuple[str, ...], markets: tuple[str, ...]) -> tuple[
        dict[str, str], dict[str, tuple[str, ...]], dict[str, dict[str, str]], tuple[Claim, ...]]:
    """Rule prefixes, severities and regulations by category, and every claim in file order."""
    groups = {"all": brand_keys, **_groups(data["brand_groups"], "data/claims.yml: brand_groups")}
    for name, keys in groups.items():
        _known(keys, brand_keys, f"data/claims.yml: brand_groups.{name}")
    prefixes, severities, regulations, claims = {}, {}, {}, []
    for category, value in _mapping(data["categories"], "data/claims.yml: categories").items():
        where = f"data/claims.yml: categories.{category}"
        raw = _record(value, where, ("rule_prefix", "severities", "regulations", "claims"))
        prefixes[category] = _text(raw["rule_prefix"], f"{where}.rule_prefix")
        severities[category] = _texts(raw["severities"], f"{where}.severities")
        regulations[category] = {k: _text(v, f"{where}.regulations.{k}")
                                 for k, v in _mapping(raw["regulations"], f"{where}.regulations").items()}
        _known((*markets, "ALL"), regulations[category], f"{where}.regulations (a regulation per market)")
        for i, item in enumerate(_list(raw["claims"], f"{where}.claims")):
            at = f"{where}.claims[{i}]"
            claim = _record(item, at, ("text", "brands", "rationale", "restatements", "benign"))
            if isinstance(claim["brands"], str):  # a group: all, shops, ...
                _known((claim["brands"],), groups, f"{at}.brands")
                brands = groups[claim["brands"]]
            else:
                brands = _texts(claim["brands"], f"{at}.brands")
                _known(brands, brand_keys, f"{at}.brands")
            claims.append(Claim(category=category, brands=brands, text=_text(claim["text"], f"{at}.text"),
                                rationale=_text(claim["rationale"], f"{at}.rationale"),
                                restatements=_texts(claim["restatements"], f"{at}.restatements"),
                                benign=_texts(claim["benign"], f"{at}.benign")))
    return prefixes, severities, regulations, tuple(claims)


_brands_file = _read("brands.yml")
BRANDS, BRAND_USAGE = _brands(_record(_brands_file, "data/brands.yml", ("brands",)))
ANGLES: dict[str, Angle] = _angles(_record(_read("angles.yml"), "data/angles.yml", ("angles",)))
OFFERS: dict[str, Offer] = _offers(_record(_read("offers.yml"), "data/offers.yml", ("offers",)))
for _brand in BRANDS:
    _known(_brand.angles, ANGLES, f"data/brands.yml: {_brand.key}.angles")
    _known(_brand.offers, OFFERS, f"data/brands.yml: {_brand.key}.offers")

_copy = _record(_read("copy.yml"), "data/copy.yml", (
    "feature_frames", "price_frames", "free_price_frames", "deadline_frames", "help_lines", "terms_lines",
    "greetings", "signoffs", "line_frames"))
FEATURE_FRAMES = _texts(_copy["feature_frames"], "data/copy.yml: feature_frames")
PRICE_FRAMES = _texts(_copy["price_frames"], "data/copy.yml: price_frames")
FREE_PRICE_FRAMES = _texts(_copy["free_price_frames"], "data/copy.yml: free_price_frames")
DEADLINE_FRAMES = _texts(_copy["deadline_frames"], "data/copy.yml: deadline_frames")
HELP_LINES = _texts(_copy["help_lines"], "data/copy.yml: help_lines")
TERMS_LINES = _texts(_copy["terms_lines"], "data/copy.yml: terms_lines")
GREETINGS = _texts(_copy["greetings"], "data/copy.yml: greetings")
SIGNOFFS = _texts(_copy["signoffs"], "data/copy.yml: signoffs")
# One-line asset type -> what the line carries (offer, angle, ...) -> its frames.
LINE_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    k: _groups(v, f"data/copy.yml: line_frames.{k}")
    for k, v in _mapping(_copy["line_frames"], "data/copy.yml: line_frames").items()
}

_templates_file = _record(_read("templates.yml"), "data/templates.yml", (
    "asset_type_weights", "channels", "sentence_templates", "lookalike_types", "lookalike_templates",
    "framing_kinds", "boilerplate_kinds", "reformat_targets"))
ASSET_TYPE_WEIGHTS: dict[str, int] = {
    k: _int(v, f"data/templates.yml: asset_type_weights.{k}")
    for k, v in _mapping(_templates_file["asset_type_weights"], "data/templates.yml: asset_type_weights").items()
}
CHANNELS = _groups(_templates_file["channels"], "data/templates.yml: channels")
SENTENCE_TEMPLATES = _templates(_templates_file["sentence_templates"], "data/templates.yml: sentence_templates")
LOOKALIKE_TYPES = _texts(_templates_file["lookalike_types"], "data/templates.yml: lookalike_types")
LOOKALIKE_TEMPLATES = _templates(_templates_file["lookalike_templates"], "data/templates.yml: lookalike_templates")
FRAMING_KINDS = _texts(_templates_file["framing_kinds"], "data/templates.yml: framing_kinds")
# Brand boilerplate a paraphrase keeps as it was: the framing kinds and a few more.
BOILERPLATE_KINDS = (
    *FRAMING_KINDS, *_texts(_templates_file["boilerplate_kinds"], "data/templates.yml: boilerplate_kinds"),
)
REFORMAT_TARGETS: dict[str, str] = {
    k: _text(v, f"data/templates.yml: reformat_targets.{k}")
    for k, v in _mapping(_templates_file["reformat_targets"], "data/templates.yml: reformat_targets").items()
}
_known(ASSET_TYPE_WEIGHTS, CHANNELS, "data/templates.yml: channels (channels per asset type)")
_known(ASSET_TYPE_WEIGHTS, (*SENTENCE_TEMPLATES, *LINE_GROUPS), "data/templates.yml: sentence_templates")
_known((*LOOKALIKE_TYPES, *REFORMAT_TARGETS.values()), ASSET_TYPE_WEIGHTS, "data/templates.yml: asset types")
_known(LOOKALIKE_TYPES, LOOKALIKE_TEMPLATES, "data/templates.yml: lookalike_templates")

_markets_file = _record(_read("markets.yml"), "data/markets.yml", ("markets", "british_spelling"))
_markets = {
    k: _record(v, f"data/markets.yml: markets.{k}", ("name", "currency", "usd_rate"))
    for k, v in _mapping(_markets_file["markets"], "data/markets.yml: markets").items()
}
MARKETS = tuple(_markets)
MARKET_NAMES = {k: _text(v["name"], f"data/markets.yml: markets.{k}.name") for k, v in _markets.items()}
CURRENCY = {
    k: (_text(v["currency"], f"data/markets.yml: markets.{k}.currency"),
        _number(v["usd_rate"], f"data/markets.yml: markets.{k}.usd_rate"))
    for k, v in _markets.items()
}
BRITISH_SPELLING = {
    k: _text(v, f"data/markets.yml: british_spelling.{k}")
    for k, v in _mapping(_markets_file["british_spelling"], "data/markets.yml: british_spelling").items()
}
SPELLING_RE = re.compile(r"\b(" + "|".join(BRITISH_SPELLING) + r")\b", re.IGNORECASE)

_briefs = _record(_read("briefs.yml"), "data/briefs.yml", ("tones", "mandatories", "objectives", "templates"))
TONES = _texts(_briefs["tones"], "data/briefs.yml: tones")
MANDATORIES = _texts(_briefs["mandatories"], "data/briefs.yml: mandatories")
BRIEF_OBJECTIVES = _texts(_briefs["objectives"], "data/briefs.yml: objectives")
BRIEF_TEMPLATES = _texts(_briefs["templates"], "data/briefs.yml: templates")

_claims_file = _record(_read("claims.yml"), "data/claims.yml", ("reference_markets", "brand_groups", "categories"))
# Market of the n-th claim of each category: a mix of single markets and ALL.
REFERENCE_MARKETS = _texts(_claims_file["reference_markets"], "data/claims.yml: reference_markets")
_known(REFERENCE_MARKETS, (*MARKETS, "ALL"), "data/claims.yml: reference_markets")
CATEGORY_PREFIX, CATEGORY_SEVERITY, REGULATIONS, CLAIMS = _claims(
    _claims_file, tuple(b.key for b in BRANDS), MARKETS)
