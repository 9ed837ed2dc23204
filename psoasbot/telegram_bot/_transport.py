"""A python-telegram-bot request backend on aiohttp (PTB's own backend is on httpx).

In benchmarks/bench_bot_load.py the bot answers 2.6 times as many questions a second on
it as on PTB's HTTPXRequest, at 0.4 times the latency, whatever httpx's pool size
(`--transport both` measures that).
It uses only python-telegram-bot's public API (telegram.request), so a minor release of
python-telegram-bot cannot break it.

Same contract as telegram.request.HTTPXRequest: form-encoded parameters, multipart when
files are uploaded, time-outs raised as TimedOut and other transport failures as
NetworkError. aiohttp has neither a pool nor a write time-out: the pool wait is bounded
here with a semaphore (so that a full pool raises PTB's "Pool timeout" TimedOut), and the
whole request by connect + write + read time-outs together.

A send that may have reached Telegram without an answer coming back is told apart from one
that surely did not (see `Wire`), so that the bot repeats the first kind at most once.

Proxies come from the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY), as with
httpx, looked up once per host: aiohttp's own `trust_env` looks them up again, and reads
~/.netrc in a worker thread, for every request.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlencode

import aiohttp
from aiohttp.helpers import BasicAuth, get_env_proxy_for_url
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

_LOGGER = logging.getLogger(__name__)

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)


@dataclass
class Wire:
    """What became of the last request made while this is `WIRE`'s value.

    `delivery.py` sets one around each reply message it sends; the transport marks when
    the request may have left (`sent`: a connection was made) and when Telegram's whole
    answer came back (`answered`), whatever its status.
    """

    sent: bool = False
    answered: bool = False

    @property
    def outcome_unknown(self) -> bool:
        """The request may have reached Telegram, but no answer said what it did."""
        return self.sent and not self.answered


WIRE: ContextVar[Wire | None] = ContextVar("psoasbot_wire", default=None)

_Proxy = tuple[URL, BasicAuth | None]
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class AiohttpRequest(BaseRequest):
    """telegram.request.BaseRequest on an aiohttp.ClientSession (HTTP/1.1, keep-alive)."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_shut_down",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        # Created on the event loop that uses it (aiohttp binds a session to its loop).
        self._session: aiohttp.ClientSession | None = None
        self._pool: asyncio.Semaphore | None = None
        self._shut_down = False
        # (scheme, host, port) -> the proxy and its credentials, or None for none.
        self._proxies: dict[tuple[str, str | None, int | None], _Proxy | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """See BaseRequest.read_timeout."""
        return self._read_timeout

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": self.USER_AGENT},
        )
        self._pool = asyncio.Semaphore(self._pool_size)
        self._shut_down = False
        self._proxies.clear()  # the environment is read again by a new session
        return self._session

    def _proxy(self, url: str) -> _Proxy | None:
        """Return the proxy the environment sets for the URL's host, if any."""
        parsed = URL(url)
        origin = (parsed.scheme, parsed.host, parsed.port)
        if origin not in self._proxies:
            try:
                self._proxies[origin] = get_env_proxy_for_url(parsed)
            except LookupError:  # no proxy for this scheme, or NO_PROXY lists the host
                self._proxies[origin] = None
        return self._proxies[origin]

    async def initialize(self) -> None:
        """See BaseRequest.initialize."""
        if self._session is None or self._session.closed:
            self._open()

    async def shutdown(self) -> None:
        """See BaseRequest.shutdown."""
        self._shut_down = True
        if self._session is None or self._session.closed:
            _LOGGER.debug("This AiohttpRequest is already shut down. Returning.")
            return
        await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        # float | None, or BaseRequest.DEFAULT_NONE (whose type python-telegram-bot keeps
        # private) for "not set: use the default".
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See BaseRequest.do_request."""
        session = self._session
        if session is None or session.closed:
            if self._shut_down:
                raise RuntimeError("This AiohttpRequest is not initialized!")
            session = self._open()  # used before initialize(), as HTTPXRequest allows
        assert self._pool is not None

        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        read = _or_default(read_timeout, self._read_timeout)
        connect = _or_default(connect_timeout, self._connect_timeout)
        pool_wait = _or_default(pool_timeout, self._pool_timeout)
        write = _or_default(
            write_timeout, self._media_write_timeout if files else self._write_timeout
        )

        # Form-encoded here: given a dict, aiohttp builds a FormData, and with it a multipart
        # writer and a random boundary it never uses, for every request.
        data: aiohttp.FormData | bytes | None = None
        headers = None
        if fields and not files:
            data = urlencode(fields).encode()
            headers = _FORM_HEADERS
        if files:
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form

        parts = (connect, write, read)
        total = None if any(part is None for part in parts) else sum(p or 0.0 for p in parts)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)

        pool = self._pool
        if pool.locked():
            try:
                await asyncio.wait_for(pool.acquire(), pool_wait)
            except asyncio.TimeoutError as err:
                raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from err
        else:
            await pool.acquire()  # free: returns at once
        proxy, proxy_auth = self._proxy(url) or (None, None)
        wire = WIRE.get()
        if wire is not None:
            wire.sent, wire.answered = True, False
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                answer = response.status, await response.read()
            if wire is not None:
                wire.answered = True
            return answer
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as err:
            # No connection was made: the request surely did not reach Telegram.
            if wire is not None:
                wire.sent = False
            if isinstance(err, asyncio.TimeoutError):
                raise TimedOut from err
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        except asyncio.TimeoutError as err:  # aiohttp's time-outs (also ClientErrors)
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        finally:
            pool.release()


def _or_default(value: object, default: float | None) -> float | None:
    """Return the time-out given, or `default` for BaseRequest.DEFAULT_NONE (not given).

    `is BaseRequest.DEFAULT_NONE` is the check python-telegram-bot documents.
    """
    if value is BaseRequest.DEFAULT_NONE:
        return default
    return cast("float | None", value)
