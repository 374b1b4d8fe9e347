"""Shared fixtures: a deterministic fake encoder for fast tests, the real one for slow tests."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
# one encoder cache (OpenVINO export, quality-gate results) for every test project, dbt subprocesses included
os.environ.setdefault("SEMANTIC_ENCODER_CACHE", str(ROOT / "data" / "encoder_cache"))


class FakeEncoder:
    """Bag-of-words hashed into a fixed random projection: deterministic, fast, no torch.

    Texts sharing words get similar vectors, so search and dedup behave sensibly in tests.
    Set ``fail_after`` to make ``encode`` raise once that many texts were embedded.
    """

    def __init__(self, version: str = "fake-v1", dim: int = 32, fail_after: int | None = None) -> None:
        self.version = version
        self.dim = dim
        self.fail_after = fail_after
        self.calls: list[int] = []

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(f"{self.version}:{word}".encode()).digest()[:8], "little")
        return np.random.default_rng(seed).normal(size=self.dim)

    def encode(
        self, texts: Sequence[str | None], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        self.calls.append(len(texts))
        if self.fail_after is not None and sum(self.calls) > self.fail_after:
            raise RuntimeError("simulated encoder failure (out of memory)")
        out = np.full((len(texts), self.dim), np.nan, dtype=np.float32)
        for i, text in enumerate(texts):
            words = re.findall(r"\w+", (text or "").lower())
            if not words:
                continue
            v = np.sum([self._word(w) for w in words], axis=0)
            out[i] = v / np.linalg.norm(v)
        if progress:
            progress(len(texts), len(texts))
        return out


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def real_encoder():
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    from semantic.config import default_model_dir
    from semantic.encoding.encoder import load_encoder

    return load_encoder(default_model_dir())


@pytest.fixture(scope="session")
def eval_data() -> Path:
    """The shared evaluation data folder, or a skip when it is absent."""
    path = Path(os.environ.get("SEMANTIC_EVAL_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"evaluation data not found at {path}; set SEMANTIC_EVAL_DATA to its folder")
    return path
