"""A fake Telegram Bot API server on 127.0.0.1, so the bot's tests never need the internet.

It speaks the real Bot API over HTTP (POST /bot<token>/<method>, form-encoded or JSON
parameters, `{"ok": ..., "result": ...}` answers, long-polling getUpdates) and checks what
Telegram checks where a test depends on it: the token (401 otherwise), the HTML of a
message (400 "can't parse entities") and its length (400 "message is too long").

    with FakeBotAPI(TOKEN) as api:
        bot = Bot(TOKEN, base_url=api.base_url)
        api.push_message(text_message(api.private_chat(7), "why is my psoas tight?"))
        ...
        api.sent_messages()  # every message the bot sent, as the parameters it sent

Faults are injected per method and used once each, in order: `api.fail("sendMessage",
429, retry_after=1)`, `api.fail("sendMessage", 400, "Bad Request: message is too long")`,
`api.drop("getUpdates")` (close the connection without answering),
`api.lose_answer("sendMessage")` (do what was asked, then close the connection without
answering: the bot cannot know the message went out). `api.hold("sendMessage")` makes
every call wait, done but unanswered, until `api.release()`; `api.revoke()` makes every
later call fail as with a revoked token (401).
"""

from __future__ import annotations

import asyncio
import email.policy
import html
import itertools
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSON = dict[str, Any]

BOT_ID = 4242
BOT_USERNAME = "psoas_test_bot"
BOT_USER: JSON = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Psoas Bot",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_MESSAGE_CHARS = 4096

# Parameters Telegram takes as plain strings; every other form value is JSON-encoded.
_STRING_PARAMETERS = frozenset(
    {"text", "parse_mode", "action", "url", "secret_token", "callback_query_id", "language_code"}
)
_ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)
_HTML_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-zA-Z][\w-]*)(?:\s[^<>]*)?>"
    r"|(?P<entity>&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);)"
    r"|(?P<bad>[<>&])"
)


def telegram_html_to_text(text: str) -> str:
    """Parse Telegram HTML as strictly as Telegram does; return the text a user sees.

    Raises:
        ValueError: a tag Telegram does not support, tags that do not nest, or a bare
            `<`, `>` or `&`.
    """
    out: list[str] = []
    open_tags: list[str] = []
    pos = 0
    for match in _HTML_TOKEN.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        if match.group("bad"):
            raise ValueError(
                f"can't parse entities: unescaped {match.group('bad')!r} at offset {match.start()}"
            )
        if match.group("entity"):
            out.append(html.unescape(match.group("entity")))
            continue
        tag = match.group("tag").lower()
        if tag not in _ALLOWED_TAGS:
            raise ValueError(f'can\'t parse entities: unsupported start tag "{tag}"')
        if not match.group("close"):
            open_tags.append(tag)
        elif not open_tags or open_tags.pop() != tag:
            raise ValueError(f'can\'t parse entities: unmatched end tag "{tag}"')
    out.append(text[pos:])
    if open_tags:
        raise ValueError(f"can't parse entities: can't find end tag for \"{open_tags[-1]}\"")
    return "".join(out)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Fault:
    """What the server does instead of answering one call: an error, or a dropped line."""

    status: int = 0
    description: str = ""
    retry_after: int | None = None
    drop: bool = False
    lose_answer: bool = False  # do what was asked, then drop the connection


@dataclass
class Call:
    """One request the server received: the method, its parameters and the HTTP status."""

    method: str
    params: JSON
    status: int = 200
    at: float = field(default_factory=time.monotonic)


class FakeBotAPI:
    """A Bot API server in a background thread, with a queue of updates for the bot."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._lock = threading.Condition()
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._faults: dict[str, deque[Fault]] = {}
        self._chats: dict[int, JSON] = {}
        self._closed = False
        self._held: set[str] = set()
        self._release = threading.Event()
        self.calls: list[Call] = []
        self.webhook: JSON = {}
        self.commands: list[JSON] = []
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- life cycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeBotAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The Bot API base URL to give the bot (PTB's `base_url`: the token follows)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # --- what the test feeds in -----------------------------------------------------------

    def private_chat(self, user_id: int, first_name: str = "Ana") -> JSON:
        return self._chat({"id": user_id, "type": "private", "first_name": first_name})

    def group_chat(self, chat_id: int, title: str = "Stretching club") -> JSON:
        return self._chat({"id": chat_id, "type": "supergroup", "title": title})

    def _chat(self, chat: JSON) -> JSON:
        with self._lock:
            self._chats[chat["id"]] = chat
        return chat

    def push_update(self, update: JSON) -> int:
        """Queue an update for getUpdates; return its update_id."""
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **update})
            self._lock.notify_all()
        return update_id

    def push_message(self, message: JSON, *, edited: bool = False) -> JSON:
        """Queue a message (or an edited one) from a user; return it with its message_id."""
        message = {"message_id": next(self._message_ids), **message}
        self.push_update({"edited_message" if edited else "message": message})
        return message

    def new_update(self, key: str, payload: JSON) -> JSON:
        """Build (without queueing) an update, as a webhook test POSTs it to the bot."""
        with self._lock:
            return {"update_id": next(self._update_ids), key: payload}

    def next_message_id(self) -> int:
        with self._lock:
            return next(self._message_ids)

    def fail(
        self, method: str, status: int, description: str = "", *, retry_after: int | None = None
    ) -> None:
        """Make the next call of `method` fail with this HTTP status (used once)."""
        if not description:
            description = f"{HTTPStatus(status).phrase}"
            if retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
        self._add_fault(method, Fault(status, description, retry_after))

    def drop(self, method: str) -> None:
        """Make the next call of `method` lose its connection without an answer (used once)."""
        self._add_fault(method, Fault(drop=True))

    def lose_answer(self, method: str) -> None:
        """Make the next call of `method` succeed, but drop the connection before answering."""
        self._add_fault(method, Fault(lose_answer=True))

    def hold(self, method: str) -> None:
        """Make every call of `method` wait (done, but unanswered) until release()."""
        with self._lock:
            self._held.add(method)
            self._release.clear()

    def release(self) -> None:
        with self._lock:
            self._held.clear()
            self._release.set()

    def revoke(self) -> None:
        """Revoke the token: from now on every call is answered 401 Unauthorized."""
        with self._lock:
            self.token = self.token + "-revoked"

    def _add_fault(self, method: str, fault: Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, deque()).append(fault)

    # --- what the test reads back -----------------------------------------------------------

    def calls_to(self, method: str, status: int | None = 200) -> list[Call]:
        """The calls of `method` answered with `status` (None: whatever the outcome)."""
        with self._lock:
            return [c for c in self.calls if c.method == method and status in (None, c.status)]

    def sent_messages(self) -> list[JSON]:
        """The parameters of every sendMessage call that succeeded, in order."""
        return [c.params for c in self.calls_to("sendMessage")]

    def pending_faults(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._faults.values())

    def polled(self) -> int:
        """How many getUpdates calls have been answered."""
        return len(self.calls_to("getUpdates"))

    async def wait_for(
        self, predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition"
    ) -> None:
        """Wait (without blocking the event loop) until predicate() is true."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.02)

    def wait_for_sync(
        self, predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.02)

    # --- the Bot API ----------------------------------------------------------------------

    def handle(self, token: str, method: str, params: JSON) -> tuple[int, JSON] | None:
        """Answer one call: (HTTP status, JSON body), or None to drop the connection."""
        with self._lock:
            call = Call(method, params)
            self.calls.append(call)
            if token != self.token:
                call.status = 401
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            faults = self._faults.get(method)
            fault = faults.popleft() if faults else None
        if fault is not None and not fault.lose_answer:
            if fault.drop:
                call.status = 0
                return None
            call.status = fault.status
            body: JSON = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.status, body
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            call.status = 404
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            result = handler(params)
        except _BadRequest as exc:
            call.status = 400
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
        if fault is not None and fault.lose_answer:
            return None  # done, as a 200, but the bot never hears of it
        with self._lock:
            held = method in self._held
        if held:
            self._release.wait(60)
        return 200, {"ok": True, "result": result}

    def _api_getMe(self, params: JSON) -> JSON:
        return BOT_USER

    def _api_deleteWebhook(self, params: JSON) -> bool:
        with self._lock:
            self.webhook = {}
        return True

    def _api_setWebhook(self, params: JSON) -> bool:
        with self._lock:
            self.webhook = dict(params)
        return True

    def _api_getUpdates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._lock:
            # As Telegram does, an offset confirms (forgets) every update before it.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            return self._updates[:limit]

    def _api_setMyCommands(self, params: JSON) -> bool:
        with self._lock:
            self.commands = list(params["commands"])
        return True

    def _api_sendChatAction(self, params: JSON) -> bool:
        return True

    def _api_answerCallbackQuery(self, params: JSON) -> bool:
        return True

    def _api_sendMessage(self, params: JSON) -> JSON:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            try:
                text = telegram_html_to_text(text)
            except ValueError as exc:
                raise _BadRequest(str(exc)) from None
        if not text.strip():
            raise _BadRequest("message text is empty")
        if utf16_length(text) > MAX_MESSAGE_CHARS:
            raise _BadRequest("message is too long")
        chat_id = int(params["chat_id"])
        with self._lock:
            chat = self._chats.get(chat_id, {"id": chat_id, "type": "private"})
            message_id = next(self._message_ids)
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": text,
        }


class _BadRequest(Exception):
    pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A bot killed (SIGKILL) mid-request resets its connections: nothing to report.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _make_handler(api: FakeBotAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects of Telegram
        disable_nagle_algorithm = True  # else each answer waits 40 ms for a delayed ACK
        timeout = 60

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length))

        def _serve(self, body: bytes) -> None:
            url = urlsplit(self.path)
            match = re.fullmatch(r"/bot([^/]*)/(\w+)", url.path)
            if not match:
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            content_type = self.headers.get("Content-Type", "")
            if body and not content_type.startswith(_BODY_TYPES):
                # As Telegram does, a body that is not a form or JSON is not understood.
                self._reply(400, {"ok": False, "error_code": 400, "description": content_type})
                return
            params = _parse_params(url.query, body, content_type)
            answer = api.handle(match.group(1), match.group(2), params)
            if answer is None:
                self.close_connection = True  # hang up without a word
                return
            self._reply(*answer)

        def _reply(self, status: int, body: JSON) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The bot gave up on a long poll (it is stopping); nobody to answer.
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


_BODY_TYPES = ("application/x-www-form-urlencoded", "application/json", "multipart/form-data")


def _parse_params(query: str, body: bytes, content_type: str) -> JSON:
    if content_type.startswith("application/json"):
        params: JSON = json.loads(body or b"{}")
        return params
    if content_type.startswith("multipart/form-data"):
        return _parse_multipart(body, content_type)
    params = {}
    for key, value in itertools.chain(
        parse_qsl(query, keep_blank_values=True),
        parse_qsl(body.decode(), keep_blank_values=True),
    ):
        params[key] = value if key in _STRING_PARAMETERS else _json_or_text(value)
    return params


def _parse_multipart(body: bytes, content_type: str) -> JSON:
    """Parameters of an upload; a file becomes {"filename", "mime_type", "content"}."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    params: JSON = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            text = data.decode()
            params[name] = text if name in _STRING_PARAMETERS else _json_or_text(text)
        else:
            params[name] = {
                "filename": filename,
                "mime_type": part.get_content_type(),
                "content": data.decode("latin-1"),
            }
    return params


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


# --- messages as Telegram delivers them ---------------------------------------------------


def user(user_id: int, first_name: str = "Ana") -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def text_message(
    chat: JSON,
    text: str,
    *,
    sender: JSON | None = None,
    reply_to: JSON | None = None,
) -> JSON:
    """A text message in `chat` with the entities Telegram would attach (commands, mentions)."""
    message: JSON = {
        "date": int(time.time()),
        "chat": chat,
        "from": sender or user(chat["id"] if chat["type"] == "private" else 1),
        "text": text,
    }
    entities = list(_entities(text))
    if entities:
        message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return message


def media_message(chat: JSON, kind: str, *, sender: JSON | None = None) -> JSON:
    """A sticker, photo, voice message or document, as Telegram delivers it."""
    payloads: dict[str, Any] = {
        "sticker": {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
        "photo": [{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}],
        "voice": {"file_id": "voice-1", "file_unique_id": "v1", "duration": 3},
        "document": {"file_id": "doc-1", "file_unique_id": "d1", "file_name": "scan.pdf"},
    }
    return {
        "date": int(time.time()),
        "chat": chat,
        "from": sender or user(chat["id"] if chat["type"] == "private" else 1),
        kind: payloads[kind],
    }


def _entities(text: str) -> Iterator[JSON]:
    """Yield bot_command and mention entities, with offsets in UTF-16 units as Telegram's."""
    for match in re.finditer(r"(?<![\w/])/\w+(?:@\w+)?|(?<!\w)@\w{5,}", text):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        if kind == "bot_command" and match.start() != 0:
            continue
        yield {
            "type": kind,
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group()),
        }
