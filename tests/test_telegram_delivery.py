"""delivery.py: each message of a reply at least once, at most twice, recorded before it is sent."""

from __future__ import annotations

import pytest
from telegram.error import NetworkError, RetryAfter

from psoasbot.telegram_bot._transport import WIRE
from psoasbot.telegram_bot.delivery import Delivery, message_key
from psoasbot.telegram_html import LATE_REPLY

Record = tuple[frozenset[str], dict[str, int]]


class Telegram:
    """A stand-in for sendMessage: what reached Telegram, and how each send ends."""

    def __init__(self, outcomes: list[str] | None = None) -> None:
        self.outcomes = outcomes or []  # "ok", "unknown" (taken, answer lost), "refused"
        self.received: list[str] = []

    async def send(self, text: str) -> None:
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        wire = WIRE.get()
        assert wire is not None  # Delivery.send watches every send
        wire.sent = outcome != "refused"
        if outcome == "refused":
            raise NetworkError("connection refused")
        self.received.append(text)
        if outcome == "unknown":
            raise NetworkError("server disconnected")
        wire.answered = True


def delivery(records: list[Record], **fields: object) -> Delivery:
    async def record(delivered: set[str], unsure: dict[str, int]) -> None:
        records.append((frozenset(delivered), dict(unsure)))

    return Delivery(7, record, **fields)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_send_is_recorded_as_unsure_before_it_goes_out() -> None:
    records: list[Record] = []
    reply, telegram = delivery(records), Telegram()
    await reply.send(1, "hello", telegram.send)

    key = message_key(1, "hello")
    assert records == [(frozenset(), {key: 1})]
    assert (reply.delivered, reply.unsure, telegram.received) == ({key}, {}, ["hello"])


@pytest.mark.asyncio
async def test_a_message_sent_before_is_not_sent_again() -> None:
    records: list[Record] = []
    reply = delivery(records, delivered={message_key(1, "hello")})
    telegram = Telegram()
    await reply.send(1, "hello", telegram.send)
    await reply.send(1, "more", telegram.send)
    assert telegram.received == ["more"]


@pytest.mark.asyncio
async def test_an_unknown_outcome_allows_one_more_send_and_no_third() -> None:
    records: list[Record] = []
    reply, telegram = delivery(records), Telegram(["unknown", "unknown"])
    key = message_key(1, "hello")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await reply.send(1, "hello", telegram.send)
    await reply.send(1, "hello", telegram.send)  # given up: it most likely arrived

    assert telegram.received == ["hello", "hello"]
    assert reply.unsure == {key: 2}


@pytest.mark.asyncio
async def test_a_send_that_surely_failed_does_not_count() -> None:
    records: list[Record] = []
    reply, telegram = delivery(records), Telegram(["refused", "refused", "refused"])
    for _ in range(3):
        with pytest.raises(NetworkError):
            await reply.send(1, "hello", telegram.send)
    await reply.send(1, "hello", telegram.send)

    assert telegram.received == ["hello"]
    assert records[-1] == (frozenset(), {message_key(1, "hello"): 1})  # before the last send


@pytest.mark.asyncio
async def test_retry_after_is_a_sure_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as `psoasbot telegram` sets it

    async def flood(text: str) -> None:
        raise RetryAfter(120)

    reply = delivery([])
    with pytest.raises(RetryAfter):
        await reply.send(1, "hello", flood)
    assert reply.unsure == {}


@pytest.mark.asyncio
async def test_a_late_reply_apologises_once_in_its_first_message() -> None:
    reply, telegram = delivery([], late=True), Telegram()
    await reply.send(1, "first", telegram.send)
    await reply.send(1, "second", telegram.send)
    assert telegram.received == [LATE_REPLY + "first", "second"]
    assert reply.delivered == {message_key(1, "first"), message_key(1, "second")}


@pytest.mark.asyncio
async def test_a_late_reply_too_long_for_the_apology_gets_it_in_a_message_of_its_own() -> None:
    reply, telegram = delivery([], late=True), Telegram()
    full = "x" * 4090
    await reply.send(1, full, telegram.send)
    await reply.send(1, "second", telegram.send)
    assert telegram.received == [LATE_REPLY.strip(), full, "second"]
