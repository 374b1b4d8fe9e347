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
# Content banks: brands, products, angles, offers. Every tuple of strings inside one concept
# holds paraphrases of the same meaning written with different words.
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


BRANDS: tuple[Brand, ...] = (
    Brand(
        key="skin", name="Lumora", category="skincare",
        products=(
            Product("Dewlight Vitamin C Serum", "serum", 38, "", (
                ("a 15% vitamin C complex that evens out dull tone",
                 "a potent dose of ascorbic acid for a brighter-looking complexion",
                 "glow-boosting antioxidants that wake up tired, patchy skin"),
                ("a featherweight texture that sinks in within seconds",
                 "a silky, non-sticky finish that layers neatly under make-up",
                 "a fluid so light you will forget it is on"),
                ("a fragrance-free formula for sensitive faces",
                 "zero added perfume, so reactive skin stays calm",
                 "no scent at all, which is kind to easily irritated complexions"),
            )),
            Product("Barrier Balm Night Cream", "night cream", 44, "", (
                ("three ceramides that rebuild a stressed moisture barrier",
                 "skin-identical lipids that patch up a damaged protective layer",
                 "a lipid-rich blend that repairs dry spots overnight"),
                ("deep hydration that lasts until morning",
                 "moisture locked in for eight full hours of sleep",
                 "a cushiony layer that keeps thirst at bay while you rest"),
                ("a refillable glass jar",
                 "a pot you can top up instead of throwing away",
                 "reusable packaging with recyclable refill pods"),
            )),
            Product("SheerGuard SPF 50 Fluid", "sunscreen", 29, "", (
                ("broad-spectrum SPF 50 protection",
                 "high UVA and UVB defense for everyday wear",
                 "a strong shield against burning rays"),
                ("an invisible finish with no white cast",
                 "a clear fluid that disappears on every skin tone",
                 "no chalky residue, even on deeper complexions"),
                ("water resistance for up to 80 minutes",
                 "staying power through swims and sweaty commutes",
                 "a formula that holds up in the pool"),
            )),
        ),
        angles=("launch", "value", "sustainability", "routine", "gifting", "switching", "subscription"),
        offers=("pct_off", "free_shipping", "bundle", "gift", "amount_off"),
        story=(
            "Lumora was started by two chemists who wanted short ingredient lists and honest labels.",
            "Our founders are formulators who got tired of long, confusing labels, so they wrote simple ones.",
            "Behind Lumora is a small lab team that keeps every formula minimal and every label clear.",
        ),
        proofs=(
            ("Rated 4.7 out of 5 across more than 3,000 reviews.",
             "Customers give it an average of 4.7 stars from over 3,000 ratings.",
             "Over 3,000 shoppers have scored it 4.7 out of 5 on average."),
            ("Every order is covered by our 60-day money-back promise.",
             "Not for you? Send it back within 60 days for a full refund.",
             "You have two months to change your mind and get every cent back."),
        ),
        ctas=("Shop the range today.", "Add it to your basket now.", "Order yours online.",
              "Pick yours up on our website."),
        cta_shorts=("Shop now", "Buy today", "Order yours"),
        gifts=("travel-size cleanser", "silk scrunchie"),
        audiences=(
            "women and men aged 25 to 40 with sensitive or dull skin who research ingredients",
            "first-time skincare buyers in their early twenties",
            "lapsed customers who bought once in the last twelve months",
        ),
        usd_amount=10, hashtag="#Lumora",
    ),
    Brand(
        key="outdoor", name="Tarnwood", category="outdoor gear",
        products=(
            Product("Stormline Shell Jacket", "shell jacket", 240, "", (
                ("a 20,000 mm waterproof membrane",
                 "fabric that keeps out driving rain",
                 "a fully sealed barrier against downpours"),
                ("underarm vents that dump heat on steep climbs",
                 "breathable panels so you never overheat",
                 "airflow zips for when the pace picks up"),
                ("a shell that packs into its own pocket",
                 "a fold-down size smaller than a water bottle",
                 "a weight under 300 grams, so it lives in your pack"),
            )),
            Product("Ember Down Hoodie", "down hoodie", 180, "", (
                ("responsibly sourced 800-fill down",
                 "certified goose down with serious loft",
                 "lofty insulation that traps body heat"),
                ("a close-fitting hood that moves with you",
                 "a snug hood that stays put in the wind",
                 "an adjustable hood that seals out cold gusts"),
                ("a water-repellent outer that shrugs off drizzle",
                 "a DWR-treated face fabric for light showers",
                 "a finish that beads away mist and sleet"),
            )),
            Product("Trailform Hiking Boot", "hiking boot", 160, "", (
                ("a grippy lugged outsole for loose ground",
                 "deep tread that bites into mud and scree",
                 "rubber soles that hold on wet rock"),
                ("a cushioned midsole for long days on foot",
                 "foam underfoot that takes the sting out of descents",
                 "shock-absorbing support mile after mile"),
                ("a waterproof lining that keeps socks dry",
                 "a sealed inner that stops puddles getting in",
                 "dry feet through streams and bogs"),
            )),
        ),
        angles=("launch", "value", "sustainability", "performance", "gifting", "adventure"),
        offers=("pct_off", "free_shipping", "amount_off", "gift"),
        story=(
            "Tarnwood began in a garage workshop near the fells, repairing kit for local climbers.",
            "We started out fixing gear for hill walkers in a small mountain town, and we still repair it.",
            "Our roots are a tiny repair shop for mountaineers, and every design is tested on the same hills.",
        ),
        proofs=(
            ("Field-tested by our own guides for a full winter season.",
             "Our mountain leaders wore it through an entire winter before we signed it off.",
             "Before launch, it spent a whole cold season on the backs of our guiding team."),
            ("Covered by a lifetime repair guarantee.",
             "If it ever breaks, we will mend it, for as long as you own it.",
             "Free fixes for life: tears, zips and seams included."),
        ),
        ctas=("Find your size today.", "Gear up online now.", "Shop the collection.",
              "Get kitted out on our site."),
        cta_shorts=("Shop now", "Find your size", "Gear up"),
        gifts=("merino beanie", "trail map case"),
        audiences=(
            "weekend hikers aged 28 to 50 living in cities",
            "trail runners and fastpackers who count every gram",
            "families who camp a few times a year",
        ),
        usd_amount=30, hashtag="#Tarnwood",
    ),
    Brand(
        key="coffee", name="Kettle & Crane", category="coffee",
        products=(
            Product("Morning Ridge Blend", "blend", 16, " a bag", (
                ("notes of milk chocolate and toasted hazelnut",
                 "a cocoa-rich, nutty cup",
                 "flavors of caramel, almond and dark chocolate"),
                ("beans roasted to order every week",
                 "a fresh roast that ships within days of leaving the drum",
                 "small-batch roasting, never left sitting on a shelf"),
                ("beans bought directly from farmer co-operatives",
                 "a traceable supply from growers we know by name",
                 "fair prices paid straight to the farms"),
            )),
            Product("Night Owl Decaf", "decaf", 17, " a bag", (
                ("Swiss Water decaffeination with no chemicals",
                 "caffeine removed using just water, time and temperature",
                 "a solvent-free decaf process"),
                ("all the flavor without the late-night buzz",
                 "a full-bodied cup that will not keep you up",
                 "rich taste minus the jitters"),
                ("a smooth, low-acid finish",
                 "a cup that is gentle on the stomach and mellow on the palate",
                 "soft acidity and a rounded body"),
            )),
            Product("Cold Brew Concentrate", "cold brew", 22, " a bottle", (
                ("a concentrate steeped for 18 hours",
                 "a slow, overnight cold steep",
                 "eighteen hours of patient brewing in cold water"),
                ("iced coffee ready in seconds, just add milk or water",
                 "mix, pour and drink with no machine needed",
                 "one splash over ice and you are done"),
                ("a bottle that makes up to 16 glasses",
                 "enough for two weeks of iced coffee",
                 "sixteen servings in a single carton"),
            )),
        ),
        angles=("launch", "routine", "sustainability", "subscription", "gifting", "value"),
        offers=("pct_off", "free_shipping", "trial", "bundle", "gift"),
        story=(
            "Kettle & Crane is a two-roaster operation that still cups every batch by hand.",
            "We are a tiny roastery where two people taste each batch before it is packed.",
            "Every batch at our small roasting house is sampled by hand by the same two roasters.",
        ),
        proofs=(
            ("Winner of three regional roasting awards.",
             "Our roasts have picked up a trio of prizes from local judges.",
             "Three times recognised by the regional coffee guild."),
            ("Not your cup? We will replace the bag free of charge.",
             "If the roast is not right for you, the next bag is on us.",
             "Swap any bag you do not enjoy at no cost."),
        ),
        ctas=("Order a bag today.", "Get your beans online.", "Brew yours: order now.",
              "Stock up on our site."),
        cta_shorts=("Order now", "Get your beans", "Brew yours"),
        gifts=("ceramic pour-over cone", "tin of biscotti"),
        audiences=(
            "home-working professionals who drink two or more cups a day",
            "people who have just bought a grinder or espresso machine",
            "gift buyers with a coffee-loving friend",
        ),
        usd_amount=5, hashtag="#KettleAndCrane",
    ),
    Brand(
        key="fintech", name="Tallyo", category="banking app",
        products=(
            Product("Tallyo Plus", "Plus plan", 4.99, " a month", (
                ("fee-free spending abroad",
                 "no charges when you pay in other currencies",
                 "zero foreign transaction costs"),
                ("real-time alerts for every payment",
                 "instant notifications the moment money moves",
                 "a ping on your phone each time you pay"),
                ("budgets that sort your spending automatically",
                 "auto-categorized transactions so you see where cash goes",
                 "smart spending insights grouped by category"),
            )),
            Product("Round-Up Savings Pots", "savings pots", 0, "", (
                ("spare change rounded up and saved automatically",
                 "small change swept into savings whenever you spend",
                 "automatic round-ups on every card payment"),
                ("separate pots for each goal",
                 "named jars for holidays, bills and rainy days",
                 "goal-based savings spaces you can label"),
                ("withdrawals at any time without penalties",
                 "instant access whenever you need the cash",
                 "no lock-in, so your money is never stuck"),
            )),
            Product("Tallyo Travel Card", "travel card", 0, "", (
                ("spending in 150 currencies at the real exchange rate",
                 "the mid-market rate on every foreign purchase",
                 "fair conversion with no markup"),
                ("free ATM withdrawals up to a monthly limit",
                 "cash machines abroad at no charge up to your allowance",
                 "fee-free cash each month, within limits"),
                ("a card you can freeze and unfreeze from the app",
                 "an instant lock if you misplace it",
                 "one tap to pause the card when it goes missing"),
            )),
        ),
        angles=("launch", "control", "switching", "savings", "travel"),
        offers=("trial", "cashback", "signup_bonus"),
        story=(
            "Tallyo was built by former bank engineers who wanted an account that explains itself.",
            "A team of ex-banking developers made Tallyo because they wanted money apps to speak plainly.",
            "We are people who used to build bank software and wanted an account with no small-print riddles.",
        ),
        proofs=(
            ("Over two million people already manage their money with us.",
             "More than 2 million customers use the app every month.",
             "Two million and counting trust us with their day-to-day finances."),
            ("Rated 4.8 in the app stores.",
             "App store reviewers give us 4.8 stars.",
             "Our app holds a 4.8 average score from store reviews."),
        ),
        ctas=("Download the app and sign up.", "Open an account in minutes.", "Get started in the app today.",
              "Join from your phone now."),
        cta_shorts=("Sign up", "Open an account", "Get the app"),
        gifts=("metal card", "card sleeve"),
        audiences=(
            "students and graduates opening their first current account",
            "freelancers juggling irregular income",
            "frequent travellers who pay in several currencies",
        ),
        usd_amount=20, hashtag="#Tallyo",
    ),
    Brand(
        key="ebike", name="Voltra", category="e-bike",
        products=(
            Product("Voltra Commuter C2", "C2", 1899, "", (
                ("a 90 km battery range",
                 "enough charge for a week of commuting",
                 "long-distance power on a single charge"),
                ("smooth pedal assist that flattens hills",
                 "gentle electric help on every climb",
                 "a silent motor that makes slopes feel level"),
                ("integrated lights, rack and fenders",
                 "built-in lamps and a luggage carrier",
                 "everything the commute needs, already fitted"),
            )),
            Product("Voltra Cargo", "cargo bike", 3499, "", (
                ("a front box that carries two kids or the weekly shop",
                 "room for 100 kg of cargo",
                 "hauling space for groceries, dogs or toddlers"),
                ("a dual-battery option for longer trips",
                 "a second battery slot for twice the distance",
                 "extended range with an add-on pack"),
                ("hydraulic disc brakes for confident stops",
                 "powerful stopping even when fully loaded",
                 "brakes that bite in the wet"),
            )),
            Product("Voltra Fold", "folding bike", 1299, "", (
                ("a frame that folds in ten seconds",
                 "a quick-fold design for trains and small apartments",
                 "a body that collapses small enough to sit under a desk"),
                ("a weight of just 16 kg",
                 "light enough to carry up the stairs",
                 "a featherweight aluminum frame"),
                ("a removable battery you can charge indoors",
                 "a battery that pops out for charging at your desk",
                 "a power pack you can take inside to top up"),
            )),
        ),
        angles=("launch", "commute", "savings", "performance", "value"),
        offers=("pct_off", "amount_off", "free_shipping", "gift"),
        story=(
            "Voltra bikes are designed and assembled by a team of twenty riders in one workshop.",
            "Twenty cyclists design and put together every Voltra under one roof.",
            "Each of our bikes is drawn up and built by a small crew of riders in a single workshop.",
        ),
        proofs=(
            ("Backed by a five-year frame warranty.",
             "The frame is guaranteed for five full years.",
             "Five years of cover on the frame come as standard."),
            ("Serviced by a network of 400 partner workshops.",
             "More than 400 partner mechanics can look after it.",
             "Four hundred affiliated repair shops keep it running."),
        ),
        ctas=("Book a test ride today.", "Reserve yours online.", "Order now on our website.",
              "Try one at a dealer near you."),
        cta_shorts=("Book a ride", "Reserve yours", "Order now"),
        gifts=("helmet", "D-lock"),
        audiences=(
            "urban commuters who live within 15 km of work",
            "parents who do the school run by car",
            "riders over 55 who want to keep cycling on hills",
        ),
        usd_amount=200, hashtag="#Voltra",
    ),
    Brand(
        key="pet", name="Pawley & Co", category="pet food",
        products=(
            Product("Grain-Free Salmon Kibble", "salmon kibble", 42, " a sack", (
                ("real salmon as the first ingredient",
                 "fish-first recipes with no meat-meal fillers",
                 "protein that starts with whole salmon"),
                ("omega-3 for a glossy coat",
                 "fatty acids that support a shiny coat",
                 "oils that keep fur soft and healthy"),
                ("a small kibble size for little jaws",
                 "bite-sized pieces for small and medium breeds",
                 "mini pellets that tiny mouths can manage"),
            )),
            Product("Senior Joint Chews", "joint chews", 24, " a tub", (
                ("glucosamine and chondroitin in every chew",
                 "joint-support ingredients including green-lipped mussel",
                 "a daily dose of cartilage-friendly nutrients"),
                ("a soft texture for older teeth",
                 "tender chews that are easy on ageing gums",
                 "a gentle bite for senior mouths"),
                ("a liver flavor dogs go wild for",
                 "a meaty taste even fussy eaters accept",
                 "a savoury treat that feels like a reward"),
            )),
            Product("Fresh Chicken Meals", "fresh meals", 59, " a box", (
                ("lightly cooked human-grade chicken",
                 "gently cooked chicken you could eat yourself",
                 "fresh poultry prepared at low temperatures"),
                ("portions sized to your pet's weight",
                 "servings calculated for your dog's size",
                 "meal sizes tailored to your animal's needs"),
                ("delivery in recyclable chilled boxes",
                 "cool-packed parcels you can recycle",
                 "insulated boxes that go in the recycling bin"),
            )),
        ),
        angles=("launch", "subscription", "value", "switching", "routine"),
        offers=("pct_off", "free_shipping", "trial", "gift", "bundle"),
        story=(
            "Pawley & Co recipes are written with a veterinary nutritionist and cooked in small batches.",
            "We develop every recipe alongside an animal nutrition expert and make it in short runs.",
            "Each meal we sell is formulated with a vet nutritionist and produced a small batch at a time.",
        ),
        proofs=(
            ("Loved by more than 50,000 dogs and cats.",
             "Over fifty thousand pets tuck into our food every week.",
             "More than 50,000 furry customers and counting."),
            ("If your pet turns their nose up, we will refund the first box.",
             "Fussy eater? Your first order is refunded if it is not a hit.",
             "First box not wolfed down? Get your money back."),
        ),
        ctas=("Build your pet's plan today.", "Order the first box now.", "Start your pet's order online.",
              "Sign up and choose a recipe."),
        cta_shorts=("Start now", "Order a box", "Choose a recipe"),
        gifts=("stainless steel bowl", "tennis ball"),
        audiences=(
            "owners of dogs older than seven years",
            "new puppy and kitten owners",
            "cat owners who shop mainly on price",
        ),
        usd_amount=10, hashtag="#PawleyAndCo",
    ),
    Brand(
        key="energy", name="Helio Home", category="home energy",
        products=(
            Product("Helio Air Heat Pump", "heat pump", 8999, "", (
                ("efficient heating even at minus 15 degrees",
                 "warmth on the coldest winter nights",
                 "reliable heat when the frost bites"),
                ("whisper-quiet operation",
                 "a unit that runs quieter than a fridge",
                 "a hum that is barely audible from the garden"),
                ("control from your phone",
                 "app scheduling for every room",
                 "smart controls that learn your routine"),
            )),
            Product("Helio Solar Panels", "solar panels", 5999, "", (
                ("high-efficiency monocrystalline cells",
                 "panels that turn more daylight into power",
                 "top-tier cells that squeeze energy from cloudy skies"),
                ("a 25-year performance warranty",
                 "output guaranteed for a quarter of a century",
                 "cover on yield that lasts 25 years"),
                ("installation in a single day",
                 "a fitting team that finishes between breakfast and dinner",
                 "a one-day install with no mess left behind"),
            )),
            Product("Helio Home Battery", "home battery", 4999, "", (
                ("storage that saves daytime solar for the evening",
                 "a way to bank sunshine and use it after dark",
                 "capacity to keep afternoon power for night-time"),
                ("backup power during outages",
                 "lights that stay on when the grid goes down",
                 "automatic switchover in a blackout"),
                ("a slim, wall-mounted design",
                 "a compact unit that hangs in a garage or hallway",
                 "a neat box that takes up almost no floor space"),
            )),
        ),
        angles=("launch", "savings", "switching", "comfort"),
        offers=("amount_off", "free_install", "pct_off"),
        story=(
            "Helio Home is run by engineers who have fitted more than 20,000 home energy systems.",
            "Our installers have put in over 20,000 heating and solar systems across the country.",
            "Helio's team of fitters has completed in excess of twenty thousand household installs.",
        ),
        proofs=(
            ("Installed by certified engineers, not subcontractors.",
             "Our own accredited fitters do the work, with no third parties.",
             "Every install is carried out by qualified in-house technicians."),
            ("Rated excellent by more than 8,000 households.",
             "Over 8,000 homeowners have reviewed us as excellent.",
             "Eight thousand families have given us top marks."),
        ),
        ctas=("Book your free home survey.", "Get a quote online today.", "Arrange a visit from our team.",
              "Request your personalized quote."),
        cta_shorts=("Get a quote", "Book a survey", "Request a visit"),
        gifts=("smart thermostat", "energy monitor"),
        audiences=(
            "homeowners whose gas boiler is more than ten years old",
            "households with high winter bills",
            "solar-curious homeowners with a south-facing roof",
        ),
        usd_amount=500, hashtag="#HelioHome",
    ),
)


@dataclass(frozen=True)
class Angle:
    """A campaign's message angle: customer-facing hooks, short hooks and brief wording."""

    key: str
    hooks: tuple[str, ...]
    shorts: tuple[str, ...]
    brief: tuple[str, ...]
    hashtag: str


ANGLES: dict[str, Angle] = {a.key: a for a in (
    Angle("launch",
          ("Meet the brand-new {product}.",
           "Say hello to {product}, fresh out of our workshop.",
           "Introducing {product}: the latest arrival from {brand}.",
           "It has finally landed: {product} is here."),
          ("meet the new {ps}", "introducing {product}", "the all-new {ps}", "just arrived: {product}"),
          ("announce the arrival of {product} and build awareness among people who have never tried {brand}",
           "generate launch buzz and a first wave of trial for {product}"),
          "#NewIn"),
    Angle("value",
          ("Top-quality {cat} without the premium price tag.",
           "Serious quality, sensibly priced.",
           "Everything you want from {brand}, for less than you would think.",
           "Look after your budget and still get the good stuff."),
          ("quality for less", "more for your money", "great value {cat}", "smart {cat} for less"),
          ("reposition {brand} as the smart-money choice for cost-conscious households",
           "counter the perception that {product} is expensive"),
          "#GoodValue"),
    Angle("sustainability",
          ("Made with recycled and responsibly sourced materials.",
           "Crafted from traceable, lower-impact inputs.",
           "We swapped in reclaimed and certified materials wherever we could.",
           "Built from recycled content and carefully chosen suppliers."),
          ("recycled and responsibly made", "made from traceable materials", "lower-impact materials",
           "built from recycled content"),
          ("lead with responsible sourcing and reduced material footprint for eco-minded buyers",
           "reassure shoppers who care about the planet that the supply chain is documented"),
          "#MadeResponsibly"),
    Angle("performance",
          ("Engineered for people who demand more.",
           "Built by specialists and tested to the limit.",
           "Serious performance, proven in tough conditions.",
           "Designed by experts who sweat every detail."),
          ("built to perform", "expert-engineered {cat}", "performance you can feel", "tested to the limit"),
          ("win over enthusiasts and experts by leading with technical credibility",
           "establish {product} as the specialist's pick"),
          "#BuiltToPerform"),
    Angle("gifting",
          ("The present they will actually use.",
           "Sorted: a gift that is genuinely useful.",
           "Give something they will reach for every day.",
           "Struggling for gift ideas? This one always lands."),
          ("the perfect gift", "gift-ready {ps}", "presents, sorted", "a gift they will use"),
          ("capture seasonal shoppers buying for someone else",
           "make {product} a go-to present in the run-up to the holidays"),
          "#GiftIdeas"),
    Angle("routine",
          ("Make every day start a little better.",
           "A small upgrade that changes your daily routine.",
           "Your everyday ritual, improved.",
           "The simple habit that makes mornings easier."),
          ("upgrade your routine", "your new daily ritual", "better every day", "everyday, improved"),
          ("build habitual, repeat usage by anchoring {product} in daily life",
           "increase purchase frequency among existing customers"),
          "#DailyRitual"),
    Angle("switching",
          ("Still putting up with second best? Time to switch.",
           "Ready to leave your old {cat} behind?",
           "Moving over to {brand} takes minutes.",
           "Fed up with your current {cat}? Make the move."),
          ("time to switch", "make the move", "switch to {brand}", "leave second best behind"),
          ("win customers from competitors by lowering the perceived effort of changing",
           "conquest activity aimed at people using rival brands"),
          "#MakeTheSwitch"),
    Angle("subscription",
          ("Never run out again.",
           "Set it once and it arrives when you need it.",
           "Automatic top-ups, so you are always stocked.",
           "Forget reordering: we will handle it."),
          ("never run out", "auto-delivered", "always stocked", "set and forget"),
          ("grow recurring revenue by converting one-off buyers to a repeat delivery plan",
           "drive sign-ups to the subscription among people who already buy"),
          "#NeverRunOut"),
    Angle("savings",
          ("Cut your monthly costs without changing how you live.",
           "Keep more of your money every month.",
           "Lower bills, same comfort.",
           "Spend less on the everyday essentials."),
          ("cut your costs", "keep more money", "lower bills", "spend less each month"),
          ("lead with long-term running-cost savings for budget-focused households",
           "quantify the financial benefit for price-sensitive prospects"),
          "#SaveMore"),
    Angle("control",
          ("Take charge of your money.",
           "Finally feel on top of your finances.",
           "See exactly where your cash goes.",
           "Run your finances, instead of the other way round."),
          ("take control", "money, sorted", "in control of your cash", "finances made clear"),
          ("help overwhelmed young earners feel in command of their finances",
           "position the app as the antidote to money anxiety"),
          "#MoneySorted"),
    Angle("commute",
          ("Beat the traffic on the way to work.",
           "Arrive at the office fresh, not frazzled.",
           "Turn the daily journey into the best part of your day.",
           "Skip the jams and the packed trains."),
          ("beat the traffic", "a better commute", "ride to work", "skip the jams"),
          ("convert car and transit commuters by reframing the journey to work",
           "target city workers frustrated with congestion"),
          "#RideToWork"),
    Angle("comfort",
          ("Stay warm and comfortable all winter long.",
           "A cozy home, whatever the weather outside.",
           "Snug rooms on the coldest days.",
           "Comfort that does not switch off when the frost arrives."),
          ("cozy all winter", "warmth, sorted", "a snug home", "comfort on cold days"),
          ("emphasize home comfort and reliability ahead of the heating season",
           "reassure households worried about cold winters"),
          "#WarmHome"),
    Angle("adventure",
          ("Get out there, whatever the forecast.",
           "Made for wild weekends and muddy trails.",
           "Your next adventure starts here.",
           "Head for the hills without a second thought."),
          ("chase the weather", "built for the trail", "adventure ready", "into the wild"),
          ("inspire weekend explorers to plan their next trip",
           "own the outdoor-escape moment for urban hikers"),
          "#IntoTheHills"),
    Angle("travel",
          ("Travel abroad without worrying about fees.",
           "Your trip, minus the nasty exchange surprises.",
           "Spend like a local wherever you land.",
           "Holiday money made simple."),
          ("travel fee-free", "spend abroad", "holiday money, simplified", "spend like a local"),
          ("grow card usage among frequent travellers before the summer break",
           "make the card the default wallet for trips abroad"),
          "#TravelSmart"),
)}


@dataclass(frozen=True)
class Offer:
    """A promotional mechanic: full sentences, short phrases and the brief's wording."""

    key: str
    sentences: tuple[str, ...]
    shorts: tuple[str, ...]
    brief: str


OFFERS: dict[str, Offer] = {o.key: o for o in (
    Offer("pct_off",
          ("Take {pct}% off the {ps} right now.",
           "Enjoy a {pct} percent discount at checkout.",
           "Your order comes with {pct}% knocked off the usual price.",
           "Use code SAVE{pct} and the total drops by {pct}%."),
          ("{pct}% off", "a {pct}% saving", "a {pct}% discount", "{pct} percent off"),
          "a {pct} per cent price reduction"),
    Offer("free_shipping",
          ("Shipping is free on every order.",
           "Delivery is on us, whatever the size of your order.",
           "We send it to your door at no extra cost.",
           "No postage fees, anywhere in {market_name}."),
          ("free shipping", "free delivery", "postage on us", "delivery at no cost"),
          "waived delivery charges on all orders"),
    Offer("bundle",
          ("Buy two and get a third free.",
           "Pick any three and pay for only two.",
           "Grab the trio: one item is on the house when you buy two.",
           "Three for the price of two, across the range."),
          ("3 for 2", "buy 2, get 1 free", "a third one free", "three for two"),
          "a multi-buy mechanic (three items for the price of two)"),
    Offer("gift",
          ("Every order includes a free {gift}.",
           "We will add a complimentary {gift} to your parcel.",
           "Get a {gift} on us with your purchase.",
           "A {gift} comes free when you buy."),
          ("a free {gift}", "a {gift} on us", "a complimentary {gift}", "a bonus {gift}"),
          "a gift-with-purchase ({gift})"),
    Offer("trial",
          ("Try it free for {trial} days and cancel anytime.",
           "Your first {trial} days cost nothing.",
           "Start a {trial}-day trial without paying a thing.",
           "Test it for {trial} days, no charge, no commitment."),
          ("{trial} days free", "a free {trial}-day trial", "{trial} days on us", "a {trial}-day free trial"),
          "a free trial period of {trial} days"),
    Offer("amount_off",
          ("Get {amount} off your first order.",
           "We will take {amount} off at checkout.",
           "Spend less: {amount} comes off your total.",
           "Knock {amount} off the price when you order."),
          ("{amount} off", "a {amount} saving", "a {amount} discount", "{amount} back at checkout"),
          "a fixed-value discount of {amount}"),
    Offer("cashback",
          ("Earn {cb}% cashback on your card spending for the first month.",
           "Get {cb}% back on every purchase during your first 30 days.",
           "For your opening month, {cb}% of what you spend is returned to you.",
           "Pay with the card and {cb} percent comes straight back for a month."),
          ("{cb}% cashback", "{cb}% back on spending", "{cb} percent returned", "a month of {cb}% cashback"),
          "{cb}% cashback on card spend in the first month"),
    Offer("signup_bonus",
          ("Get {amount} when you open an account and make three payments.",
           "We will add {amount} to your balance once you are set up.",
           "New members receive a {amount} welcome bonus.",
           "Join, make three card payments, and {amount} lands in your account."),
          ("a {amount} welcome bonus", "{amount} for joining", "a {amount} sign-up reward", "{amount} on us"),
          "a welcome incentive of {amount} for new accounts"),
    Offer("free_install",
          ("Installation is free when you book this season.",
           "We will fit it at no extra charge.",
           "Standard installation is included at no cost.",
           "Our engineers put it in for free."),
          ("free installation", "fitting included", "installed free", "no-cost fitting"),
          "installation cost absorbed by us"),
)}

FEATURE_FRAMES = (
    "The {ps} comes with {f}.",
    "Inside you will find {f}.",
    "Expect {f}.",
    "We designed it around {f}.",
    "What sets it apart? {F}.",
    "Plus, you get {f}.",
    "On the list of highlights: {f}.",
    "You also get {f}.",
)
PRICE_FRAMES = (
    "The {ps} costs {price}{unit}.",
    "It is yours for {price}{unit}.",
    "Pricing starts at {price}{unit}.",
    "All of this for {price}{unit}.",
)
FREE_PRICE_FRAMES = (
    "The {ps} costs nothing to add to your account.",
    "It is included free with every account.",
    "There is no charge for the {ps}.",
    "You pay nothing extra for it.",
)
DEADLINE_FRAMES = (
    "Offer ends {date}.",
    "Available until {date}.",
    "Valid through {date}; see our website for terms.",
    "The promotion closes on {date}.",
)
HELP_LINES = (
    "Questions? Our team replies within one working day by chat or email.",
    "Need a hand? Message us and a real person will answer the same day.",
    "Our customer care team is available seven days a week.",
    "Help is a quick message away, every day of the week.",
)
TERMS_LINES = (
    "Terms apply; one use per customer.",
    "Subject to availability and our standard terms.",
    "Full terms and conditions are on our website.",
    "One offer per order; cannot be combined with other promotions.",
)
BRAND_USAGE: dict[str, tuple[str, ...]] = {
    "skin": ("Smooth two or three drops over clean skin every morning and evening.",
             "Morning and night, press a few drops onto freshly washed skin.",
             "Apply a small amount to a clean face, twice a day."),
    "outdoor": ("Wash it cold and tumble-dry low to refresh the water repellency.",
                "A cool machine wash and a gentle tumble keep the finish beading.",
                "Clean it at low temperature, then dry on a mild setting to revive the coating."),
    "coffee": ("Brew with water just off the boil, around 60 grams per liter.",
               "Use roughly sixty grams for each liter, with water a moment after boiling.",
               "Our recipe: 60 g of grounds to a liter of water, just below boiling."),
    "fintech": ("Sign-up takes about five minutes with a photo ID.",
                "Opening an account needs only your ID and around five minutes.",
                "Have an identity document ready and you will be set up in minutes."),
    "ebike": ("Charge it overnight from any ordinary socket.",
              "Plug into a normal wall outlet and it is full by morning.",
              "A standard household plug tops it up while you sleep."),
    "pet": ("Switch over gradually across seven days, mixing it with the old food.",
            "Blend it into the current food over a week to change diets gently.",
            "Move across slowly: mix new with old for about seven days."),
    "energy": ("A surveyor checks your home first so the system is sized correctly.",
               "We begin with a home assessment to size everything properly.",
               "First, an expert visits to measure up and pick the right capacity."),
}
GREETINGS = ("Hi {{first_name}},", "Hello there,", "Hey {{first_name}},", "Dear {brand} customer,")
SIGNOFFS = ("Speak soon, the {brand} team.", "Cheers, everyone at {brand}.", "Warm wishes, {brand}.",
            "Thanks for reading, the {brand} crew.")

HEADLINE_FRAMES: dict[str, tuple[str, ...]] = {
    "offer": ("{Product}: {o}", "{O} on the {product}", "The {brand} {ps}, now with {o}",
              "Get {o} on {product}"),
    "angle": ("{A} with {product}", "{Product}: {a}", "{A}. {Product}.", "{brand}: {a}"),
    "offerdate": ("{O} on {product} until {date}", "{Product}: {o}, ends {date}",
                  "Until {date}: {o} on the {ps}", "{O}, only until {date}"),
    "feat": ("{Product}, with {f}", "Now with {f}: {product}", "{F}. That is {product}.",
             "The {ps} brings {f}"),
}
SUBJECT_FRAMES: dict[str, tuple[str, ...]] = {
    "offer": ("{O} inside", "Open for {o} on the {ps}", "Psst: {o}, just for you", "Your {o} is waiting"),
    "angle": ("{A}", "{A} ({brand})", "Quick one: {a}", "{A}, see inside"),
    "offerdate": ("Ends {date}: {o}", "{O}, until {date}", "Do not miss {o} (ends {date})",
                  "Reminder: {o} until {date}"),
}
CTA_FRAMES: dict[str, tuple[str, ...]] = {
    "offer": ("Claim {o}", "Get {o} now", "Unlock {o} today", "Grab {o}"),
    "plain": ("{c}", "{c} today", "{c} online", "{c} here"),
}

# Asset types: the channels they run on, how often they occur, and their sentence templates.
ASSET_TYPE_WEIGHTS = {
    "headline": 18, "cta": 7, "email_subject": 12, "body": 20, "social_post": 16, "email_body": 12,
    "landing_page_copy": 15,
}
CHANNELS = {
    "headline": ("search", "display", "video", "social"),
    "cta": ("display", "landing_page", "email", "search"),
    "email_subject": ("email",),
    "email_body": ("email",),
    "body": ("search", "display", "social", "video"),
    "social_post": ("social",),
    "landing_page_copy": ("landing_page",),
}
LINE_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "headline": HEADLINE_FRAMES, "email_subject": SUBJECT_FRAMES, "cta": CTA_FRAMES,
}
SENTENCE_TEMPLATES: dict[str, tuple[tuple[str, ...], ...]] = {
    "body": (
        ("angle", "feat", "offer", "cta"),
        ("angle", "price", "feat", "cta"),
        ("feat", "feat", "offer", "deadline"),
        ("angle", "proof", "offer", "cta"),
        ("angle", "feat", "price", "deadline"),
    ),
    "social_post": (
        ("angle", "feat", "offer", "tags"),
        ("angle", "offer", "deadline", "cta", "tags"),
        ("feat", "proof", "cta", "tags"),
        ("angle", "feat", "feat", "price", "tags"),
    ),
    "email_body": (
        ("greet", "angle", "feat", "feat", "feat", "usage", "offer", "deadline", "terms", "cta", "signoff"),
        ("greet", "angle", "story", "feat", "usage", "price", "proof", "help", "cta", "signoff"),
        ("greet", "angle", "feat", "feat", "offer", "proof", "deadline", "help", "cta", "signoff"),
    ),
    "landing_page_copy": (
        ("angle", "story", "feat", "feat", "feat", "usage", "proof", "price", "offer", "deadline", "help", "cta"),
        ("angle", "feat", "feat", "feat", "usage", "story", "offer", "proof", "proof", "terms", "help", "cta"),
        ("angle", "feat", "story", "feat", "feat", "usage", "price", "offer", "deadline", "terms", "proof", "cta"),
    ),
}
# A lookalike asset is claim-led: the restated (or benign) claim is its main message, alone in a
# headline or one of two or three short sentences of an ad body or social post.
LOOKALIKE_TYPES = ("headline", "body", "body", "social_post", "social_post")
LOOKALIKE_TEMPLATES: dict[str, tuple[tuple[str, ...], ...]] = {
    "headline": (("claim",),),
    "body": (("claim", "cta"),),
    "social_post": (("claim", "tags"),),
}
FRAMING_KINDS = ("greet", "signoff", "tags")
BOILERPLATE_KINDS = (*FRAMING_KINDS, "story", "proof", "cta", "help", "terms")
REFORMAT_TARGETS = {
    "landing_page_copy": "email_body",
    "email_body": "social_post",
    "body": "social_post",
    "social_post": "body",
    "headline": "email_subject",
    "email_subject": "headline",
}

# Markets: names, currencies and the spelling conventions of their English copy.
MARKETS = ("US", "UK", "DE", "FR", "AU")
MARKET_NAMES = {"US": "the US", "UK": "the UK", "DE": "Germany", "FR": "France", "AU": "Australia"}
CURRENCY = {"US": ("$", 1.0), "UK": ("£", 0.8), "DE": ("€", 0.92), "FR": ("€", 0.92), "AU": ("A$", 1.5)}
BRITISH_SPELLING = {
    "color": "colour", "colors": "colours", "flavor": "flavour", "flavors": "flavours", "favorite": "favourite",
    "aluminum": "aluminium", "cozy": "cosy", "defense": "defence", "fenders": "mudguards",
    "categorized": "categorised", "personalized": "personalised", "emphasize": "emphasise",
    "recognized": "recognised", "apartments": "flats", "fiber": "fibre", "center": "centre", "liter": "litre",
}
_SPELLING_RE = re.compile(r"\b(" + "|".join(BRITISH_SPELLING) + r")\b", re.IGNORECASE)

TONES = (
    "warm and reassuring", "confident with a little cheek", "expert but plain-spoken",
    "upbeat and energetic", "calm and premium", "friendly and practical",
)
MANDATORIES = (
    "state the promotion end date ({date})", "show the price point ({price}{unit})",
    "link to full terms and conditions", "use the approved logo lock-up",
    "add alt text to every image", "carry the {market} legal line",
)
BRIEF_TEMPLATES = (
    "Creative brief: {brand} / {product} / {market_name}. Objective: {objective}. Target audience: "
    "{audience}. Key message: {message}. Commercial mechanic to test: {offer} against {alt_offer}. "
    "Tone of voice: {tone}. Mandatory elements: {mandatories}.",
    "Brief for {brand} in {market_name}, product {product}. What we need to achieve: {objective}. "
    "Who we are talking to: {audience}. Single-minded proposition: {message}. Offer test: {offer} "
    "versus {alt_offer}. Voice: {tone}. Must include: {mandatories}.",
    "{brand} campaign request ({market_name}), featuring {product}. Goal: {objective}. Audience "
    "profile: {audience}. The one thing to land: {message}. Promotions under test: {offer} and, as "
    "the challenger, {alt_offer}. Tone: {tone}. Non-negotiables: {mandatories}.",
    "Market: {market_name}. Brand: {brand}. Product: {product}. Business objective: {objective}. "
    "Primary audience: {audience}. Core message: {message}. Promotion: {offer} (variant B: {alt_offer}). "
    "Tone: {tone}. Deliverables must include: {mandatories}.",
)
BRIEF_OBJECTIVES = (
    "lift online conversion during the flight", "grow first-time purchases by a fifth",
    "increase consideration in the upper funnel", "raise repeat purchase among known customers",
)


# --------------------------------------------------------------------------------------------
# Compliance references: rejected claims, restatements in other words, compliant counterparts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A claim compliance rejected, how copywriters restate it, and compliant wording on the topic."""

    category: str
    brands: tuple[str, ...]
    text: str
    rationale: str
    restatements: tuple[str, ...]
    benign: tuple[str, ...]


ALL_BRANDS = tuple(b.key for b in BRANDS)
SHOPS = ("skin", "outdoor", "coffee", "ebike", "pet")
CATEGORY_PREFIX = {
    "HEALTH": "HEALTH", "GREEN": "GREEN", "URGENCY": "URGENCY", "ENDORSE": "ENDORSE", "PRICE": "PRICE",
    "FIN": "FIN",
}
CATEGORY_SEVERITY = {
    "HEALTH": ("high", "critical"), "GREEN": ("medium", "high"), "URGENCY": ("low", "medium"),
    "ENDORSE": ("medium", "high"), "PRICE": ("medium", "high"), "FIN": ("high", "critical"),
}
REGULATIONS = {
    "HEALTH": {"US": "FTC Act s.5", "UK": "UK CAP Code 12.1", "DE": "EU Regulation 1924/2006 Art. 10",
               "FR": "EU Regulation 1924/2006 Art. 10", "AU": "ACCC Australian Consumer Law s.18",
               "ALL": "ICC Advertising Code Art. 5"},
    "GREEN": {"US": "FTC Green Guides 16 CFR 260", "UK": "UK CAP Code 11.1", "DE": "EU Green Claims Directive",
              "FR": "EU Green Claims Directive", "AU": "ACCC Australian Consumer Law s.18",
              "ALL": "EU Green Claims Directive"},
    "URGENCY": {"US": "FTC Act s.5", "UK": "UK CAP Code 3.1", "DE": "EU UCPD Annex I",
                "FR": "EU UCPD Annex I", "AU": "ACCC Australian Consumer Law s.18", "ALL": "EU UCPD Annex I"},
    "ENDORSE": {"US": "FTC Endorsement Guides 16 CFR 255", "UK": "UK CAP Code 2.1", "DE": "EU UCPD Annex I",
                "FR": "EU UCPD Annex I", "AU": "ACCC Australian Consumer Law s.29",
                "ALL": "ICC Advertising Code Art. 13"},
    "PRICE": {"US": "FTC Guides Against Deceptive Pricing 16 CFR 233", "UK": "UK CAP Code 3.17",
              "DE": "EU Price Indication Directive 98/6/EC", "FR": "EU Price Indication Directive 98/6/EC",
              "AU": "ACCC Australian Consumer Law s.48", "ALL": "EU UCPD Annex I"},
    "FIN": {"US": "FTC Act s.5", "UK": "FCA COBS 4.2.1", "DE": "MiFID II Art. 24(3)", "FR": "MiFID II Art. 24(3)",
            "AU": "ASIC RG 234", "ALL": "ICC Advertising Code Art. 5"},
}
# Market of the n-th claim of each category: a mix of single markets and ALL.
REFERENCE_MARKETS = ("ALL", "US", "UK", "ALL", "DE", "FR", "AU", "ALL", "UK", "US")

CLAIMS: tuple[Claim, ...] = (
    # Each claim lists its restatements (the struck promise again, at full strength, in other words:
    # the way a copywriter re-runs a rejected line) and its benign lines (what compliance approved
    # instead: same product, a different, qualified and substantiated statement).
    # --- misleading health claims ---------------------------------------------------------
    Claim("HEALTH", ("skin",), "Clinically proven to cure eczema in two weeks.",
          "Medicinal claim for a cosmetic: a cosmetic may not claim to treat or cure a disease.",
          ("Eczema gone for good in just 14 days, and the clinical trials prove it.",
           "The scientifically tested eczema cure: clear skin within a fortnight.",
           "Doctors' studies show it heals eczema completely in fourteen days.",
           "Cured of eczema in a fortnight, medically proven."),
          ("Suitable for eczema-prone skin: fragrance-free, with a short ingredient list.",
           "In a four-week user trial, 78% said their skin felt more comfortable; it is a cosmetic, "
           "not a medicine.",
           "Clinically tested on sensitive skin under the supervision of dermatologists.")),
    Claim("HEALTH", ("skin",), "Reverses ageing and erases wrinkles permanently.",
          "Permanent anti-ageing effect is not substantiated; cosmetics may only claim visible effects.",
          ("Wrinkles wiped out forever, and the years turned back for good.",
           "Reversing the ageing process, it erases every wrinkle for good.",
           "Turn back time for good: your wrinkles, gone once and for all.",
           "Ageing reversed, creases erased, and the results last forever."),
          ("Smoother-looking skin and softer wrinkles after four weeks, said 112 women who tried it.",
           "Hyaluronic acid plumps the look of fine lines while you sleep; the effect is temporary, not permanent.",
           "A light daily cream for every stage of ageing skin that leaves it feeling soft.")),
    Claim("HEALTH", ("skin",), "SPF 50 protects you from all skin cancer.",
          "No sunscreen gives complete protection; absolute disease-prevention claims are prohibited.",
          ("Total protection against every kind of skin cancer with this sunscreen.",
           "Protection from skin cancer, every type of it, with our factor 50.",
           "Our sunscreen blocks all cancers of the skin, guaranteed.",
           "Never worry about cancer from the sun again: complete SPF 50 protection."),
          ("SPF 50 with UVA and UVB filters to help prevent sunburn when reapplied every two hours.",
           "A light, non-greasy fluid for daily wear on skin; seek shade at midday as well.",
           "Water-resistant for 80 minutes when tested to international standards; reapply after "
           "towelling.")),
    Claim("HEALTH", ("coffee",), "Our coffee burns fat and boosts your metabolism for weight loss.",
          "Slimming claim without an authorised health claim or evidence.",
          ("Drink this brew to melt fat, speed up your metabolism and lose weight.",
           "The cup that torches body fat and revs your metabolism, so the kilos drop off.",
           "Slim down with every cup: it burns fat and fires up your metabolic rate.",
           "A fat-burning coffee that makes you lose weight fast."),
          ("Brewed black, our coffee has about 2 calories a cup and no sugar.",
           "Our coffee is a smooth medium roast with notes of cocoa and toasted almond.",
           "Enjoy it as part of a balanced diet.")),
    Claim("HEALTH", ("coffee",), "Prevents heart disease and lowers blood pressure.",
          "Disease-prevention claims are not permitted for foods without authorisation.",
          ("Protects your heart from illness and brings your blood pressure down.",
           "Keeps cardiovascular disease away and cuts hypertension.",
           "Prevention of heart disease and lower blood pressure in every cup.",
           "Guards against heart attacks while reducing your blood pressure."),
          ("Our decaf keeps the full flavour with 99.9% of the caffeine removed, for an evening cup.",
           "Most healthy adults can enjoy up to four cups a day; if you have a medical condition, ask "
           "your doctor about caffeine.",
           "Decaffeinated with water alone; a coffee to enjoy, not a treatment for blood pressure.")),
    Claim("HEALTH", ("coffee",), "Boosts your immune system and keeps colds away.",
          "Immunity claims for coffee are unauthorised and unsupported.",
          ("Strengthens your immunity so you never catch a chill.",
           "Keeps colds and flu at bay by supercharging your immune defences.",
           "An immune boost in every cup: goodbye, winter colds.",
           "Your body's defences get stronger, and colds stay away for good."),
          ("A warming cup to keep you going on cold mornings, made from just roasted beans and water.",
           "Our winter blend keeps its aroma for weeks, with notes of cinnamon and dark chocolate.",
           "Cold season is here: a spiced roast to enjoy by the fire.")),
    Claim("HEALTH", ("pet",), "Cures joint pain and arthritis in dogs.",
          "Veterinary medicinal claim for a feed product; cannot claim to cure a disease.",
          ("Your dog's arthritis and sore joints, cured.",
           "Heals canine arthritis and ends joint pain for good.",
           "No more aching joints: it heals the arthritis for good.",
           "Clears up stiff, painful hips and arthritic legs in your dog, completely."),
          ("With glucosamine and green-lipped mussel, made for active senior dogs.",
           "Supports mobility as part of a balanced diet; see your vet if your dog is limping.",
           "Tender chunks sized for older dogs, with omega-3 from fish oil.")),
    Claim("HEALTH", ("pet",), "Vet-approved to double your pet's lifespan.",
          "Unsubstantiated longevity claim and implied professional endorsement.",
          ("Vets approve it: your pet will live twice as long.",
           "Give your dog or cat twice the years, with veterinary approval.",
           "Approved by veterinarians to double how long your animal lives.",
           "The vet-backed way to make your pet live two times longer."),
          ("Complete and balanced nutrition for every life stage, formulated with a vet nutritionist.",
           "Helps your pet keep a healthy weight; portion guides are printed on every bag.",
           "Vet-approved recipes made with real chicken, for dogs of all ages.")),
    Claim("HEALTH", ("pet",), "Grain-free food prevents all allergies in pets.",
          "Absolute prevention claim not supported by evidence.",
          ("Go grain-free and your pet will never have an allergy again.",
           "Our grain-free recipe stops every pet allergy before it starts.",
           "No grains, no allergies: total protection for your dog or cat.",
           "Feed it and your animal is safe from allergies of every kind."),
          ("A grain-free recipe with duck and potato, made for sensitive tummies.",
           "Fewer ingredients make it easier to avoid what your pet reacts to; ask your vet about food "
           "intolerances.",
           "Made with salmon as the only animal protein, for pets who do well on a simple diet.")),
    Claim("HEALTH", ("skin", "pet"), "100% hypoallergenic: can never cause a reaction.",
          "No product can guarantee zero reactions; absolute safety claims mislead.",
          ("Completely hypoallergenic, so a reaction is impossible.",
           "It can never cause an allergic reaction: 100% guaranteed.",
           "Zero chance of any reaction, ever: totally allergy-safe.",
           "Hypoallergenic through and through, it cannot irritate anyone, ever."),
          ("Free from fragrance and the 26 labelled allergens; patch test before first use.",
           "Dermatologically tested; stop using it if you notice a reaction.",
           "Hypoallergenic formula made without perfume or dyes; check the ingredients if you have an allergy.")),
    # --- unsupported green claims -----------------------------------------------------------
    Claim("GREEN", ("outdoor",), "100% climate neutral product.",
          "Carbon-neutrality claim based on offsetting without evidence of reductions.",
          ("A product that is 100% neutral for the climate.",
           "Fully climate neutral, every product we make.",
           "Totally neutral for the climate: net zero, 100%.",
           "A product with zero net effect on the climate, entirely carbon neutral."),
          ("This product is made with 30% recycled polyester, certified by the Global Recycled Standard.",
           "Our climate plan: factory emissions cut by 18% since 2023, verified by an independent auditor.",
           "Every product lists its measured footprint on the label, so you can compare.")),
    Claim("GREEN", ("outdoor", "skin", "coffee"), "Fully biodegradable: disappears without a trace.",
          "Biodegradability claim without conditions, time frame or test standard.",
          ("Completely biodegradable, it vanishes and leaves nothing behind.",
           "Biodegrades entirely and disappears, leaving no trace.",
           "100% biodegradable: gone, with no trace left in nature.",
           "It fully biodegrades, as if it had never existed."),
          ("Packaging certified compostable in industrial facilities (EN 13432); please do not put it "
           "in a home compost bin.",
           "Our pouch is paper with a thin plant-based lining; check local rules for recycling.",
           "Fully refillable: refills use 70% less plastic than buying a new bottle.")),
    Claim("GREEN", ("outdoor", "skin", "pet"), "Eco-friendly product that is good for the planet.",
          "Vague, generic environmental claim that cannot be substantiated.",
          ("Eco-friendly through and through, and kind to the planet.",
           "A planet-friendly buy that does the Earth good.",
           "Good for the environment and good for the world: a truly green choice.",
           "An eco-friendly product, good for the Earth."),
          ("The product bottle uses 50% recycled plastic; the cap is not yet recyclable.",
           "We cut the plastic in this pack by 40% compared with 2024; the figures are on our site.",
           "The product ships in a cardboard box you can reuse or recycle.")),
    Claim("GREEN", ("ebike",), "Zero emissions over the bike's whole lifetime.",
          "Lifecycle claim ignores manufacturing and battery emissions.",
          ("This e-bike produces zero emissions over its entire life, factory to scrapyard.",
           "Not a gram of CO2 across the bike's whole lifespan.",
           "A lifetime of zero emissions, including how it is made.",
           "From production to disposal, the bike emits nothing, ever."),
          ("A 2025 lifecycle study found 70% lower emissions per km than a small petrol car.",
           "When the bike's battery wears out, the cells are recycled through our take-back scheme.",
           "Zero fuel costs on your commute: charge it from an ordinary socket.")),
    Claim("GREEN", ("ebike", "energy"), "Our batteries are 100% recyclable and harmless to the environment.",
          "Absolute recyclability and harmlessness claims are unsupported.",
          ("Every battery is fully recyclable and does no harm to nature.",
           "Completely recyclable cells with zero environmental damage.",
           "Our batteries can be recycled entirely and are totally safe for the environment.",
           "Battery packs that are 100% reusable and cannot hurt the planet."),
          ("Return your old batteries and a licensed recycler recovers about 90% of the materials.",
           "Our batteries meet EU battery rules, and we fund a free collection scheme.",
           "Our batteries last around 1,000 full charges before capacity drops to 80%.")),
    Claim("GREEN", ("energy",), "Solar panels that make your home carbon negative overnight.",
          "Carbon-negative claim without lifecycle evidence; immediate effect is misleading.",
          ("Install our solar panels and your house is carbon negative by tomorrow.",
           "Overnight, rooftop solar turns your home carbon negative.",
           "Panels that instantly make your home remove more carbon than it emits.",
           "Go carbon negative in a single night with solar on your roof."),
          ("A typical 4 kW solar system can cut a home's electricity emissions by around a third; results vary.",
           "Our solar panels carry a 25-year output warranty and are fitted by certified installers.",
           "Your survey shows how much of your home's electricity the roof could supply over a year.")),
    Claim("GREEN", ("energy",), "Heat pumps with zero environmental impact.",
          "Every product has an environmental impact; absolute claim misleads.",
          ("A heat pump that has no impact on the environment whatsoever.",
           "Zero footprint: heat your home without touching the environment.",
           "Our heat pumps leave nature completely unharmed.",
           "Heating that does absolutely no environmental damage."),
          ("Heat pumps typically turn each unit of electricity into about three units of heat; the "
           "carbon saving depends on your grid.",
           "Refrigerant is handled by certified engineers, and your old boiler is recycled.",
           "Our heat pumps run at about 40 decibels, comparable to a fridge.")),
    Claim("GREEN", ("energy",), "Powered by 100% renewable energy, every hour of every day.",
          "Renewable-matching is annual and certificate-based, not hourly.",
          ("Each hour of each day, your power is completely renewable.",
           "Round the clock, all your electricity is renewable.",
           "Entirely renewable power, 24 hours a day, 7 days a week.",
           "Green energy supplies every watt you use, day and night."),
          ("Our renewable tariff is matched over the year with certified guarantees of origin.",
           "We buy renewable energy certificates equal to what our customers use in a year.",
           "Switching takes about 17 days, and your energy supply stays on every day.")),
    Claim("GREEN", ("coffee",), "Carbon-neutral coffee that saves the rainforest.",
          "Offset-based neutrality and unsupported conservation outcome.",
          ("A climate-neutral brew that protects the rainforest with every cup.",
           "Drink our beans and save the jungle, with zero carbon.",
           "Rainforest-saving coffee, fully climate neutral.",
           "Carbon-neutral beans that save the rainforest, cup by cup."),
          ("Our coffee comes from Rainforest Alliance certified farms; transport emissions are reported on our site.",
           "We are measuring the carbon footprint of our coffee and publish our progress each year.",
           "Roasted in small batches and shipped in recyclable bags.")),
    Claim("GREEN", ("fintech",), "Every card payment plants a forest and reverses climate change.",
          "Exaggerated and unverifiable environmental benefit.",
          ("Each purchase plants a whole forest and turns back global warming.",
           "Pay by card and reverse global warming: every payment grows a forest.",
           "Your card payments plant woods that undo climate change.",
           "Tap your card, plant a forest, reverse the climate crisis."),
          ("For every 100 card payments we fund one tree through a verified planting partner.",
           "Our metal card is made from 85% recycled steel.",
           "See an estimated climate footprint for every payment in the app; estimates are approximate.")),
    # --- fake urgency and scarcity ------------------------------------------------------------
    Claim("URGENCY", SHOPS, "Only 3 left in stock: order now before it is gone forever.",
          "False scarcity: the stock level is not genuine.",
          ("Just 3 left: buy now, because once they are gone, they are gone for good.",
           "Only three remain, then it is gone forever, so order today.",
           "Hurry, the last 3 are going and will never be back in stock.",
           "Only 3 remain in stock, so order before they are gone for good."),
          ("In stock now and ready to ship within two working days.",
           "Stock levels update live on our site, and we email you when an item is back.",
           "Available in five colours, with free returns within 30 days.")),
    Claim("URGENCY", ALL_BRANDS, "Offer ends at midnight tonight.",
          "Countdown restarts daily, so the deadline is not real.",
          ("Tonight at midnight, this deal is over.",
           "The offer closes at 12 tonight, so be quick.",
           "Midnight tonight is the deadline: after that, it ends.",
           "Only until midnight: when tonight is over, so is this offer."),
          ("This offer runs until the end date in our terms and will not close early.",
           "Terms and conditions apply; see the offer page for full details.",
           "The closing date is fixed and listed on the promotion page.")),
    Claim("URGENCY", ALL_BRANDS, "25 people are viewing this right now.",
          "Fabricated live-demand signal used to pressure the buyer.",
          ("At this moment, 25 shoppers are viewing it.",
           "25 people are looking at this item at this very moment.",
           "This is being viewed by 25 people right now, so be quick.",
           "People are viewing this as we speak: 25 and counting."),
          ("One of our most ordered items this season.",
           "No pressure: take your time, add this to your wishlist and compare.",
           "Read what customers thought of it on the product page.")),
    Claim("URGENCY", ALL_BRANDS, "Price goes up tomorrow, buy today.",
          "No planned price rise; false urgency.",
          ("Tomorrow the price rises, so buy it today.",
           "Order now: from tomorrow, it costs more.",
           "The price goes up in the morning. Buy now.",
           "Last day at this price: it increases tomorrow."),
          ("We review our prices twice a year and announce any change a month ahead.",
           "The price you see at checkout is the price you pay.",
           "All prices include VAT, and delivery is calculated at checkout.")),
    Claim("URGENCY", ALL_BRANDS, "Exclusive one-time offer you will never see again.",
          "The same offer runs repeatedly; 'one-time' is false.",
          ("A one-off exclusive deal: you will never see it again.",
           "This exclusive offer happens once, and never again.",
           "You will never see an exclusive deal like this one again.",
           "Once it is gone, this exclusive offer never comes back."),
          ("We run promotions a few times a year; sign up to hear about the next one.",
           "This welcome offer is for new customers; terms apply.",
           "Members get early access to our seasonal sales.")),
    Claim("URGENCY", ("fintech", "energy"), "Your account will be closed unless you act now.",
          "Threatening false consequence to force a decision.",
          ("Act immediately, or we close your account.",
           "Unless you respond right away, we will shut your account.",
           "Your account closes if you do not take action immediately.",
           "Final warning: act today to stop your account being closed."),
          ("Please review your account settings when convenient; nothing changes unless you choose it.",
           "A new feature is available in the app; try it whenever you like.",
           "Keep your contact details up to date so you do not miss statements.")),
    Claim("URGENCY", SHOPS, "Today only: half price.",
          "The 'today only' price has run continuously for weeks.",
          ("Just today, pay half the price.",
           "Just for today, everything is at half price.",
           "Today and today alone, pay half.",
           "50% off, for one day only: today."),
          ("Selected lines are reduced to half price until the end date shown in our terms.",
           "Last season's colours are reduced; the saving is shown on each product page.",
           "Sign up for our newsletter to hear about seasonal sales.")),
    Claim("URGENCY", ALL_BRANDS, "Hurry, your reservation expires in 10 minutes.",
          "The timer resets; there is no real reservation.",
          ("Quick, your reservation runs out in 10 minutes.",
           "Your reserved item will expire in ten minutes, so hurry.",
           "Only 10 minutes left before we cancel your reservation.",
           "Hurry: in 10 minutes, your reservation is released."),
          ("Your basket is saved for 30 days, so there is no need to hurry.",
           "Items in your basket are not held; stock and price are confirmed at checkout.",
           "Save items to your wishlist and come back when you are ready.")),
    Claim("URGENCY", SHOPS, "97% already claimed: almost gone.",
          "Fabricated sell-through figure.",
          ("Almost gone: 97% have already been snapped up.",
           "Nearly all claimed already, with only 3% left.",
           "97% claimed so far, so it is nearly gone.",
           "It is almost sold out, with 97 out of 100 already taken."),
          ("Our most popular item this month, and we restock every week.",
           "Selling well this season; more stock arrives soon, so it is not gone.",
           "Back in stock in every size.")),
    Claim("URGENCY", ALL_BRANDS, "Last chance: final reminder before your discount is lost.",
          "Repeated 'final' reminders misrepresent the deadline.",
          ("Final reminder: this is your last chance before the discount is gone.",
           "Your discount is about to be lost. Last chance.",
           "Last call: after this reminder, your discount disappears.",
           "This is our final reminder: use your discount now or lose it."),
          ("Your discount code is valid until the date in its terms.",
           "You can find all your active codes in your account.",
           "Thanks for being a customer; here is what is new this month.")),
    # --- undisclosed endorsements and fake testimonials ---------------------------------------
    Claim("ENDORSE", ("skin",), "Recommended by 9 out of 10 dermatologists.",
          "Unsubstantiated professional endorsement statistic.",
          ("9 in 10 dermatologists recommend it.",
           "Nine out of ten skin doctors say they would recommend this.",
           "Dermatologists recommend it: 90% of them.",
           "The dermatologists' choice, recommended by nine in ten."),
          ("Developed with a consultant dermatologist, whom we paid for her time.",
           "Tested under dermatological supervision on 40 volunteers with sensitive skin.",
           "Suitable for sensitive skin, with a short ingredient list.")),
    Claim("ENDORSE", ALL_BRANDS, "As seen on TV and loved by celebrities.",
          "Implies unpaid celebrity endorsement that was paid for or does not exist.",
          ("Celebrities love it, and you have seen it on TV.",
           "Straight from television, and a celebrity favourite.",
           "The one the stars adore, as seen on TV.",
           "Loved by famous faces and featured on television."),
          ("Featured in our own paid TV advert this spring.",
           "Our brand ambassador is paid by us, and every post says so.",
           "Join 20,000 customers in 12 countries.")),
    Claim("ENDORSE", ALL_BRANDS, "I honestly love this, not sponsored!",
          "Influencer post presented as independent while paid by the brand.",
          ("Not sponsored, I just honestly love it!",
           "Honestly, I love this, and nobody sponsored this post!",
           "Not sponsored, just honest: I love this!",
           "Nobody paid me for this, I honestly love it!"),
          ("#ad Paid partnership: I have been using it for a month, and here is what I think.",
           "The brand sent this to me for free and paid for this review.",
           "Gifted product, with my own opinions below.")),
    Claim("ENDORSE", ALL_BRANDS, "Thousands of genuine five-star reviews.",
          "Reviews were incentivised or filtered; presenting them as independent misleads.",
          ("Five-star reviews by the thousand, every one of them genuine.",
           "Thousands of real customers gave it five stars.",
           "Genuine reviews, thousands of them, all top marks.",
           "Rated five stars in thousands of authentic reviews."),
          ("Rated 4.5 out of 5 from 1,240 ratings, including critical ones.",
           "Read all reviews, good and bad, on the product page; we never filter.",
           "Reviewers were not paid or given discounts for their opinions.")),
    Claim("ENDORSE", ALL_BRANDS, "Voted best product of the year.",
          "No such award or vote exists.",
          ("The best product of the year, as voted by you.",
           "This year's winner: voted the best product around.",
           "It won the vote for best product of the last twelve months.",
           "Officially voted the year's best buy."),
          ("Shortlisted in the 2025 regional design awards, consumer category.",
           "Highly Commended in an independent magazine test, 2025 edition.",
           "Designed in our studio and tested for a year before this product launched.")),
    Claim("ENDORSE", ALL_BRANDS, "Our customers say it changed their lives.",
          "Fabricated or unrepresentative testimonials.",
          ("Customers tell us it changed their lives.",
           "Buyers say it transformed their lives.",
           "Life-changing, according to the people who bought it.",
           "Our buyers say their lives have been transformed."),
          ("Here is what some customers say, shared with permission; individual experiences vary.",
           "Quotes are genuine, unedited and collected after purchase.",
           "Questions? Our team answers within a working day.")),
    Claim("ENDORSE", ("pet",), "Trusted by vets nationwide.",
          "Implied veterinary endorsement without evidence.",
          ("Vets across the country trust it.",
           "Nationwide, veterinarians put their trust in it.",
           "The food vets trust, all over the country.",
           "Relied on by vets in every part of the nation."),
          ("Formulated with a vet nutritionist; ask your own vet whether it suits your pet.",
           "Developed by our in-house vet team, who are our employees.",
           "Cooked in our own kitchen in small batches.")),
    Claim("ENDORSE", ("outdoor", "ebike"), "Chosen by professional athletes.",
          "Undisclosed paid sponsorship presented as independent choice.",
          ("Professional athletes choose it.",
           "The choice of professional sportspeople.",
           "Pro athletes have picked it as their own.",
           "Chosen by sportspeople who compete professionally."),
          ("Used by our sponsored team, who receive gear and pay from us.",
           "Developed with feedback from paid ambassador riders and guides.",
           "Field-tested for 300 days on mountain trails.")),
    Claim("ENDORSE", ("fintech",), "Money experts agree: the best account you can get.",
          "Unsubstantiated expert endorsement of a financial product.",
          ("Experts agree: no account is better.",
           "The best account out there, say finance experts.",
           "Money experts all agree there is no better account.",
           "According to financial experts, this is the best account available."),
          ("Independently reviewed by a consumer finance website; read the full review before deciding.",
           "Compare our account with others on a price comparison site to see if it suits you.",
           "Opening takes about ten minutes in the app.")),
    Claim("ENDORSE", ALL_BRANDS, "Review from Sarah, a verified buyer: best purchase ever.",
          "Fabricated reviewer identity.",
          ("Verified buyer Sarah says it is her best purchase ever.",
           "Sarah, verified customer: the best thing I have ever bought.",
           "Best buy ever, writes Sarah, a verified purchaser.",
           "'My best purchase of all time', says Sarah, a confirmed buyer."),
          ("Reviews come from buyers who confirmed their order, and we publish negative ones too.",
           "Each verified buyer review is checked against an order and never edited.",
           "See the full spread of ratings on the product page.")),
    # --- misleading price claims ---------------------------------------------------------------
    Claim("PRICE", SHOPS, "Was 200, now 100: half price.",
          "The reference price was never genuinely charged.",
          ("Half price: 100 instead of 200.",
           "Now just 100, down from 200, so you pay half.",
           "Was 200. Now 100. That is 50% off.",
           "Cut from 200 to 100, half the price."),
          ("Sale prices are shown against the price we charged for at least four weeks before.",
           "The previous price is the one we charged for the 28 days before the sale, not a made-up one.",
           "See the price history of each item on its product page.")),
    Claim("PRICE", ALL_BRANDS, "Completely free, no strings attached.",
          "Free trial converts to a paid subscription; conditions are hidden.",
          ("Free, with no strings attached whatsoever.",
           "No strings, no catch: it costs nothing at all.",
           "It is completely free, with nothing attached.",
           "100% free, with nothing attached."),
          ("Free for 30 days, then a monthly fee applies unless you cancel; see our terms.",
           "The trial needs card details, and you can cancel before the first payment.",
           "Monthly plans start after the free trial and can be cancelled online.")),
    Claim("PRICE", ALL_BRANDS, "Lowest price guaranteed, anywhere.",
          "No price-match evidence or mechanism.",
          ("Guaranteed: you will not find a lower price anywhere.",
           "The cheapest price anywhere, guaranteed.",
           "Nowhere is cheaper. The lowest price, promised.",
           "We guarantee our price is the lowest you can find."),
          ("Find the same item cheaper at a listed retailer and we refund the difference; terms apply.",
           "We check competitor prices weekly; see our price promise terms.",
           "Prices include delivery to your door, anywhere in the country.")),
    Claim("PRICE", SHOPS, "Up to 70% off everything.",
          "Only a handful of items carry the headline discount.",
          ("Every item is reduced, by up to 70%.",
           "Take up to 70% off every single item.",
           "Every item in store, reduced by as much as 70%.",
           "The whole range is cut by as much as 70%."),
          ("Reductions of 10 to 30% across the sale, with the saving shown on each item.",
           "A limited selection is reduced; see each product page for the saving.",
           "Twelve clearance lines carry our biggest reductions this season.")),
    Claim("PRICE", ("fintech",), "No hidden fees, ever.",
          "Fees apply to cash withdrawals above the limit and are not disclosed.",
          ("Never any hidden fees.",
           "Hidden fees? Never, not a single one.",
           "You will never pay a hidden charge with us.",
           "Zero hidden costs, now and forever."),
          ("Our fee table lists every charge, including ATM fees above your monthly free limit.",
           "Charges are shown in the app before you confirm any payment that carries one.",
           "Cash withdrawals are free up to a monthly limit, then 2% applies.")),
    Claim("PRICE", ("energy",), "Save 800 a year on energy bills, guaranteed.",
          "Savings depend on the home and usage; the guarantee is unsupported.",
          ("Guaranteed savings of 800 a year on your energy bills.",
           "Your energy bills drop by 800 every year, guaranteed.",
           "We guarantee you save 800 annually on energy.",
           "Cut 800 off your yearly bills, promised."),
          ("Your quote includes an estimate of yearly savings based on your home survey; it is not a "
           "guarantee.",
           "How much you save depends on your insulation, tariff and usage.",
           "Our surveyor measures your home before giving you a price.")),
    Claim("PRICE", ALL_BRANDS, "Cheaper than any competitor.",
          "Unverifiable comparative price claim.",
          ("No competitor is cheaper.",
           "Cheaper than all our rivals.",
           "Every competitor charges more than we do.",
           "You will not find a competitor who beats our price."),
          ("In our 1 March check, our basket cost less than the average of three named retailers; details "
           "online.",
           "Compared monthly with two named brands; the comparison is on our site.",
           "Prices are checked against two named competitors every month.")),
    Claim("PRICE", SHOPS, "Buy one, get one free.",
          "The single-item price was raised for the promotion, so the second item is not free.",
          ("Buy one and we give you one for free.",
           "Buy one and the second one is free.",
           "Two for the price of one: one is free.",
           "Pay for one, take another one home free."),
          ("Second item half price on selected lines; the single-item price is unchanged.",
           "Buy three on the sale range and pay for two, at our normal prices.",
           "Bundle and save 10% when you order two or more.")),
    Claim("PRICE", ("energy", "ebike"), "Pays for itself in one year.",
          "Payback period is unsupported and ignores typical usage.",
          ("In one year, it has paid for itself.",
           "It pays for itself within a single year.",
           "In a single year, it pays back everything it cost.",
           "A year from now, it will have paid for itself in full."),
          ("Payback typically takes 6 to 9 years, depending on your energy use and tariff.",
           "Our calculator estimates your payback period from your own mileage and costs.",
           "Finance is available over 3 to 10 years, subject to status.")),
    Claim("PRICE", ALL_BRANDS, "Prices from 1, today only.",
          "Almost no items are available at the advertised 'from' price.",
          ("For this day alone, everything starts at 1.",
           "From 1, but only for today.",
           "Items from just 1, but only until tonight.",
           "Prices starting at 1, today and today alone."),
          ("Our entry price applies to 20 accessories, listed on the offer page.",
           "Most items in the range cost more than our entry price.",
           "Accessories from our basics line, with prices on each product page.")),
    # --- financial promises --------------------------------------------------------------------
    Claim("FIN", ("fintech",), "Guaranteed 10% returns on your savings.",
          "Guaranteed return claim; savings and investment returns cannot be guaranteed.",
          ("Your savings earn 10%, guaranteed.",
           "A guaranteed 10% return on every pound you save.",
           "We guarantee your savings grow by 10%.",
           "Save with us for returns of ten percent, guaranteed."),
          ("Earn 4.1% AER variable on savings pots; rates can change.",
           "Deposits are protected up to the scheme limit; the rate is variable.",
           "Set up a savings pot in the app and choose how much to put aside each month.")),
    Claim("FIN", ("fintech",), "Get out of debt in 30 days.",
          "Unrealistic debt-freedom promise.",
          ("In 30 days, you will be out of debt.",
           "Debt-free within a month.",
           "Clear all your debt in just 30 days.",
           "30 days from now, your debt is gone."),
          ("Budgeting tools that help you plan repayments; free advice is available from charities.",
           "Set up a repayment plan in the app and track what you owe at your own pace.",
           "If you are struggling with payments, talk to us about your options.")),
    Claim("FIN", ("fintech",), "Instant approval, no credit checks, everyone qualifies.",
          "Misrepresents eligibility and credit assessment.",
          ("Everyone qualifies: instant approval with no credit check.",
           "No credit checks, approved in seconds, and nobody is turned down.",
           "Approved instantly without checking your credit; everyone is accepted.",
           "Instantly approved, everyone qualifies, and we never check your credit."),
          ("Quick decisions for most applicants; our soft search will not affect your score.",
           "Lending is subject to status and affordability; representative 19.9% APR.",
           "Apply in the app in about five minutes.")),
    Claim("FIN", ("fintech",), "Risk-free investing.",
          "All investing carries risk; capital is at risk.",
          ("Investing with zero risk.",
           "Invest without any risk at all.",
           "All the gains of investing, none of the risk.",
           "Investments that are completely risk-free."),
          ("Capital at risk: the value can go down as well as up.",
           "You may get back less than you put in.",
           "Choose from five ready-made portfolios; past performance is not a guide to the future.")),
    Claim("FIN", ("fintech",), "Your money is 100% protected, always.",
          "Protection is limited to the deposit-scheme cap and to eligible deposits.",
          ("Whatever you hold with us is completely safe, forever.",
           "Your money is completely protected, all the time.",
           "100% protection for your money, no matter what.",
           "Whatever happens, your money is always fully safe."),
          ("Eligible deposits are covered up to the statutory scheme limit.",
           "Funds are held with a regulated partner bank.",
           "Freeze your card in the app in one tap if you lose it.")),
    Claim("FIN", ("fintech",), "Earn passive income while you sleep.",
          "Implies effortless, assured income from a savings feature.",
          ("Make passive income while you are asleep.",
           "Your money earns for you while you sleep, with no effort.",
           "Sleep, and wake up to passive income.",
           "Passive income that rolls in overnight while you sleep."),
          ("Interest is paid monthly on savings pots at a variable rate.",
           "Rates are variable and shown in the app.",
           "Move your money between pots whenever you like.")),
    Claim("FIN", ("fintech",), "Double your money with round-ups.",
          "Exaggerated growth promise for a saving feature.",
          ("Rounding up doubles your money.",
           "Use round-ups and watch your money double.",
           "Your money doubles with our round-ups.",
           "Double what you have, just by rounding up."),
          ("Spare change goes into a savings pot, where it earns the variable rate.",
           "The amount you put aside depends on how often you spend.",
           "Turn round-ups on or off at any time in settings.")),
    Claim("FIN", ("energy",), "Solar panels are a guaranteed investment that beats any savings account.",
          "Presents an energy purchase as a guaranteed financial return.",
          ("A guaranteed investment: solar panels beat any savings account.",
           "No savings account can beat solar, a guaranteed investment.",
           "Put your money in panels, a guaranteed return better than any savings account.",
           "Solar outperforms every savings account, guaranteed."),
          ("Your quote includes an estimate based on your roof and usage, not a promise.",
           "Solar panel output depends on your roof's angle, shading and the weather.",
           "Panels come with a 25-year performance warranty.")),
    Claim("FIN", ("fintech",), "Government-backed account with official approval.",
          "Implies government endorsement that does not exist.",
          ("An account backed by the government, with official approval.",
           "Officially approved and backed by the government.",
           "The government backs this account and has officially approved it.",
           "Government approval and backing for your account."),
          ("Authorised and regulated by the financial regulator; this does not mean the state endorses "
           "our products.",
           "We hold an e-money licence, and deposit protection applies through our partner bank.",
           "Open an account in minutes with just your ID.")),
    Claim("FIN", ("fintech",), "Crypto rewards with no downside.",
          "Crypto-asset promotion without risk warning.",
          ("Crypto rewards: all upside, no risk.",
           "Earn crypto rewards with zero downside.",
           "All upside: crypto rewards with nothing to lose.",
           "Earn crypto with no downside, ever."),
          ("Don't invest unless you are prepared to lose all the money you invest.",
           "Rewards are paid into your account each month.",
           "Digital assets are volatile and unregulated; their value can fall to zero.")),
)


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

