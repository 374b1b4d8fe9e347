"""Encoder backends: fp32 and bf16 torch, and OpenVINO (bf16 where the CPU has it) from an export.

The torch backends run the model's own sentence-transformers module pipeline (Reimers & Gurevych,
2019), so pooling and normalisation follow ``modules.json``. The OpenVINO backend runs that same
pipeline converted once per model version with ``openvino.convert_model`` (a TorchScript trace of
the sentence-transformers modules, which needs no ``onnx`` package) and saved as OpenVINO IR under
the encoder cache, never in the model directory (whose files are the model version). Every backend
takes padded token arrays and returns one float32 row per text; the encoder sorts and batches.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from semantic.errors import SemanticModelError

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger("semantic")

#: Backend names, fastest first; ``auto`` tries the bf16 ones in this order on a bf16 CPU.
BACKEND_NAMES = ("openvino", "bf16", "fp32")
#: The CPU flags (``/proc/cpuinfo``) that mean native bf16 matrix instructions.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
#: Token arrays a backend may be fed; each backend takes the ones its model declares.
FEATURE_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class Backend(Protocol):
    """Embeds one padded batch of token ids; rows need not be normalised (the encoder does it)."""

    name: str

    def embed(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """Return a float32 array of shape (batch, dim) for int64 arrays of shape (batch, tokens)."""
        ...


@dataclass(frozen=True)
class BackendContext:
    """What a backend factory needs to load a model version.

    Attributes:
        model_dir: The sentence-transformers model directory.
        cache_dir: This model version's folder in the encoder cache (exports live here).
        threads: Threads for the backend's math library.
        cpu_bf16: Whether the CPU has native bf16 matrix instructions.
    """

    model_dir: Path
    cache_dir: Path
    threads: int
    cpu_bf16: bool


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, ...]:
    """Return which of the bf16 CPU flags this machine has (empty off Linux or without them)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return ()
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
            break
    return tuple(f for f in BF16_FLAGS if f in flags)


def available_cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota if any."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def package_version(name: str) -> str | None:
    """The installed version of a distribution, without importing it (None when absent)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


_ST_MODELS: dict[tuple[str, str], SentenceTransformer] = {}
_ST_LOCK = threading.Lock()


def load_sentence_transformer(model_dir: Path, dtype: str = "fp32") -> SentenceTransformer:
    """Load a sentence-transformers model offline on CPU, once per process, directory and dtype.

    Args:
        model_dir: The model directory.
        dtype: ``fp32`` or ``bf16`` (weights cast to bfloat16).

    Raises:
        SemanticModelError: The directory does not hold a loadable model.
    """
    key = (str(model_dir), dtype)
    with _ST_LOCK:
        model = _ST_MODELS.get(key)
        if model is not None:
            return model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        try:
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True,
                                        model_kwargs={"use_safetensors": True})  # never torch.load a pickle
        except Exception as e:
            raise SemanticModelError(
                f"could not load the encoder from {model_dir}: {e}; check that the "
                "directory holds a complete sentence-transformers model"
            ) from e
        model.eval()
        if dtype == "bf16":
            model.to(torch.bfloat16)
        _ST_MODELS[key] = model
        return model


def release_sentence_transformers(model_dir: Path) -> None:
    """Drop this process's cached torch copies of a model (after a gate, when another backend won)."""
    with _ST_LOCK:
        for key in [k for k in _ST_MODELS if k[0] == str(model_dir)]:
            del _ST_MODELS[key]


class TorchBackend:
    """The sentence-transformers modules in torch, with fp32 or bf16 weights.

    Args:
        context: The model directory and thread count.
        dtype: ``fp32`` or ``bf16``.
    """

    def __init__(self, context: BackendContext, dtype: str = "fp32") -> None:
        import torch

        torch.set_num_threads(context.threads)
        self.name = dtype
        self.model = load_sentence_transformer(context.model_dir, dtype)

    def embed(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch through the modules; see :class:`Backend`."""
        import torch

        with torch.inference_mode():
            out = self.model({k: torch.from_numpy(v) for k, v in features.items()})["sentence_embedding"]
        return out.float().numpy()


def _export_manifest(path: Path) -> dict[str, Any] | None:
    manifest = path / "manifest.json"
    if not (manifest.is_file() and (path / "model.xml").is_file() and (path / "model.bin").is_file()):
        return None
    return dict(json.loads(manifest.read_text()))


def export_openvino(context: BackendContext) -> Path:
    """Convert the model's module pipeline to OpenVINO IR once per model version; return the folder.

    The export is written to a temporary folder beside the target and renamed into place, so
    concurrent processes never see half an export; the one that loses the race discards its copy.

    Args:
        context: The model directory and this model version's cache folder.

    Returns:
        ``<cache_dir>/openvino`` holding ``model.xml``, ``model.bin`` and ``manifest.json``.
    """
    target = context.cache_dir / "openvino"
    if _export_manifest(target) is not None:
        return target
    import torch

    ov = import_openvino()
    start = time.perf_counter()
    model = load_sentence_transformer(context.model_dir, "fp32")

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
        ) -> torch.Tensor:
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                features["token_type_ids"] = token_type_ids
            return self.model(features)["sentence_embedding"]

    # two texts of different lengths, so neither batch nor sequence length is traced as a constant
    example = model.preprocess(["a short one", "and a somewhat longer second example text"])
    inputs = {k: example[k] for k in FEATURE_NAMES if k in example}
    context.cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = context.cache_dir / f".openvino-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # TracerWarnings on shape checks that hold for every input
            converted = ov.convert_model(Pipeline().eval(), example_input=inputs)
        tmp.mkdir()
        ov.save_model(converted, str(tmp / "model.xml"), compress_to_fp16=False)
        manifest = {
            "inputs": [i.get_any_name() for i in converted.inputs],
            "source": str(context.model_dir),
            "openvino": ov.__version__,
            "torch": torch.__version__,
            "sentence_transformers": package_version("sentence-transformers"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            os.rename(tmp, target)
        except OSError:
            if _export_manifest(target) is None:
                raise
            logger.debug("another process exported %s first; using its copy", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("exported the encoder to OpenVINO IR in %.1f s: %s", time.perf_counter() - start, target)
    return target


def import_openvino() -> Any:
    """Import OpenVINO with its usage telemetry off.

    OpenVINO's telemetry is opt-out: ``import openvino`` alone reports to Google Analytics when a
    network is there and keeps counters in ``~/intel``. Hiding the ``openvino_telemetry`` package
    during the import makes OpenVINO fall back to its own no-op stub; the package is visible again
    afterwards.
    """
    if "openvino" not in sys.modules and "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # import raises ImportError
        try:
            import openvino
        finally:
            del sys.modules["openvino_telemetry"]
        return openvino
    import openvino

    return openvino


@lru_cache(maxsize=1)
def _openvino_core() -> Any:
    return import_openvino().Core()


class OpenVinoBackend:
    """The exported pipeline compiled by OpenVINO for the CPU, in bf16 where the CPU has it, else f32.

    Runs one single-threaded stream per core, each on its own batch of ``batch_size`` texts: on
    two shared cores this beat one two-threaded stream on batches of 32-128 (no threads waiting
    on each other, less padding per batch). OpenVINO's "snippets" (its generated fused kernels, which run
    attention as one subgraph) stay on: without them inference ran 1-3 % faster but the peak memory of
    encoding 1,500 ad transcripts rose from 480 to 797 MB (docs/benchmarks.md, "Fast encoding").

    Args:
        context: The model directory, its cache folder, threads and the CPU's bf16 support.
    """

    name = "openvino"
    #: Texts per inference request (each stream runs one request at a time).
    batch_size = 16

    def __init__(self, context: BackendContext) -> None:
        folder = export_openvino(context)
        self.precision = "bf16" if context.cpu_bf16 else "f32"
        self.compiled = _openvino_core().compile_model(
            str(folder / "model.xml"),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": self.precision,
                "PERFORMANCE_HINT": "THROUGHPUT",
                "NUM_STREAMS": context.threads,
                "INFERENCE_NUM_THREADS": context.threads,
            },
        )
        self.inputs = [i.get_any_name() for i in self.compiled.inputs]
        self.streams = max(1, int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))

    def embed(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch through the compiled model; see :class:`Backend`."""
        request = self.compiled.create_infer_request()
        result = request.infer({k: features[k] for k in self.inputs})
        return np.array(result[0], dtype=np.float32)

    def embed_many(self, batches: Sequence[Mapping[str, np.ndarray]]) -> list[np.ndarray]:
        """Run several batches concurrently, one per stream; results in the order of ``batches``."""
        results: list[np.ndarray | None] = [None] * len(batches)
        self.embed_each(batches, results.__setitem__)
        return [r for r in results if r is not None]

    def embed_each(self, batches: Iterable[Mapping[str, np.ndarray]], done: Callable[[int, np.ndarray], None]) -> int:
        """Run the batches as they come, one per stream, and hand each result to ``done(index, rows)`` on the
        stream's thread as it finishes; return the number of batches.

        A batch is taken from ``batches`` once a stream is free, so a lazy iterable prepares the next batch (pads
        it) while the streams run, and only the batches in flight are held.
        """
        queue = import_openvino().AsyncInferQueue(self.compiled, self.streams)
        errors: list[BaseException] = []
        finished = [0]
        lock = threading.Lock()  # two streams' callbacks may run at once

        def on_done(request: Any, i: int) -> None:
            try:
                done(i, np.array(request.get_output_tensor(0).data, dtype=np.float32))  # copy: buffers are reused
                with lock:
                    finished[0] += 1
            except BaseException as error:  # raised on the caller's thread below, not lost on OpenVINO's
                errors.append(error)

        queue.set_callback(on_done)
        n = 0
        for n, features in enumerate(batches, start=1):
            if errors:
                break
            queue.start_async({k: features[k] for k in self.inputs}, n - 1)
        queue.wait_all()
        if errors:
            raise errors[0]
        if finished[0] != n:
            raise SemanticModelError("OpenVINO returned no output for a batch; set SEMANTIC_ENCODER_BACKEND=fp32")
        return n


def embed_each(backend: Backend, batches: Iterable[Mapping[str, np.ndarray]],
               done: Callable[[int, np.ndarray], None]) -> None:
    """Embed batches as they come, handing each result to ``done(index, rows)``: through the backend's own queue
    where it has one (:meth:`OpenVinoBackend.embed_each`, results on its threads), else one by one."""
    stream = getattr(backend, "embed_each", None)
    if stream is not None:
        stream(batches, done)
        return
    for i, features in enumerate(batches):
        done(i, backend.embed(features))


#: How each backend is built; tests replace entries to inject a backend.
BACKENDS: dict[str, Callable[[BackendContext], Backend]] = {
    "fp32": lambda context: TorchBackend(context, "fp32"),
    "bf16": lambda context: TorchBackend(context, "bf16"),
    "openvino": OpenVinoBackend,
}
