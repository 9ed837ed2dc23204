"""The exceptions psoasbot raises; every message says what went wrong and how to fix it."""

from __future__ import annotations


class PsoasbotError(Exception):
    """Base class of every error psoasbot raises on purpose."""


class CorpusError(PsoasbotError):
    """A corpus folder or document cannot be read; the message names the file and line."""


class QueryError(PsoasbotError):
    """A question or a retrieval parameter is not usable (empty question, bad k)."""


class CorpusWarning(UserWarning):
    """A corpus file is read, or skipped, but probably not as its author meant."""


class EngineError(PsoasbotError):
    """A retrieval engine is unknown or its optional dependency is not installed."""


class SemanticError(PsoasbotError):
    """Semantic matching was asked for but its model cannot be loaded (the [semantic] extra)."""
