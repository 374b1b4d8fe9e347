"""The sentence encoder: a model directory plus the version hash of its files.

Wraps sentence-transformers (Reimers & Gurevych, 2019). A model is always identified by the
SHA-256 of its directory's files, so a tuned model written by the project and the packaged base
model go through the same code path, and vectors of different models are never mixed.

Every call sorts its texts by token length, embeds them in batches with the backend chosen for
the model version (:mod:`semantic.encoding.backends`: OpenVINO bf16 or torch bf16 on a CPU with bf16
instructions once they pass :mod:`semantic.encoding.quality_gate`, torch fp32 otherwise) and restores the
input order. ``$SEMANTIC_ENCODER_BACKEND`` (auto, fp32, bf16, openvino) forces a backend.

A model directory is data, never code: it is loaded only when its weights are safetensors (no
file anywhere in it that loads with pickle, :func:`check_weights`), and a model the project saved
carries a record of its files (``semantic_manifest.json``, :func:`write_manifest`) that every load
compares with the files on disk (:func:`verify_files`), so a registered version whose files changed
since it was saved is refused.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semantic.config import BACKEND_CHOICES, ENV_BACKEND
from semantic.encoding.integrity import check_weights, directory_hash, verify_files
from semantic.encoding.tokenizer import MAX_CHARS, Tokenizer
from semantic.errors import SemanticConfigError, SemanticModelError

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

    from semantic.encoding.backends import Backend, BackendContext
    from semantic.encoding.quality_gate import GateResult

logger = logging.getLogger("semantic")



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


def model_version(model_dir: Path | str) -> str:
    """A model directory's version, ``<directory name>-<first 12 hex of directory_hash>``, without checking it.

    For listings (``semantic versions``, ``dim_encoder_versions``); loading goes through :func:`model_info`.
    """
    path = Path(model_dir).resolve()
    name = path.parent.name if path.name == "model" else path.name
    return f"{name}-{directory_hash(path)[:12]}"


def model_info(model_dir: Path | str) -> ModelInfo:
    """Check a model directory, hash it and read its embedding dimension.

    The check: safetensors weights only (:func:`check_weights`) and, for a model the project saved,
    files unchanged since then (:func:`verify_files`).

    Args:
        model_dir: A sentence-transformers model directory.

    Raises:
        SemanticModelError: The directory is missing or not a sentence-transformers model, holds
            pickle-based or no safetensors weights, or its files changed since it was saved.
    """
    path = Path(model_dir).resolve()
    if not (path / "modules.json").is_file():
        raise SemanticModelError(
            f"{path} is not a sentence-transformers model directory (no modules.json); "
            "point model_dir / $SEMANTIC_MODEL_DIR at a directory saved by "
            "SentenceTransformer.save() or leave it unset for the packaged all-MiniLM-L6-v2"
        )
    check_weights(path)
    verify_files(path)
    return ModelInfo(path=path, version=model_version(path), dim=_read_dim(path))


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


ENV_CACHE = "SEMANTIC_ENCODER_CACHE"

#: A call with fewer texts never pays a first export and quality gate (it runs fp32 instead).
FAST_PATH_MIN_TEXTS = 64
#: Model versions whose exports and gate results the cache keeps (most recently used first).
CACHE_KEEP_VERSIONS = 4


def encoder_cache_root() -> Path:
    """Where exports and gate results live: ``$SEMANTIC_ENCODER_CACHE``, else ``<data>/encoder_cache``.

    ``<data>`` is the folder holding the active config's model registry (``data/models``), so
    ``$SEMANTIC_HOME`` or ``$SEMANTIC_MODELS_DIR`` move the cache with the rest of the project's data.
    """
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser().resolve()
    from semantic.config import active

    return active().models_dir.parent / "encoder_cache"


def requested_backend() -> tuple[str, str]:
    """The backend asked for and who asked (for the log): ``$SEMANTIC_ENCODER_BACKEND`` when set (a
    one-off override), else the active config's ``encoder_backend`` (the profile's plugin block).

    Raises:
        SemanticConfigError: The value is not one of auto, fp32, bf16, openvino.
    """
    from semantic.config import active

    value = os.environ.get(ENV_BACKEND, "").strip().lower()
    if not value:
        backend = active().encoder_backend
        return backend, f"encoder_backend: {backend} in the profile"
    if value not in BACKEND_CHOICES:
        raise SemanticConfigError(
            f"{ENV_BACKEND}={value!r} is not a backend; accepted values are {', '.join(BACKEND_CHOICES)} "
            "(auto picks openvino, then bf16, on a CPU with bf16 instructions and fp32 elsewhere)"
        )
    return value, f"{ENV_BACKEND}={value}"


class Encoder:
    """Turns texts into L2-normalised float32 vectors with a versioned model.

    Texts are sorted by token length over the whole call, batched, embedded by the fastest backend
    that passed the quality gate for this model version (:mod:`semantic.encoding.quality_gate`), and put
    back in input order. The backend is chosen on the first call that has text to embed, so a call
    with nothing to embed loads neither torch nor OpenVINO.

    Args:
        model_dir: A sentence-transformers model directory.
        batch_size: Texts per forward pass.
        backend: ``auto``, ``fp32``, ``bf16`` or ``openvino``; None reads ``$SEMANTIC_ENCODER_BACKEND``
            (default ``auto``). A named backend still has to pass the gate, else fp32 is used.
        cache_dir: The encoder cache (exports, gate results); None means :func:`encoder_cache_root`.
    """

    def __init__(
        self,
        model_dir: Path | str,
        batch_size: int = 64,
        backend: str | None = None,
        cache_dir: Path | str | None = None,
    ) -> None:
        self.info = model_info(model_dir)
        self.batch_size = batch_size
        self._requested = backend
        self._cache_root = Path(cache_dir) if cache_dir is not None else None
        self._backend: Backend | None = None
        self._interim: Backend | None = None
        self._ctx: BackendContext | None = None
        self._tokenizer: Tokenizer | None = None
        self.gate: GateResult | None = None
        self._lock = threading.RLock()

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
        """The fp32 sentence-transformers model (loaded on first use, offline; shared in the process)."""
        from semantic.encoding.backends import load_sentence_transformer

        self._context()  # the directory checked again before the first weights load
        return load_sentence_transformer(self.info.path, "fp32")

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer (loaded on first use; does not import torch)."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = Tokenizer(self.info.path)
        return self._tokenizer

    @property
    def max_tokens(self) -> int:
        """The model's token window; longer texts are truncated to it."""
        return self.tokenizer.max_length

    @property
    def backend(self) -> Backend:
        """The backend that embeds (chosen, exported and gated if need be, and loaded on first use)."""
        return self._backend_for(None)

    def _backend_for(self, n_texts: int | None) -> Backend:
        """The committed backend; a call of fewer than ``FAST_PATH_MIN_TEXTS`` texts does not pay
        a first export and gate: it uses fp32 until a larger call (or a cached gate) settles it."""
        if self._backend is not None:
            return self._backend
        with self._lock:
            if self._backend is None:
                build = n_texts is None or n_texts >= FAST_PATH_MIN_TEXTS
                chosen = self._select(build)
                if chosen is None:
                    if self._interim is None:
                        from semantic.encoding.backends import BACKENDS

                        self._interim = BACKENDS["fp32"](self._context())
                        logger.debug("encoder %s: fp32 for calls under %d texts until the fast backend is "
                                     "exported and gated", self.version, FAST_PATH_MIN_TEXTS)
                    return self._interim
                self._backend, self._interim = chosen, None
        return self._backend

    @property
    def backend_name(self) -> str:
        """The name of the backend in use (``fp32``, ``bf16`` or ``openvino``); loads it if needed."""
        return self.backend.name

    def encode(
        self,
        texts: Sequence[str | None],
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts; a None, empty or whitespace-only text gets a row of NaN.

        Args:
            texts: The texts, in order.
            progress: Called with (texts done, texts total) after each chunk of batches.

        Returns:
            A float32 array of shape (len(texts), dim), each valid row of unit length.
        """
        out = np.full((len(texts), self.dim), np.nan, dtype=np.float32)
        keep = [i for i, t in enumerate(texts) if t is not None and t.strip()]
        if not keep:
            return out
        clean = [_clean(texts[i]) for i in keep]  # type: ignore[arg-type]
        ids, types, n_truncated = self.tokenizer.encode(clean)
        if n_truncated:
            # one-text calls (a query, a per-row scorer) would repeat this line for every row
            (logger.info if len(clean) > 1 else logger.debug)(
                "truncated %d of %d texts to the encoder's %d-token limit",
                n_truncated,
                len(clean),
                self.max_tokens,
            )
        self._embed_tokens(self._backend_for(len(clean)), ids, types, progress, out=out, rows=np.asarray(keep))
        return out

    def _embed_tokens(
        self,
        backend: Backend,
        ids: Sequence[np.ndarray],
        types: Sequence[np.ndarray],
        progress: Callable[[int, int], None] | None = None,
        out: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """Embed tokenised texts longest first in batches of similar length; rows in input order.

        Each batch is normalised and written straight into ``out`` (text ``i`` into row
        ``rows[i]``), so the call holds one vector array, not several copies of it. Each batch is padded while
        the backend runs the ones before it (OpenVINO's streams never wait for each other at a chunk's end).
        """
        from semantic.encoding.backends import embed_each

        order = np.argsort([-len(row) for row in ids], kind="stable")
        vectors = out if out is not None else np.empty((len(ids), self.dim), dtype=np.float32)
        target = rows if rows is not None else np.arange(len(ids))
        size = self._batch_size(backend)
        chunk = max(self.batch_size * 16, 256)  # texts between progress reports
        groups = [order[s : s + size] for s in range(0, len(order), size)]
        lock, done = threading.Lock(), [0]

        def write(i: int, result: np.ndarray) -> None:  # on the backend's threads where it has them
            norms = np.linalg.norm(result, axis=1, keepdims=True)
            vectors[target[groups[i]]] = result / np.where(norms > 0, norms, 1.0)
            with lock:
                done[0] += len(groups[i])

        def padded() -> Iterator[dict[str, np.ndarray]]:
            reported = 0
            for group in groups:
                yield self.tokenizer.pad([ids[i] for i in group], [types[i] for i in group])
                if progress is not None and done[0] >= reported + chunk:
                    reported = done[0]
                    progress(reported, len(order))

        embed_each(backend, padded(), write)
        if progress is not None:
            progress(len(order), len(order))
        return vectors

    def _batch_size(self, backend: Backend) -> int:
        """Texts per forward pass: the configured size, or less where the backend prefers it."""
        preferred = getattr(backend, "batch_size", None)
        return min(self.batch_size, int(preferred)) if preferred else self.batch_size

    def _embed_texts(self, backend: Backend, texts: Sequence[str]) -> np.ndarray:
        ids, types, _ = self.tokenizer.encode(list(texts))
        return self._embed_tokens(backend, ids, types)

    def _context(self) -> BackendContext:
        """Where this version's cache lives and what the machine offers (resolved once per encoder, before the
        first backend loads weights: the directory is checked again then, as :func:`model_info` does)."""
        if self._ctx is None:
            from semantic.encoding.backends import BackendContext, available_cores, cpu_bf16_flags

            check_weights(self.info.path)
            verify_files(self.info.path)

            root = self._cache_root or encoder_cache_root()
            self._ctx = BackendContext(
                model_dir=self.info.path,
                cache_dir=root / self.version,
                threads=available_cores(),
                cpu_bf16=bool(cpu_bf16_flags()),
            )
        return self._ctx

    def _select(self, build: bool = True) -> Backend | None:
        """Pick the backend: the requested one, or the fastest gated bf16 one on a bf16 CPU, else fp32.

        Args:
            build: Export and gate a candidate that has no cached gate result yet; when False
                such a candidate makes this return None (decide later) instead.
        """
        from semantic.encoding.backends import (
            BACKENDS,
            BF16_FLAGS,
            TorchBackend,
            cpu_bf16_flags,
            release_sentence_transformers,
        )

        requested, source = (self._requested, "requested") if self._requested else requested_backend()
        requested = requested.lower()
        if requested not in BACKEND_CHOICES:
            raise SemanticConfigError(
                f"encoder backend {requested!r} is unknown; accepted values are {', '.join(BACKEND_CHOICES)}"
            )
        context = self._context()
        flags = cpu_bf16_flags() if context.cpu_bf16 else ()
        if requested == "fp32":
            candidates: list[str] = []
            why = f"forced by {source}" if self._requested is None else "requested"
        elif requested != "auto":
            candidates = [requested]
            why = ""
        elif flags:
            candidates = ["openvino", "bf16"]
            why = ""
        else:
            candidates = []
            why = f"the CPU has no bf16 matrix instructions ({' or '.join(BF16_FLAGS)})"
        reference: list[np.ndarray] = []  # fp32 sample vectors, computed at most once
        for name in candidates:
            if not build and not (context.cache_dir / f"gate-{name}.json").is_file():
                return None  # a small call: leave the export and the gate to a larger one
            if name == candidates[0]:
                _mark_used_and_prune(context.cache_dir)
            try:
                candidate = BACKENDS[name](context)
            except Exception as e:  # a missing package, a failed export: fp32 still works
                logger.warning("encoder %s: the %s backend could not start (%s); trying the next one", self.version,
                               name, e)
                why = f"{name} could not start"
                continue
            result = self._gate_result(name, candidate, context, flags, reference)
            if result.passed:
                self.gate = result
                if not isinstance(candidate, TorchBackend):
                    release_sentence_transformers(self.info.path)  # the gate's fp32 copy is not needed now
                logger.info("encoder %s: using the %s backend on %d threads (quality gate passed: %s)",
                            self.version, name, context.threads, result.reason)
                return candidate
            logger.warning("encoder %s: the %s backend failed the quality gate (%s); falling back",
                           self.version, name, result.reason)
            why = f"{name} failed the quality gate"
        backend = BACKENDS["fp32"](context)
        logger.info("encoder %s: using the fp32 backend on %d threads (%s)", self.version, context.threads,
                    why or "no faster backend passed")
        return backend

    def _gate_result(
        self, name: str, candidate: Backend, context: BackendContext, flags: tuple[str, ...],
        reference: list[np.ndarray],
    ) -> GateResult:
        """The cached gate result for (model version, backend), or a fresh one written to the cache."""
        from semantic.encoding import quality_gate
        from semantic.encoding.backends import package_version

        sample = quality_gate.gate_sample(quality_gate.SAMPLE_ASSETS)
        signature = {
            "model_version": self.version,
            "sample": sample.digest,
            "cpu_bf16": list(flags),
            "batch_size": self._batch_size(candidate),
            **{pkg: package_version(pkg) for pkg in ("openvino", "torch", "sentence-transformers")},
        }
        path = context.cache_dir / f"gate-{name}.json"
        try:
            cached = quality_gate.GateResult.from_json(path.read_text())
            if dict(cached.signature) == signature:
                return cached
        except (OSError, ValueError, KeyError, TypeError):
            pass
        start = time.perf_counter()
        if not reference:
            reference.append(self._gate_reference(context, sample.texts, sample.digest))
        fast = self._embed_texts(candidate, sample.texts)
        result = quality_gate.evaluate(name, fast, reference[0], sample, signature)
        logger.info("encoder %s: ran the quality gate for %s on %d texts in %.1f s", self.version, name,
                    len(sample.texts), time.perf_counter() - start)
        _write_atomically(path, result.to_json().encode())
        return result

    def _gate_reference(self, context: BackendContext, texts: Sequence[str], digest: str) -> np.ndarray:
        """fp32 vectors of the gate sample, cached beside the gate results (the gate's main cost)."""
        from semantic.encoding.backends import BACKENDS

        path = context.cache_dir / f"gate-sample-fp32-{digest[:16]}.npy"
        try:
            vectors = np.load(path)
            if vectors.shape == (len(texts), self.dim):
                return np.asarray(vectors, dtype=np.float32)
        except (OSError, ValueError):
            pass
        vectors = self._embed_texts(BACKENDS["fp32"](context), texts)
        buffer = io.BytesIO()
        np.save(buffer, vectors)
        _write_atomically(path, buffer.getvalue())
        return vectors


def _mark_used_and_prune(folder: Path, keep: int = CACHE_KEEP_VERSIONS) -> None:
    """Note that a model version's cache folder is in use, and drop all but the ``keep`` most recently used.

    A folder is renamed away before it is deleted, so no process sees half of it; one that was
    about to read it falls back to fp32 for that process (logged), nothing worse.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "last_used").touch()
        versions = [p for p in folder.parent.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError as e:
        logger.debug("could not mark or list the encoder cache %s (%s)", folder.parent, e)
        return

    def last_used(path: Path) -> float:
        try:
            return (path / "last_used").stat().st_mtime
        except OSError:
            return path.stat().st_mtime if path.exists() else 0.0

    for stale in sorted(versions, key=last_used, reverse=True)[keep:]:
        if stale == folder:
            continue
        trash = folder.parent / f".deleting-{stale.name}-{os.getpid()}"
        try:
            os.rename(stale, trash)
        except OSError:
            continue  # another process is pruning it
        shutil.rmtree(trash, ignore_errors=True)
        logger.info("removed the encoder cache of %s (keeping the %d most recently used versions)", stale.name, keep)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a cache file through a temporary name, so a concurrent reader never sees half of it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        logger.warning("could not write the encoder cache file %s (%s); it will be recomputed next time", path, e)


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
        SemanticModelError: The directory is not a model, holds pickle-based or no safetensors
            weights, its files changed since it was saved, or its collapse guard failed.
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
