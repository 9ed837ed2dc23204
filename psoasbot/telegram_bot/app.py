"""The bot's application: build it (transport, retries, rate limits, handlers), run it, stop it.

Updates come in through polling.py or webhook.py, not python-telegram-bot's Updater: they
are journaled (dispatch.py) before Telegram is told it may forget them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

from psoasbot.telegram_bot._logging import log
from psoasbot.telegram_bot._transport import WIRE, AiohttpRequest
from psoasbot.telegram_bot.config import BotConfig, TelegramBotError
from psoasbot.telegram_bot.dispatch import Dispatcher
from psoasbot.telegram_bot.handlers import Asker, BotState, add_handlers
from psoasbot.telegram_bot.journal import Journal, JournalError
from psoasbot.telegram_bot.limit import PerUserLimit
from psoasbot.telegram_bot.polling import poll
from psoasbot.telegram_bot.webhook import make_webhook_app, start_webhook
from psoasbot.telegram_html import COMMANDS

# What the bot asks Telegram for; anything else (channel posts, member changes) it ignores.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
# Updates handled at once. 16 replies in flight at Telegram's usual 0.3 s a request is
# about 50 a second, above the 30 it allows. More only slowed the bot down on PTB's httpx
# transport, whose connection pool scans every open connection for each request
# (encode/httpcore#822): PTB's default of 256 made a fifth fewer replies a second, at 3.7
# times the p99 latency, in benchmarks/bench_bot_load.py.
CONCURRENT_UPDATES = 16
# Connections for sends (getUpdates has its own one): room for every update in progress
# to send its reply and a chat action at once, plus start-up and retries.
CONNECTION_POOL_SIZE = 64
POLL_REQUEST = "poll_request"  # application.bot_data's key for polling.py's connection


def make_request(connection_pool_size: int) -> BaseRequest:
    """Return the HTTP transport the bot talks to the Bot API through.

    aiohttp rather than python-telegram-bot's default httpx: on aiohttp the bot answers
    2.6 times as many questions a second in benchmarks/bench_bot_load.py (`--transport
    both` measures the two in turn).
    """
    return AiohttpRequest(connection_pool_size=connection_pool_size)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (which honours RetryAfter) that also retries network failures.

    A call that fails to reach Telegram (connection refused or dropped, time-out) is tried
    again after 0.5, 1, 2, 4 seconds, except a reply message that may have reached Telegram
    without its answer coming back: that one is left to delivery.py, which repeats it at
    most once. Errors Telegram itself answers with (a bad request, a blocked bot) are not
    retried.
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
                wire = WIRE.get()
                if attempt >= self._network_retries or (wire is not None and wire.outcome_unknown):
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


def build_application(
    config: BotConfig, assistant: Asker
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the Application: rate limiting, concurrent updates, handlers, shared state."""
    # Without the rate limiter, sends are not held to Telegram's 30 a second (20 a minute per
    # group), but Telegram's 429 answers are still waited out and network failures retried.
    throttle = {} if config.rate_limiter else {"overall_max_rate": 0, "group_max_rate": 0}
    # getUpdates has a connection of its own; the bot opens and closes it with the others.
    poll_request = make_request(1)
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
        .request(make_request(CONNECTION_POOL_SIZE))
        .get_updates_request(poll_request)
        .updater(None)  # polling.py and webhook.py receive the updates, through the journal
        .build()
    )
    passages = sum(source.passages for source in assistant.sources())
    # The model of semantic matching takes ~10 ms a question, whatever the corpus: never
    # on the event loop.
    matching = getattr(assistant, "matching", None)
    semantic = bool(matching is not None and matching.semantic)
    application.bot_data["state"] = BotState(
        assistant=assistant,
        config=config,
        limiter=PerUserLimit(config.per_user_limit, config.per_user_period),
        offload=semantic or passages >= config.offload_passages,
    )
    application.bot_data[POLL_REQUEST] = poll_request
    add_handlers(application)
    return application


async def serve(
    application: Application[Any, Any, Any, Any, Any, Any],
    config: BotConfig,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the bot until `stop` is set (by default: until SIGINT or SIGTERM).

    Start-up opens the journal, checks the token (getMe), registers the command menu and
    answers what the journal holds from the last run; stopping lets the replies in
    progress finish for `config.stop_grace` seconds and leaves the others journaled.
    python-telegram-bot's `bootstrap_retries` belongs to its run_polling/run_webhook and
    Updater, which the journal replaces; getMe, setMyCommands and set/deleteWebhook are
    retried by RetryingRateLimiter, like every call.

    Raises:
        InvalidToken: Telegram rejected the token at start-up.
        TelegramBotError: the journal cannot be opened, or Telegram rejected the token
            while the bot was running.
        NetworkError: Telegram could not be reached at start-up, even after retries.
    """
    if stop is None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
    try:
        # The token starts with the bot's id: each bot has its own journal.
        journal = Journal(config.state_dir, config.token.partition(":")[0])
    except JournalError as exc:
        raise TelegramBotError(
            f"cannot open the journal of unanswered questions: {exc}; pass --state-dir DIR "
            "(or set PSOASBOT_STATE_DIR) to a folder the bot can write"
        ) from None
    dispatcher = Dispatcher(application, journal, config)
    state = application.bot_data["state"]
    assert isinstance(state, BotState)
    state.dispatcher = dispatcher
    try:
        async with application:  # initialize: getMe, which checks the token
            await _run(application, config, stop, dispatcher)
    except BaseException:
        # An application whose initialize failed (getMe refused the token, say) is not
        # shut down by PTB, which leaves its HTTP connections open; close them.
        await application.bot.shutdown()
        raise
    finally:
        dispatcher.close()
        journal.close()
    if dispatcher.fatal is not None:
        raise TelegramBotError(
            "Telegram rejected the token while the bot was running (was it revoked with "
            "/revoke in @BotFather?); the questions not yet answered are kept for the next "
            "start; put the new token in PSOASBOT_TELEGRAM_TOKEN (or --token-file)"
        )
    log.info("Stopped")


async def _run(
    application: Application[Any, Any, Any, Any, Any, Any],
    config: BotConfig,
    stop: asyncio.Event,
    dispatcher: Dispatcher,
) -> None:
    await _register_commands(application)
    receiving: asyncio.Task[None] | None = None
    runner = None
    try:
        await dispatcher.replay()
        if config.webhook_url:
            assert config.webhook_secret is not None  # config_from makes one
            path = urlsplit(config.webhook_url).path or "/"
            app = make_webhook_app(path, config.webhook_secret, dispatcher)
            runner = await start_webhook(app, config.listen, config.port)
            await application.bot.set_webhook(
                url=config.webhook_url,
                secret_token=config.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            mode = f"webhook on {config.listen}:{config.port}"
        else:
            await application.bot.delete_webhook()
            receiving = asyncio.create_task(
                poll(
                    application,
                    application.bot_data[POLL_REQUEST],
                    dispatcher,
                    ALLOWED_UPDATES,
                    config.poll_timeout,
                )
            )
            mode = "long polling"
        await application.start()  # running: updates are being received
        log.info("Answering as @%s (%s)", application.bot.username, mode)
        await _wait_for_stop(stop, dispatcher, receiving)
    finally:
        log.info("Stopping: letting the replies in progress finish")
        await _stop_receiving(receiving, runner)
        await dispatcher.drain(config.stop_grace)
        if application.running:
            await application.stop()


async def _wait_for_stop(
    stop: asyncio.Event, dispatcher: Dispatcher, receiving: asyncio.Task[None] | None
) -> None:
    """Wait for a stop request, a fatal error, or the end of polling (which is one)."""
    waits: set[asyncio.Future[Any]] = {
        asyncio.ensure_future(stop.wait()),
        asyncio.ensure_future(dispatcher.fatal_event.wait()),
    }
    if receiving is not None:
        waits.add(receiving)
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits - {receiving}:
            waiting.cancel()
    if receiving is not None and receiving.done() and not receiving.cancelled():
        error = receiving.exception()
        if isinstance(error, InvalidToken):
            dispatcher.stop_with(error)
        elif error is not None:
            raise error


async def _stop_receiving(receiving: asyncio.Task[None] | None, runner: Any) -> None:
    """Stop taking updates; an error here must not keep the replies from finishing."""
    if receiving is not None and not receiving.done():
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
    if runner is not None:
        try:
            await runner.cleanup()
        except Exception:  # noqa: BLE001 - stopping goes on
            log.warning("Could not stop the webhook server cleanly", exc_info=True)


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
