import numpy as np
import pytest

from semantic.encoding.collapse import (
    alignment,
    check_collapse,
    effective_rank,
    mean_random_cosine,
    raise_if_collapsed,
    uniformity,
)
from semantic.errors import SemanticModelError


def test_orthonormal_vectors_have_zero_mean_cosine_and_full_effective_rank():
    basis = np.eye(6)
    assert mean_random_cosine(basis) == pytest.approx(0.0)
    # centring six orthonormal vectors leaves five equal variance directions
    assert effective_rank(basis) == pytest.approx(5.0)


def test_identical_vectors_are_collapsed():
    same = np.tile(np.array([[0.6, 0.8]]), (10, 1))
    report = check_collapse(same)
    assert report.mean_random_cosine == pytest.approx(1.0)
    assert report.effective_rank == 0.0
    assert not report.passed and "mean cosine" in report.reason and "effective rank" in report.reason
    with pytest.raises(SemanticModelError, match="learning rate"):
        raise_if_collapsed(report, "models/x")


def test_vectors_at_known_angles():
    angles = np.deg2rad([0, 60, 120])
    v = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert mean_random_cosine(v) == pytest.approx((0.5 - 0.5 + 0.5) / 3)  # pairs at 60, 120 and 60 degrees
    assert alignment(v[:1], v[1:2]) == pytest.approx(1.0)  # |a - b|^2 = 2 - 2 cos 60
    spread = uniformity(np.eye(3))
    clumped = uniformity(np.array([[1, 0, 0], [0.99, 0.141, 0], [0.99, 0, 0.141]]))
    assert spread < clumped


def test_a_healthy_random_sample_passes():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(300, 64))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert check_collapse(v).passed
