"""The aiohttp transport (psoasbot/telegram_bot/_transport.py) against the fake Bot API."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from fake_bot_api import FakeBotAPI
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from psoasbot.telegram_bot._transport import WIRE, AiohttpRequest, Wire

TOKEN = "123456789:AAHfakeTokenForAiohttp_0123456789abcdef"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(TOKEN) as server:
        yield server


@pytest_asyncio.fixture
async def silent_server() -> AsyncIterator[str]:
    """A server that accepts connections and never answers: its base URL."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/bot{TOKEN}"
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


def data(**params: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


@pytest.mark.asyncio
async def test_form_parameters_and_answer(api: FakeBotAPI) -> None:
    async with AiohttpRequest() as request:
        result = await request.post(
            f"{api.base_url}{TOKEN}/sendChatAction", data(chat_id=7, action="typing")
        )
    assert result is True
    assert api.calls_to("sendChatAction")[0].params == {"chat_id": 7, "action": "typing"}


@pytest.mark.asyncio
async def test_multipart_upload(api: FakeBotAPI) -> None:
    upload = InputFile(b"\x00binary\xffpayload", filename="notes.txt")
    async with AiohttpRequest() as request:
        status, _ = await request.do_request(
            f"{api.base_url}{TOKEN}/sendDocument",
            "POST",
            data(chat_id=7, caption="Ça va", document=upload),
        )
    assert status == 404  # the fake server has no sendDocument; it parsed the call anyway
    assert api.calls[-1].params == {
        "chat_id": 7,
        "caption": "Ça va",
        "document": {
            "filename": "notes.txt",
            "mime_type": "text/plain",
            "content": "\x00binary\xffpayload",
        },
    }


@pytest.mark.asyncio
async def test_read_timeout_is_timed_out(silent_server: str) -> None:
    async with AiohttpRequest(read_timeout=0.2) as request:
        with pytest.raises(TimedOut):
            await request.do_request(f"{silent_server}/getMe", "POST", data())


@pytest.mark.asyncio
async def test_full_pool_is_a_pool_timeout(silent_server: str) -> None:
    async with AiohttpRequest(connection_pool_size=1, read_timeout=2) as request:
        first = asyncio.create_task(request.do_request(f"{silent_server}/getMe", "POST", data()))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await request.do_request(f"{silent_server}/getMe", "POST", data(), pool_timeout=0.1)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first


@pytest.mark.asyncio
async def test_refused_connection_is_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as caught:
            await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
    assert not isinstance(caught.value, TimedOut)


@pytest.mark.asyncio
async def test_dropped_connection_is_network_error(api: FakeBotAPI) -> None:
    api.drop("getMe")
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as caught:
            await request.do_request(f"{api.base_url}{TOKEN}/getMe", "POST", data())
        assert not isinstance(caught.value, TimedOut)
        status, _ = await request.do_request(f"{api.base_url}{TOKEN}/getMe", "POST", data())
    assert status == 200


@pytest.mark.asyncio
async def test_shutdown_closes_the_session(api: FakeBotAPI) -> None:
    request = AiohttpRequest()
    await request.initialize()
    await request.do_request(f"{api.base_url}{TOKEN}/getMe", "POST", data())
    session = request._session
    assert session is not None
    await request.shutdown()
    await request.shutdown()  # twice is harmless
    assert session.closed
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{api.base_url}{TOKEN}/getMe", "POST", data())
    await request.initialize()  # and it can start again
    status, _ = await request.do_request(f"{api.base_url}{TOKEN}/getMe", "POST", data())
    assert status == 200
    await request.shutdown()
    del request, session
    gc.collect()  # an unclosed session or connector would warn here (warnings are errors)


def test_read_timeout_property() -> None:
    assert AiohttpRequest(read_timeout=7.5).read_timeout == 7.5
    with pytest.raises(ValueError):
        AiohttpRequest(connection_pool_size=0)


@pytest.mark.asyncio
async def test_proxy_from_the_environment(api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake server answers absolute-form requests too, so it can stand in for a proxy:
    # a host that does not exist is reached only through it.
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", api.base_url.removesuffix("/bot"))
    async with AiohttpRequest() as request:
        result = await request.post(
            f"http://api.telegram.invalid/bot{TOKEN}/sendChatAction",
            data(chat_id=7, action="typing"),
        )
        assert result is True
        monkeypatch.setenv("NO_PROXY", "api.telegram.invalid")
        # Looked up once per host: NO_PROXY set later does not change this session ...
        assert await request.post(
            f"http://api.telegram.invalid/bot{TOKEN}/sendChatAction",
            data(chat_id=7, action="typing"),
        )
    assert len(api.calls_to("sendChatAction")) == 2
    async with AiohttpRequest() as request:  # ... a new one reads it
        with pytest.raises(NetworkError):
            await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe", data())


# --- what the transport tells delivery.py: could the request have reached Telegram? -----------


async def watched(coroutine: Any) -> Wire:
    """Run a request with a Wire set, as delivery.py does; return the Wire, whatever happened."""
    wire = Wire()
    token = WIRE.set(wire)
    try:
        await coroutine
    except NetworkError:
        pass
    finally:
        WIRE.reset(token)
    return wire


@pytest.mark.asyncio
async def test_an_answer_of_any_status_is_a_known_outcome(api: FakeBotAPI) -> None:
    api.fail("sendMessage", 502, "Bad Gateway")
    async with AiohttpRequest() as request:
        url = f"{api.base_url}{TOKEN}/sendMessage"
        failed = await watched(request.post(url, data(chat_id=7, text="hi")))
        sent = await watched(request.post(url, data(chat_id=7, text="hi")))
    assert (failed.sent, failed.answered, failed.outcome_unknown) == (True, True, False)
    assert (sent.sent, sent.answered, sent.outcome_unknown) == (True, True, False)


@pytest.mark.asyncio
async def test_a_connection_dropped_after_sending_is_an_unknown_outcome(api: FakeBotAPI) -> None:
    api.lose_answer("sendMessage")
    async with AiohttpRequest() as request:
        url = f"{api.base_url}{TOKEN}/sendMessage"
        wire = await watched(request.post(url, data(chat_id=7, text="hi")))
    assert wire.outcome_unknown


@pytest.mark.asyncio
async def test_a_read_timeout_is_an_unknown_outcome(silent_server: str) -> None:
    async with AiohttpRequest(read_timeout=0.2) as request:
        wire = await watched(request.do_request(f"{silent_server}/sendMessage", "POST", data()))
    assert wire.outcome_unknown


@pytest.mark.asyncio
async def test_a_refused_connection_surely_did_not_send() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AiohttpRequest() as request:
        url = f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"
        wire = await watched(request.do_request(url, "POST", data()))
    assert (wire.sent, wire.outcome_unknown) == (False, False)
