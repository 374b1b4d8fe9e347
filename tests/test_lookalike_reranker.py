"""The lookalike reranker (``semantic.encoding.reranker`` with ``clears``, ``semantic.decisions.compliance``): the
probability its guard chooses, the reviews it clears (never a flag), the abstain zone the build asks it about, and
the CLI that trains one into its registry.

The pure parts run on invented numbers and a stand-in scorer; one test trains a real cross-encoder on a tiny
invented claim -> copy folder (seconds) to check the mechanics, not the quality, which
``benchmarks/lookalike_reranker.py`` measures on ``lookalike/sms_spam`` (docs/benchmarks.md).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from semantic.decisions.compliance import clear_reviews, rerank_review_zone
from semantic.encoding.reranker import Reranker, RerankerConfig, clear_guard
from semantic.errors import SemanticConfigError


class Scorer:
    """A stand-in lookalike reranker: a fixed probability per copy text, and the calls it was asked."""

    def __init__(self, probabilities: dict[str, float], clear_below: float = 0.3) -> None:
        self.probabilities = probabilities
        self.clear_below = clear_below
        self.version = "lookalike_rr-0123456789ab"
        self.asked: list[tuple[str, str]] = []

    def score(self, claims, texts):
        self.asked += list(zip(claims, texts))
        return np.array([self.probabilities.get(t, np.nan) if t else np.nan for t in texts])


def test_the_guard_keeps_the_labelled_lookalikes_and_passes_only_when_it_clears_enough_benign_copy():
    labels = [1] * 10 + [0] * 10
    # the lowest lookalike at 0.2: every benign pair below it is cleared
    probability = [0.2, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9, 0.95, 0.99, 0.99] + [0.01, 0.05, 0.1, 0.15, 0.3, 0.4, 0.5,
                                                                               0.6, 0.7, 0.9]
    guard = clear_guard(probability, labels)
    assert guard["passed"] and guard["clear_below"] == 0.2 and guard["kept_matches"] == 1.0
    assert guard["cleared_non_matches"] == 0.4 and "clears 40% of 10 valid benign pairs" in guard["reason"]
    # with 100 lookalikes, keep_matches 0.98 leaves the lowest two below the probability
    many = np.linspace(0.01, 1.0, 100)
    guard = clear_guard(np.concatenate([many, [0.02, 0.025]]), [1] * 100 + [0, 0], keep_matches=0.98)
    assert guard["clear_below"] == pytest.approx(many[2]) and guard["kept_matches"] == pytest.approx(0.98)
    # one that clears too little benign copy is not passed, and clears nothing
    failed = clear_guard([0.2, 0.9, 0.1, 0.5, 0.6, 0.7, 0.8, 0.85], [1, 1, 0, 0, 0, 0, 0, 0])
    assert not failed["passed"] and failed["clear_below"] == 0.0 and "needs 20% cleared" in failed["reason"]
    # pairs it gave no probability are left out; without both kinds there is nothing to choose on
    assert clear_guard([np.nan, 0.9, 0.1], [1, 1, 0])["clear_below"] == 0.9
    assert clear_guard([0.9, 0.8], [1, 1]) == {"passed": False, "clear_below": 0.0, "reason": (
        "no valid lookalike and benign pairs to choose the clearing probability on")}


def test_a_lookalike_reranker_reads_the_claim_first_and_keeps_a_sane_share():
    with pytest.raises(SemanticConfigError, match="reads the claim first"):
        RerankerConfig(clears=True)
    with pytest.raises(SemanticConfigError, match="keep_matches"):
        RerankerConfig(symmetric=False, clears=True, keep_matches=0.2)


def test_only_reviews_are_asked_and_only_those_below_the_probability_are_cleared():
    scorer = Scorer({"unlike": 0.1, "restates": 0.8, "flagged": 0.0, "faint": 0.01}, clear_below=0.3)
    decisions = ["review", "review", "flag", "clear", "review", None]
    texts = ["unlike", "restates", "flagged", "faint", "", None]
    decided, probability = clear_reviews(decisions, ["claim"] * 6, texts, scorer)
    assert decided == ["clear", "review", "flag", "clear", "review", None]  # a blank review stays a review
    assert [t for _, t in scorer.asked] == ["unlike", "restates", ""]  # never a flag, a clear or a NULL row
    assert probability[:2].tolist() == [0.1, 0.8] and np.isnan(probability[2:]).all()
    # no reranker, or one whose guard chose nothing: the thresholds' decisions as they were
    assert clear_reviews(decisions, ["claim"] * 6, texts, None)[0] == decisions
    assert clear_reviews(decisions, ["claim"] * 6, texts, Scorer({"unlike": 0.1}, clear_below=0.0))[0] == decisions


def test_the_build_asks_about_every_candidate_of_the_abstain_zone_and_records_what_it_said():
    zone = pa.table({"asset_id": ["a2", "a3"], "reference_id": ["r1", "r2"], "score": [0.5, 0.35]})
    texts = {"a2": "unlike", "a3": "restates"}
    claims = {"r1": "claim one", "r2": "claim two"}
    scorer = Scorer({"unlike": 0.1, "restates": 0.8})
    rows = rerank_review_zone(zone, texts, claims, scorer).to_pylist()
    assert [(r["asset_id"], r["reranker_probability"]) for r in rows] == [("a2", 0.1), ("a3", 0.8)]
    assert scorer.asked == [("claim one", "unlike"), ("claim two", "restates")]
    assert {(r["clear_below"], r["reranker_version"]) for r in rows} == {(0.3, scorer.version)}
    # no reranker, or an empty zone: no rows, the mart's columns still typed
    empty = rerank_review_zone(zone, texts, claims, None)
    assert empty.num_rows == 0 and empty.schema.field("reranker_probability").type == pa.float64()
    assert rerank_review_zone(None, {}, {}, scorer).num_rows == 0 and len(scorer.asked) == 2


def write_lookalikes(folder: Path, n_train: int = 40, n_valid: int = 20) -> Path:
    """An invented claim -> copy folder with a pattern a cross-encoder learns: copy that restates the claim's
    guarantee (label 1) against copy on the same product and benefit that promises nothing (label 0)."""
    folder.mkdir(parents=True)
    products = ["savings account", "face cream", "diet shake", "phone plan", "hair serum", "energy drink", "vitamin",
                "loan", "mattress", "gym pass"]
    benefits = ["double your money", "look ten years younger", "lose a stone", "never pay roaming", "regrow hair",
                "boost your focus", "cure colds", "clear your debt", "end back pain", "get fit"]
    for name, n, offset in (("train", n_train, 0), ("valid", n_valid, n_train)):
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text_a", "text_b", "label"])
            for i in range(offset, offset + n):
                product, benefit = products[i % 10], benefits[(i * 3) % 10]
                claim = f"Our {product} is guaranteed to {benefit}"
                writer.writerow([claim, f"{benefit} with the {product}, guaranteed or your money back", 1])
                writer.writerow([claim, f"some people {benefit} with a {product} and some do not", 0])
    return folder


@pytest.mark.slow
def test_the_cli_trains_a_lookalike_reranker_into_its_registry(semantic_home, capsys):
    from semantic.cli import main
    from semantic.encoding.registry import Registry

    folder = write_lookalikes(semantic_home / "pairs" / "claims")
    code = main(["train", "--cross-encoder", "--lookalike", "--data", str(folder), "--epochs", "3",
                 "--batch-size", "8", "--max-seq-length", "48"])
    out = capsys.readouterr().out
    registry = Registry(semantic_home / "data" / "lookalike_rerankers")
    [version] = registry.versions()
    assert not Registry(semantic_home / "data" / "rerankers").versions()  # not a pair reranker
    guard = version.metrics["guard"]
    assert code == 0 and guard["passed"] and guard["kept_matches"] == 1.0, out
    assert guard["cleared_non_matches"] >= 0.2 and f"lookalike reranker {version.path.name}-" in out
    assert registry.active_name() == version.name and "fct_compliance_lookalikes" in out
    reranker = Reranker(version.path)
    assert reranker.symmetric is False and reranker.clear_below == guard["clear_below"] > 0
    # the valid pairs it was guarded on: every restatement kept, benign copy below the probability cleared
    claims, texts, labels = zip(*[(r["text_a"], r["text_b"], int(r["label"]))
                                  for r in csv.DictReader(open(folder / "valid.csv", encoding="utf-8"))])
    decided, _ = clear_reviews(["review"] * len(texts), claims, texts, reranker)
    assert all(d == "review" for d, y in zip(decided, labels) if y == 1)
    assert sum(d == "clear" for d, y in zip(decided, labels) if y == 0) >= 0.2 * labels.count(0)
    # listed, switched off and on like the other registries
    assert main(["versions", "--lookalike-reranker"]) == 0
    assert "clears below" in capsys.readouterr().out
    assert main(["activate", "--lookalike-reranker", "base"]) == 0 and registry.active_name() == "base"
    assert main(["versions", "--lookalike-reranker", "--brief-reranker"]) != 0
    assert "not several" in capsys.readouterr().err
    assert main(["train", "--lookalike", "--data", str(folder), "--out", str(semantic_home / "x")]) != 0
    assert "--cross-encoder" in capsys.readouterr().err


def test_the_compliance_page_counts_by_rule_the_reviews_the_reranker_cleared():
    import duckdb

    from semantic.web.published import compliance_overview
    from semantic.web.report import compliance_figures

    con = duckdb.connect()
    con.execute("""create table fct_compliance_lookalikes as select * from (values
        ('a1', 'R1', 'high', 'UK', date '2026-01-05', 'flag', null, false),
        ('a2', 'R1', 'high', 'UK', date '2026-01-06', 'review', 0.6, false),
        ('a3', 'R1', 'high', 'UK', date '2026-02-01', 'clear', 0.01, false),
        ('a4', 'R2', 'low', 'US', date '2026-02-02', 'clear', 0.02, false),
        ('a5', 'R2', 'low', 'US', date '2026-02-03', 'clear', null, false),
        ('a6', 'R1', 'high', 'UK', date '2026-02-04', 'clear', 0.01, true)
    ) as t(asset_id, rule_id, severity, market, created_at, decision, reranker_probability, is_waived)""")

    class Db:
        def rows(self, sql, params=()):
            cursor = con.execute(sql, list(params))
            return [dict(zip([d[0] for d in cursor.description], row)) for row in cursor.fetchall()]

    overview = compliance_overview(Db())
    # a review the reranker cleared is counted beside its rule; a plain clear and a waived row are not
    assert overview["by_rule"] == [
        {"rule_id": "R1", "severity": "high", "flags": 1, "reviews": 1, "reranker_cleared": 1},
        {"rule_id": "R2", "severity": "low", "flags": 0, "reviews": 0, "reranker_cleared": 1}]
    assert [(r["market"], r["flags"], r["reviews"]) for r in overview["by_market"]] == [("UK", 1, 1)]
    # the chart of open flags and reviews leaves out a rule with cleared reviews only
    [flags, reviews] = compliance_figures(overview)["by_rule"].data
    assert list(flags.x) == ["R1"] and list(reviews.y) == [1]
