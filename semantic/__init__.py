"""semantic-assets: metric-learning search, dedup and compliance checks for campaign assets.

``import semantic`` is cheap: torch, sentence-transformers and lancedb are imported only by
the functions that need them.
"""

from __future__ import annotations

from semantic.config import SemanticConfig
from semantic.errors import (
    SemanticConfigError,
    SemanticDataError,
    SemanticError,
    SemanticModelError,
    SemanticModelVersionError,
)
from semantic.warehouse.connection import connect

__all__ = [
    "SemanticConfig",
    "SemanticConfigError",
    "SemanticDataError",
    "SemanticError",
    "SemanticModelError",
    "SemanticModelVersionError",
    "connect",
]

__version__ = "0.1.0"
