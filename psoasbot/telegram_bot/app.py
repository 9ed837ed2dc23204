"""The bot's application: build it (transport, retries, rate limits, handlers), run it, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

from psoasbot.telegram_bot._logging import log
from psoasbot.telegram_bot._transport import AiohttpRequest
from psoasbot.telegram_bot.config import BotConfig
from psoasbot.telegram_bot.handlers import Asker, BotState, add_handlers
from psoasbot.telegram_bot.limit import PerUserLimit
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
        .request(make_request(CONNECTION_POOL_SIZE))
        .get_updates_request(make_request(1))
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
