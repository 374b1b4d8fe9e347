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
and copy are invented. The output depends on the seed alone: the same seed writes
byte-identical files.

The package owns the generator and its copy bank:

* ``data/*.yml``: the copy bank as data (brands and products, angles, offers, copy frames, asset
  templates, markets, brief wording, rejected claims), for copywriters to edit;
* :mod:`~semantic.demo.bank`: reads and checks those files and builds the records the generator
  uses;
* :mod:`~semantic.demo.records`, :mod:`~semantic.demo.render`, :mod:`~semantic.demo.campaigns`,
  :mod:`~semantic.demo.assets`, :mod:`~semantic.demo.generator`: the generator, step by step.

It imports nothing from ``semantic`` outside ``semantic.demo``: only the standard library and
PyYAML (for the data files).

Example:
    >>> from pathlib import Path
    >>> from semantic.demo import generate
    >>> summary = generate(Path("seeds"), seed=42, n_assets=3000)  # doctest: +SKIP
"""

from semantic.demo.generator import DUPLICATE_KINDS, DemoSummary, generate

__all__ = ["DUPLICATE_KINDS", "DemoSummary", "generate"]
