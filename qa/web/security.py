"""What stands between a request and the retriever: origin allowlist, API key, rate limit,
body size limit, security headers, and error responses without internals.

It is one pure ASGI middleware (so Gradio's streamed responses pass through untouched) plus
exception handlers. Rules:

- ``/api/...``: a cross-origin request (``Origin`` not this server) is refused with 403 unless
  the origin is in ``allowed_origins``; allowed origins get CORS headers, preflights included.
  With ``api_key`` set, ``Authorization: Bearer <key>`` is required (compared in constant time;
  the key is never logged). Each client (IP address) may make ``rate_limit`` requests a minute;
  past it, 429 with ``Retry-After``. Bodies over ``MAX_BODY_BYTES`` get 413, and a POST without
  ``Content-Length`` (a chunked body of unknown size) gets 411.
- every response: ``Content-Security-Policy: frame-ancestors 'self' <allowed origins>``,
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from qa.config import Settings
from qa.errors import (
    CollectionExistsError,
    CollectionNameError,
    EmptyCollectionError,
    QAError,
    QuestionError,
    UnknownCollectionError,
    UnknownSourceError,
    UploadError,
)

__all__ = ["MAX_BODY_BYTES", "RateLimiter", "SecurityMiddleware", "install_error_handlers"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
ADMIN_PREFIX = "/api/v1/admin/"
MAX_UPLOAD_BODY_BYTES = 50 * 2**20
"""Admin uploads (behind the admin key) may be larger than other bodies."""
PROTECTED = ("/api/v1/ask", "/api/v1/sources")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"


class RateLimiter:
    """At most ``per_minute`` events per key in any sliding 60-second window; thread-safe."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """0 if the event is allowed (and counted), else seconds to wait before retrying."""
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - 60:
                events.popleft()
            if len(events) >= self.per_minute:
                return max(events[0] + 60 - now, 0.001)
            events.append(now)
            if len(self._events) > 10_000:  # forget idle clients
                for other in [k for k, v in self._events.items() if not v or v[-1] <= now - 60]:
                    del self._events[other]
            return 0.0


Send = Callable[[dict], Awaitable[None]]


class SecurityMiddleware:
    def __init__(
        self, app, settings: Settings, *, collection_origins: Callable[[], frozenset[str]] | None = None
    ) -> None:
        self.app = app
        self.allowed = set(settings.allowed_origins)
        self.collection_origins = collection_origins or frozenset
        """Origins allowed by some collection's settings (the API route checks it is that collection)."""
        self.api_key = settings.api_key.encode("utf-8")
        self.limiter = RateLimiter(settings.rate_limit)
        ancestors = " ".join(["'self'", *sorted(self.allowed)])
        self.common_headers = [
            (b"content-security-policy", f"frame-ancestors {ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        origin = headers.get("origin")
        cross = origin is not None and not _same_origin(origin, headers.get("host", ""), scope)
        cors: list[tuple[bytes, bytes]] = []
        if path.startswith("/api/") and cross:
            if origin not in self.allowed and origin not in self.collection_origins():
                await _json(send, 403, {"error": "this origin is not allowed to use the API"}, [])
                return
            cors = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"vary", b"Origin"),
            ]
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await _empty(
                    send,
                    204,
                    [
                        *cors,
                        (b"access-control-allow-methods", CORS_METHODS.encode()),
                        (b"access-control-allow-headers", CORS_HEADERS.encode()),
                        (b"access-control-max-age", b"600"),
                        *self.common_headers,
                    ],
                )
                return
        if path.startswith("/api/"):
            extra = cors + self.common_headers
            length = headers.get("content-length")
            if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
                # a chunked body could be any size: the API wants to know it up front
                await _json(send, 411, {"error": "the request needs a Content-Length header"}, extra)
                return
            length = length or "0"
            limit = MAX_UPLOAD_BODY_BYTES if path.startswith(ADMIN_PREFIX) else MAX_BODY_BYTES
            if not length.isdigit() or int(length) > limit:
                message = f"the request body is limited to {limit // 1024} KiB"
                await _json(send, 413, {"error": message}, extra)
                return
            if path.startswith(PROTECTED):
                if self.api_key and not self._key_ok(headers.get("authorization", "")):
                    await _json(
                        send,
                        401,
                        {"error": "a valid API key is required: Authorization: Bearer <key>"},
                        [*extra, (b"www-authenticate", b'Bearer realm="qa"')],
                    )
                    return
                client = (scope.get("client") or ("unknown", 0))[0]
                wait = self.limiter.check(client)
                if wait:
                    retry = str(math.ceil(wait)).encode()
                    body = {"error": f"too many requests; retry in {math.ceil(wait)} s"}
                    await _json(send, 429, body, [*extra, (b"retry-after", retry)])
                    return
        await self.app(scope, receive, self._with_headers(send, cors))

    def _key_ok(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), self.api_key)

    def _with_headers(self, send: Send, cors: list[tuple[bytes, bytes]]) -> Send:
        async def wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in [*cors, *self.common_headers] if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return wrapped


def _same_origin(origin: str, host: str, scope) -> bool:
    scheme = scope.get("scheme", "http")
    return origin.rstrip("/") == f"{scheme}://{host}"


async def _json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]]) -> None:
    data = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _empty(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def install_error_handlers(app) -> None:
    """Library errors become 4xx with their message; validation errors a readable 422;
    anything else a 500 that says nothing about the server's internals."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    status_of = {
        QuestionError: 422,
        UnknownSourceError: 404,
        CollectionNameError: 422,
        UnknownCollectionError: 404,
        CollectionExistsError: 409,
        EmptyCollectionError: 409,
        UploadError: 422,
    }

    @app.exception_handler(QAError)
    async def qa_error(request, exc: QAError):
        status = next((s for kind, s in status_of.items() if isinstance(exc, kind)), 503)
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                problems.append("the request body is not valid JSON")
                continue
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"error": "; ".join(problems)[:2000], "problems": problems[:20]}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request, exc: Exception):
        log.error("unexpected error on %s: %s", request.url.path, type(exc).__name__, exc_info=exc)
        return JSONResponse({"error": "internal error; the server log has the details"}, 500)
