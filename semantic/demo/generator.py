"""The entry point: :func:`generate` runs the steps and writes the five CSV files.

Owns the output schema, :class:`DemoSummary`, how many assets of each planted kind a size gets,
the brief-match pairs, the public ids and the writing of the files.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from semantic.demo.assets import make_base_assets, plant_duplicates, plant_lookalikes
from semantic.demo.campaigns import brief_text, make_campaigns, make_references
from semantic.demo.records import (
    ASSETS_PER_CAMPAIGN,
    BENIGN_SHARE,
    BRIEF_PAIRS_PER_LABEL,
    DUPLICATE_KINDS,
    DUPLICATE_SHARE,
    HARD_NEGATIVE_SHARE,
    LOOKALIKE_SHARE,
    MIN_BASE_PER_CAMPAIGN,
    Campaign,
    Draft,
    PairDraft,
    State,
)
from semantic.errors import SemanticConfigError

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
# Brief-match pairs, ids and files
# --------------------------------------------------------------------------------------------


def _brief_pairs(state: State) -> None:
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


#: The smallest demo that holds every kind of planted pair.
MIN_ASSETS = 120

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
        SemanticConfigError: ``n_assets`` is too small to hold every kind of planted pair.
    """
    if n_assets < MIN_ASSETS:
        raise SemanticConfigError(f"the demo needs at least {MIN_ASSETS} assets to hold every kind of planted pair "
                                  f"(got {n_assets}); pass e.g. --n-assets {MIN_ASSETS}")
    rng = random.Random(seed)
    n_dup, n_hard, n_restated, n_benign, n_base = _split_counts(n_assets)
    n_campaigns = max(8, round(n_assets / ASSETS_PER_CAMPAIGN))
    state = State(rng=rng, campaigns=make_campaigns(rng, n_campaigns), references=make_references(rng))
    bases = make_base_assets(state, _base_counts(rng, n_base, n_campaigns))
    plant_duplicates(state, bases, n_dup, n_hard)
    plant_lookalikes(state, n_restated, n_benign)
    _brief_pairs(state)
    briefs = [(f"B{i + 1:04d}", c, brief_text(rng, c)) for i, c in enumerate(state.campaigns)]
    campaign_briefs = {c.campaign_id: brief_id for brief_id, c, _ in briefs}
    ids = _asset_ids(rng, state.drafts)
    return _write_all(Path(out_dir), state, briefs, campaign_briefs, ids)


def _write_all(out_dir: Path, state: State, briefs: Sequence[tuple[str, Campaign, str]],
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
