"""Asset drafts: original creatives, near-duplicates, hard negatives and compliance lookalikes.

Original creatives fill a sentence template (or a one-line frame) of their asset type with the
campaign's concepts. Near-duplicates of seven kinds reuse a source asset (paraphrase, reorder,
channel reformat, typo, changed price, changed date, truncation); a hard negative keeps the
source's frames and boilerplate but carries another angle, offer and selling points. Lookalikes
restate a rejected claim in other words, or say something compliant on the same topic. Each
planted asset records its labelled pair.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace

from semantic.demo.bank import (
    ASSET_TYPE_WEIGHTS,
    BOILERPLATE_KINDS,
    CHANNELS,
    CLAIMS,
    FRAMING_KINDS,
    LINE_GROUPS,
    LOOKALIKE_TEMPLATES,
    LOOKALIKE_TYPES,
    REFORMAT_TARGETS,
    SENTENCE_TEMPLATES,
)
from semantic.demo.records import (
    DUPLICATE_KINDS,
    DUPLICATE_WEIGHTS,
    YEAR,
    Campaign,
    Draft,
    PairDraft,
    Reference,
    Slot,
    State,
)
from semantic.demo.render import amount, format_date, money, render

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


def sentence_slots(rng: random.Random, campaign: Campaign, kinds: Sequence[str]) -> tuple[Slot, ...]:
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
    return sentence_slots(rng, campaign, kinds)


def new_draft(state: State, campaign: Campaign, asset_type: str, slots: tuple[Slot, ...],
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


def make_base_assets(state: State, counts: Sequence[int]) -> dict[str, list[Draft]]:
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
            bases[campaign.campaign_id].append(new_draft(state, campaign, asset_type, slots,
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
    params["amount"] = amount(round(campaign.brand.usd_amount * rng.choice((3, 4))), campaign.market)
    if campaign.product.usd_price:
        params["price"] = money(campaign.product.usd_price * factor, campaign.market)
    return params


def _changed_date_params(rng: random.Random, draft: Draft) -> dict[str, str]:
    """Move the end date (a reused creative for an extended or re-run promotion)."""
    params = dict(draft.params)
    new_end = draft.campaign.end + dt.timedelta(days=rng.choice((7, 14, 21, 28)))
    params["date"] = format_date(new_end, draft.campaign.market)
    return params


def _word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


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


def _make_duplicate(state: State, kind: str, source: Draft) -> Draft:
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
    return new_draft(state, campaign, asset_type, slots, params, created, channel=channel, text=text)


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


def _make_hard_negative(state: State, source: Draft) -> Draft:
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
    draft = new_draft(state, campaign, source.asset_type, slots, source.params, created, channel=source.channel)
    draft.serves_brief = False
    return draft


def _pick_source(state: State, bases: Mapping[str, list[Draft]], kind: str) -> Draft:
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


def plant_duplicates(state: State, bases: Mapping[str, list[Draft]], n_dup: int, n_hard: int) -> None:
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
# Compliance lookalikes
# --------------------------------------------------------------------------------------------


def _applies(reference: Reference, campaign: Campaign) -> bool:
    """Whether an active reference covers this campaign's market and brand."""
    return (reference.active and reference.market in ("ALL", campaign.market)
            and campaign.brand.key in reference.claim.brands)


def _lookalike_slots(rng: random.Random, campaign: Campaign, asset_type: str, concept: str,
                     var: int) -> tuple[Slot, ...]:
    """A short asset built around a claim sentence (restated or benign)."""
    kinds = rng.choice(LOOKALIKE_TEMPLATES[asset_type])
    slots = list(sentence_slots(rng, campaign, ["x" if k == "claim" else k for k in kinds]))
    position = kinds.index("claim")
    slots[position] = Slot("claim", concept, 0, var)
    return tuple(slots)


def _lookalike_host(rng: random.Random, state: State) -> tuple[Campaign, list[Reference]]:
    """A random campaign together with the active references that apply to it."""
    campaigns = list(state.campaigns)
    rng.shuffle(campaigns)
    for campaign in campaigns:
        candidates = [r for r in state.references if _applies(r, campaign)]
        if candidates:
            return campaign, candidates
    raise ValueError("no campaign is covered by an active compliance reference")


def plant_lookalikes(state: State, n_restated: int, n_benign: int) -> None:
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
        draft = new_draft(state, campaign, asset_type, slots, campaign.params, created)
        state.pairs.append(PairDraft(draft.key, reference.reference_id, "lookalike", kind, label, campaign))
