"""Deterministic generator of fictional marketing demo data.

The demo data imitates what a marketing team keeps about its campaigns: creative assets
(headlines, ad bodies, emails, social posts, landing-page copy), the creative briefs they
answer, the claims compliance has rejected before, and labelled pairs for three tasks:

* ``duplicate``: planted near-duplicates of an asset (paraphrase, reorder, channel reformat,
  typo, changed price, changed date, truncation) and hard negatives (same product and same
  wording skeleton, but a different offer and different selling points).
* ``brief_match``: a brief and an asset of its own campaign (match) or of another campaign of
  the same brand and market (nonmatch).
* ``lookalike``: an asset that restates a rejected claim in other words (restatement) or that
  talks about the same topic in compliant wording (benign), paired with that reference.

Every text is assembled from concepts that each have several surface realisations, so a
paraphrase keeps the meaning but few words, and a hard negative keeps most words but changes
the offer: the labels cannot be solved by word overlap alone. All brands, products, claims
and copy are invented. Only the standard library is used and the output depends on the seed
alone: the same seed writes byte-identical files.

Example:
    >>> from pathlib import Path
    >>> from semantic.demo import generate
    >>> summary = generate(Path("seeds"), seed=42, n_assets=3000)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from semantic.demo_copy import (
    _SPELLING_RE,
    ANGLES,
    ASSET_TYPE_WEIGHTS,
    BOILERPLATE_KINDS,
    BRAND_USAGE,
    BRANDS,
    BRIEF_OBJECTIVES,
    BRIEF_TEMPLATES,
    BRITISH_SPELLING,
    CATEGORY_PREFIX,
    CATEGORY_SEVERITY,
    CHANNELS,
    CLAIMS,
    CURRENCY,
    DEADLINE_FRAMES,
    FEATURE_FRAMES,
    FRAMING_KINDS,
    FREE_PRICE_FRAMES,
    GREETINGS,
    HELP_LINES,
    LINE_GROUPS,
    LOOKALIKE_TEMPLATES,
    LOOKALIKE_TYPES,
    MANDATORIES,
    MARKET_NAMES,
    MARKETS,
    OFFERS,
    PRICE_FRAMES,
    REFERENCE_MARKETS,
    REFORMAT_TARGETS,
    REGULATIONS,
    SENTENCE_TEMPLATES,
    SIGNOFFS,
    TERMS_LINES,
    TONES,
    Angle,
    Brand,
    Claim,
    Product,
)

__all__ = ["DUPLICATE_KINDS", "DemoSummary", "generate"]

# --------------------------------------------------------------------------------------------
# Output schema
# --------------------------------------------------------------------------------------------

ASSET_COLUMNS = (
    "asset_id", "campaign_id", "brand", "product", "channel", "market", "asset_type", "created_at", "text",
)
BRIEF_COLUMNS = ("brief_id", "campaign_id", "brand", "market", "product", "text")
MATCH_COLUMNS = ("brief_id", "asset_id")
REFERENCE_COLUMNS = (
    "reference_id", "rule_id", "regulation", "severity", "market", "claim_text", "rationale", "active",
    "added_at",
)
PAIR_COLUMNS = ("left_id", "right_id", "task", "kind", "label", "split", "group_id")

DUPLICATE_KINDS = (
    "paraphrase", "reorder", "channel_reformat", "typo", "changed_price", "changed_date", "truncation",
)
# Relative frequency of each near-duplicate kind: rewrites are the most common kind of reuse.
DUPLICATE_WEIGHTS = {
    "paraphrase": 3.0, "reorder": 1.0, "channel_reformat": 1.5, "typo": 1.0, "changed_price": 1.0,
    "changed_date": 1.0, "truncation": 1.0,
}
SPLITS = ("train", "valid", "test")
SPLIT_SHARES = {"train": 0.6, "valid": 0.2, "test": 0.2}

# Share of n_assets taken by each planted kind of asset; the rest are original creatives.
DUPLICATE_SHARE = 0.125
HARD_NEGATIVE_SHARE = 0.06
LOOKALIKE_SHARE = 0.042
BENIGN_SHARE = 0.042
ASSETS_PER_CAMPAIGN = 17.5
CAMPAIGNS_PER_GROUP = 5
MIN_BASE_PER_CAMPAIGN = 4
BRIEF_PAIRS_PER_LABEL = 2
YEAR = 2026


@dataclass(frozen=True)
class DemoSummary:
    """Counts of what :func:`generate` wrote.

    Attributes:
        n_assets: Rows in ``demo_assets.csv``.
        n_briefs: Rows in ``demo_briefs.csv`` (one brief per campaign).
        n_brief_matches: Rows in ``demo_brief_matches.csv``.
        n_references: Rows in ``demo_compliance_references.csv``.
        n_duplicate_pairs: Planted near-duplicate pairs (label 1, task duplicate).
        n_hard_negative_pairs: Hard-negative pairs (label 0, task duplicate).
        n_lookalike_assets: Assets that restate a rejected claim.
        n_benign_assets: Assets on a claim's topic in compliant wording.
        n_labelled_pairs: Rows in ``demo_labelled_pairs.csv``.
        duplicate_kinds: Near-duplicate kind -> number of planted pairs.
    """

    n_assets: int
    n_briefs: int
    n_brief_matches: int
    n_references: int
    n_duplicate_pairs: int
    n_hard_negative_pairs: int
    n_lookalike_assets: int
    n_benign_assets: int
    n_labelled_pairs: int
    duplicate_kinds: dict[str, int]




# --------------------------------------------------------------------------------------------
# Internal records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One piece of an asset: a concept (what it says) plus the frame and wording used to say it."""

    kind: str
    concept: str
    frame: int
    var: int


@dataclass
class Campaign:
    """A campaign: brand, market, product, angle, two offers under test and their parameters."""

    campaign_id: str
    brand: Brand
    market: str
    product: Product
    angle: Angle
    offer: str
    alt_offer: str
    alt_angle: str
    params: dict[str, str]
    start: dt.date
    end: dt.date
    audience: str
    tone: str
    group: int
    split: str = "train"


@dataclass
class Draft:
    """An asset before ids are assigned."""

    key: int
    campaign: Campaign
    asset_type: str
    channel: str
    slots: tuple[Slot, ...]
    params: dict[str, str]
    text: str
    created: dt.date
    serves_brief: bool = True


@dataclass
class Reference:
    """A row of the compliance reference table."""

    reference_id: str
    rule_id: str
    regulation: str
    severity: str
    market: str
    claim: Claim
    active: bool
    added_at: dt.date


@dataclass
class PairDraft:
    """A labelled pair before asset ids are known; asset sides are draft keys."""

    left: int | str
    right: int | str
    task: str
    kind: str
    label: int
    campaign: Campaign


@dataclass
class _State:
    """Everything generated so far."""

    rng: random.Random
    campaigns: list[Campaign]
    references: list[Reference]
    drafts: list[Draft] = field(default_factory=list)
    pairs: list[PairDraft] = field(default_factory=list)
    dup_counts: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------------


def _cap(text: str) -> str:
    """Upper-case the first character of ``text``."""
    return text[:1].upper() + text[1:]


def _word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def _localise(text: str, market: str) -> str:
    """Apply British spelling outside the US (copy is English in every market)."""
    if market == "US":
        return text

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        new = BRITISH_SPELLING[word.lower()]
        return _cap(new) if word[0].isupper() else new

    return _SPELLING_RE.sub(swap, text)


def _money(usd: float, market: str) -> str:
    """Format a US-dollar amount as a local price, e.g. ``£1,519`` or ``€12.99``."""
    symbol, rate = CURRENCY[market]
    value = usd * rate
    if value < 30:
        return f"{symbol}{math.floor(value) + 0.99:.2f}"
    if value < 1000:
        return f"{symbol}{round(value):,}"
    return f"{symbol}{round(value / 10) * 10 - 1:,}"


def _amount(usd: int, market: str) -> str:
    """Format a discount amount in the local currency, rounded to a multiple of five."""
    symbol, rate = CURRENCY[market]
    return f"{symbol}{max(5, round(usd * rate / 5) * 5):,}"


def _format_date(day: dt.date, market: str) -> str:
    """Format a date the local way: ``June 14`` in the US, ``14 June`` elsewhere."""
    month = day.strftime("%B")
    return f"{month} {day.day}" if market == "US" else f"{day.day} {month}"


def _context(campaign: Campaign, params: Mapping[str, str]) -> dict[str, str]:
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
        return _pick(FEATURE_FRAMES, slot.frame).format_map({**ctx, "f": phrase, "F": _cap(phrase)})
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
            values[key.upper()] = _cap(values[key])
    return _cap(frame.format_map(values))


def render(campaign: Campaign, asset_type: str, slots: Sequence[Slot], params: Mapping[str, str]) -> str:
    """Render an asset's slots into its final, localised text."""
    ctx = _context(campaign, params)
    if asset_type in LINE_GROUPS and slots[0].kind == "line":
        text = _render_line(campaign, asset_type, slots[0], ctx)
    else:
        text = " ".join(_cap(_render_sentence(campaign, slot, ctx)) for slot in slots)
    return _localise(text, campaign.market)


# --------------------------------------------------------------------------------------------
# Campaigns and briefs
# --------------------------------------------------------------------------------------------


def _campaign_groups(rng: random.Random, n_groups: int) -> list[tuple[Brand, str]]:
    """Brand + market combinations, interleaved so the first ones cover different brands."""
    per_brand = []
    for brand in BRANDS:
        markets = list(MARKETS)
        rng.shuffle(markets)
        per_brand.append([(brand, market) for market in markets])
    order = list(range(len(BRANDS)))
    rng.shuffle(order)
    combos = [per_brand[b][i] for i in range(len(MARKETS)) for b in order]
    return combos[: max(1, min(n_groups, len(combos)))]


def _campaign_params(rng: random.Random, brand: Brand, product: Product, market: str,
                     end: dt.date) -> dict[str, str]:
    """Prices, discounts and dates one campaign's copy refers to."""
    return {
        "pct": str(rng.choice((10, 15, 20, 25, 30))),
        "cb": str(rng.choice((2, 3, 5))),
        "trial": str(rng.choice((14, 30))),
        "amount": _amount(brand.usd_amount * rng.choice((1, 2)), market),
        "price": _money(product.usd_price, market) if product.usd_price else "",
        "gift": rng.choice(brand.gifts),
        "date": _format_date(end, market),
    }


def _make_campaigns(rng: random.Random, n_campaigns: int) -> list[Campaign]:
    """Create campaigns, several per brand + market, each with a distinct product + angle."""
    groups = _campaign_groups(rng, max(4, round(n_campaigns / CAMPAIGNS_PER_GROUP)))
    used: set[tuple[int, str, str]] = set()
    campaigns = []
    for index in range(n_campaigns):
        group = index % len(groups)
        brand, market = groups[group]
        options = [(p, a) for p in brand.products for a in brand.angles if (group, p.name, a) not in used]
        product, angle_key = rng.choice(options or [(p, a) for p in brand.products for a in brand.angles])
        used.add((group, product.name, angle_key))
        offer, alt_offer = rng.sample(brand.offers, 2)
        start = dt.date(YEAR, 1, 5) + dt.timedelta(days=rng.randrange(0, 280))
        end = start + dt.timedelta(days=rng.choice((21, 28, 35, 42, 56)))
        campaigns.append(Campaign(
            campaign_id=f"C{index + 1:04d}", brand=brand, market=market, product=product,
            angle=ANGLES[angle_key], offer=offer, alt_offer=alt_offer,
            alt_angle=rng.choice([a for a in brand.angles if a != angle_key]),
            params=_campaign_params(rng, brand, product, market, end), start=start, end=end,
            audience=rng.choice(brand.audiences), tone=rng.choice(TONES), group=group,
        ))
    _assign_splits(rng, campaigns)
    return campaigns


def _assign_splits(rng: random.Random, campaigns: list[Campaign]) -> None:
    """Give every brand + market group one split, greedily reaching about 60/20/20 campaigns.

    Splitting by group rather than by campaign keeps nonmatch brief pairs (which pair a brief
    with another campaign of the same brand and market) inside one split as well.
    """
    groups: dict[int, list[Campaign]] = {}
    for campaign in campaigns:
        groups.setdefault(campaign.group, []).append(campaign)
    order = list(groups)
    rng.shuffle(order)
    counts = dict.fromkeys(SPLITS, 0)
    for position, group in enumerate(order):
        remaining_splits = [s for s in SPLITS if counts[s] == 0]
        if len(order) - position <= len(remaining_splits):
            split = remaining_splits[0]
        else:
            split = max(SPLITS, key=lambda s: SPLIT_SHARES[s] * len(campaigns) - counts[s])
        for campaign in groups[group]:
            campaign.split = split
        counts[split] += len(groups[group])


def _brief_text(rng: random.Random, campaign: Campaign) -> str:
    """Write a creative brief: objective, audience, key message, offers, tone, mandatory elements."""
    ctx = _context(campaign, campaign.params)
    mandatories = [m for m in MANDATORIES if campaign.product.usd_price or "price" not in m]
    chosen = rng.sample(mandatories, 3)
    objective = f"{rng.choice(BRIEF_OBJECTIVES)}; {rng.choice(campaign.angle.brief)}"
    text = rng.choice(BRIEF_TEMPLATES).format_map({
        **ctx,
        "objective": objective.format_map(ctx),
        "audience": campaign.audience,
        "message": rng.choice(campaign.angle.brief).format_map(ctx),
        "offer": OFFERS[campaign.offer].brief.format_map(ctx),
        "alt_offer": OFFERS[campaign.alt_offer].brief.format_map(ctx),
        "tone": campaign.tone,
        "mandatories": "; ".join(m.format_map(ctx) for m in chosen),
    })
    return _localise(text, campaign.market)


# --------------------------------------------------------------------------------------------
# Original assets
# --------------------------------------------------------------------------------------------


def _line_groups(campaign: Campaign, asset_type: str) -> list[str]:
    """Concepts a one-line asset of this campaign can carry."""
    features = [f"feat={i}" for i in range(len(campaign.product.features))]
    offers = [f"offer={campaign.offer}"]
    if asset_type == "headline":
        return offers * 3 + ["angle"] * 3 + [f"offerdate={campaign.offer}"] * 2 + features
    if asset_type == "email_subject":
        return offers + ["angle", f"offerdate={campaign.offer}"]
    return offers + ["plain"]


def _sentence_slots(rng: random.Random, campaign: Campaign, kinds: Sequence[str]) -> tuple[Slot, ...]:
    """Fill a sentence template with concepts, frames and wordings."""
    features = list(range(len(campaign.product.features)))
    rng.shuffle(features)
    slots = []
    proofs = list(range(len(campaign.brand.proofs)))
    rng.shuffle(proofs)
    for kind in kinds:
        if kind == "feat":
            concept = f"feat={features.pop()}"
        elif kind == "offer":
            concept = f"offer={campaign.offer}"
        elif kind == "proof":
            concept = f"proof={proofs.pop()}"
        else:
            concept = kind
        slots.append(Slot(kind, concept, rng.randrange(8), rng.randrange(12)))
    return tuple(slots)


def _base_slots(rng: random.Random, campaign: Campaign, asset_type: str) -> tuple[Slot, ...]:
    """Choose a template for an original asset and fill it."""
    if asset_type in LINE_GROUPS:
        concept = rng.choice(_line_groups(campaign, asset_type))
        return (Slot("line", concept, rng.randrange(12), rng.randrange(12)),)
    kinds = rng.choice(SENTENCE_TEMPLATES[asset_type])
    if not campaign.product.usd_price:
        kinds = tuple(k for k in kinds if k != "price") or kinds
    return _sentence_slots(rng, campaign, kinds)


def _new_draft(state: _State, campaign: Campaign, asset_type: str, slots: tuple[Slot, ...],
               params: Mapping[str, str], created: dt.date, channel: str | None = None,
               text: str | None = None) -> Draft:
    """Render and store a new asset draft."""
    draft = Draft(
        key=len(state.drafts), campaign=campaign, asset_type=asset_type,
        channel=channel or state.rng.choice(CHANNELS[asset_type]), slots=slots, params=dict(params),
        text=text if text is not None else render(campaign, asset_type, slots, params), created=created,
    )
    state.drafts.append(draft)
    return draft


def _make_base_assets(state: _State, counts: Sequence[int]) -> dict[str, list[Draft]]:
    """Write the original creatives of every campaign."""
    rng = state.rng
    types = list(ASSET_TYPE_WEIGHTS)
    weights = list(ASSET_TYPE_WEIGHTS.values())
    bases: dict[str, list[Draft]] = {}
    for campaign, count in zip(state.campaigns, counts, strict=True):
        chosen = ["landing_page_copy", "email_body", "body"] + rng.choices(types, weights, k=max(0, count - 3))
        rng.shuffle(chosen)
        bases[campaign.campaign_id] = []
        for asset_type in chosen[:count]:
            slots = _base_slots(rng, campaign, asset_type)
            created = campaign.start + dt.timedelta(days=rng.randrange(0, 21))
            bases[campaign.campaign_id].append(_new_draft(state, campaign, asset_type, slots,
                                                          campaign.params, created))
    return bases


# --------------------------------------------------------------------------------------------
# Near-duplicates and hard negatives
# --------------------------------------------------------------------------------------------


# Offsets that are non-zero modulo every bank size in use (3, 4 and 8 options).
_SHIFTS = (1, 2, 5, 7, 10, 11)


def _other(rng: random.Random, value: int) -> int:
    """A wording index that picks a different option than ``value`` in every bank."""
    return value + rng.choice(_SHIFTS)


def _paraphrase_slots(rng: random.Random, draft: Draft) -> tuple[Slot, ...]:
    """Same concepts; the message is reworded, the brand boilerplate stays as it was."""
    return tuple(
        s if s.kind in BOILERPLATE_KINDS else replace(s, frame=_other(rng, s.frame), var=_other(rng, s.var))
        for s in draft.slots
    )


def _content_positions(slots: Sequence[Slot]) -> list[int]:
    """Positions of the slots that carry content (not greetings, sign-offs or hashtags)."""
    return [i for i, s in enumerate(slots) if s.kind not in FRAMING_KINDS]


def _movable_positions(slots: Sequence[Slot]) -> list[int]:
    """Positions a reorder may shuffle: content, minus an opening hook and a closing call to action."""
    positions = _content_positions(slots)
    if positions and slots[positions[0]].kind == "angle":
        positions = positions[1:]
    if positions and slots[positions[-1]].kind == "cta":
        positions = positions[:-1]
    return positions


def _reorder_slots(rng: random.Random, draft: Draft) -> tuple[Slot, ...]:
    """The same sentences in a different order (hook, call to action and framing stay in place)."""
    positions = _movable_positions(draft.slots)
    moved = [draft.slots[i] for i in positions]
    while [s.concept for s in moved] == [draft.slots[i].concept for i in positions]:
        rng.shuffle(moved)
    slots = list(draft.slots)
    for position, slot in zip(positions, moved, strict=True):
        slots[position] = slot
    return tuple(slots)


def _reformat_slots(rng: random.Random, draft: Draft, target: str) -> tuple[Slot, ...]:
    """Re-cut an asset for another channel, reusing its wording where the concepts carry over."""
    if target in LINE_GROUPS:
        slot = draft.slots[0]
        group = slot.concept.partition("=")[0]
        if group not in LINE_GROUPS[target]:
            slot = replace(slot, concept=f"offer={draft.campaign.offer}")
        return (replace(slot, frame=rng.randrange(12)),)
    content = [draft.slots[i] for i in _content_positions(draft.slots)]
    if target == "email_body":
        content = [s for s in content if s.kind != "story"][:6]
        return (Slot("greet", "greet", 0, rng.randrange(4)), *content,
                Slot("signoff", "signoff", 0, rng.randrange(4)))
    if target == "social_post":
        return (*content[:3], Slot("tags", "tags", 0, 0))
    return tuple(content)


def _typo(rng: random.Random, text: str) -> str:
    """Introduce a few keyboard slips (swapped, dropped or doubled letters)."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    n_typos = 1 if len(words) < 15 else rng.choice((2, 3))
    for i in rng.sample(candidates, min(n_typos, len(candidates))):
        word = words[i]
        j = rng.randrange(1, len(word) - 2)
        action = rng.randrange(3)
        if action == 0:
            word = word[:j] + word[j + 1] + word[j] + word[j + 2:]
        elif action == 1:
            word = word[:j] + word[j + 1:]
        else:
            word = word[:j] + word[j] + word[j:]
        words[i] = word
    return " ".join(words)


def _truncate(rng: random.Random, text: str) -> str:
    """Cut the text as a preview pane or character limit would."""
    words = text.split()
    keep = max(6, round(len(words) * rng.uniform(0.45, 0.7)))
    return " ".join(words[:keep]).rstrip(",;:") + "..."


def _changed_price_params(rng: random.Random, draft: Draft) -> dict[str, str]:
    """Update every price-like parameter (a reused creative with a new price)."""
    params = dict(draft.params)
    campaign = draft.campaign
    pct = int(params["pct"])
    params["pct"] = str(pct + 5 if pct <= 20 else pct - 5)
    params["cb"] = str(int(params["cb"]) % 5 + 1)
    params["trial"] = "30" if params["trial"] == "14" else "14"
    factor = rng.choice((0.85, 0.9, 1.1))
    params["amount"] = _amount(round(campaign.brand.usd_amount * rng.choice((3, 4))), campaign.market)
    if campaign.product.usd_price:
        params["price"] = _money(campaign.product.usd_price * factor, campaign.market)
    return params


def _changed_date_params(rng: random.Random, draft: Draft) -> dict[str, str]:
    """Move the end date (a reused creative for an extended or re-run promotion)."""
    params = dict(draft.params)
    new_end = draft.campaign.end + dt.timedelta(days=rng.choice((7, 14, 21, 28)))
    params["date"] = _format_date(new_end, draft.campaign.market)
    return params


def _renders_differently(draft: Draft, params: Mapping[str, str]) -> bool:
    """Whether the draft's text changes under other parameters."""
    return render(draft.campaign, draft.asset_type, draft.slots, params) != draft.text


def _eligible(kind: str, draft: Draft) -> bool:
    """Whether ``draft`` can be the source of a near-duplicate of ``kind``."""
    if kind == "paraphrase":
        return True
    if kind == "reorder":
        return len(_movable_positions(draft.slots)) >= 2 and draft.asset_type not in LINE_GROUPS
    if kind == "channel_reformat":
        return draft.asset_type in REFORMAT_TARGETS and not (
            draft.asset_type in LINE_GROUPS and draft.slots[0].concept.startswith("feat"))
    if kind == "typo":
        return _word_count(draft.text) >= 6
    if kind == "truncation":
        return _word_count(draft.text) >= 30
    if kind == "changed_price":
        return _renders_differently(draft, _changed_price_params(random.Random(0), draft))
    if kind == "changed_date":
        return _renders_differently(draft, _changed_date_params(random.Random(0), draft))
    if kind == "hard_negative":
        return any(s.concept.split("=")[0] in ("offer", "offerdate", "feat") for s in draft.slots)
    raise ValueError(kind)


def _make_duplicate(state: _State, kind: str, source: Draft) -> Draft:
    """Create the near-duplicate of ``source`` of the given kind."""
    rng = state.rng
    campaign = source.campaign
    created = min(source.created + dt.timedelta(days=rng.randrange(2, 45)), dt.date(YEAR, 12, 31))
    asset_type, slots, params, channel = source.asset_type, source.slots, source.params, None
    text: str | None = None
    if kind == "paraphrase":
        slots = _paraphrase_slots(rng, source)
    elif kind == "reorder":
        slots = _reorder_slots(rng, source)
    elif kind == "channel_reformat":
        asset_type = REFORMAT_TARGETS[source.asset_type]
        slots = _reformat_slots(rng, source, asset_type)
    elif kind == "typo":
        text = _typo(rng, source.text)
    elif kind == "truncation":
        text = _truncate(rng, source.text)
    elif kind == "changed_price":
        params = _changed_price_params(rng, source)
    elif kind == "changed_date":
        params = _changed_date_params(rng, source)
    if asset_type == source.asset_type and kind != "channel_reformat":
        channel = source.channel
    return _new_draft(state, campaign, asset_type, slots, params, created, channel=channel, text=text)


def _swap_concept(slot: Slot, campaign: Campaign, features: dict[str, str]) -> Slot:
    """Point a slot at the alternative angle, offer, proof or selling point, keeping its wording."""
    name, _, value = slot.concept.partition("=")
    if name in ("offer", "offerdate"):
        return replace(slot, concept=f"{name}={campaign.alt_offer}")
    if name == "feat":
        return replace(slot, concept=features[slot.concept])
    if name == "proof":
        return replace(slot, concept=f"proof={(int(value) + 1) % len(campaign.brand.proofs)}")
    if name in ("angle", "tags"):
        return replace(slot, concept=f"{name}={campaign.alt_angle}")
    return slot


def _make_hard_negative(state: _State, source: Draft) -> Draft:
    """Same product, frames and boilerplate, but another message: angle, offer and selling points.

    The result is an alternative creative tested within the campaign; as it does not carry the
    brief's key message it is not listed as one of the brief's matching assets.
    """
    rng = state.rng
    campaign = source.campaign
    n_features = len(campaign.product.features)
    shift = rng.randrange(1, n_features)
    features = {f"feat={i}": f"feat={(i + shift) % n_features}" for i in range(n_features)}
    slots = tuple(_swap_concept(s, campaign, features) for s in source.slots)
    created = min(source.created + dt.timedelta(days=rng.randrange(0, 30)), dt.date(YEAR, 12, 31))
    draft = _new_draft(state, campaign, source.asset_type, slots, source.params, created, channel=source.channel)
    draft.serves_brief = False
    return draft


def _pick_source(state: _State, bases: Mapping[str, list[Draft]], kind: str) -> Draft:
    """A random original asset that can carry a near-duplicate of ``kind``."""
    rng = state.rng
    campaigns = list(state.campaigns)
    rng.shuffle(campaigns)
    for campaign in campaigns:
        eligible = [d for d in bases[campaign.campaign_id] if _eligible(kind, d)]
        if eligible:
            return rng.choice(eligible)
    raise ValueError(f"no asset can carry a {kind} near-duplicate")


def _duplicate_plan(n_dup: int) -> list[str]:
    """The kinds of ``n_dup`` near-duplicates, in proportion to their weights (each at least 3)."""
    total = sum(DUPLICATE_WEIGHTS.values())
    counts = {k: max(3, math.floor(n_dup * w / total)) for k, w in DUPLICATE_WEIGHTS.items()}
    while sum(counts.values()) < n_dup:
        counts["paraphrase"] += 1
    while sum(counts.values()) > n_dup and counts["paraphrase"] > 3:  # the minimum of 3 overshot
        counts["paraphrase"] -= 1
    return [kind for kind in DUPLICATE_KINDS for _ in range(counts[kind])]


def _plant_duplicates(state: _State, bases: Mapping[str, list[Draft]], n_dup: int, n_hard: int) -> None:
    """Plant near-duplicate pairs of all seven kinds and hard-negative pairs."""
    kinds = _duplicate_plan(n_dup)
    state.rng.shuffle(kinds)
    for kind in kinds:
        source = _pick_source(state, bases, kind)
        duplicate = _make_duplicate(state, kind, source)
        if duplicate.text == source.text:
            duplicate.text = _typo(state.rng, duplicate.text)
        state.pairs.append(PairDraft(source.key, duplicate.key, "duplicate", kind, 1, source.campaign))
        state.dup_counts[kind] = state.dup_counts.get(kind, 0) + 1
    for _ in range(n_hard):
        source = _pick_source(state, bases, "hard_negative")
        negative = _make_hard_negative(state, source)
        state.pairs.append(PairDraft(source.key, negative.key, "duplicate", "hard_negative", 0, source.campaign))


# --------------------------------------------------------------------------------------------
# Compliance references and lookalikes
# --------------------------------------------------------------------------------------------


def _make_references(rng: random.Random) -> list[Reference]:
    """Build the reference table: one row per rejected claim, a few of them retired."""
    seen: dict[str, int] = {}
    references = []
    inactive = set(rng.sample(range(len(CLAIMS)), 4))
    for index, claim in enumerate(CLAIMS):
        number = seen.get(claim.category, 0)
        seen[claim.category] = number + 1
        market = REFERENCE_MARKETS[number % len(REFERENCE_MARKETS)]
        references.append(Reference(
            reference_id=f"R{index + 1:03d}",
            rule_id=f"{CATEGORY_PREFIX[claim.category]}-{number + 1:02d}",
            regulation=REGULATIONS[claim.category][market],
            severity=rng.choice(CATEGORY_SEVERITY[claim.category]),
            market=market, claim=claim, active=index not in inactive,
            added_at=dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 720)),
        ))
    return references


def _applies(reference: Reference, campaign: Campaign) -> bool:
    """Whether an active reference covers this campaign's market and brand."""
    return (reference.active and reference.market in ("ALL", campaign.market)
            and campaign.brand.key in reference.claim.brands)


def _lookalike_slots(rng: random.Random, campaign: Campaign, asset_type: str, concept: str,
                     var: int) -> tuple[Slot, ...]:
    """A short asset built around a claim sentence (restated or benign)."""
    kinds = rng.choice(LOOKALIKE_TEMPLATES[asset_type])
    slots = list(_sentence_slots(rng, campaign, ["x" if k == "claim" else k for k in kinds]))
    position = kinds.index("claim")
    slots[position] = Slot("claim", concept, 0, var)
    return tuple(slots)


def _lookalike_host(rng: random.Random, state: _State) -> tuple[Campaign, list[Reference]]:
    """A random campaign together with the active references that apply to it."""
    campaigns = list(state.campaigns)
    rng.shuffle(campaigns)
    for campaign in campaigns:
        candidates = [r for r in state.references if _applies(r, campaign)]
        if candidates:
            return campaign, candidates
    raise ValueError("no campaign is covered by an active compliance reference")


def _plant_lookalikes(state: _State, n_restated: int, n_benign: int) -> None:
    """Assets restating rejected claims in other words, and compliant assets on the same topics."""
    rng = state.rng
    used: dict[str, int] = {}
    plan = [("restatement", 1)] * n_restated + [("benign", 0)] * n_benign
    for kind, label in plan:
        campaign, candidates = _lookalike_host(rng, state)
        low = min(used.get(r.reference_id, 0) for r in candidates)
        reference = rng.choice([r for r in candidates if used.get(r.reference_id, 0) == low])
        used[reference.reference_id] = low + 1
        index = CLAIMS.index(reference.claim)
        concept = f"{'claim' if label else 'benign'}={index}"
        asset_type = rng.choice(LOOKALIKE_TYPES)
        slots = _lookalike_slots(rng, campaign, asset_type, concept, rng.randrange(12))
        created = campaign.start + dt.timedelta(days=rng.randrange(0, 21))
        draft = _new_draft(state, campaign, asset_type, slots, campaign.params, created)
        state.pairs.append(PairDraft(draft.key, reference.reference_id, "lookalike", kind, label, campaign))


# --------------------------------------------------------------------------------------------
# Brief-match pairs, ids and files
# --------------------------------------------------------------------------------------------


def _brief_pairs(state: _State) -> None:
    """Label each brief against assets of its campaign (match) and of sibling campaigns (nonmatch)."""
    rng = state.rng
    by_campaign: dict[str, list[Draft]] = {}
    for draft in state.drafts:
        by_campaign.setdefault(draft.campaign.campaign_id, []).append(draft)
    for campaign in state.campaigns:
        own = [d for d in by_campaign[campaign.campaign_id] if d.serves_brief]
        for draft in rng.sample(own, min(BRIEF_PAIRS_PER_LABEL, len(own))):
            state.pairs.append(PairDraft(campaign.campaign_id, draft.key, "brief_match", "match", 1, campaign))
        siblings = [d for c in state.campaigns if c.group == campaign.group and c is not campaign
                    for d in by_campaign[c.campaign_id]]
        for draft in rng.sample(siblings, min(BRIEF_PAIRS_PER_LABEL, len(siblings))):
            state.pairs.append(PairDraft(campaign.campaign_id, draft.key, "brief_match", "nonmatch", 0, campaign))


def _asset_ids(rng: random.Random, drafts: Sequence[Draft]) -> dict[int, str]:
    """Shuffle the drafts and number them, so planted pairs do not sit next to each other."""
    keys = [d.key for d in drafts]
    rng.shuffle(keys)
    return {key: f"A{position + 1:06d}" for position, key in enumerate(keys)}


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a UTF-8 CSV with a header row; return the number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _split_counts(n_assets: int) -> tuple[int, int, int, int, int]:
    """How many duplicates, hard negatives, restatements, benign and original assets to make."""
    n_dup = max(len(DUPLICATE_KINDS) * 3, round(n_assets * DUPLICATE_SHARE))
    n_hard = max(6, round(n_assets * HARD_NEGATIVE_SHARE))
    n_restated = max(6, round(n_assets * LOOKALIKE_SHARE))
    n_benign = max(6, round(n_assets * BENIGN_SHARE))
    n_base = n_assets - n_dup - n_hard - n_restated - n_benign
    return n_dup, n_hard, n_restated, n_benign, n_base


def _base_counts(rng: random.Random, n_base: int, n_campaigns: int) -> list[int]:
    """Spread the original assets over campaigns, at least a few each."""
    counts = [MIN_BASE_PER_CAMPAIGN] * n_campaigns
    for _ in range(n_base - MIN_BASE_PER_CAMPAIGN * n_campaigns):
        counts[rng.randrange(n_campaigns)] += 1
    return counts


def _resolve(side: int | str, ids: Mapping[int, str], campaign_briefs: Mapping[str, str]) -> str:
    """The public id of one side of a pair."""
    if isinstance(side, int):
        return ids[side]
    return campaign_briefs.get(side, side)


def generate(out_dir: Path, seed: int = 42, n_assets: int = 3000) -> DemoSummary:
    """Generate the demo data set and write it as five CSV files.

    Writes ``demo_assets.csv``, ``demo_briefs.csv``, ``demo_brief_matches.csv``,
    ``demo_compliance_references.csv`` and ``demo_labelled_pairs.csv`` into ``out_dir``
    (created if missing). The same seed and size always give byte-identical files.

    Args:
        out_dir: Folder to write the CSV files to.
        seed: Seed of the random generator.
        n_assets: Number of asset rows; everything else scales with it. At least 120.

    Returns:
        The counts of what was written.

    Raises:
        ValueError: If ``n_assets`` is too small to hold every kind of planted pair.
    """
    if n_assets < 120:
        raise ValueError(f"n_assets must be at least 120, got {n_assets}")
    rng = random.Random(seed)
    n_dup, n_hard, n_restated, n_benign, n_base = _split_counts(n_assets)
    n_campaigns = max(8, round(n_assets / ASSETS_PER_CAMPAIGN))
    state = _State(rng=rng, campaigns=_make_campaigns(rng, n_campaigns), references=_make_references(rng))
    bases = _make_base_assets(state, _base_counts(rng, n_base, n_campaigns))
    _plant_duplicates(state, bases, n_dup, n_hard)
    _plant_lookalikes(state, n_restated, n_benign)
    _brief_pairs(state)
    briefs = [(f"B{i + 1:04d}", c, _brief_text(rng, c)) for i, c in enumerate(state.campaigns)]
    campaign_briefs = {c.campaign_id: brief_id for brief_id, c, _ in briefs}
    ids = _asset_ids(rng, state.drafts)
    return _write_all(Path(out_dir), state, briefs, campaign_briefs, ids)


def _write_all(out_dir: Path, state: _State, briefs: Sequence[tuple[str, Campaign, str]],
               campaign_briefs: Mapping[str, str], ids: Mapping[int, str]) -> DemoSummary:
    """Write the five files and count what went into them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    drafts = sorted(state.drafts, key=lambda d: ids[d.key])
    n_assets = _write_csv(out_dir / "demo_assets.csv", ASSET_COLUMNS, (
        (ids[d.key], d.campaign.campaign_id, d.campaign.brand.name, d.campaign.product.name, d.channel,
         d.campaign.market, d.asset_type, d.created.isoformat(), d.text) for d in drafts))
    n_briefs = _write_csv(out_dir / "demo_briefs.csv", BRIEF_COLUMNS, (
        (brief_id, c.campaign_id, c.brand.name, c.market, c.product.name, text) for brief_id, c, text in briefs))
    n_matches = _write_csv(out_dir / "demo_brief_matches.csv", MATCH_COLUMNS, (
        (campaign_briefs[d.campaign.campaign_id], ids[d.key])
        for d in sorted(drafts, key=lambda d: (campaign_briefs[d.campaign.campaign_id], ids[d.key]))
        if d.serves_brief))
    n_references = _write_csv(out_dir / "demo_compliance_references.csv", REFERENCE_COLUMNS, (
        (r.reference_id, r.rule_id, r.regulation, r.severity, r.market, r.claim.text, r.claim.rationale,
         "true" if r.active else "false", r.added_at.isoformat()) for r in state.references))
    rows = [(_resolve(p.left, ids, campaign_briefs), _resolve(p.right, ids, campaign_briefs), p.task, p.kind,
             p.label, p.campaign.split, p.campaign.campaign_id) for p in state.pairs]
    n_pairs = _write_csv(out_dir / "demo_labelled_pairs.csv", PAIR_COLUMNS, sorted(rows, key=_pair_order))
    kinds = [p.kind for p in state.pairs]
    return DemoSummary(
        n_assets=n_assets, n_briefs=n_briefs, n_brief_matches=n_matches, n_references=n_references,
        n_duplicate_pairs=sum(state.dup_counts.values()), n_hard_negative_pairs=kinds.count("hard_negative"),
        n_lookalike_assets=kinds.count("restatement"), n_benign_assets=kinds.count("benign"),
        n_labelled_pairs=n_pairs, duplicate_kinds={k: state.dup_counts.get(k, 0) for k in DUPLICATE_KINDS},
    )


def _pair_order(row: Sequence[object]) -> tuple[str, str, str, str]:
    """Sort key of a labelled pair: task, group, left, right."""
    return str(row[2]), str(row[6]), str(row[0]), str(row[1])

