"""The sentence encoder: a model directory plus the version hash of its files.

Wraps sentence-transformers (Reimers & Gurevych, 2019). A model is always identified by the
SHA-256 of its directory's files, so a tuned model written by the project and the packaged base
model go through the same code path, and vectors of different models are never mixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semantic.errors import SemanticModelError

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger("semantic")

#: Characters kept before tokenising: far above any 512-token window, so only pathological
#: inputs (a 100,000-character paste) are cut here; the tokenizer truncates the rest.
MAX_CHARS = 20_000


@dataclass(frozen=True)
class ModelInfo:
    """What can be known about a model directory without loading torch.

    Attributes:
        path: The model directory.
        version: ``<directory name>-<first 12 hex of the SHA-256 of its files>``.
        dim: The embedding dimension.
    """

    path: Path
    version: str
    dim: int


def _files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@lru_cache(maxsize=16)
def _hash_files(model_dir: Path, stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for rel, _, _ in stamp:
        digest.update(rel.encode())
        with open(model_dir / rel, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def model_info(model_dir: Path | str) -> ModelInfo:
    """Hash a model directory and read its embedding dimension.

    Args:
        model_dir: A sentence-transformers model directory.

    Raises:
        SemanticModelError: The directory is missing or not a sentence-transformers model.
    """
    path = Path(model_dir).resolve()
    if not (path / "modules.json").is_file():
        raise SemanticModelError(
            f"{path} is not a sentence-transformers model directory (no modules.json); "
            "point model_dir / $SEMANTIC_MODEL_DIR at a directory saved by "
            "SentenceTransformer.save() or leave it unset for the packaged all-MiniLM-L6-v2"
        )
    stamp = tuple(
        (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in _files(path)
    )
    name = path.parent.name if path.name == "model" else path.name
    version = f"{name}-{_hash_files(path, stamp)[:12]}"
    return ModelInfo(path=path, version=version, dim=_read_dim(path))


def _read_dim(path: Path) -> int:
    for name in sorted(path.glob("*_Pooling/config.json")):
        cfg = json.loads(name.read_text())
        if "word_embedding_dimension" in cfg:
            return int(cfg["word_embedding_dimension"])
    cfg_path = path / "config.json"
    if cfg_path.is_file():
        cfg = json.loads(cfg_path.read_text())
        if "hidden_size" in cfg:
            return int(cfg["hidden_size"])
    raise SemanticModelError(
        f"cannot tell the embedding dimension of {path}: no Pooling config.json with "
        "word_embedding_dimension and no config.json with hidden_size; re-save the model with "
        "SentenceTransformer.save()"
    )


class Encoder:
    """Turns texts into L2-normalised float32 vectors with a versioned model.

    Args:
        model_dir: A sentence-transformers model directory.
        batch_size: Texts per forward pass.
    """

    def __init__(self, model_dir: Path | str, batch_size: int = 64) -> None:
        self.info = model_info(model_dir)
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """The model version every vector made by this encoder carries."""
        return self.info.version

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return self.info.dim

    @property
    def model(self) -> SentenceTransformer:
        """The loaded sentence-transformers model (loaded on first use, offline)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    import transformers
                    from sentence_transformers import SentenceTransformer

                    transformers.logging.set_verbosity_error()
                    transformers.utils.logging.disable_progress_bar()

                    try:
                        self._model = SentenceTransformer(
                            str(self.info.path), device="cpu", local_files_only=True
                        )
                    except Exception as e:
                        raise SemanticModelError(
                            f"could not load the encoder from {self.info.path}: {e}; check that the "
                            "directory holds a complete sentence-transformers model"
                        ) from e
        return self._model

    @property
    def max_tokens(self) -> int:
        """The model's token window; longer texts are truncated to it."""
        return int(self.model.max_seq_length or 512)

    def encode(
        self,
        texts: Sequence[str | None],
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts; a None, empty or whitespace-only text gets a row of NaN.

        Args:
            texts: The texts, in order.
            progress: Called with (texts done, texts total) after each chunk.

        Returns:
            A float32 array of shape (len(texts), dim), each valid row of unit length.
        """
        out = np.full((len(texts), self.dim), np.nan, dtype=np.float32)
        keep = [i for i, t in enumerate(texts) if t is not None and t.strip()]
        if not keep:
            return out
        clean = [_clean(texts[i]) for i in keep]  # type: ignore[arg-type]
        n_truncated = self._count_truncated(clean)
        if n_truncated:
            # one-text calls (a query, a per-row scorer) would repeat this line for every row
            (logger.info if len(clean) > 1 else logger.debug)(
                "truncated %d of %d texts to the encoder's %d-token limit",
                n_truncated,
                len(clean),
                self.max_tokens,
            )
        chunk = max(self.batch_size * 16, 256)
        for start in range(0, len(clean), chunk):
            part = clean[start : start + chunk]
            vectors = self.model.encode(
                part,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[keep[start : start + len(part)]] = vectors.astype(np.float32, copy=False)
            if progress is not None:
                progress(start + len(part), len(clean))
        return out

    def _count_truncated(self, texts: list[str]) -> int:
        tokenizer: Any = self.model.tokenizer
        limit = self.max_tokens
        n = 0
        for start in range(0, len(texts), 1024):
            part = texts[start : start + 1024]
            lengths = tokenizer(part, add_special_tokens=True, truncation=False)["input_ids"]
            n += sum(1 for t, ids in zip(part, lengths) if len(ids) > limit or len(t) >= MAX_CHARS)
        return n


def _refuse_collapsed(path: Path) -> None:
    metrics = path / "semantic_metrics.json"
    if not metrics.is_file():
        return
    guard = json.loads(metrics.read_text()).get("guard") or {}
    if guard.get("passed") is False:
        raise SemanticModelError(
            f"the model in {path} failed the collapse guard ({guard.get('reason')}) and cannot be used "
            "to embed; retrain it (see `semantic train --help`) or point model_dir at another version"
        )


def _clean(text: str) -> str:
    """Cap pathological lengths and drop unpaired surrogates that the tokenizer rejects."""
    text = text[:MAX_CHARS]
    return text.encode("utf-8", "replace").decode("utf-8")


_ENCODERS: dict[tuple[str, int], Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def load_encoder(model_dir: Path | str, batch_size: int = 64, allow_collapsed: bool = False) -> Encoder:
    """Return the process-wide encoder for a model directory (one load per process).

    The cache key includes the directory's version, so rewriting a model directory in place
    yields a new encoder rather than a stale one.

    Args:
        model_dir: A sentence-transformers model directory.
        batch_size: Texts per forward pass.
        allow_collapsed: Load a model whose collapse guard failed (only to evaluate it).

    Raises:
        SemanticModelError: The directory is not a model, or its collapse guard failed.
    """
    info = model_info(model_dir)
    if not allow_collapsed:
        _refuse_collapsed(info.path)
    key = (info.version, batch_size)
    with _ENCODERS_LOCK:
        enc = _ENCODERS.get(key)
        if enc is None:
            enc = Encoder(info.path, batch_size=batch_size)
            _ENCODERS[key] = enc
        return enc
