"""psoasbot: answers questions about the psoas muscle with cited passages from its articles.

>>> from psoasbot import Assistant
>>> assistant = Assistant.from_corpus()
>>> answer = assistant.ask("Why doesn't stretching help my psoas?")
>>> answer.passages[0].citation, answer.disclaimer
"""

from psoasbot.answer import DISCLAIMER, Assistant
from psoasbot.errors import (
    CorpusError,
    CorpusWarning,
    EngineError,
    PsoasbotError,
    QueryError,
    SemanticError,
)
from psoasbot.index import IndexSettings
from psoasbot.models import Answer, Document, Hit, Matching, Passage, Source
from psoasbot.query import QuerySettings
from psoasbot.scope import ScopeSettings

__version__ = "0.1.0"

__all__ = [
    "DISCLAIMER",
    "Answer",
    "Assistant",
    "CorpusError",
    "CorpusWarning",
    "Document",
    "EngineError",
    "Hit",
    "IndexSettings",
    "Matching",
    "Passage",
    "PsoasbotError",
    "QuerySettings",
    "QueryError",
    "ScopeSettings",
    "SemanticError",
    "Source",
    "__version__",
]
