"""Telegram HTML rendering: escaping, the notice first, splitting, the disclaimer everywhere."""

from __future__ import annotations

import html

import pytest
from fake_bot_api import telegram_html_to_text
from hypothesis import given, settings
from hypothesis import strategies as st

from psoasbot.models import Answer, Hit, Passage, Source, Status
from psoasbot.telegram_html import (
    TELEGRAM_MAX_CHARS,
    pack_telegram_html,
    resplit_telegram_html,
    sources_to_telegram_html,
    telegram_disclaimer,
    telegram_length,
    to_telegram_html,
)

DISCLAIMER = "Not medical advice & no substitute for a <qualified> professional."
FOOTER = (
    "<i>Disclaimer: Not medical advice &amp; no substitute for a &lt;qualified&gt; "
    "professional.</i>"
)


def hit(rank: int, text: str, title: str = "Psoas & You", section: str = "Why <It> Hurts") -> Hit:
    passage = Passage(
        id=f"doc#{rank}", doc_id="doc", title=title, section=section, text=text, position=rank
    )
    return Hit(passage, score=1.0 / rank, rank=rank)


def answer(*hits: Hit, notice: str | None = None, urgent: bool = False) -> Answer:
    status: Status = "urgent" if urgent else "answered" if hits else "no_match"
    return Answer("q", status, hits, DISCLAIMER, notice=notice)


def test_answer_renders_numbered_bold_citations_escaped_text_and_italic_disclaimer() -> None:
    result = answer(
        hit(1, "Knees < hips & feet > 90°.\n\n- lie down\n- breathe"),
        hit(2, "Sitting all day shortens it.", title="Sitting", section=""),
    )

    assert to_telegram_html(result) == [
        "<b>1. Psoas &amp; You › Why &lt;It&gt; Hurts</b>\n"
        "Knees &lt; hips &amp; feet &gt; 90°.\n"
        "- lie down\n"
        "- breathe\n"
        "\n"
        "<b>2. Sitting</b>\n"
        "Sitting all day shortens it.\n"
        "\n" + FOOTER
    ]


def test_an_urgent_answer_is_the_notice_in_bold_and_the_disclaimer() -> None:
    result = answer(notice="Get help <now> & call 112.", urgent=True)

    assert to_telegram_html(result) == [
        "<b>⚠️ Get help &lt;now&gt; &amp; call 112.</b>\n\n" + FOOTER
    ]


def test_each_paragraph_of_a_notice_is_a_bold_paragraph() -> None:
    result = answer(hit(1, "Rest."), notice="Your message is long.\n\nOnly part was read.")

    [message] = to_telegram_html(result)

    assert message.startswith(
        "<b>Your message is long.</b>\n\n<b>Only part was read.</b>\n\n<b>1. "
    )


def test_no_match_shows_the_notice_and_the_disclaimer() -> None:
    result = answer(notice="The articles don't cover this.")

    assert to_telegram_html(result) == ["<b>The articles don't cover this.</b>\n\n" + FOOTER]


def test_disclaimer_line() -> None:
    assert telegram_disclaimer("A & B") == "<i>Disclaimer: A &amp; B</i>"


def test_long_answer_splits_between_passages_with_the_disclaimer_in_every_message() -> None:
    passages = [hit(n, f"Passage {n} says something. " * 60) for n in range(1, 6)]
    result = answer(*passages, notice="Only the first part of your message was used.")

    messages = to_telegram_html(result)

    assert len(messages) > 1
    for message in messages:
        assert telegram_length(message) <= TELEGRAM_MAX_CHARS
        assert message.endswith("\n\n" + FOOTER)
        telegram_html_to_text(message)  # valid Telegram HTML
    assert messages[0].startswith("<b>Only the first part of your message was used.</b>\n\n")
    assert all("Only the first part" not in m for m in messages[1:])
    # Every passage is whole, heading and text, in exactly one message, in rank order.
    for n, p in enumerate(passages, 1):
        block = f"<b>{n}. Psoas &amp; You › Why &lt;It&gt; Hurts</b>\n{html.escape(p.text.strip())}"
        assert sum(block in m for m in messages) == 1
    assert "".join(messages).index("<b>1. ") < "".join(messages).index("<b>5. ")


def test_a_passage_longer_than_a_message_splits_at_sentences() -> None:
    text = " ".join(f"Sentence {n} is about the psoas & the hip." for n in range(400))

    messages = to_telegram_html(answer(hit(1, text)), max_chars=1000)

    assert len(messages) > 10
    for message in messages:
        assert telegram_length(message) <= 1000
        body = message.removesuffix("\n\n" + FOOTER)
        assert body.endswith("the hip.")  # cut after a sentence, not inside one
        telegram_html_to_text(message)
    plain = " ".join(m.removesuffix("\n\n" + FOOTER) for m in messages)
    assert html.unescape(plain.split("</b>\n", 1)[1]) == text


def test_a_word_longer_than_a_message_is_cut_between_entities() -> None:
    text = "&<>" * 2000  # no space, no sentence: only a hard cut will do

    messages = to_telegram_html(answer(hit(1, text)), max_chars=500)

    for message in messages:
        assert telegram_length(message) <= 500
        telegram_html_to_text(message)  # a cut inside "&amp;" would not parse
    bodies = [telegram_html_to_text(m.removesuffix("\n\n" + FOOTER)) for m in messages]
    assert "".join(bodies).split("\n", 1)[1] == text


def test_bold_lines_longer_than_a_message_are_closed_and_reopened() -> None:
    long_title = "Title word " * 300

    messages = to_telegram_html(answer(hit(1, "Short text.", title=long_title)), max_chars=600)

    assert len(messages) > 1
    for message in messages:
        assert telegram_length(message) <= 600
        first_line = message.split("\n", 1)[0]
        if "Title word" in first_line:
            assert first_line.startswith("<b>") and first_line.endswith("</b>")


def test_emoji_count_double_as_telegram_counts_utf16() -> None:
    text = "🧘 " * 3000

    for message in to_telegram_html(answer(hit(1, text)), max_chars=TELEGRAM_MAX_CHARS):
        assert len(message.encode("utf-16-le")) // 2 <= TELEGRAM_MAX_CHARS


def test_resplit_keeps_the_footer_in_every_smaller_message() -> None:
    passages = [hit(n, f"Passage {n} text. " * 40) for n in range(1, 4)]
    [message] = to_telegram_html(answer(*passages))

    smaller = resplit_telegram_html(message, FOOTER, telegram_length(message) // 2)

    assert len(smaller) >= 2
    assert all(m.endswith("\n\n" + FOOTER) for m in smaller)
    assert "\n\n".join(m.removesuffix("\n\n" + FOOTER) for m in smaller) == message.removesuffix(
        "\n\n" + FOOTER
    )


def test_pack_refuses_a_limit_that_leaves_no_room() -> None:
    with pytest.raises(ValueError, match="max_chars of 50 leaves no room"):
        pack_telegram_html(["x"], FOOTER, 50)


def test_sources_list() -> None:
    sources = [
        Source("a", "Psoas <Basics> & More", "a.txt", 12, url="https://example.org/a?x=1&y=2"),
        Source("b", "Sitting", "b.md", 1, author="Jo & Al"),
    ]

    assert sources_to_telegram_html(sources) == [
        "<b>My answers quote these 2 articles:</b>\n"
        "\n"
        "1. <b>Psoas &lt;Basics&gt; &amp; More</b>\n"
        "a.txt: 12 passages\n"
        "https://example.org/a?x=1&amp;y=2\n"
        "\n"
        "2. <b>Sitting</b>\n"
        "b.md, by Jo &amp; Al: 1 passage"
    ]


# Any text a user corpus may hold: markup characters, emoji, blank lines, odd spaces.
_texts = st.text(
    alphabet=st.sampled_from(list("ab c.!?\n<>&;#é🧘\t\u2028")) | st.characters(codec="utf-8"),
    max_size=3000,
)


def _visible(text: str) -> str:
    return "".join(c for c in text if not c.isspace())


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(_texts, max_size=5),
    notice=st.none() | _texts,
    max_chars=st.integers(min_value=300, max_value=TELEGRAM_MAX_CHARS),
)
def test_any_answer_splits_into_valid_messages_that_lose_nothing(
    texts: list[str], notice: str | None, max_chars: int
) -> None:
    result = answer(*(hit(n, t) for n, t in enumerate(texts, 1)), notice=notice)

    messages = to_telegram_html(result, max_chars=max_chars)

    seen = []
    for message in messages:
        assert telegram_length(message) <= max_chars
        assert message.endswith("\n\n" + FOOTER) or message == FOOTER
        seen.append(telegram_html_to_text(message.removesuffix(FOOTER)))
    expected = (notice or "") + "".join(
        f"{n}. Psoas & You › Why <It> Hurts{t}" for n, t in enumerate(texts, 1)
    )
    assert _visible("".join(seen)) == _visible(expected)
