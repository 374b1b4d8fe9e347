"""Collapse guard for tuned encoders: is the embedding space still spread out?

Metrics on a fixed sample of texts: mean cosine of random pairs, effective rank (participation
ratio of the covariance eigenvalues, Gao et al. 2017; Roy & Vetterli 2007), and alignment and
uniformity (Wang & Isola, 2020, "Understanding Contrastive Representation Learning through
Alignment and Uniformity on the Hypersphere"). Pure NumPy: vectors in, numbers out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from semantic.errors import SemanticModelError

#: A collapsed model maps unrelated texts to nearly the same vector. all-MiniLM-L6-v2 scores a
#: random-pair mean cosine of about 0.05-0.35 on marketing and product copy; above this limit
#: unrelated texts are no longer told apart.
MAX_MEAN_RANDOM_COSINE = 0.80
#: The base model's effective rank is 60-160 on such samples (of 384 dimensions); a model that
#: squeezes everything into a handful of directions is collapsed.
MIN_EFFECTIVE_RANK = 8.0


@dataclass(frozen=True)
class CollapseReport:
    """The guard's figures and verdict.

    Attributes:
        mean_random_cosine: Mean cosine similarity of distinct random pairs (higher = collapsed).
        effective_rank: Participation ratio of the covariance eigenvalues (lower = collapsed).
        alignment: Mean squared distance of positive pairs (lower = positives closer), or NaN.
        uniformity: log E exp(-2 ||x - y||^2) over random pairs (lower = more uniform).
        passed: Whether both limits hold.
        reason: What collapsed, when it did.
    """

    mean_random_cosine: float
    effective_rank: float
    alignment: float
    uniformity: float
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, object]:
        """The report as a JSON-ready dict."""
        return asdict(self)


def mean_random_cosine(vectors: np.ndarray) -> float:
    """Mean cosine similarity over all distinct pairs of (unit) vectors."""
    n = len(vectors)
    if n < 2:
        raise ValueError("need at least two vectors")
    total = vectors.sum(axis=0)
    # sum over i != j of v_i . v_j = |sum v|^2 - sum |v_i|^2
    pair_sum = float(total @ total) - float((vectors * vectors).sum())
    return pair_sum / (n * (n - 1))


def effective_rank(vectors: np.ndarray) -> float:
    """Participation ratio (sum l)^2 / sum l^2 of the eigenvalues l of the covariance matrix."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    eig = np.linalg.svd(centred, compute_uv=False) ** 2
    if float(eig.sum()) < 1e-9 * len(vectors):  # no variance left: every vector is the same
        return 0.0
    return float(eig.sum() ** 2 / (eig**2).sum())


def alignment(a: np.ndarray, b: np.ndarray) -> float:
    """Wang & Isola alignment (alpha = 2): mean squared distance between positive pairs."""
    if len(a) == 0:
        return float("nan")
    return float(((a - b) ** 2).sum(axis=1).mean())


def uniformity(vectors: np.ndarray, t: float = 2.0) -> float:
    """Wang & Isola uniformity: log of the mean Gaussian potential over distinct pairs."""
    sq = np.clip(2.0 - 2.0 * (vectors @ vectors.T), 0.0, None)
    iu = np.triu_indices(len(vectors), k=1)
    return float(np.log(np.exp(-t * sq[iu]).mean()))


def check_collapse(
    sample: np.ndarray,
    positives_a: np.ndarray | None = None,
    positives_b: np.ndarray | None = None,
    max_mean_cosine: float = MAX_MEAN_RANDOM_COSINE,
    min_effective_rank: float = MIN_EFFECTIVE_RANK,
) -> CollapseReport:
    """Compute the guard's metrics on a fixed sample and say whether the model collapsed.

    Args:
        sample: Unit vectors of a fixed sample of unrelated texts (a few hundred).
        positives_a: Unit vectors of the first texts of positive pairs (for alignment).
        positives_b: Unit vectors of their partners.
        max_mean_cosine: Limit on the mean random-pair cosine.
        min_effective_rank: Limit on the effective rank.
    """
    mean_cos = mean_random_cosine(sample)
    rank = effective_rank(sample)
    # n vectors span at most n - 1 centred directions: on a small sample, ask for a quarter of that
    min_effective_rank = min(min_effective_rank, (len(sample) - 1) / 4)
    align = alignment(positives_a, positives_b) if positives_a is not None and positives_b is not None else float("nan")
    problems = []
    if mean_cos > max_mean_cosine:
        problems.append(
            f"random pairs have mean cosine {mean_cos:.3f} > {max_mean_cosine} (unrelated texts look alike)"
        )
    if rank < min_effective_rank:
        problems.append(f"effective rank {rank:.1f} < {min_effective_rank} (the space squeezed into few directions)")
    return CollapseReport(
        mean_random_cosine=mean_cos,
        effective_rank=rank,
        alignment=align,
        uniformity=uniformity(sample),
        passed=not problems,
        reason="; ".join(problems),
    )


def raise_if_collapsed(report: CollapseReport, model_dir: str) -> None:
    """Refuse a collapsed model with an error that says what collapsed and what to try.

    Raises:
        SemanticModelError: The report failed.
    """
    if not report.passed:
        raise SemanticModelError(
            f"the model in {model_dir} collapsed: {report.reason}. It is not activated. Try a lower "
            "learning rate (e.g. 2e-5), fewer epochs, more varied negatives (labelled negatives or "
            "mined hard negatives), or check that the training labels are not all positive"
        )
