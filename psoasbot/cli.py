"""The command line: `psoasbot ask|chat|sources|eval|telegram`, a thin layer over the library.

Each command builds its Assistant through `load_assistant`, calls one method and prints
the result (rendered by render.py). Library errors become `Error: ...` on stderr with exit
status 1; usage mistakes exit 2.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from psoasbot import __version__, models
from psoasbot.errors import PsoasbotError
from psoasbot.evaluation import EVAL_K
from psoasbot.index import DEFAULT_K, ENGINES

if TYPE_CHECKING:
    from psoasbot.answer import Assistant
    from psoasbot.semantic import Progress

EXAMPLES = """\
examples:
  psoasbot ask "Why doesn't stretching help my tight psoas?"
  psoasbot ask -k 5 --json "can sitting all day cause this?"
  printf 'what is pandiculation?\\nhow long should I hold a stretch?\\n' | psoasbot ask --json -
  psoasbot chat
  psoasbot sources
  psoasbot ask --corpus my-articles/ "how do I do the kneeling stretch?"
"""

CHAT_EXIT_WORDS = frozenset({"quit", "exit", ":q", "/quit", "/exit"})


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="psoasbot",
        description=(
            "Answers questions about a tight or painful psoas with cited passages from its "
            "articles. Not a diagnosis: every answer carries a medical disclaimer."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        help="show the version and whether the semantic extra is installed, and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    corpus = argparse.ArgumentParser(add_help=False)
    corpus.add_argument(
        "--corpus", metavar="DIR", help="a folder of .md/.txt articles (default: the built-in ones)"
    )
    corpus.add_argument(
        "--engine",
        choices=ENGINES,
        default="rank-bm25",
        help="retrieval engine (bm25s needs: pip install 'psoasbot[fast]')",
    )
    corpus.add_argument(
        "--no-semantic",
        dest="semantic",
        action="store_false",
        help="match questions by words only, even with the semantic extra installed",
    )
    retrieval = argparse.ArgumentParser(add_help=False, parents=[corpus])
    retrieval.add_argument(
        "-k",
        "--top-k",
        type=positive_int,
        default=DEFAULT_K,
        metavar="N",
        help=f"how many passages at most (default {DEFAULT_K})",
    )

    ask = commands.add_parser(
        "ask",
        parents=[retrieval],
        help="answer a question (or '-' for one per line on stdin)",
        description="Answer a question with cited passages and the disclaimer.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ask.add_argument(
        "question", nargs="+", help="the question, or '-' to read questions from stdin"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.set_defaults(handler=cmd_ask)

    chat = commands.add_parser(
        "chat",
        parents=[retrieval],
        help="ask questions interactively",
        description="Ask questions one after another; 'quit' or Ctrl-D leaves.",
    )
    chat.set_defaults(handler=cmd_chat)

    sources = commands.add_parser(
        "sources",
        parents=[corpus],
        help="list the articles answers come from",
        description="List the articles: title, source file and number of passages.",
    )
    sources.add_argument("--json", action="store_true", help="print JSON")
    sources.set_defaults(handler=cmd_sources)

    # Each of these imports its module only when run, so `psoasbot ask` never loads them.
    _register_eval(commands, corpus)
    _register_telegram(commands, retrieval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    _replace_undecodable()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except PsoasbotError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`psoasbot ask ... | head`): nothing left to say.
        _silence_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 - no traceback ever reaches a user
        print(
            f"Error: unexpected failure ({type(exc).__name__}: {exc}); please report it",
            file=sys.stderr,
        )
        return 1


def version() -> str:
    """Return what `psoasbot --version` prints: the version, and whether it can match by meaning."""
    installed = "not installed; pip install 'psoasbot[semantic]'"
    if models.semantic_installed():
        from psoasbot.semantic import DESCRIPTION

        installed = f"installed, {DESCRIPTION}"
    return f"psoasbot {__version__} (semantic matching: {installed})"


class _Version(argparse.Action):
    # argparse's own "version" action wants the text when the parser is built, and every
    # command builds it: this one works it out only when asked.
    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(version())
        parser.exit()


def load_assistant(
    args: argparse.Namespace, warn: Callable[[str], None] | None = None
) -> Assistant:
    """Build the assistant of a command from its --corpus, --engine and --no-semantic,
    with the index cache.

    Every command, the Telegram bot's too, gets its assistant here. When the semantic extra
    is installed but its model cannot be loaded, `warn` gets one line saying so (by
    default it goes to stderr), and questions are matched by words only.
    """
    import gc

    from psoasbot.cache import cache_dir_from_env

    cache_dir = cache_dir_from_env(os.environ)
    if args.semantic and models.semantic_installed():
        from psoasbot import semantic

        # The model loads (about 0.4 s, mostly outside the GIL) while the index does.
        semantic.preload(cache_dir)

    import nltk  # noqa: F401 - imported here, to be frozen below
    import rank_bm25  # noqa: F401

    from psoasbot.answer import Assistant

    # The modules live as long as the process: the garbage collector need not walk their
    # objects (about 25 ms a time after importing nltk).
    gc.freeze()
    assistant = Assistant.from_corpus(
        args.corpus,
        engine=args.engine,
        cache_dir=cache_dir,
        semantic=None if args.semantic else False,
        progress=_progress(sys.stderr),
    )
    if assistant.matching.failed:
        message = f"{assistant.matching.reason}; questions are matched by words only (BM25)"
        if warn is None:
            print(f"Note: {message}", file=sys.stderr)
        else:
            warn(message)
    return assistant


def _progress(stream: TextIO) -> Progress | None:
    """Show how a first embedding of the passages goes, on a terminal, once past a second."""
    if not stream.isatty():
        return None
    start = time.monotonic()
    shown = 0.0  # when the line was last drawn; 0: never

    def report(done: int, total: int) -> None:
        nonlocal shown
        now = time.monotonic()
        if now - start < 1.0 or (done < total and now - shown < 0.2):
            return
        end = "\n" if done == total else ""
        line = f"\rEmbedding texts for semantic matching: {done:,} of {total:,}"
        print(line, end=end, file=stream, flush=True)
        shown = now

    return report


def cmd_ask(args: argparse.Namespace) -> int:
    from psoasbot.render import to_json, to_text

    words = args.question
    from_stdin = words == ["-"]
    if not from_stdin:
        question = " ".join(words)
        if not question.strip():
            _usage_error(
                "ask", "the question is empty; ask something like 'why is my psoas tight?'"
            )
    assistant = load_assistant(args)
    color = _use_color(sys.stdout)
    width = _width()

    def answer(question: str) -> None:
        result = assistant.ask(question, k=args.top_k)
        if args.json:
            print(to_json(result), flush=from_stdin)
        else:
            print(to_text(result, width=width, color=color), flush=from_stdin)

    if from_stdin:
        first = True
        for line in sys.stdin:
            if not line.strip():
                continue
            if not args.json and not first:
                print()
            answer(line)
            first = False
        return 0
    answer(question)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from psoasbot.render import to_text

    try:
        # Line editing and in-memory history; nothing is written to disk, since the
        # questions are health information.
        import readline  # noqa: F401
    except ImportError:  # pragma: no cover - Windows without pyreadline
        pass
    assistant = load_assistant(args)
    color = _use_color(sys.stdout)
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask about your psoas. Type 'quit' or press Ctrl-D to leave.\n")
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
        if question.lower() in CHAT_EXIT_WORDS:
            return 0
        print(to_text(assistant.ask(question, k=args.top_k), width=_width(), color=color))
        print()


def cmd_sources(args: argparse.Namespace) -> int:
    from psoasbot.render import sources_to_json, sources_to_text

    assistant = load_assistant(args)
    sources = assistant.sources()
    if args.json:
        print(sources_to_json(sources))
    else:
        print(sources_to_text(sources, width=_width()))
        print(f"\nQuestions are matched {assistant.matching.describe()}.")
    return 0


def _usage_error(command: str, message: str) -> None:
    print(f"usage: psoasbot {command} [-h] ...", file=sys.stderr)
    print(f"Error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def _width() -> int:
    return min(shutil.get_terminal_size((88, 24)).columns, 100)


def _replace_undecodable() -> None:
    # Bytes the locale's encoding cannot decode (a Latin-1 file piped in) or encode (a
    # stray byte in an argument, which Python turns into a lone surrogate) become U+FFFD
    # or "?" instead of ending the run with an error.
    for stream in (sys.stdin, sys.stdout):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _register_eval(commands: argparse._SubParsersAction, corpus: argparse.ArgumentParser) -> None:
    evaluate = commands.add_parser(
        "eval",
        parents=[corpus],
        help="score labelled question sets (JSON Lines)",
        description=(
            "Score labelled question sets: S@1, S@3, MRR@5, false abstention, out-of-scope "
            "abstention, red-flag recall and false alarms, then the misses. With several "
            "files, each is scored and so are all of them together."
        ),
    )
    evaluate.add_argument("file", nargs="+", help="a question set, one JSON object per line")
    evaluate.add_argument(
        "-k",
        "--top-k",
        type=positive_int,
        default=EVAL_K,
        metavar="N",
        help=f"passages retrieved per question (default {EVAL_K}, at least {EVAL_K}: "
        f"MRR@{EVAL_K} needs {EVAL_K})",
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from psoasbot.evaluation import evaluate, load_items, report_of, reports_to_text

    sets = [(name, load_items(name)) for name in args.file]
    assistant = load_assistant(args)
    reports = [
        (name, evaluate(assistant, items, k=max(EVAL_K, args.top_k))) for name, items in sets
    ]
    if not args.json:
        print(reports_to_text(reports))
    elif len(reports) == 1:
        print(json.dumps(reports[0][1].to_dict(), ensure_ascii=False, indent=2))
    else:
        together = report_of([o for _, r in reports for o in r.outcomes])
        data = {"sets": {name: r.to_dict() for name, r in reports}, "all": together.to_dict()}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def _register_telegram(
    commands: argparse._SubParsersAction, retrieval: argparse.ArgumentParser
) -> None:
    telegram = commands.add_parser(
        "telegram",
        parents=[retrieval],
        help="run the Telegram bot",
        description=(
            "Run the Telegram bot, with long polling or (--webhook-url) a webhook, until "
            "SIGINT or SIGTERM. The token comes from PSOASBOT_TELEGRAM_TOKEN or --token-file; "
            "PSOASBOT_TELEGRAM_API_URL points it at a self-hosted Bot API server and "
            "PSOASBOT_TELEGRAM_WEBHOOK_SECRET sets the webhook's secret token. Needs: pip "
            "install 'psoasbot[telegram]'."
        ),
    )
    telegram.add_argument("--token-file", metavar="PATH", help="read the bot token from a file")
    telegram.add_argument(
        "--webhook-url",
        metavar="URL",
        help="receive updates on this public HTTPS URL instead of long polling",
    )
    telegram.add_argument(
        "--listen",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="webhook: the address to listen on (default 127.0.0.1)",
    )
    telegram.add_argument(
        "--port",
        type=_port,
        default=8443,
        help="webhook: the port to listen on (default 8443)",
    )
    telegram.add_argument(
        "--per-user-limit",
        type=positive_int,
        default=10,
        metavar="N",
        help="questions a person may ask per minute (default 10)",
    )
    telegram.add_argument(
        "--no-rate-limiter",
        action="store_true",
        help=(
            "send as fast as replies are ready, not at most 30 messages a second (20 a minute "
            "per group) as Telegram allows: for a load test or a Bot API server without "
            "those limits"
        ),
    )
    telegram.add_argument(
        "--log-text",
        action="store_true",
        help="also log what people write (health information: off by default)",
    )
    telegram.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="how much to log (default INFO: a line per update)",
    )
    telegram.set_defaults(handler=cmd_telegram)


def _port(text: str) -> int:
    port = positive_int(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, not {port}")
    return port


def cmd_telegram(args: argparse.Namespace) -> int:
    try:
        from psoasbot import telegram_bot
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(("telegram", "aiolimiter", "tornado")):
            raise
        print(
            "Error: the telegram command needs the 'telegram' extra; run: "
            "pip install 'psoasbot[telegram]'",
            file=sys.stderr,
        )
        return 1
    import logging

    log = logging.getLogger("psoasbot.telegram")

    def load() -> Assistant:
        assistant = load_assistant(args, warn=log.warning)
        log.info("Matching questions %s", assistant.matching.describe())
        return assistant

    return telegram_bot.main(args, load)
