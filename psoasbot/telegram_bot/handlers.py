"""The bot's handlers: what each kind of update gets, sent as the replies telegram_html.py makes.

Each handler returns the outcome it logs (one line per update, see `_logged`); the per-user
limit and every send go through the helpers at the end.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import LinkPreviewOptions, Message, MessageEntity, ReplyParameters, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from psoasbot.answer import DISCLAIMER
from psoasbot.models import Answer, Source
from psoasbot.telegram_bot._logging import log
from psoasbot.telegram_bot.config import BotConfig
from psoasbot.telegram_bot.delivery import current as current_delivery
from psoasbot.telegram_bot.dispatch import Dispatcher
from psoasbot.telegram_bot.limit import PerUserLimit
from psoasbot.telegram_html import (
    APOLOGY,
    ASK_USAGE,
    EMPTY_MENTION,
    SLOW_DOWN,
    STALE_BUTTON,
    TELEGRAM_MAX_CHARS,
    UNKNOWN_COMMAND,
    UNSUPPORTED,
    help_messages,
    resplit_telegram_html,
    sources_to_telegram_html,
    start_messages,
    telegram_disclaimer,
    telegram_length,
    to_telegram_html,
)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Asker(Protocol):
    """What the bot needs of an assistant (psoasbot.Assistant, or a stand-in in tests)."""

    def ask(self, question: str, k: int = ...) -> Answer: ...

    def sources(self) -> tuple[Source, ...]: ...


@dataclass
class BotState:
    """The assistant and settings every handler shares (application.bot_data["state"])."""

    assistant: Asker
    config: BotConfig
    limiter: PerUserLimit
    offload: bool
    # Set by app.serve once the journal is open: told of every handler error.
    dispatcher: Dispatcher | None = None

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
    articles = len(_state(context).assistant.sources())
    messages = start_messages(articles, context.bot.username, DISCLAIMER)
    await _send(message, messages, telegram_disclaimer(DISCLAIMER))
    return "start"


@_logged
async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """/help: how to ask, in private and in groups, and the commands."""
    return await _reply_if_admitted(
        update, context, "help", lambda: help_messages(context.bot.username)
    )


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
    """Log the exception, then send the user a short apology (never a traceback).

    A reply that could not be delivered gets no apology (it would not get through either):
    the update is handled again later. A token Telegram refuses stops the bot.
    """
    what = f"update {update.update_id}" if isinstance(update, Update) else "a background task"
    dispatcher = _state(context).dispatcher
    apologise = True
    if dispatcher is not None and context.error is not None:
        apologise = dispatcher.failed(context.error)
    if not apologise:
        log.warning("Could not deliver the reply to %s: %s", what, _describe(context.error))
        return
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
    """Apply the per-user limit; the first message over it gets a polite reply.

    A question handled again (a retry, or after a restart) was admitted the first time.
    """
    sender = update.effective_user or update.effective_chat
    sending = current_delivery()
    if sender is None or (sending is not None and sending.again):
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
    """Send one HTML message in reply; through the journal when handling a journaled update."""

    async def send(text: str) -> None:
        await message.reply_text(
            text,
            parse_mode=ParseMode.HTML,
            link_preview_options=_NO_PREVIEW,
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        )

    sending = current_delivery()
    if sending is None:
        await send(text)
    else:
        await sending.send(message.chat_id, text, send)


def _describe(error: BaseException | None) -> str:
    return "unknown" if error is None else f"{type(error).__name__}: {error}"


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
