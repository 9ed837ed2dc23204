"""The webhook: an HTTP server (aiohttp) that takes the updates Telegram posts.

Anyone can reach the port, so a request is judged before its body is read:

- not POST to the webhook's path: 405 or 404;
- without the secret token Telegram sends (X-Telegram-Bot-Api-Secret-Token): 403, and the
  connection is closed without reading the body;
- a body over MAX_BODY_BYTES (Telegram's updates are a few kilobytes): 413;
- a body that is not a JSON object with an update_id (not UTF-8, not JSON, nested too
  deep): 400.

Telegram gets its 200 only once the update is journaled (dispatch.py), so an update is not
lost if the bot is killed right after; an update python-telegram-bot cannot parse is
still acknowledged (Telegram would only send it again), then skipped.
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from psoasbot.telegram_bot._logging import log
from psoasbot.telegram_bot.dispatch import Dispatcher

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20


def make_webhook_app(path: str, secret: str, dispatcher: Dispatcher) -> web.Application:
    """Return the web application answering Telegram's posts on `path` ("/psoasbot")."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.StreamResponse:
        if request.path != path:
            raise web.HTTPNotFound()
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            log.warning("Refused a webhook request without the secret token")
            return _closing(web.Response(status=403, text="Forbidden"))
        length = request.content_length
        if length is not None and length > MAX_BODY_BYTES:
            return _closing(web.Response(status=413, text="Request Entity Too Large"))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # no Content-Length, and too much sent
            return _closing(web.Response(status=413, text="Request Entity Too Large"))
        try:
            update = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):  # not UTF-8 or not JSON; nested too deep
            return web.Response(status=400, text="Bad Request: not a JSON update")
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(status=400, text="Bad Request: no update_id")
        await dispatcher.accept([update])
        return web.Response(status=200)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("*", "/{tail:.*}", receive)
    return app


def _closing(response: web.Response) -> web.Response:
    # Close the connection instead of reading (and discarding) the rest of the body.
    response.force_close()
    return response


async def start_webhook(app: web.Application, listen: str, port: int) -> web.AppRunner:
    """Listen on `listen`:`port`; return the runner to stop it with (`runner.cleanup()`).

    Raises:
        OSError: the address cannot be listened on.
    """
    # lingering_time=0: a request refused before its body was read is not then read for
    # ten seconds more (aiohttp's default), the connection is closed at once.
    runner = web.AppRunner(app, access_log=None, lingering_time=0, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, listen, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
