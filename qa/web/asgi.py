"""The plain ASGI pieces the guard works with: a request read once from its scope, a refusal
(the response the guard gives instead of the app's), and raw responses."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable

from qa.web.limits import client_address
from qa.web.routes import route_kind

__all__ = ["Headers", "Refusal", "Request", "Send", "fn_index", "preflight", "replay", "respond", "too_many"]

Send = Callable[[dict], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"


class Refusal(Exception):
    """A response the guard gives instead of the app's."""

    def __init__(self, status: int, message: str, headers: Headers = (), *, html: bytes = b"") -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.html = status, message, list(headers), html


class Request:
    """What the guard needs to know about a request, read once from the ASGI scope."""

    def __init__(self, scope, trusted: tuple[str, ...]) -> None:
        self.scope = scope
        self.raw = scope["headers"]
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.raw}
        self.method = scope["method"]
        self.path = scope["path"]
        self.kind = route_kind(self.path)
        peer = (scope.get("client") or ("unknown", 0))[0]
        self.client = client_address(peer, self.headers.get("x-forwarded-for"), trusted)
        self.origin = self.headers.get("origin")
        host = self.headers.get("host", "")
        same = (
            self.origin is not None and self.origin.rstrip("/") == f"{scope.get('scheme', 'http')}://{host}"
        )
        self.cross_origin = self.origin is not None and not same

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def raw_header(self, name: bytes) -> bytes:
        """The header's bytes as sent (so a non-ASCII key compares as its UTF-8 bytes)."""
        return next((v for k, v in self.raw if k.lower() == name), b"")


def fn_index(body: bytes | None) -> int | None:
    try:
        value = json.loads(body or b"{}").get("fn_index")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def too_many(wait: float, what: str) -> Refusal:
    seconds = math.ceil(wait)
    return Refusal(429, f"{what}; retry in {seconds} s", [(b"retry-after", str(seconds).encode())])


def preflight() -> Headers:
    return [
        (b"access-control-allow-methods", CORS_METHODS.encode()),
        (b"access-control-allow-headers", CORS_HEADERS.encode()),
        (b"access-control-max-age", b"600"),
    ]


def replay(body: bytes, receive):
    """A ``receive`` that gives the already-read body, then whatever the client does next."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
