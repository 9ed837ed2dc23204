"""`psoasbot chat`: questions one after another at a prompt, and the few words that are not.

`help` says what can be typed, `sources` lists the articles and `quit` (or Ctrl-D) leaves;
everything else is a question.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from psoasbot.render import sources_to_text, to_text

if TYPE_CHECKING:
    from psoasbot.answer import Assistant

EXIT_WORDS = frozenset({"quit", "exit", ":q", "/quit", "/exit"})
HELP_WORDS = frozenset({"help", "/help", "?"})
SOURCES_WORDS = frozenset({"sources", "/sources"})
GREETING = "Ask about your psoas. Type 'help' for what else you can type, 'quit' to leave."
HELP = """\
Type a question about your psoas and press Enter: the answer quotes the articles, each
passage with its citation, and ends with a medical disclaimer. You can also type:
  sources   the articles answers come from
  help      this text
  quit      leave (Ctrl-D does too)"""


def run(
    assistant: Assistant, k: int, *, interactive: bool, color: bool, width: Callable[[], int]
) -> int:
    """Read lines from stdin until `quit` or end of input, answering each; return 0.

    Args:
        assistant: answers the questions.
        k: how many passages an answer has at most.
        interactive: stdin is a terminal: greet, and prompt with "? ".
        color: style the answers for a terminal.
        width: the terminal's width now (it may change between questions).
    """
    try:
        # Line editing and in-memory history; nothing is written to disk, since the
        # questions are health information.
        import readline  # noqa: F401
    except ImportError:  # pragma: no cover - Windows without pyreadline
        pass
    if interactive:
        print(GREETING + "\n")
    while True:
        try:
            line = input("? " if interactive else "")
        except EOFError:
            if interactive:
                print()
            return 0
        except KeyboardInterrupt:
            print()
            continue
        question = line.strip()
        if not question:
            continue
        word = question.lower()
        if word in EXIT_WORDS:
            return 0
        if word in HELP_WORDS:
            print(HELP)
        elif word in SOURCES_WORDS:
            print(sources_to_text(assistant.sources(), width=width()))
        else:
            print(to_text(assistant.ask(question, k=k), width=width(), color=color))
        print()
