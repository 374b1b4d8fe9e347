import json
import logging
import shutil

import numpy as np
import pytest

from semantic.encoder import model_info
from semantic.errors import SemanticModelError


def make_model_dir(path, dim=8):
    path.mkdir(parents=True)
    (path / "modules.json").write_text("[]")
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": dim}))
    (path / "weights.bin").write_bytes(b"\x00" * 64)
    return path


def test_model_version_is_a_hash_of_the_directory_files(tmp_path):
    a = make_model_dir(tmp_path / "tuned")
    b = tmp_path / "copy" / "tuned"
    shutil.copytree(a, b)
    assert model_info(a).version == model_info(b).version
    assert model_info(a).version.startswith("tuned-")
    assert model_info(a).dim == 8
    (b / "weights.bin").write_bytes(b"\x01" * 64)
    assert model_info(a).version != model_info(b).version


def test_a_directory_that_is_not_a_model_is_refused_with_the_fix(tmp_path):
    with pytest.raises(SemanticModelError, match="modules.json"):
        model_info(tmp_path)


@pytest.mark.slow
def test_real_encoder_gives_unit_vectors_and_nan_rows_for_blank_text(real_encoder):
    vectors = real_encoder.encode(["Stay warm on the ridge", None, "   ", "😀 漢字 Café — mixed scripts"])
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 3]], axis=1), 1.0, atol=1e-5)
    assert np.isnan(vectors[1]).all() and np.isnan(vectors[2]).all()


@pytest.mark.slow
def test_long_text_is_truncated_with_a_count_in_the_log(real_encoder, caplog):
    long_text = "free shipping on every order " * 20_000  # 580,000 characters
    with caplog.at_level(logging.INFO, logger="semantic"):
        vectors = real_encoder.encode([long_text, "short"])
    assert np.isfinite(vectors).all()
    assert "truncated 1 of 2 texts" in caplog.text


@pytest.mark.slow
def test_paraphrases_score_above_unrelated_text(real_encoder):
    a, b, c = real_encoder.encode(
        ["cheap flights to Paris", "low-cost airfare to France", "organic dog food for puppies"]
    )
    assert float(a @ b) > float(a @ c) + 0.2
