"""Decisions: what the similarities mean for a person, calibrated on the team's labels.

Modules:
    calibration: per-task thresholds and calibrated match probabilities (``dim_similarity_thresholds``).
    pair_decision: the near-duplicate decision for a candidate pair (``int_duplicate_pair_scores``).
    clustering: neighbours and stable duplicate clusters (``dim_asset_clusters``).
    compliance: the lookalike score against rejected claims and the ad-hoc check (``semantic check``).
    recommendations: brief-to-asset matches (``fct_brief_asset_matches``).

May import: :mod:`semantic.vectors`, :mod:`semantic.encoding`, :mod:`semantic.demo`,
:mod:`semantic.config`, :mod:`semantic.errors`.
"""
