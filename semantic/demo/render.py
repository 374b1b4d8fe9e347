"""Rendering: an asset's slots and a campaign's parameters into localised text.

Owns the text helpers (capitalising, British spelling outside the US, local prices, amounts and
dates, the placeholder values of a campaign) and the rendering of sentence-level and one-line
assets from the copy bank.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence

from semantic.demo.bank import (
    ANGLES,
    BRAND_USAGE,
    BRITISH_SPELLING,
    CLAIMS,
    CURRENCY,
    DEADLINE_FRAMES,
    FEATURE_FRAMES,
    FREE_PRICE_FRAMES,
    GREETINGS,
    HELP_LINES,
    LINE_GROUPS,
    MARKET_NAMES,
    OFFERS,
    PRICE_FRAMES,
    SIGNOFFS,
    SPELLING_RE,
    TERMS_LINES,
    Angle,
    Claim,
)
from semantic.demo.records import Campaign, Slot

# --------------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------------


def cap(text: str) -> str:
    """Upper-case the first character of ``text``."""
    return text[:1].upper() + text[1:]


def localise(text: str, market: str) -> str:
    """Apply British spelling outside the US (copy is English in every market)."""
    if market == "US":
        return text

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        new = BRITISH_SPELLING[word.lower()]
        return cap(new) if word[0].isupper() else new

    return SPELLING_RE.sub(swap, text)


def money(usd: float, market: str) -> str:
    """Format a US-dollar amount as a local price, e.g. ``£1,519`` or ``€12.99``."""
    symbol, rate = CURRENCY[market]
    value = usd * rate
    if value < 30:
        return f"{symbol}{math.floor(value) + 0.99:.2f}"
    if value < 1000:
        return f"{symbol}{round(value):,}"
    return f"{symbol}{round(value / 10) * 10 - 1:,}"


def amount(usd: int, market: str) -> str:
    """Format a discount amount in the local currency, rounded to a multiple of five."""
    symbol, rate = CURRENCY[market]
    return f"{symbol}{max(5, round(usd * rate / 5) * 5):,}"


def format_date(day: dt.date, market: str) -> str:
    """Format a date the local way: ``June 14`` in the US, ``14 June`` elsewhere."""
    month = day.strftime("%B")
    return f"{month} {day.day}" if market == "US" else f"{day.day} {month}"


def context(campaign: Campaign, params: Mapping[str, str]) -> dict[str, str]:
    """Placeholder values shared by every template of a campaign."""
    product = campaign.product
    return {
        "brand": campaign.brand.name,
        "product": product.name,
        "Product": product.name,
        "ps": product.short,
        "cat": campaign.brand.category,
        "market_name": MARKET_NAMES[campaign.market],
        "market": campaign.market,
        "unit": product.unit,
        **params,
    }


# --------------------------------------------------------------------------------------------
# Rendering: slots -> text
# --------------------------------------------------------------------------------------------


def _pick(options: Sequence[str], index: int) -> str:
    """Option ``index`` of ``options``, wrapping around."""
    return options[index % len(options)]


def _offer_phrase(campaign: Campaign, key: str, var: int, ctx: Mapping[str, str]) -> str:
    """The short phrase of an offer, formatted."""
    return _pick(OFFERS[key].shorts, var).format_map(ctx)


def _claim_of(concept: str) -> Claim:
    """The claim a ``claim=<index>`` or ``benign=<index>`` concept refers to."""
    return CLAIMS[int(concept.split("=", 1)[1])]


def _angle_of(campaign: Campaign, key: str) -> Angle:
    """The angle a slot speaks to: the campaign's own unless the slot names another one."""
    return ANGLES[key] if key else campaign.angle


def _render_sentence(campaign: Campaign, slot: Slot, ctx: Mapping[str, str]) -> str:
    """Render one sentence-level slot."""
    name, _, value = slot.concept.partition("=")
    brand = campaign.brand
    if name == "angle":
        return _pick(_angle_of(campaign, value).hooks, slot.var).format_map(ctx)
    if name == "feat":
        phrase = _pick(campaign.product.features[int(value)], slot.var)
        return _pick(FEATURE_FRAMES, slot.frame).format_map({**ctx, "f": phrase, "F": cap(phrase)})
    if name == "offer":
        return _pick(OFFERS[value].sentences, slot.var).format_map(ctx)
    if name == "price":
        frames = PRICE_FRAMES if campaign.product.usd_price else FREE_PRICE_FRAMES
        return _pick(frames, slot.var).format_map(ctx)
    if name == "deadline":
        return _pick(DEADLINE_FRAMES, slot.var).format_map(ctx)
    if name == "proof":
        return _pick(brand.proofs[int(value)], slot.var)
    if name == "story":
        return _pick(brand.story, slot.var)
    if name == "usage":
        return _pick(BRAND_USAGE[brand.key], slot.var)
    if name == "help":
        return _pick(HELP_LINES, slot.var)
    if name == "terms":
        return _pick(TERMS_LINES, slot.var)
    if name == "cta":
        return _pick(brand.ctas, slot.var)
    if name == "greet":
        return _pick(GREETINGS, slot.var).format_map(ctx)
    if name == "signoff":
        return _pick(SIGNOFFS, slot.var).format_map(ctx)
    if name == "tags":
        return f"{brand.hashtag} {_angle_of(campaign, value).hashtag}"
    if name == "claim":
        return _pick(_claim_of(slot.concept).restatements, slot.var)
    if name == "benign":
        return _pick(_claim_of(slot.concept).benign, slot.var)
    raise ValueError(f"unknown concept {slot.concept!r}")


def _render_line(campaign: Campaign, asset_type: str, slot: Slot, ctx: Mapping[str, str]) -> str:
    """Render a one-line asset (headline, email subject, call to action)."""
    group, _, value = slot.concept.partition("=")
    frame = _pick(LINE_GROUPS[asset_type][group], slot.frame)
    values = dict(ctx)
    if group in ("offer", "offerdate"):
        values["o"] = _offer_phrase(campaign, value, slot.var, ctx)
    elif group == "angle":
        values["a"] = _pick(_angle_of(campaign, value).shorts, slot.var).format_map(ctx)
    elif group == "feat":
        values["f"] = _pick(campaign.product.features[int(value)], slot.var)
    elif group == "plain":
        values["c"] = _pick(campaign.brand.cta_shorts, slot.var)
    for key in ("o", "a", "f"):
        if key in values:
            values[key.upper()] = cap(values[key])
    return cap(frame.format_map(values))


def render(campaign: Campaign, asset_type: str, slots: Sequence[Slot], params: Mapping[str, str]) -> str:
    """Render an asset's slots into its final, localised text."""
    ctx = context(campaign, params)
    if asset_type in LINE_GROUPS and slots[0].kind == "line":
        text = _render_line(campaign, asset_type, slots[0], ctx)
    else:
        text = " ".join(cap(_render_sentence(campaign, slot, ctx)) for slot in slots)
    return localise(text, campaign.market)
