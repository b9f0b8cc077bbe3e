"""One log line per request for the operator: method, path, status, time taken and client.

``GET /api/v1/ask 200 14 ms 10.0.0.7``. The query string is never logged (it may carry
``?key=``, a signed link's ``sig=`` or a learner's words), nor are headers or bodies, and the
session token in an LTI chat's or admin's path, and the chat session's id in Gradio's heartbeat
path (with it, ``queue/data`` streams that conversation's answers), are shown as ``…``. Static
files that were served are left out, so a page load is one line, not forty.

An event stream (``text/event-stream``: Gradio's heartbeat, open as long as the chat page is, and
its answer streams) is not a response time: its line says how long it stayed open instead,
``GET /gradio_api/heartbeat/… 200 event stream, open 312 s 10.0.0.7``, so reading the log for
slow requests (``ms``) does not find every page left open for a while.
"""

from __future__ import annotations

import logging
import re
import time

from qa.web.routes import route_kind

__all__ = ["AccessLog", "logged_path"]

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"^(/lti/(?:chat|admin)/|/gradio_api/heartbeat/)[^/]+")


def logged_path(path: str) -> str:
    """``path`` as the log shows it: an LTI session's token and a chat session's id replaced by
    ``…``."""
    return _TOKEN.sub(r"\1…", path)


class AccessLog:
    """ASGI middleware logging each HTTP request at INFO on ``qa.web.access_log`` once answered."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, stream = 0, False

        async def sending(message):
            nonlocal status, stream
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 0))
                stream = any(
                    name.lower() == b"content-type" and value.lower().startswith(b"text/event-stream")
                    for name, value in message.get("headers", ())
                )
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = scope.get("path", "")
            if not (route_kind(path) == "open" and 0 < status < 400):
                client = (scope.get("client") or ("-",))[0]
                took = time.perf_counter() - started
                log.info(
                    "%s %s %s %s %s",
                    scope.get("method", "-"),
                    logged_path(path),
                    status or "-",
                    f"event stream, open {took:.0f} s" if stream else f"{took * 1000:.0f} ms",
                    client,
                )
