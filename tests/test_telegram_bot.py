"""The Telegram bot, end to end through python-telegram-bot's real HTTP stack.

Every test runs the bot against a fake Bot API server on 127.0.0.1 (tests/fake_bot_api.py):
Telegram itself is never reached. Most tests answer from a stand-in assistant, so that the
expected replies are exact; a few use the real one on the tiny corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_bot_api import (
    BOT_USER,
    BOT_USERNAME,
    FakeBotAPI,
    media_message,
    telegram_html_to_text,
    text_message,
    user,
    utf16_length,
)
from telegram.error import InvalidToken

from psoasbot import DISCLAIMER, Assistant
from psoasbot.answer import LONG_QUESTION_NOTICE
from psoasbot.models import Answer, Hit, Matching, Passage, Source
from psoasbot.telegram_bot._logging import TokenRedactor
from psoasbot.telegram_bot.app import RetryingRateLimiter, build_application, serve
from psoasbot.telegram_bot.config import BotConfig, TelegramBotError, config_from, read_token
from psoasbot.telegram_bot.limit import PerUserLimit
from psoasbot.telegram_html import (
    APOLOGY,
    ASK_USAGE,
    COMMANDS,
    EMPTY_MENTION,
    LATE_REPLY,
    STALE_BUTTON,
    UNKNOWN_COMMAND,
    UNSUPPORTED,
)

TOKEN = "123456789:AAHfakeTokenForTests_0123456789abcdef"
SECRET_PART = TOKEN.split(":", 1)[1]
FOOTER = f"<i>Disclaimer: {html.escape(DISCLAIMER, quote=False)}</i>"
ROOT = Path(__file__).resolve().parent.parent

SOURCES = (
    Source("accordion", "The Accordion <Stretch> & You", "accordion.txt", 3, author="Ada"),
    Source("lantern", "Lantern Breathing", "lantern.md", 1),
)


def passage_hit(rank: int, text: str, section: str = "Getting <Ready>") -> Hit:
    passage = Passage(
        id=f"accordion#{rank}",
        doc_id="accordion",
        title="The Accordion <Stretch> & You",
        section=section,
        text=text,
        position=rank,
    )
    return Hit(passage, score=1.0, rank=rank)


def stub_answer(question: str, *hits: Hit, notice: str | None = None) -> Answer:
    hits = hits or (passage_hit(1, "Fold a blanket & kneel on it.\n- a folded blanket"),)
    return Answer(question, "answered", hits, DISCLAIMER, notice=notice)


# The reply to any question the stand-in assistant has no special answer for.
DEFAULT_REPLY = (
    "<b>1. The Accordion &lt;Stretch&gt; &amp; You › Getting &lt;Ready&gt;</b>\n"
    "Fold a blanket &amp; kneel on it.\n"
    "- a folded blanket\n"
    "\n" + FOOTER
)


class StubAssistant:
    """Answers every question with a fixed answer; records what it was asked, and where."""

    def __init__(
        self,
        answers: dict[str, Answer] | None = None,
        on_ask: Callable[[str], object] | None = None,
    ) -> None:
        self.answers = answers or {}
        self.on_ask = on_ask
        self.questions: list[str] = []
        self.threads: list[int] = []

    def ask(self, question: str, k: int = 3) -> Answer:
        self.questions.append(question)
        self.threads.append(threading.get_ident())
        if self.on_ask is not None:
            self.on_ask(question)
        return self.answers.get(question) or stub_answer(question)

    def sources(self) -> tuple[Source, ...]:
        return SOURCES


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx honours proxy variables; the fake server is on this machine.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # As `psoasbot telegram` does: else PTB's RetryAfter warns about its own attribute.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(TOKEN) as server:
        yield server


@contextlib.asynccontextmanager
async def running_bot(
    api: FakeBotAPI, assistant: Any = None, **settings: Any
) -> AsyncIterator[StubAssistant]:
    """Run the bot against the fake server; on leaving, stop it as SIGTERM would.

    Stopping waits for every update received to be handled, so after the `async with`
    block a test sees every message the bot will ever send.
    """
    assistant = assistant or StubAssistant()
    config = BotConfig(
        token=TOKEN, base_url=api.base_url, poll_timeout=5, network_backoff=0.1, **settings
    )
    application = build_application(config, assistant)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, config, stop))
    await api.wait_for(lambda: application.running or task.done(), what="the bot to start")
    if task.done():
        await task
    try:
        yield assistant
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def ask(api: FakeBotAPI, text: str, *, chat_id: int = 7) -> dict[str, Any]:
    """Send a private message and return the message it was answered with."""
    before = len(api.sent_messages())
    message = api.push_message(text_message(api.private_chat(chat_id), text))
    await api.wait_for(lambda: len(api.sent_messages()) > before, what="a reply")
    [reply] = api.sent_messages()[before:]
    assert reply_id(reply) == message["message_id"]
    return reply


def reply_id(sent: dict[str, Any]) -> int:
    return int(sent["reply_parameters"]["message_id"])


def texts(api: FakeBotAPI) -> list[str]:
    return [m["text"] for m in api.sent_messages()]


# --- start-up and a question in a private chat ------------------------------------------------


@pytest.mark.asyncio
async def test_startup_checks_the_token_registers_commands_and_polls(api: FakeBotAPI) -> None:
    async with running_bot(api):
        await api.wait_for(api.polled, what="getUpdates")

    methods = [c.method for c in api.calls]
    assert methods[:3] == ["getMe", "setMyCommands", "deleteWebhook"]
    assert api.commands == [{"command": c, "description": d} for c, d in COMMANDS]
    [poll, *_] = api.calls_to("getUpdates")
    assert poll.params["allowed_updates"] == ["message", "edited_message", "callback_query"]


@pytest.mark.asyncio
async def test_private_question_gets_a_reply_with_passages_and_disclaimer(api: FakeBotAPI) -> None:
    async with running_bot(api) as assistant:
        message = api.push_message(
            text_message(api.private_chat(7), "Why <b>is</b> my psoas tight & sore?")
        )
        await api.wait_for(api.sent_messages, what="a reply")

    assert assistant.questions == ["Why <b>is</b> my psoas tight & sore?"]
    # A corpus this small is ranked on the event loop: a thread hop would cost more.
    assert assistant.threads == [threading.get_ident()]
    assert api.sent_messages() == [
        {
            "chat_id": 7,
            "text": DEFAULT_REPLY,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
            "reply_parameters": {
                "message_id": message["message_id"],
                "allow_sending_without_reply": True,
            },
        }
    ]
    # An answer ready at once needs no "typing...": Telegram asks for it only on slow replies.
    assert api.calls_to("sendChatAction", None) == []


@pytest.mark.asyncio
async def test_a_slow_answer_shows_typing_first(api: FakeBotAPI) -> None:
    release = threading.Event()
    assistant = StubAssistant(on_ask=lambda q: release.wait(20))

    async with running_bot(api, assistant, offload_passages=0, typing_after=0.05):
        api.push_message(text_message(api.private_chat(7), "a slow question"))
        await api.wait_for(lambda: api.calls_to("sendChatAction"), what="typing")
        release.set()
        await api.wait_for(api.sent_messages, what="a reply")

    methods = [c.method for c in api.calls if c.method in ("sendChatAction", "sendMessage")]
    assert methods == ["sendChatAction", "sendMessage"]
    [typing] = api.calls_to("sendChatAction")
    assert typing.params == {"chat_id": 7, "action": "typing"}
    assert texts(api) == [DEFAULT_REPLY]


@pytest.mark.asyncio
async def test_an_urgent_answer_is_only_the_notice(
    api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    urgent = Answer(
        "sudden numbness",
        "urgent",
        (),
        DISCLAIMER,
        notice="Get medical help now: numbness & weakness <need> urgent care.",
    )
    caplog.set_level(logging.INFO, logger="psoasbot.telegram")

    async with running_bot(api, StubAssistant({"sudden numbness": urgent})):
        reply = await ask(api, "sudden numbness")

    assert reply["text"] == (
        "<b>⚠️ Get medical help now: numbness &amp; weakness &lt;need&gt; urgent care.</b>\n"
        "\n" + FOOTER
    )
    assert "outcome=urgent passages=0" in caplog.text


@pytest.mark.asyncio
async def test_real_assistant_escapes_corpus_text(api: FakeBotAPI, tiny_corpus: Path) -> None:
    async with running_bot(api, Assistant.from_corpus(tiny_corpus)):
        reply = await ask(api, "How do I sway in the marigold variation?")

    text = reply["text"]
    assert text.startswith(
        "<b>1. The Accordion Stretch › Marigold Variation</b>\n"
        "Sway forward, then back, like bellows opening &amp; closing. Keep the knee &lt; 90 "
        "degrees and the hips &gt; the heels."
    )
    assert text.endswith("\n\n" + FOOTER)


@pytest.mark.asyncio
async def test_long_message_is_answered_from_its_first_part_and_says_so(
    api: FakeBotAPI, tiny_corpus: Path
) -> None:
    question = "How do I do the accordion stretch? " + "Tell me more. " * 400

    async with running_bot(api, Assistant.from_corpus(tiny_corpus)):
        reply = await ask(api, question)

    first_block = reply["text"].split("\n\n", 1)[0]
    assert first_block.startswith("<b>") and first_block.endswith("</b>")
    assert LONG_QUESTION_NOTICE in telegram_html_to_text(first_block)


@pytest.mark.asyncio
async def test_edited_message_gets_the_edited_question_answered(api: FakeBotAPI) -> None:
    async with running_bot(api) as assistant:
        original = api.push_message(text_message(api.private_chat(7), "how long to hold?"))
        await api.wait_for(lambda: len(api.sent_messages()) == 1)
        edited = {
            **text_message(api.private_chat(7), "how long to hold a stretch?"),
            "message_id": original["message_id"],
            "edit_date": int(time.time()),
        }
        api.push_message(edited, edited=True)
        await api.wait_for(lambda: len(api.sent_messages()) == 2)

    assert assistant.questions == ["how long to hold?", "how long to hold a stretch?"]
    assert [reply_id(m) for m in api.sent_messages()] == [original["message_id"]] * 2


@pytest.mark.asyncio
async def test_long_answer_is_split_between_passages_each_with_the_disclaimer(
    api: FakeBotAPI,
) -> None:
    hits = [passage_hit(n, f"Passage {n} explains the hip. " * 55) for n in range(1, 5)]
    assistant = StubAssistant({"tell me everything": stub_answer("q", *hits)})

    async with running_bot(api, assistant):
        message = api.push_message(text_message(api.private_chat(7), "tell me everything"))
        await api.wait_for(lambda: len(api.sent_messages()) >= 2)

    sent = api.sent_messages()
    assert len(sent) == 2
    for m in sent:
        assert reply_id(m) == message["message_id"]
        assert m["parse_mode"] == "HTML"
        assert m["link_preview_options"] == {"is_disabled": True}
        assert m["text"].endswith("\n\n" + FOOTER)
        assert utf16_length(m["text"]) <= 4096
    assert [re.findall(r"<b>(\d)\. ", m["text"]) for m in sent] == [["1", "2"], ["3", "4"]]


# --- commands --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_start_says_what_the_bot_does_and_does_not_with_an_example(
    api: FakeBotAPI,
) -> None:
    async with running_bot(api):
        reply = await ask(api, "/start")

    text = reply["text"]
    assert text.startswith("<b>Hello! I answer questions about a tight or painful psoas</b>")
    assert "passages quoted word for word from 2 articles" in text
    assert "I don't diagnose" in text and "I'm not a doctor" in text
    assert "<i>Why doesn't stretching help my tight psoas?</i>" in text
    assert f"mention @{BOT_USERNAME}" in text
    assert text.endswith("\n\n" + FOOTER)
    telegram_html_to_text(text)


@pytest.mark.asyncio
async def test_help_lists_how_to_ask_and_the_commands(api: FakeBotAPI) -> None:
    async with running_bot(api):
        reply = await ask(api, "/help")

    assert reply["text"].endswith(
        "<b>Commands</b>\n"
        "/ask – Ask a question about the psoas\n"
        "/sources – The articles my answers quote\n"
        "/help – How to ask\n"
        "/start – What this bot does and doesn't do"
    )
    assert reply["text"].startswith("<b>How to ask</b>\nSend me your question as a message")


@pytest.mark.asyncio
async def test_sources_lists_the_articles(api: FakeBotAPI) -> None:
    async with running_bot(api):
        reply = await ask(api, "/sources")

    assert reply["text"] == (
        "<b>My answers quote these 2 articles:</b>\n"
        "\n"
        "1. <b>The Accordion &lt;Stretch&gt; &amp; You</b>\n"
        "accordion.txt, by Ada: 3 passages\n"
        "\n"
        "2. <b>Lantern Breathing</b>\n"
        "lantern.md: 1 passage"
    )


@pytest.mark.asyncio
async def test_ask_command_answers_the_rest_of_the_message(api: FakeBotAPI) -> None:
    async with running_bot(api) as assistant:
        reply = await ask(api, "/ask why is my psoas <tight>?\nIt hurts & aches.")
        usage = await ask(api, "/ask")
        unknown = await ask(api, "/stretch")

    assert assistant.questions == ["why is my psoas <tight>?\nIt hurts & aches."]
    assert reply["text"] == DEFAULT_REPLY
    assert usage["text"] == ASK_USAGE
    assert unknown["text"] == UNKNOWN_COMMAND


# --- groups ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_group_answers_ask_replies_and_mentions_and_ignores_chatter(
    api: FakeBotAPI,
) -> None:
    group = api.group_chat(-100123)
    alice, bob = user(1, "Alice"), user(2, "Bob")
    bot_message = {
        "message_id": 50,
        "date": int(time.time()),
        "chat": group,
        "from": BOT_USER,
        "text": "an earlier answer",
    }
    bob_message = {**bot_message, "message_id": 51, "from": bob, "text": "my hips hurt"}

    async with running_bot(api) as assistant:
        ignored = [
            api.push_message(text_message(group, "anyone up for a run?", sender=alice)),
            api.push_message(text_message(group, "@someone_else how are you?", sender=alice)),
            api.push_message(text_message(group, "same here", sender=alice, reply_to=bob_message)),
            api.push_message(text_message(group, "/ask@other_bot hello", sender=alice)),
            api.push_message(media_message(group, "sticker", sender=alice)),
        ]
        answered = [
            api.push_message(text_message(group, "/ask is sitting bad?", sender=alice)),
            api.push_message(text_message(group, f"/ask@{BOT_USERNAME} and standing?", sender=bob)),
            api.push_message(
                text_message(group, "what about walking?", sender=alice, reply_to=bot_message)
            ),
            api.push_message(
                text_message(group, f"@{BOT_USERNAME} why is my psoas tight?", sender=bob)
            ),
        ]
        sticker_reply = api.push_message(
            {**media_message(group, "sticker", sender=bob), "reply_to_message": bot_message}
        )
        await api.wait_for(lambda: len(api.sent_messages()) == 5, what="five replies")

    assert sorted(assistant.questions) == sorted(
        ["is sitting bad?", "and standing?", "what about walking?", "why is my psoas tight?"]
    )
    replies = {reply_id(m): m for m in api.sent_messages()}
    assert set(replies) == {m["message_id"] for m in [*answered, sticker_reply]}
    assert not {m["message_id"] for m in ignored} & set(replies)
    assert all(m["chat_id"] == -100123 for m in replies.values())
    assert replies[sticker_reply["message_id"]]["text"] == UNSUPPORTED


@pytest.mark.asyncio
async def test_a_bare_mention_asks_for_a_question(api: FakeBotAPI) -> None:
    group = api.group_chat(-100123)
    async with running_bot(api) as assistant:
        api.push_message(text_message(group, f"@{BOT_USERNAME}"))
        await api.wait_for(api.sent_messages)

    assert texts(api) == [EMPTY_MENTION]
    assert assistant.questions == []


# --- what is not text ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document"])
async def test_media_gets_a_request_for_a_question_in_text(api: FakeBotAPI, kind: str) -> None:
    async with running_bot(api) as assistant:
        message = api.push_message(media_message(api.private_chat(7), kind))
        await api.wait_for(api.sent_messages)

    [reply] = api.sent_messages()
    assert reply["text"] == UNSUPPORTED
    assert reply_id(reply) == message["message_id"]
    assert assistant.questions == []


@pytest.mark.asyncio
async def test_a_stale_button_press_is_answered(api: FakeBotAPI) -> None:
    async with running_bot(api):
        api.push_update(
            {"callback_query": {"id": "cb-1", "from": user(7), "chat_instance": "x", "data": "1"}}
        )
        await api.wait_for(lambda: api.calls_to("answerCallbackQuery"))

    [call] = api.calls_to("answerCallbackQuery")
    assert call.params == {"callback_query_id": "cb-1", "text": STALE_BUTTON}


# --- floods and faults -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_per_user_limit_warns_once_then_ignores(api: FakeBotAPI) -> None:
    async with running_bot(api, per_user_limit=2) as assistant:
        chat = api.private_chat(7)
        pushed = [api.push_message(text_message(chat, f"question {n}")) for n in range(4)]
        await api.wait_for(lambda: len(api.sent_messages()) == 3)
        other = await ask(api, "question from someone else", chat_id=8)
        other_message = {"message_id": reply_id(other)}

    assert sorted(assistant.questions) == ["question 0", "question 1", "question from someone else"]
    replies = {reply_id(m): m["text"] for m in api.sent_messages()}
    assert set(replies) == {m["message_id"] for m in [*pushed[:3], other_message]}
    assert replies[pushed[0]["message_id"]] == replies[pushed[1]["message_id"]] == DEFAULT_REPLY
    assert re.fullmatch(
        r"You're sending questions faster than I can answer them well\. Please wait about "
        r"\d+ seconds, then ask again\.",
        replies[pushed[2]["message_id"]],
    )
    assert other["text"] == DEFAULT_REPLY


@pytest.mark.asyncio
async def test_429_is_retried_after_retry_after_and_the_reply_arrives(api: FakeBotAPI) -> None:
    api.fail("sendMessage", 429, retry_after=1)
    async with running_bot(api):
        reply = await ask(api, "why is my psoas tight?")

    assert reply["text"] == DEFAULT_REPLY
    assert [c.status for c in api.calls_to("sendMessage", None)] == [429, 200]


@pytest.mark.asyncio
async def test_message_too_long_is_resent_in_smaller_messages(api: FakeBotAPI) -> None:
    hits = [passage_hit(n, f"Passage {n} explains the hip. " * 20) for n in range(1, 4)]
    assistant = StubAssistant({"q": stub_answer("q", *hits)})
    api.fail("sendMessage", 400, "Bad Request: message is too long")

    async with running_bot(api, assistant):
        api.push_message(text_message(api.private_chat(7), "q"))
        await api.wait_for(lambda: len(api.sent_messages()) >= 2)

    assert [c.status for c in api.calls_to("sendMessage", None)] == [400, 200, 200]
    sent = texts(api)
    assert all(utf16_length(t) <= 2048 and t.endswith("\n\n" + FOOTER) for t in sent)
    assert [re.findall(r"<b>(\d)\. ", t) for t in sent] == [["1", "2"], ["3"]]


@pytest.mark.asyncio
async def test_dropped_connections_are_retried(api: FakeBotAPI) -> None:
    async with running_bot(api):
        await api.wait_for(api.polled)
        api.drop("getUpdates")
        api.drop("sendMessage")
        first = await ask(api, "first question")
        second = await ask(api, "second question")

    assert first["text"] == second["text"] == DEFAULT_REPLY
    assert len(api.calls_to("getUpdates", status=0)) == 1
    assert [c.status for c in api.calls_to("sendMessage", None)] == [0, 200, 200]


@pytest.mark.asyncio
async def test_error_gets_logged_and_the_user_an_apology(
    api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(question: str) -> None:
        if question == "break":
            raise RuntimeError("index exploded")

    caplog.set_level(logging.INFO)
    async with running_bot(api, StubAssistant(on_ask=fail)):
        apology = await ask(api, "break")
        after = await ask(api, "still there?")

    assert apology["text"] == APOLOGY
    assert after["text"] == DEFAULT_REPLY
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage() == "Error while handling update 1"
    assert error.exc_info and "index exploded" in str(error.exc_info[1])
    lines = [r.getMessage() for r in caplog.records if r.name == "psoasbot.telegram"]
    assert [line for line in lines if line.startswith("update=1 ")] == [
        f"update=1 kind=message chat=private handler=question outcome=error "
        f"latency_ms={lines_latency(lines, 1)}"
    ]


def lines_latency(lines: list[str], update_id: int) -> str:
    """The latency logged for an update (the one part of its line a test cannot know)."""
    [line] = [line for line in lines if line.startswith(f"update={update_id} ")]
    match = re.search(r" latency_ms=(\d+)", line)
    assert match, line
    return match.group(1)


# --- many chats, and stopping ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_chats_are_answered_concurrently_off_the_event_loop(api: FakeBotAPI) -> None:
    # Each question waits for the other at the barrier: both only pass if they are ranked
    # at the same time, in worker threads.
    barrier = threading.Barrier(2, timeout=20)
    assistant = StubAssistant(on_ask=lambda q: barrier.wait())

    async with running_bot(api, assistant, offload_passages=0):
        api.push_message(text_message(api.private_chat(7), "first chat"))
        api.push_message(text_message(api.private_chat(8), "second chat"))
        await api.wait_for(lambda: len(api.sent_messages()) == 2)

    assert texts(api) == [DEFAULT_REPLY, DEFAULT_REPLY]
    assert threading.get_ident() not in assistant.threads


@pytest.mark.asyncio
async def test_stopping_lets_the_reply_in_progress_finish(api: FakeBotAPI) -> None:
    release = threading.Event()
    assistant = StubAssistant(on_ask=lambda q: release.wait(20))
    config = BotConfig(token=TOKEN, base_url=api.base_url, poll_timeout=5, offload_passages=0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(build_application(config, assistant), config, stop))
    api.push_message(text_message(api.private_chat(7), "slow question"))
    await api.wait_for(lambda: assistant.questions, what="the question to be in progress")

    stop.set()
    await asyncio.sleep(0.3)
    assert not task.done()
    release.set()
    await asyncio.wait_for(task, 30)

    assert texts(api) == [DEFAULT_REPLY]


@pytest.mark.asyncio
async def test_a_rejected_token_stops_start_up(api: FakeBotAPI) -> None:
    config = BotConfig(token="42:wrong-token-abcdefghijklmnop", base_url=api.base_url)

    with pytest.raises(InvalidToken):
        await serve(build_application(config, StubAssistant()), config, asyncio.Event())

    assert [(c.method, c.status) for c in api.calls] == [("getMe", 401)]


# --- webhook ---------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.asyncio
async def test_webhook_mode_sets_the_webhook_and_answers_what_telegram_posts(
    api: FakeBotAPI,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/psoasbot-hook"
    message = text_message(api.private_chat(7), "why is my psoas tight?")
    message["message_id"] = api.next_message_id()
    update = api.new_update("message", message)

    async with running_bot(
        api, webhook_url=url, listen="127.0.0.1", port=port, webhook_secret="s3cret-Token_1"
    ):
        assert api.webhook["url"] == url
        assert api.webhook["secret_token"] == "s3cret-Token_1"
        async with httpx.AsyncClient() as client:
            forged = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
            posted = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
            )
        await api.wait_for(api.sent_messages)

    assert forged.status_code == 403
    assert posted.status_code == 200
    [reply] = api.sent_messages()
    assert reply["text"] == DEFAULT_REPLY
    assert reply_id(reply) == message["message_id"]
    assert api.calls_to("getUpdates", None) == []


# --- logging ---------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("log_text", [False, True], ids=["default", "log-text"])
async def test_one_log_line_per_update_and_no_text_unless_asked(
    api: FakeBotAPI, caplog: pytest.LogCaptureFixture, log_text: bool
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(api, log_text=log_text):
        await ask(api, "my groin hurts when I sit")

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("update=")]
    expected = (
        "update=1 kind=message chat=private handler=question outcome=answered passages=1 "
        f"latency_ms={lines_latency(lines, 1)}"
    )
    if log_text:
        expected = expected + " text='my groin hurts when I sit'"
    assert lines == [expected]
    others = [r.getMessage() for r in caplog.records if not r.getMessage().startswith("update=")]
    assert not [line for line in others if "groin" in line]


def test_redactor_removes_the_token_from_messages_arguments_and_tracebacks() -> None:
    redactor = TokenRedactor([TOKEN, None])
    try:
        raise ValueError(f"The token `{TOKEN}` was rejected")
    except ValueError:
        record = logging.LogRecord(
            "httpx", logging.INFO, __file__, 1, "POST %s/bot%s/getMe", ("http://x", TOKEN), None
        )
        record.exc_info = sys.exc_info()

    assert redactor.filter(record)
    formatted = logging.Formatter().format(record)
    assert TOKEN not in formatted and SECRET_PART not in formatted
    assert "POST http://x/bot[REDACTED]/getMe" in formatted
    assert "The token `[REDACTED]` was rejected" in formatted
    percent_encoded = TOKEN.replace(":", "%3A")
    assert redactor.redact(percent_encoded) == "123456789%3A[REDACTED]"


def test_per_user_limit_window() -> None:
    now = [0.0]
    limit = PerUserLimit(2, period=60, clock=lambda: now[0])

    assert [limit.check(7)[0] for _ in range(2)] == ["ok", "ok"]
    now[0] = 20.0
    assert limit.check(7) == ("warn", 40)
    assert limit.check(7) == ("ignore", 40)
    assert limit.check(8) == ("ok", 0)
    now[0] = 60.5
    assert limit.check(7) == ("ok", 0)


# --- the token, and the `psoasbot telegram` process -------------------------------------------


def test_token_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text(f"{TOKEN}\n", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")

    assert read_token(None, {"PSOASBOT_TELEGRAM_TOKEN": f" {TOKEN} "}) == TOKEN
    assert read_token(str(file), {"PSOASBOT_TELEGRAM_TOKEN": "other"}) == TOKEN
    with pytest.raises(TelegramBotError, match="^set PSOASBOT_TELEGRAM_TOKEN to the token"):
        read_token(None, {})
    with pytest.raises(TelegramBotError, match="is empty; put the token @BotFather gave you"):
        read_token(str(empty), {})
    with pytest.raises(TelegramBotError, match="cannot read --token-file .*: No such file"):
        read_token(str(tmp_path / "missing"), {})
    with pytest.raises(TelegramBotError, match="spaces or URL characters"):
        read_token(None, {"PSOASBOT_TELEGRAM_TOKEN": "12:ab cd"})


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own state folder: a bot process never writes the home folder's."""
    folder = tmp_path / "state"
    monkeypatch.setenv("PSOASBOT_STATE_DIR", str(folder))
    return folder


def bot_env(api_url: str | None = None, token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSOASBOT_")}
    env["PSOASBOT_STATE_DIR"] = os.environ["PSOASBOT_STATE_DIR"]
    # The test session's cache folder (conftest.py), never the user's ~/.cache.
    env["PSOASBOT_CACHE_DIR"] = os.environ["PSOASBOT_CACHE_DIR"]
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = str(ROOT)
    if token is not None:
        env["PSOASBOT_TELEGRAM_TOKEN"] = token
    if api_url is not None:
        env["PSOASBOT_TELEGRAM_API_URL"] = api_url
    return env


def start_bot(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "psoasbot", "telegram", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_no_token_is_an_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "psoasbot", "telegram"],
        env=bot_env(token=None),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr == "Error: set PSOASBOT_TELEGRAM_TOKEN to the token @BotFather gave you\n"
    assert result.stdout == ""


def test_a_token_telegram_rejects_is_a_clear_error(api: FakeBotAPI) -> None:
    wrong = "987654321:AAHwrongTokenForTests_abcdefghijkl"

    process = start_bot(env=bot_env(api.base_url, token=wrong))
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stderr.endswith(
        "Error: Telegram rejected the token; check PSOASBOT_TELEGRAM_TOKEN (or --token-file) "
        "holds the whole token @BotFather gave you, or get a new one there with /token\n"
    )
    assert "Traceback" not in stderr
    assert wrong not in stdout + stderr and wrong.split(":")[1] not in stdout + stderr


@pytest.mark.parametrize(
    ("stop_signal", "options"),
    [
        (signal.SIGTERM, []),
        (signal.SIGINT, ["--log-level", "DEBUG"]),
        (signal.SIGTERM, ["--log-level", "DEBUG", "--log-text"]),
    ],
    ids=["sigterm-info", "sigint-debug", "sigterm-debug-log-text"],
)
def test_the_bot_process_answers_then_stops_cleanly_and_never_logs_the_token(
    api: FakeBotAPI,
    tiny_corpus: Path,
    tmp_path: Path,
    stop_signal: signal.Signals,
    options: list[str],
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    env = bot_env(api.base_url, token=None)
    process = start_bot(
        "--corpus", str(tiny_corpus), "--token-file", str(token_file), *options, env=env
    )
    try:
        api.wait_for_sync(lambda: api.polled() or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.communicate()
        api.push_message(text_message(api.private_chat(7), "lantern breathing before sleep"))
        api.wait_for_sync(api.sent_messages, what="a reply")
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    output = stdout + stderr
    assert TOKEN not in output and SECRET_PART not in output
    assert "lantern breathing" in telegram_html_to_text(texts(api)[0]).lower()
    update_lines = [line for line in stderr.splitlines() if " update=" in line]
    assert len(update_lines) == 1
    assert "chat=private handler=question outcome=answered" in update_lines[0]
    if "--log-text" in options:
        assert "text='lantern breathing before sleep'" in update_lines[0]
        assert "[REDACTED]" in output  # python-telegram-bot logged its URL at DEBUG
    else:
        assert "lantern breathing before sleep" not in output
    assert "Stopped" in stderr


def test_plain_cli_commands_do_not_import_telegram() -> None:
    code = (
        "import sys; from psoasbot.cli import build_parser; build_parser(); "
        "print('telegram' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.stdout == "False\n", result.stderr


def test_telegram_command_options() -> None:
    from psoasbot.cli import build_parser

    args = build_parser().parse_args(["telegram", "--webhook-url", "https://x.org/hook", "-k", "5"])

    assert isinstance(args, argparse.Namespace)
    assert (args.webhook_url, args.listen, args.port, args.top_k) == (
        "https://x.org/hook",
        "127.0.0.1",
        8443,
        5,
    )
    assert (args.token_file, args.log_text, args.per_user_limit) == (None, False, 10)
    assert args.no_rate_limiter is False
    assert (args.state_dir, args.stop_grace, args.replay_max_age) == (None, 10.0, 86400.0)
    config = config_from(
        build_parser().parse_args(["telegram", "--state-dir", "/srv/s", "--stop-grace", "2.5"]),
        {"PSOASBOT_TELEGRAM_TOKEN": TOKEN},
    )
    assert (config.state_dir, config.stop_grace) == (Path("/srv/s"), 2.5)


@pytest.mark.parametrize("off", [False, True], ids=["default", "no-rate-limiter"])
def test_no_rate_limiter_stops_throttling_but_still_retries(off: bool) -> None:
    from psoasbot.cli import build_parser

    options = ["telegram", "--no-rate-limiter"] if off else ["telegram"]
    args = build_parser().parse_args(options)
    config = config_from(args, {"PSOASBOT_TELEGRAM_TOKEN": TOKEN})
    limiter = build_application(config, StubAssistant()).bot.rate_limiter

    assert config.rate_limiter is not off
    # 429 answers and network failures are retried either way ...
    assert isinstance(limiter, RetryingRateLimiter)
    # ... but only the default holds sends to 30 a second and 20 a minute per group (a rate
    # of 0 is AIORateLimiter's documented "no limit": it then keeps no limiter at all).
    assert (limiter._base_limiter is None, limiter._group_max_rate == 0) == (off, off)


# --- replies whose outcome is unknown: at most twice --------------------------------------------


@pytest.mark.asyncio
async def test_a_reply_whose_answer_was_lost_is_sent_once_more_and_no_more(
    api: FakeBotAPI,
) -> None:
    async with running_bot(api, retry_delay=0.1):
        api.lose_answer("sendMessage")
        api.lose_answer("sendMessage")
        message = api.push_message(text_message(api.private_chat(7), "why is my psoas tight?"))
        await api.wait_for(lambda: len(api.sent_messages()) == 2, what="the repeat")
        await asyncio.sleep(0.5)  # a third send would come now
        after = await ask(api, "and now?")

    # Telegram took both sends, and answered neither: the message is not sent a third time.
    assert [reply_id(m) for m in api.sent_messages()] == [message["message_id"]] * 2 + [
        reply_id(after)
    ]
    assert texts(api)[:2] == [DEFAULT_REPLY] * 2


@pytest.mark.asyncio
async def test_a_reply_that_surely_did_not_arrive_is_sent_again(api: FakeBotAPI) -> None:
    async with running_bot(api, retry_delay=0.1):
        for _ in range(3):
            api.fail("sendMessage", 502, "Bad Gateway")
        reply = await ask(api, "why is my psoas tight?")
        await asyncio.sleep(0.3)

    assert reply["text"] == DEFAULT_REPLY
    assert len(api.sent_messages()) == 1


@pytest.mark.asyncio
async def test_a_late_reply_starts_with_an_apology(api: FakeBotAPI) -> None:
    async with running_bot(api, late_after=0.0):
        reply = await ask(api, "why is my psoas tight?")

    assert reply["text"] == LATE_REPLY + DEFAULT_REPLY


@pytest.mark.asyncio
async def test_updates_are_journaled_and_marked_done(api: FakeBotAPI, state_dir: Path) -> None:
    from psoasbot.telegram_bot.journal import Journal

    async with running_bot(api, state_dir=state_dir):
        await ask(api, "why is my psoas tight?")
        api.push_update({"message": "not a message"})
        await api.wait_for(lambda: api.polled() >= 3)

    journal = Journal(state_dir, TOKEN.partition(":")[0])
    try:
        assert journal.counts() == {"done": 1, "skipped": 1}
        assert journal.entry(1).payload == ""  # no question text kept once answered
    finally:
        journal.close()


def test_the_state_folder_comes_from_the_option_the_environment_or_platformdirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from psoasbot.telegram_bot.config import state_dir_from

    monkeypatch.setenv("HOME", "/home/ada")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    environ = {"PSOASBOT_STATE_DIR": "/srv/psoasbot"}
    assert state_dir_from("/var/lib/psoasbot", environ) == Path("/var/lib/psoasbot")
    assert state_dir_from(None, environ) == Path("/srv/psoasbot")
    if sys.platform == "linux":
        assert state_dir_from(None, {}) == Path("/home/ada/.local/state/psoasbot")


def test_a_state_folder_that_cannot_be_made_is_a_clear_error(
    api: FakeBotAPI, tiny_corpus: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    process = start_bot(
        "--corpus",
        str(tiny_corpus),
        "--state-dir",
        str(blocker / "state"),
        env=bot_env(api.base_url),
    )
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stderr.endswith(
        f"Error: cannot open the journal of unanswered questions: {blocker / 'state'}: Not a "
        "directory; pass --state-dir DIR (or set PSOASBOT_STATE_DIR) to a folder the bot can "
        "write\n"
    )


@pytest.mark.asyncio
async def test_a_reply_telegram_refuses_gets_an_apology_and_is_not_tried_again(
    api: FakeBotAPI,
) -> None:
    api.fail("sendMessage", 400, "Bad Request: chat not found")
    async with running_bot(api, retry_delay=0.05):
        api.push_message(text_message(api.private_chat(7), "why is my psoas tight?"))
        await api.wait_for(api.sent_messages, what="the apology")
        await asyncio.sleep(0.3)  # a retry would come now

    assert texts(api) == [APOLOGY]
    assert [c.status for c in api.calls_to("sendMessage", None)] == [400, 200]


@pytest.mark.asyncio
async def test_updates_that_cannot_be_journaled_are_not_confirmed(
    api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from psoasbot.telegram_bot.journal import Journal

    real_add = Journal.add
    failures = [sqlite3.OperationalError("database or disk is full")]

    def add(self: Journal, *args: Any) -> list[int]:
        if failures:
            raise failures.pop()
        return real_add(self, *args)

    monkeypatch.setattr(Journal, "add", add)
    async with running_bot(api):
        reply = await ask(api, "why is my psoas tight?")

    assert reply["text"] == DEFAULT_REPLY
    # The same update came back: the offset did not move past it while it was not on disk.
    offsets = [c.params.get("offset") for c in api.calls_to("getUpdates")]
    assert offsets[:2] == [None, None]


@pytest.mark.parametrize(
    ("matching", "offload"),
    [(None, False), (Matching(False, reason="off"), False), (Matching(True, model="m"), True)],
    ids=["no-matching", "words-only", "semantic"],
)
def test_questions_leave_the_event_loop_when_a_model_matches_them(
    matching: Matching | None, offload: bool
) -> None:
    # The stub's corpus is far under the offload threshold: only the model sends it away.
    assistant = StubAssistant()
    if matching is not None:
        assistant.matching = matching  # type: ignore[attr-defined]
    config = BotConfig(token=TOKEN, base_url="http://127.0.0.1:9/bot")
    application = build_application(config, assistant)
    assert application.bot_data["state"].offload is offload
