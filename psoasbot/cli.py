"""The command line: `psoasbot ask|chat|sources|corpus|eval|telegram`, a thin library layer.

Each command builds its Assistant through `load_assistant`, calls one method and prints
the result (rendered by render.py). Every error is `Error: ...` on stderr: library errors
exit 1; usage mistakes, argparse's and the commands' own, print the command's usage line
first and exit 2.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import shutil
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from psoasbot import __version__, models
from psoasbot._argtypes import positive_int
from psoasbot.corpus import DocumentError
from psoasbot.errors import CorpusWarning, PsoasbotError
from psoasbot.evaluation import EVAL_K
from psoasbot.index import DEFAULT_K, ENGINES
from psoasbot.telegram_command import add_telegram_command

if TYPE_CHECKING:
    from psoasbot.answer import Assistant

EXAMPLES = """\
examples:
  psoasbot ask "Why doesn't stretching help my tight psoas?"
  psoasbot ask -k 5 --json "can sitting all day cause this?"
  printf 'what is pandiculation?\\nhow long should I hold a stretch?\\n' | psoasbot ask --json -
  psoasbot chat
  psoasbot sources
  psoasbot ask --corpus my-articles/ "how do I do the kneeling stretch?"
"""


class UsageError(Exception):
    """A command was called wrongly: shown as `Error: ...` under the command's usage, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse with psoasbot's one error style: the usage, then `Error: ...`, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"Error: {message}\n")


def corpus_folder(text: str) -> str:
    """--corpus: a folder path, resolved; "" would silently index the current folder."""
    from psoasbot.corpus import resolve_folder

    try:
        return str(resolve_folder(text))
    except PsoasbotError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every command."""
    parser = Parser(
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

    corpus = Parser(add_help=False)
    corpus.add_argument(
        "--corpus",
        type=corpus_folder,
        metavar="DIR",
        help="a folder of .md/.txt articles (default: the built-in ones)",
    )
    corpus.add_argument(
        "--no-semantic",
        dest="semantic",
        action="store_false",
        help="match questions by words only, even with the semantic extra installed",
    )
    engine = Parser(add_help=False, parents=[corpus])
    engine.add_argument(
        "--engine",
        choices=ENGINES,
        default="rank-bm25",
        help=(
            "retrieval engine: rank-bm25 (the default) or bm25s, for many thousands of "
            "passages (bm25s needs the 'fast' extra; without it, the error gives the command "
            "that installs it)"
        ),
    )
    retrieval = Parser(add_help=False, parents=[engine])
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
        description=(
            "Ask questions one after another; 'sources' lists the articles, 'help' says what "
            "you can type, 'quit' or Ctrl-D leaves."
        ),
    )
    chat.set_defaults(handler=cmd_chat)

    sources = commands.add_parser(
        "sources",
        parents=[corpus],
        help="list the articles answers come from",
        description="List the articles: title, source file and number of passages.",
    )
    sources.add_argument("--json", action="store_true", help="print JSON")
    # The articles are the same whatever the engine: the default engine's index (or its
    # cached copy) counts their passages.
    sources.set_defaults(handler=cmd_sources, engine="rank-bm25")

    corpus_command = commands.add_parser(
        "corpus",
        help="check a folder of articles",
        description="Work on a folder of articles (a corpus).",
    )
    actions = corpus_command.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="list every problem in every document",
        description=(
            "Read every document of a corpus folder and list every problem in each: errors "
            "(the corpus will not load) and warnings (a misspelt front matter key, a file "
            "with no text, which is skipped). Exit status 1 if there is any."
        ),
    )
    check.add_argument("folder", nargs="?", metavar="DIR", help="default: the built-in articles")
    check.set_defaults(handler=cmd_corpus_check)

    # Each of these imports its module only when run, so `psoasbot ask` never loads them.
    _register_eval(commands, engine)
    add_telegram_command(commands, retrieval, cmd_telegram)
    # A usage mistake found after parsing is shown under its own command's usage.
    for command in commands.choices.values():
        command.set_defaults(command_parser=command)
    check.set_defaults(command_parser=check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    _replace_undecodable()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Said under the command's usage, where argparse would give psoasbot's.
    command_parser: argparse.ArgumentParser = getattr(args, "command_parser", parser)
    if extra:
        command_parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except UsageError as exc:
        command_parser.error(str(exc))
    except DocumentError as exc:
        folder = f" {shlex.quote(args.corpus)}" if getattr(args, "corpus", None) else ""
        print(f"Error: {exc}", file=sys.stderr)
        print(f"To list every problem at once: psoasbot corpus check{folder}", file=sys.stderr)
        return 1
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
    if not models.semantic_installed():
        from psoasbot._extras import install_command

        installed = f"not installed; install it with: {install_command('semantic')}"
    else:
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
    from psoasbot.pipeline import reporting_progress
    from psoasbot.progress import TerminalProgress

    # The modules live as long as the process: the garbage collector need not walk their
    # objects (about 25 ms a time after importing nltk).
    gc.freeze()
    caught: list[warnings.WarningMessage] = []
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            TerminalProgress(sys.stderr) as progress,
            reporting_progress(progress),
        ):
            warnings.simplefilter("always", CorpusWarning)
            assistant = Assistant.from_corpus(
                args.corpus,
                engine=args.engine,
                cache_dir=cache_dir,
                semantic=None if args.semantic else False,
                progress=progress.embedding,
            )
    finally:  # after the progress line is gone
        for warning in caught:
            if issubclass(warning.category, CorpusWarning):
                print(f"Warning: {warning.message}", file=sys.stderr)
            else:  # as if never caught
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
    if assistant.matching.failed:
        message = f"{assistant.matching.reason}; questions are matched by words only (BM25)"
        if warn is None:
            print(f"Note: {message}", file=sys.stderr)
        else:
            warn(message)
    return assistant


def cmd_ask(args: argparse.Namespace) -> int:
    from psoasbot.render import to_json, to_text

    words = args.question
    from_stdin = words[0] == "-"
    if from_stdin and len(words) > 1:
        raise UsageError(
            "'-' reads the questions from stdin, one a line, and takes no other words; "
            "pass either '-' or a question"
        )
    if not from_stdin:
        question = " ".join(words)
        if not question.strip():
            raise UsageError("the question is empty; ask something like 'why is my psoas tight?'")
    assistant = load_assistant(args)
    color = _use_color(sys.stdout)
    width = _width()

    def answer(question: str) -> None:
        result = assistant.ask(question, k=args.top_k)
        if args.json:
            print(to_json(result), flush=from_stdin)
        else:
            # Several answers in a row: each says which question it answers.
            shown = to_text(result, width=width, color=color, show_question=from_stdin)
            print(shown, flush=from_stdin)

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
    from psoasbot import chat

    assistant = load_assistant(args)
    color = _use_color(sys.stdout)
    return chat.run(
        assistant, args.top_k, interactive=sys.stdin.isatty(), color=color, width=_width
    )


def cmd_corpus_check(args: argparse.Namespace) -> int:
    from psoasbot.corpus_check import check_corpus
    from psoasbot.render import corpus_report_to_text

    report = check_corpus(args.folder)
    print(corpus_report_to_text(report))
    return 1 if report.problems else 0


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


def _register_eval(commands: argparse._SubParsersAction, engine: argparse.ArgumentParser) -> None:
    evaluate = commands.add_parser(
        "eval",
        parents=[engine],
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


def cmd_telegram(args: argparse.Namespace) -> int:
    try:
        from psoasbot import telegram_bot
    except ModuleNotFoundError as exc:
        # Any package the bot imports but psoasbot itself (python-telegram-bot, aiohttp,
        # their own dependencies) comes with the extra.
        package = (exc.name or "a module").partition(".")[0]
        if package == "psoasbot":
            raise
        from psoasbot._extras import install_command

        raise PsoasbotError(
            f"the telegram command needs the 'telegram' extra ({package} is missing); "
            f"install it with: {install_command('telegram')}"
        ) from None
    import logging

    log = logging.getLogger("psoasbot.telegram")

    def load() -> Assistant:
        assistant = load_assistant(args, warn=log.warning)
        log.info("Matching questions %s", assistant.matching.describe())
        return assistant

    return telegram_bot.main(args, load)
