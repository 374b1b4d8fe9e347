"""Shared fixtures: a deterministic fake encoder for fast tests, the real one for slow tests."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path


# `make test` runs the suite on two xdist workers, a module at a time each (--dist loadscope: a module's fixtures,
# such as test_dbt_build's built project, are built once). Each worker is pinned to its own core, and the dbt and
# encoder processes it starts inherit that: the encoder sizes its threads from the affinity, so two workers never
# run four compute threads on two cores. Modules start longest first (MODULE_SECONDS: what each took in a two-worker
# run, from `PYTEST_ADDOPTS=--junitxml=FILE make test`, by hand; a module not listed counts as 0), so both workers
# finish near together.
def _pin_xdist_worker() -> None:
    """Inside xdist worker gwN of W, keep to the Nth W-th share of the cores (before NumPy starts its threads)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if workers <= len(cores):
        share = len(cores) // workers
        index = int(worker[2:])
        os.sched_setaffinity(0, cores[index * share : (index + 1) * share])


_pin_xdist_worker()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
# one encoder cache (OpenVINO export, quality-gate results) for every test project, dbt subprocesses included
os.environ.setdefault("SEMANTIC_ENCODER_CACHE", str(ROOT / "data" / "encoder_cache"))


MODULE_SECONDS: dict[str, float] = {  # a clean clone's `make test` on 2 cores, 72619e4 (pytest 1,424 s)
    "test_dbt_build.py": 1023, "test_distributed.py": 399, "test_faults.py": 300, "test_erasure.py": 256,
    "test_contract.py": 150, "test_publishing.py": 141, "test_web.py": 124, "test_fingerprinted_table.py": 86,
    "test_locking.py": 58, "test_fuzz.py": 49,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -MODULE_SECONDS.get(Path(str(item.path)).name, 0.0))  # stable: in-module order kept


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


@pytest.fixture
def semantic_home(tmp_path, monkeypatch) -> Path:
    """``tmp_path`` as the project home of the CLI and of ``semantic.config.active()``: its registries live under
    ``tmp_path / "data"``, and no model, reranker or registry folder comes from the environment."""
    import semantic.config

    monkeypatch.setenv("SEMANTIC_HOME", str(tmp_path))
    for var in ("SEMANTIC_MODELS_DIR", "SEMANTIC_RERANKER_DIR", "SEMANTIC_MODEL_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(semantic.config, "_ACTIVE", None)
    return tmp_path


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
