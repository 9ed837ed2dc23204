"""The Telegram front-end: psoasbot as a bot, on python-telegram-bot v22 (async).

Usage:
    export PSOASBOT_TELEGRAM_TOKEN=123456789:AA...      # the token @BotFather gave you
    psoasbot telegram                                   # long polling
    psoasbot telegram --webhook-url https://bot.example.org/psoasbot --port 8443

Environment: PSOASBOT_TELEGRAM_TOKEN (or --token-file PATH), PSOASBOT_TELEGRAM_API_URL (a
self-hosted Bot API server; default https://api.telegram.org/bot) and, with a webhook,
PSOASBOT_TELEGRAM_WEBHOOK_SECRET.

In a private chat every text message is a question; the reply lists the passages, each
with its citation, then the disclaimer. /start, /help, /sources and /ask QUESTION work
everywhere; in a group (privacy mode on) the bot answers /ask, replies to its own
messages and @mentions of it, and ignores all other chatter.

Each handled update is logged as one line: chat type, handler, outcome and latency. What
people write is health information, so it is logged only with --log-text; the bot token
is never logged (every log record is redacted, and httpx, python-telegram-bot's own HTTP
client, which logs request URLs, is kept at WARNING should it ever be used). This is the
only module that imports telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import html
import logging
import math
import os
import re
import secrets
import signal
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from psoasbot._aiohttp_request import AiohttpRequest
from psoasbot.answer import DISCLAIMER
from psoasbot.errors import PsoasbotError
from psoasbot.index import DEFAULT_K
from psoasbot.models import Answer, Source
from psoasbot.render import (
    TELEGRAM_MAX_CHARS,
    pack_telegram_html,
    resplit_telegram_html,
    sources_to_telegram_html,
    telegram_disclaimer,
    telegram_length,
    to_telegram_html,
)

log = logging.getLogger("psoasbot.telegram")

TOKEN_VARIABLE = "PSOASBOT_TELEGRAM_TOKEN"
API_URL_VARIABLE = "PSOASBOT_TELEGRAM_API_URL"
WEBHOOK_SECRET_VARIABLE = "PSOASBOT_TELEGRAM_WEBHOOK_SECRET"
DEFAULT_API_URL = "https://api.telegram.org/bot"

# What the bot asks Telegram for; anything else (channel posts, member changes) it ignores.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
COMMANDS = (
    ("ask", "Ask a question about the psoas"),
    ("sources", "The articles my answers quote"),
    ("help", "How to ask"),
    ("start", "What this bot does and doesn't do"),
)

# Ranking takes about 0.3 ms a question on the built-in corpus (about a hundred passages)
# and grows with the corpus (about 13 ms at 10,000 passages on rank-bm25), against about
# 0.1 ms for the hop to a worker thread that keeps a big corpus from holding up every
# other chat. Only a toy corpus is answered on the event loop; for the built-in one either
# way gave the same replies a second in benchmarks/bench_bot_load.py.
OFFLOAD_PASSAGES = 100
# Telegram asks bots to show "typing..." only when a reply takes noticeably long; sending
# it for an answer ready in milliseconds would double the requests per question.
TYPING_AFTER = 0.5
# Updates handled at once. 16 replies in flight at Telegram's usual 0.3 s a request is
# about 50 a second, above the 30 it allows. More only slowed the bot down on PTB's httpx
# transport, whose connection pool scans every open connection for each request
# (encode/httpcore#822): PTB's default of 256 made a fifth fewer replies a second, at 3.7
# times the p99 latency, in benchmarks/bench_bot_load.py.
CONCURRENT_UPDATES = 16
# Connections for sends (getUpdates has its own one): room for every update in progress
# to send its reply and a chat action at once, plus start-up and retries.
CONNECTION_POOL_SIZE = 64

EXAMPLE_QUESTION = "Why doesn't stretching help my tight psoas?"
APOLOGY = "Sorry, something went wrong while I was answering. Please try again in a moment."
UNSUPPORTED = (
    "I can only read text. Please type your question as a message, for example:\n"
    f"<i>{EXAMPLE_QUESTION}</i>"
)
ASK_USAGE = "Write your question after /ask, for example:\n<code>/ask why is my psoas tight?</code>"
EMPTY_MENTION = "Yes? Write your question after my name, or reply to one of my messages."
UNKNOWN_COMMAND = "I don't know that command. Send me your question as a message, or see /help."
SLOW_DOWN = (
    "You're sending questions faster than I can answer them well. Please wait about "
    "{seconds} seconds, then ask again."
)
STALE_BUTTON = "This button no longer works; send me your question as a message."

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_REDACTED = "[REDACTED]"


class TelegramBotError(PsoasbotError):
    """The bot cannot start: no token, a token Telegram rejects, no way to reach Telegram."""


class Asker(Protocol):
    """What the bot needs of an assistant (psoasbot.Assistant, or a stand-in in tests)."""

    def ask(self, question: str, k: int = ...) -> Answer: ...

    def sources(self) -> tuple[Source, ...]: ...


@dataclass(frozen=True)
class BotConfig:
    """Everything `psoasbot telegram` is told: by its options and by the environment."""

    token: str
    base_url: str = DEFAULT_API_URL
    k: int = DEFAULT_K
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    webhook_secret: str | None = None
    log_text: bool = False
    per_user_limit: int = 10
    per_user_period: float = 60.0
    rate_limiter: bool = True
    poll_timeout: int = 10
    offload_passages: int = OFFLOAD_PASSAGES
    typing_after: float = TYPING_AFTER
    network_retries: int = 4
    network_backoff: float = 0.5


# --- state shared by the handlers (application.bot_data["state"]) --------------------------


class PerUserLimit:
    """At most `limit` questions per user in any `period` seconds (a sliding window)."""

    def __init__(
        self, limit: int, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._warned_until: dict[int, float] = {}
        self._next_sweep = clock() + period

    def check(self, user_id: int) -> tuple[Literal["ok", "warn", "ignore"], int]:
        """Count a question; say whether to answer it, warn once, or ignore it.

        Returns:
            The verdict and, when it is not "ok", the whole seconds until the user may ask.
        """
        now = self._clock()
        if now >= self._next_sweep:
            self._forget_idle(now)
            self._next_sweep = now + self.period
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - self.period:
            asked.popleft()
        if len(asked) < self.limit:
            asked.append(now)
            return "ok", 0
        wait = asked[0] + self.period - now
        if now < self._warned_until.get(user_id, -math.inf):
            return "ignore", math.ceil(wait)
        # One polite message per window: a flood must not become a flood of replies.
        self._warned_until[user_id] = now + wait
        return "warn", max(1, math.ceil(wait))

    def _forget_idle(self, now: float) -> None:
        """Drop the users who asked nothing in the last period, so memory stays bounded."""
        for user_id in [u for u, t in self._asked.items() if not t or t[-1] <= now - self.period]:
            del self._asked[user_id]
            self._warned_until.pop(user_id, None)


@dataclass
class BotState:
    """The assistant and settings every handler shares."""

    assistant: Asker
    config: BotConfig
    limiter: PerUserLimit
    offload: bool

    async def ask(self, question: str) -> Answer:
        """Answer a question, in a worker thread when the corpus is big enough to block."""
        if self.offload:
            return await asyncio.to_thread(self.assistant.ask, question, self.config.k)
        return self.assistant.ask(question, self.config.k)


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    state = context.bot_data["state"]
    assert isinstance(state, BotState)
    return state


# --- handlers -------------------------------------------------------------------------------

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, str]]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def _logged(handler: Handler) -> Callback:
    """Log one line per handled update: what it was, the outcome the handler returns, latency."""

    @functools.wraps(handler)
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        started = time.perf_counter()
        outcome = "error"
        try:
            outcome = await handler(update, context)
        finally:
            ms = (time.perf_counter() - started) * 1000
            chat = update.effective_chat.type if update.effective_chat else "none"
            text = ""
            if _state(context).config.log_text:
                text = f" text={_text_of(update)!r}"
            log.info(
                "update=%s kind=%s chat=%s handler=%s outcome=%s latency_ms=%.0f%s",
                update.update_id,
                _kind(update),
                chat,
                handler.__name__,
                outcome,
                ms,
                text,
            )

    return handle


@_logged
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """/start: what the bot does and doesn't do, how to ask, an example, the disclaimer."""
    message = _message(update)
    if not await _admitted(update, context):
        return "rate_limited"
    count = len(_state(context).assistant.sources())
    blocks = [
        "<b>Hello! I answer questions about a tight or painful psoas</b>, the deep "
        "hip-flexor muscle that joins the lower spine to the thigh.",
        f"I reply with passages quoted word for word from {_articles(count)}, each with "
        "its source. I don't diagnose, I don't write advice of my own, and I'm not a doctor. "
        "When a message describes emergency warning signs, I tell you to get urgent care "
        "first.",
        _how_to_ask(context.bot.username),
        "/sources lists the articles; /help shows how to ask.",
    ]
    footer = telegram_disclaimer(DISCLAIMER)
    await _send(message, pack_telegram_html(blocks, footer), footer)
    return "start"


@_logged
async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """/help: how to ask, in private and in groups, and the commands."""
    message = _message(update)
    if not await _admitted(update, context):
        return "rate_limited"
    commands = "\n".join(f"/{name} – {description}" for name, description in COMMANDS)
    blocks = [_how_to_ask(context.bot.username), "<b>Commands</b>\n" + commands]
    await _send(message, pack_telegram_html(blocks))
    return "help"


@_logged
async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """/sources: the articles the answers quote."""
    return await _reply_if_admitted(
        update,
        context,
        "sources",
        lambda: sources_to_telegram_html(_state(context).assistant.sources()),
    )


@_logged
async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """/ask QUESTION, anywhere; a bare /ask explains how to use it."""
    message = _message(update)
    question = _command_argument(message)
    if not question:
        await _send(message, [ASK_USAGE])
        return "usage"
    return await _answer(update, context, question)


@_logged
async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """A text message: in a private chat, or meant for the bot in a group (reply, mention)."""
    message = _message(update)
    text = message.text or ""
    if message.chat.type != ChatType.PRIVATE:
        text = _without_mention(text, context.bot.username)
    if not text.strip():
        await _send(message, [EMPTY_MENTION])
        return "usage"
    return await _answer(update, context, text)


@_logged
async def unsupported_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """A sticker, photo, voice message, document...: ask for the question in text."""
    return await _reply_if_admitted(update, context, "unsupported", lambda: [UNSUPPORTED])


@_logged
async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """A command the bot doesn't have, in a private chat."""
    return await _reply_if_admitted(update, context, "unknown_command", lambda: [UNKNOWN_COMMAND])


@_logged
async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """A press on an inline button: the bot sends none, so stop the client's spinner."""
    query = update.callback_query
    assert query is not None
    await query.answer(STALE_BUTTON)
    return "stale_button"


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception, then send the user a short apology (never a traceback)."""
    what = f"update {update.update_id}" if isinstance(update, Update) else "a background task"
    log.error("Error while handling %s", what, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        await _reply(update.effective_message, APOLOGY)
    except TelegramError as exc:
        log.warning("Could not send the apology for update %s: %s", update.update_id, exc)


class _AddressedToBot(filters.MessageFilter):
    """Group messages meant for the bot: replies to its messages and @mentions of it."""

    def __init__(self) -> None:
        super().__init__(name="AddressedToBot")

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None:
            if replied.from_user.id == bot.id:
                return True
        name = f"@{bot.username}".lower()
        mentions = {
            **message.parse_entities([MessageEntity.MENTION]),
            **message.parse_caption_entities([MessageEntity.MENTION]),
        }
        return any(text.lower() == name for text in mentions.values())


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register every handler and the error handler; the order decides who handles what."""
    addressed = filters.ChatType.PRIVATE | _AddressedToBot()
    application.add_handlers(
        [
            CommandHandler("start", start),
            CommandHandler("help", help_command),
            CommandHandler("sources", sources_command),
            CommandHandler("ask", ask_command),
            MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command),
            MessageHandler(filters.TEXT & ~filters.COMMAND & addressed, question),
            MessageHandler(
                filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL & addressed,
                unsupported_message,
            ),
            CallbackQueryHandler(button),
        ]
    )
    application.add_error_handler(error_handler)


# --- answering -------------------------------------------------------------------------------


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> str:
    message = _message(update)
    if not await _admitted(update, context):
        return "rate_limited"
    state = _state(context)
    asking = asyncio.ensure_future(state.ask(text))
    done, _ = await asyncio.wait({asking}, timeout=state.config.typing_after)
    if not done:
        await _typing(message)
    answer = await asking  # the handlers pass only text with something in it
    footer = telegram_disclaimer(answer.disclaimer)
    await _send(message, to_telegram_html(answer), footer)
    outcome = "urgent" if answer.urgent else answer.status
    return f"{outcome} passages={len(answer.passages)}"


async def _reply_if_admitted(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    outcome: str,
    messages: Callable[[], list[str]],
) -> str:
    """Send a fixed reply unless the per-user limit says no; return the outcome to log."""
    if not await _admitted(update, context):
        return "rate_limited"
    await _send(_message(update), messages())
    return outcome


async def _admitted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Apply the per-user limit; the first message over it gets a polite reply."""
    sender = update.effective_user or update.effective_chat
    if sender is None:
        return True
    verdict, seconds = _state(context).limiter.check(sender.id)
    if verdict == "warn":
        await _send(_message(update), [SLOW_DOWN.format(seconds=seconds)])
    return verdict == "ok"


async def _typing(message: Message) -> None:
    """Show "typing..." while answering; an answer matters more than the indicator."""
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except TelegramError as exc:
        log.debug("Could not show 'typing': %s", exc)


async def _send(
    message: Message, parts: Sequence[str], footer: str = "", max_chars: int = TELEGRAM_MAX_CHARS
) -> None:
    """Send HTML messages as replies; if Telegram finds one too long, split it further."""
    for part in parts:
        try:
            await _reply(message, part)
        except BadRequest as exc:
            if "message is too long" not in exc.message.lower() or max_chars <= 512:
                raise
            smaller = max_chars // 2
            log.warning(
                "Telegram rejected a message of %d characters as too long; resending it "
                "in messages of at most %d",
                telegram_length(part),
                smaller,
            )
            await _send(message, resplit_telegram_html(part, footer, smaller), footer, smaller)


async def _reply(message: Message, text: str) -> None:
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        link_preview_options=_NO_PREVIEW,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
    )


def _message(update: Update) -> Message:
    message = update.effective_message
    assert message is not None  # every handler but `button` is a MessageHandler
    return message


def _command_argument(message: Message) -> str:
    """Return what follows the command (`/ask@bot ...`), newlines and all."""
    text = message.text or ""
    for entity, command in message.parse_entities([MessageEntity.BOT_COMMAND]).items():
        if entity.offset == 0:
            return text[len(command) :].strip()
    return text.partition(" ")[2].strip()


def _without_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


def _how_to_ask(username: str) -> str:
    mention = html.escape(username, quote=False)
    return (
        "<b>How to ask</b>\n"
        "Send me your question as a message, for example:\n"
        f"<i>{EXAMPLE_QUESTION}</i>\n"
        f"In a group, write /ask and your question, mention @{mention}, or reply "
        "to one of my messages."
    )


def _articles(count: int) -> str:
    return f"{count} article" if count == 1 else f"{count} articles"


def _kind(update: Update) -> str:
    if update.edited_message is not None:
        return "edited_message"
    if update.callback_query is not None:
        return "callback_query"
    return "message"


def _text_of(update: Update) -> str:
    if update.callback_query is not None:
        return update.callback_query.data or ""
    message = update.effective_message
    if message is None:
        return ""
    return message.text or message.caption or ""


# --- network faults and flood control ---------------------------------------------------------


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (which honours RetryAfter) that also retries network failures.

    A call that fails to reach Telegram (connection refused or dropped, time-out) is tried
    again after 0.5, 1, 2, 4 seconds. A reply may then arrive twice if Telegram got the
    first try but its answer was lost: better than no reply at all. Errors Telegram itself
    answers with (a bad request, a blocked bot) are not retried.
    """

    def __init__(self, *, network_retries: int = 4, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._network_retries = network_retries
        self._backoff = backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        delay = self._backoff
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt >= self._network_retries:
                    raise
                attempt += 1
                log.warning(
                    "%s failed (%s: %s); retry %d of %d in %.1f s",
                    endpoint,
                    type(exc).__name__,
                    exc,
                    attempt,
                    self._network_retries,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)


def _polling_error(exc: TelegramError) -> None:
    # PTB retries getUpdates after any error, waiting 1 s, then 1.5 times longer up to 30 s.
    log.warning("Getting updates from Telegram failed (%s: %s); retrying", type(exc).__name__, exc)


# --- building and running the bot ------------------------------------------------------------


def build_application(
    config: BotConfig, assistant: Asker
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the Application: rate limiting, concurrent updates, handlers, shared state."""
    # Without the rate limiter, sends are not held to Telegram's 30 a second (20 a minute per
    # group), but Telegram's 429 answers are still waited out and network failures retried.
    throttle = {} if config.rate_limiter else {"overall_max_rate": 0, "group_max_rate": 0}
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.base_url)
        .rate_limiter(
            RetryingRateLimiter(
                max_retries=3,
                network_retries=config.network_retries,
                backoff=config.network_backoff,
                **throttle,
            )
        )
        .concurrent_updates(CONCURRENT_UPDATES)
        # PTB's own transport (httpx) took half the event loop's time at full load; on
        # aiohttp the bot sends about twice the replies a second (benchmarks/bench_bot_load.py).
        .request(AiohttpRequest(connection_pool_size=CONNECTION_POOL_SIZE))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .build()
    )
    passages = sum(source.passages for source in assistant.sources())
    application.bot_data["state"] = BotState(
        assistant=assistant,
        config=config,
        limiter=PerUserLimit(config.per_user_limit, config.per_user_period),
        offload=passages >= config.offload_passages,
    )
    add_handlers(application)
    return application


async def serve(
    application: Application[Any, Any, Any, Any, Any, Any],
    config: BotConfig,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the bot until `stop` is set (by default: until SIGINT or SIGTERM).

    Start-up checks the token (getMe) and registers the command menu; stopping lets the
    replies in progress finish.

    Raises:
        InvalidToken: Telegram rejected the token.
        NetworkError: Telegram could not be reached at start-up, even after retries.
    """
    if stop is None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
    try:
        async with application:  # initialize: getMe, which checks the token
            await _run(application, config, stop)
    except BaseException:
        # An application whose initialize failed (getMe refused the token, say) is not
        # shut down by PTB, which leaves its HTTP connections open; close them.
        await application.bot.shutdown()
        raise
    log.info("Stopped")


async def _run(
    application: Application[Any, Any, Any, Any, Any, Any], config: BotConfig, stop: asyncio.Event
) -> None:
    updater = application.updater
    assert updater is not None
    await _register_commands(application)
    if config.webhook_url:
        await updater.start_webhook(
            listen=config.listen,
            port=config.port,
            url_path=urlsplit(config.webhook_url).path.strip("/"),
            webhook_url=config.webhook_url,
            secret_token=config.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        mode = f"webhook on {config.listen}:{config.port}"
    else:
        await updater.start_polling(
            timeout=config.poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            error_callback=_polling_error,
        )
        mode = "long polling"
    try:
        await application.start()
        log.info("Answering as @%s (%s)", application.bot.username, mode)
        await stop.wait()
    finally:
        log.info("Stopping: letting the replies in progress finish")
        if updater.running:
            await updater.stop()
        if application.running:
            await application.stop()


async def _register_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the command menu (setMyCommands); the commands work without it."""
    try:
        await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
    except TelegramError as exc:
        log.warning("Could not register the command menu: %s", exc)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def on_signal(signum: int) -> None:
        log.info("Received %s", signal.Signals(signum).name)
        stop.set()
        for sig in signals:  # a second signal stops at once
            loop.remove_signal_handler(sig)

    for sig in signals:
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still works
            loop.add_signal_handler(sig, on_signal, sig)


# --- the `psoasbot telegram` command ---------------------------------------------------------


class TokenRedactor(logging.Filter):
    """Replace the bot token (and the webhook secret) in every log record with [REDACTED].

    The secret part of a token (after the colon) is redacted on its own too, as a URL may
    carry it percent-encoded.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        found = set()
        for secret in secrets:
            if secret:
                found.add(secret)
                _, _, tail = secret.partition(":")
                if len(tail) >= 8:
                    found.add(tail)
        self._secrets = sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _exit_on_sigterm(signum: int, frame: object) -> None:
    log.info("Received SIGTERM while starting")
    raise SystemExit(0)


def configure_logging(level: str, redactor: TokenRedactor, log_text: bool) -> None:
    """Log to stderr at `level`, through the redactor, without anybody's messages.

    At DEBUG, python-telegram-bot logs whole requests and updates, message text included,
    so its loggers stay at INFO unless --log-text allows message text in the log.
    """
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    logging.captureWarnings(True)
    numeric = logging.getLevelName(level)
    # httpx (if used) logs every request URL at INFO, and a Bot API URL holds the token.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # tornado logs a line per webhook request; the bot logs its own line per update.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    if not log_text:
        logging.getLogger("telegram").setLevel(max(numeric, logging.INFO))


def read_token(token_file: str | None, environ: Mapping[str, str]) -> str:
    """Read the token from --token-file, else from PSOASBOT_TELEGRAM_TOKEN.

    Raises:
        TelegramBotError: no token, or one that cannot be a token.
    """
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as file:
                token = file.read().strip()
        except OSError as exc:
            raise TelegramBotError(
                f"cannot read --token-file {token_file}: {exc.strerror}"
            ) from None
        if not token:
            raise TelegramBotError(
                f"--token-file {token_file} is empty; put the token @BotFather gave you in it"
            )
    else:
        token = environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise TelegramBotError(f"set {TOKEN_VARIABLE} to the token @BotFather gave you")
    if re.search(r"[\s/?#]", token):
        raise TelegramBotError(
            "the token has spaces or URL characters in it; copy it again from @BotFather"
        )
    return token


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> BotConfig:
    """Build the configuration from the command's options and the environment."""
    token = read_token(args.token_file, environ)
    secret = environ.get(WEBHOOK_SECRET_VARIABLE) or None
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise TelegramBotError(
            f"{WEBHOOK_SECRET_VARIABLE} may hold only A-Z, a-z, 0-9, _ and -, 1 to 256 characters"
        )
    if args.webhook_url and secret is None:
        # setWebhook runs at every start, so a fresh secret per run works as well.
        secret = secrets.token_urlsafe(32)
    return BotConfig(
        token=token,
        base_url=environ.get(API_URL_VARIABLE) or DEFAULT_API_URL,
        k=args.top_k,
        webhook_url=args.webhook_url,
        listen=args.listen,
        port=args.port,
        webhook_secret=secret,
        log_text=args.log_text,
        per_user_limit=args.per_user_limit,
        rate_limiter=not args.no_rate_limiter,
    )


def main(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Run `psoasbot telegram` until SIGINT or SIGTERM; return the exit status.

    Raises:
        TelegramBotError: the bot cannot start (the CLI prints it as `Error: ...`).
    """
    environ = os.environ if environ is None else environ
    config = config_from(args, environ)
    # Opt in to python-telegram-bot's coming time periods as timedelta: otherwise its own
    # RetryAfter warns of the change at every flood-control answer from Telegram.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    redactor = TokenRedactor([config.token, config.webhook_secret])
    configure_logging(args.log_level, redactor, config.log_text)
    # Until the bot runs (and takes over SIGTERM), a stop request just ends the start-up.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        from psoasbot.answer import Assistant
        from psoasbot.cache import cache_dir_from_env

        cache_dir = cache_dir_from_env(environ)
        assistant = Assistant.from_corpus(args.corpus, engine=args.engine, cache_dir=cache_dir)
        application = build_application(config, assistant)
        asyncio.run(serve(application, config))
    except PsoasbotError:
        raise
    except InvalidToken:
        raise TelegramBotError(
            f"Telegram rejected the token; check {TOKEN_VARIABLE} (or --token-file) holds the "
            "whole token @BotFather gave you, or get a new one there with /token"
        ) from None
    except TelegramError as exc:
        # BadRequest is a NetworkError to python-telegram-bot, but Telegram did answer it.
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            where = urlsplit(config.base_url).netloc or config.base_url
            raise TelegramBotError(
                redactor.redact(
                    f"cannot reach the Telegram Bot API at {where} ({exc.message}); check "
                    f"the network, or {API_URL_VARIABLE}"
                )
            ) from None
        raise TelegramBotError(
            redactor.redact(f"Telegram refused to start the bot: {exc.message}")
        ) from None
    except OSError as exc:
        if not config.webhook_url:
            raise
        raise TelegramBotError(
            redactor.redact(f"cannot listen on {config.listen}:{config.port}: {exc}")
        ) from None
    except Exception as exc:
        log.critical("Unexpected failure", exc_info=True)
        raise TelegramBotError(
            redactor.redact(f"unexpected failure ({type(exc).__name__}: {exc}); see the log")
        ) from None
    return 0
