"""Campaigns, their train/valid/test splits, their creative briefs and the compliance references.

Campaigns are spread over brand + market groups, each with a distinct product + angle, two offers
under test, parameters (prices, discounts, dates) and an audience and tone for the brief. The
reference table has one row per rejected claim of the copy bank, a few of them retired.
"""

from __future__ import annotations

import datetime as dt
import random

from semantic.demo.bank import (
    ANGLES,
    BRANDS,
    BRIEF_OBJECTIVES,
    BRIEF_TEMPLATES,
    CATEGORY_PREFIX,
    CATEGORY_SEVERITY,
    CLAIMS,
    MANDATORIES,
    MARKETS,
    OFFERS,
    REFERENCE_MARKETS,
    REGULATIONS,
    TONES,
    Brand,
    Product,
)
from semantic.demo.records import CAMPAIGNS_PER_GROUP, SPLIT_SHARES, SPLITS, YEAR, Campaign, Reference
from semantic.demo.render import amount, context, format_date, localise, money

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
        "amount": amount(brand.usd_amount * rng.choice((1, 2)), market),
        "price": money(product.usd_price, market) if product.usd_price else "",
        "gift": rng.choice(brand.gifts),
        "date": format_date(end, market),
    }


def make_campaigns(rng: random.Random, n_campaigns: int) -> list[Campaign]:
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


def brief_text(rng: random.Random, campaign: Campaign) -> str:
    """Write a creative brief: objective, audience, key message, offers, tone, mandatory elements."""
    ctx = context(campaign, campaign.params)
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
    return localise(text, campaign.market)


# --------------------------------------------------------------------------------------------
# Compliance references
# --------------------------------------------------------------------------------------------


def make_references(rng: random.Random) -> list[Reference]:
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
