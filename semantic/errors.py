"""Errors raised by semantic-assets.

Every error says what was wrong, what is accepted and how to fix it. Each subclass also
inherits the builtin it refines, so callers that catch ``ValueError`` keep working.
"""

from __future__ import annotations


class SemanticError(Exception):
    """Base class of every error raised by the ``semantic`` package."""


class SemanticConfigError(SemanticError, ValueError):
    """A configuration key or value is unknown or invalid."""


class SemanticDataError(SemanticError, ValueError):
    """Input rows are invalid (duplicate ids, missing key columns, wrong types)."""


class SemanticModelVersionError(SemanticError, RuntimeError):
    """Vectors embedded with one model version were about to be compared with another."""


class SemanticModelError(SemanticError, RuntimeError):
    """A model directory is missing, unreadable or not a sentence-transformers model."""


class SemanticPublishError(SemanticError, RuntimeError):
    """A build could not be swapped in: the DuckDB file is held by a writer, or staging is on another filesystem."""


class SemanticLockError(SemanticError, RuntimeError):
    """Another build holds the project's build lock."""
