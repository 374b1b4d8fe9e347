"""The generator's internal records and the constants that size what it plants.

A campaign (brand, market, product, angle, the two offers it tests) owns asset drafts; a draft is a
tuple of slots (what each sentence says and the frame and wording it says it with) rendered into
text. Pairs are recorded against draft keys and campaign ids until the files are written, when
assets get their public ids. ``State`` carries everything generated so far through the steps.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from semantic.demo.bank import Angle, Brand, Claim, Product

# --------------------------------------------------------------------------------------------
# What the generator plants, and how much of it
# --------------------------------------------------------------------------------------------

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
class State:
    """Everything generated so far."""

    rng: random.Random
    campaigns: list[Campaign]
    references: list[Reference]
    drafts: list[Draft] = field(default_factory=list)
    pairs: list[PairDraft] = field(default_factory=list)
    dup_counts: dict[str, int] = field(default_factory=dict)
