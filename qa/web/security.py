"""The one guard in front of every route, the JSON API's and Gradio's alike, and error responses
without internals.

It is one pure ASGI middleware (so Gradio's streamed responses pass through untouched). Every
request is sorted into one of a few kinds by its path (:func:`route_kind`); anything not
listed is a 404, so Gradio's upload, file, proxy, monitoring and login routes are closed.

- **methods**: GET, HEAD, POST and OPTIONS only (others 405 with ``Allow``); an API route
  answers 405 for a method it does not have.
- **origin**: a cross-origin request (``Origin`` not this server) to anything but static files
  is refused with 403 unless the origin is in ``allowed_origins``; the API sends CORS headers
  (preflights included) to allowed origins.
- **key**: with ``api_key`` set, ``/api/v1/ask`` and ``/api/v1/sources`` need
  ``Authorization: Bearer <key>``; the chat page, Gradio's routes and ``/originals/`` need that
  header or the signed session cookie from ``/session`` (:mod:`qa.web.sessions`). Keys are compared as bytes
  in constant time and never logged. Wrong keys are counted per client *before* any answer: past
  ``auth_fail_limit`` a minute, every keyed request from that client gets 429.
- **body**: counted as it arrives, chunked or not, whatever ``Content-Length`` says; past
  ``MAX_BODY_BYTES`` the request is refused with 413 and never held in memory. An API POST
  without ``Content-Length`` gets 411.
- **rate**: per client, ``rate_limit`` questions a minute (API asks and source look-ups, chat
  questions) and ``feedback_rate_limit`` ratings; past them 429 with ``Retry-After``. The client
  is the peer address; ``X-Forwarded-For`` counts only from ``trusted_proxies``.
- every response: ``Content-Security-Policy: frame-ancestors 'self' <allowed origins>``,
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qs

from qa.config import Settings
from qa.web.limits import BodyTooLarge, ClientDisconnected, RateLimiter, client_address, read_body
from qa.web.sessions import SessionSigner, cookie_value, login_page

__all__ = ["MAX_BODY_BYTES", "RateLimiter", "SecurityMiddleware", "route_kind"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_UPLOAD_BODY_BYTES = 50 * 2**20
"""Admin uploads (behind the admin key) may be this large."""
MAX_FORM_BYTES = 4 * 1024
METHODS = ("GET", "HEAD", "POST", "OPTIONS")
API_ONLY_METHODS = ("PUT", "DELETE")
"""Methods only API routes that declare them take (the admin API's uploads and deletes)."""
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
API_SOURCES = "/api/v1/sources/"
API_ROUTES = ((re.compile(r"^/api/v1/ask$"), ("POST",)), (re.compile(r"^/api/v1/health$"), ("GET",)))
API_ROUTES += ((re.compile(r"^/api/v1/sources/.*$"), ("GET",)),)
"""The API's routes and methods when the app does not say (see :func:`api_routes`)."""
KEYED_API = ("/api/v1/ask", API_SOURCES)
OPEN_PATHS = frozenset(
    "/favicon.ico /theme.css /robots.txt /manifest.json /widget.js /embed /admin /admin.js /admin.css "
    "/docs /docs/oauth2-redirect /redoc /openapi.json".split()
)
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/")
GRADIO_PATHS = frozenset(
    "/config /config/ /gradio_api/info /gradio_api/info/ /gradio_api/queue/join "
    "/gradio_api/queue/data /gradio_api/cancel /gradio_api/call/ask /gradio_api/call/ask/".split()
)
GRADIO_PREFIXES = ("/gradio_api/heartbeat/", "/gradio_api/call/ask/")
QUESTION_CALLS = ("/gradio_api/call/ask", "/gradio_api/call/ask/")
ORIGINALS = "/originals/"
LTI = "/lti/"
LTI_QUESTIONS = re.compile(r"^/lti/chat/[^/]+/api/v1/(ask$|sources/)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Send = Callable[[dict], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def route_kind(path: str) -> str:
    """``api`` (JSON API), ``page`` (the chat page), ``gradio`` (what the page and gradio_client
    call), ``document`` (an indexed source's original file), ``session`` (sign in), ``lti``
    (the LTI tool: its launches come from the LMS's site, its sessions carry their own signed
    token, see :mod:`qa.web.lti`), ``open`` (static files, docs, widget) or ``closed`` (the rest)."""
    if path.startswith("/api/"):
        return "api"
    if path.startswith(LTI):
        return "lti"
    if path.startswith(ORIGINALS):
        return "document"
    if path == "/":
        return "page"
    if path == "/session":
        return "session"
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return "open"
    if path in GRADIO_PATHS or path.startswith(GRADIO_PREFIXES):
        return "gradio"
    return "closed"


def api_routes(app) -> tuple[tuple[re.Pattern, tuple[str, ...]], ...]:
    """Each ``/api/`` route of a FastAPI ``app`` (included routers too) with its methods, so the
    guard knows every API route, and answers 404/405 in the API's shape, without a list to keep
    in step."""
    from starlette.routing import compile_path

    out = []

    def walk(routes, prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI >= 0.16x keeps routers
            if included is not None:
                context = getattr(route, "include_context", None)
                walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
                continue
            path, methods = prefix + getattr(route, "path", ""), getattr(route, "methods", None)
            if path.startswith("/api/") and methods:
                out.append((compile_path(path)[0], tuple(sorted(m for m in methods if m != "HEAD"))))

    walk(getattr(app, "routes", ()), "")
    return tuple(out)


def _methods(routes, path: str) -> tuple[str, ...] | None:
    """Methods of the API route(s) at ``path``; None for no such route."""
    found = [m for regex, methods in routes if regex.match(path) for m in methods]
    return tuple(dict.fromkeys(found)) if found else None


class _Refusal(Exception):
    """A response the guard gives instead of the app's."""

    def __init__(self, status: int, message: str, headers: Headers = (), *, html: bytes = b"") -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.html = status, message, list(headers), html


class SecurityMiddleware:
    """The guard (see the module docstring). ``call_kinds`` maps a Gradio ``fn_index`` to
    ``"question"``, ``"feedback"`` or ``"free"`` for the per-client limits; unknown ones count
    as questions."""

    def __init__(
        self,
        app,
        settings: Settings,
        *,
        call_kinds: Mapping[int, str] | None = None,
        routes: tuple[tuple[re.Pattern, tuple[str, ...]], ...] = API_ROUTES,
        body_limits: Mapping[str, int] | None = None,
        collection_origins: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self.app = app
        self.routes = routes
        self.body_limits = dict(body_limits or {})
        """Path prefix -> larger body limit in bytes (for example an upload route behind a key)."""
        self.allowed = set(settings.allowed_origins)
        self.collection_origins = collection_origins or frozenset
        """Origins some collection's settings allow (the API route checks it is that collection)."""
        self.trusted = tuple(settings.trusted_proxies)
        self.api_key = settings.api_key.encode("utf-8", "surrogateescape")
        self.signer = SessionSigner(self.api_key) if self.api_key else None
        self.limits = {
            "question": RateLimiter(settings.rate_limit),
            "feedback": RateLimiter(settings.feedback_rate_limit),
        }
        self.failed_keys = RateLimiter(settings.auth_fail_limit)
        self.call_kinds = dict(call_kinds or {})
        ancestors = " ".join(["'self'", *sorted(self.allowed)])
        self.common_headers: Headers = [
            (b"content-security-policy", f"frame-ancestors {ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket":  # nothing here speaks WebSocket
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _Request(scope, self.trusted)
        cors: Headers = []
        try:
            cors = self._check_origin(request)
            methods = _methods(self.routes, request.path) if request.kind == "api" else None
            if request.method == "OPTIONS" and methods:
                allow = ", ".join((*methods, "OPTIONS")).encode()
                preflight = _preflight() if cors else []
                await _respond(send, 204, b"", [(b"allow", allow), *cors, *preflight, *self.common_headers])
                return
            self._check_route(request)
            if request.kind == "session":
                await self._session(request, receive, send)
                return
            self._check_key(request)
            body = await self._read_body(request, receive)
            self._check_rate(request, body)
        except _Refusal as refusal:
            await self._refuse(send, refusal, cors)
            return
        except ClientDisconnected:
            return
        if body is not None:
            receive = _replay(body, receive)
        await self.app(scope, receive, self._with_headers(send, cors))

    # the checks, in order ------------------------------------------------------------------

    def _check_origin(self, r: _Request) -> Headers:
        """CORS headers for an allowed cross-origin API call; 403 for an origin not allowed."""
        if r.kind in ("open", "closed", "lti") or not r.cross_origin:
            return []
        if r.origin not in self.allowed and not (r.kind == "api" and r.origin in self.collection_origins()):
            raise _Refusal(403, "this origin is not allowed to use this server")
        if r.kind != "api":
            return []
        return [(b"access-control-allow-origin", r.origin.encode("latin-1")), (b"vary", b"Origin")]

    def _check_route(self, r: _Request) -> None:
        if r.method not in METHODS and not (r.kind in ("api", "lti") and r.method in API_ONLY_METHODS):
            raise _Refusal(405, f"method {r.method} is not allowed", [(b"allow", b"GET, HEAD, POST")])
        if _CONTROL.search(r.path) or r.kind == "closed":
            raise _Refusal(404, "no such page or API route")
        if r.kind == "document" and r.method not in ("GET", "HEAD"):
            raise _Refusal(405, f"{r.method} is not allowed here", [(b"allow", b"GET, HEAD")])
        if r.kind == "api":
            methods = _methods(self.routes, r.path)
            if methods is None:
                raise _Refusal(404, "no such API route; see /docs")
            if r.method not in methods:
                allow = ", ".join((*methods, "OPTIONS")).encode()
                raise _Refusal(405, f"{r.path} does not take {r.method}", [(b"allow", allow)])

    def _check_key(self, r: _Request) -> None:
        """With a key set: Bearer key (API), or key or session cookie (chat page, Gradio)."""
        keyed = ("page", "gradio", "document")
        needs_key = (r.kind == "api" and r.path.startswith(KEYED_API)) or r.kind in keyed
        if not self.api_key or not needs_key:
            return
        self._not_guessing(r)
        scheme, _, token = r.raw_header(b"authorization").partition(b" ")
        if scheme.lower() == b"bearer":  # other schemes (a proxy's Basic login) are not our key
            if hmac.compare_digest(token.strip(), self.api_key):
                return
            self._failed(r)
        elif r.kind != "api":
            cookie = cookie_value(r.header("cookie"))
            if cookie and self.signer.valid(cookie):
                return
            if cookie:
                self._failed(r)
            if r.kind == "page" and r.method in ("GET", "HEAD"):
                raise _Refusal(303, "sign in first", [(b"location", b"session")])
        www = [(b"www-authenticate", b'Bearer realm="qa"')]
        if r.kind == "api":
            raise _Refusal(401, "a valid API key is required: Authorization: Bearer <key>", www)
        raise _Refusal(401, "sign in at /session (or send Authorization: Bearer <key>)", www)

    def _not_guessing(self, r: _Request) -> None:
        wait = self.failed_keys.peek(r.client)
        if wait:
            raise _too_many(wait, "too many wrong keys")

    def _failed(self, r: _Request) -> None:
        log.warning("wrong API key or session from %s on %s", r.client, r.path)
        wait = self.failed_keys.check(r.client)
        if wait:
            raise _too_many(wait, "too many wrong keys")

    async def _read_body(self, r: _Request, receive) -> bytes | None:
        """The body, read whole up to the limit (None for a request without one)."""
        length = r.header("content-length")
        chunked = "transfer-encoding" in r.headers
        if r.kind == "api" and r.method in ("POST", "PUT") and not length:
            # the API wants to know the size up front; a chunked body gets 411
            raise _Refusal(411, "the request needs a Content-Length header")
        limit = MAX_FORM_BYTES if r.kind == "session" else MAX_BODY_BYTES
        limit = next((size for prefix, size in self.body_limits.items() if r.path.startswith(prefix)), limit)
        too_large = _Refusal(413, f"the request body is limited to {limit // 1024} KiB")
        if length and (not length.isdigit() or int(length) > limit):
            raise too_large
        if not chunked and not int(length or 0):
            return None
        try:
            return await read_body(receive, limit)
        except BodyTooLarge:
            raise too_large from None

    def _check_rate(self, r: _Request, body: bytes | None) -> None:
        kind = "free"
        if r.kind == "api" and r.path.startswith(KEYED_API):
            kind = "question"
        elif r.kind == "lti" and LTI_QUESTIONS.match(r.path):
            kind = "question"
        elif r.kind == "gradio" and r.method == "POST" and r.path in QUESTION_CALLS:
            kind = "question"
        elif r.kind == "gradio" and r.path == "/gradio_api/queue/join":
            kind = self.call_kinds.get(_fn_index(body), "question")
        if kind in self.limits:
            wait = self.limits[kind].check(r.client)
            if wait:
                raise _too_many(wait, "too many requests" if kind == "question" else "too many ratings")

    # sign in -------------------------------------------------------------------------------

    async def _session(self, r: _Request, receive, send) -> None:
        """``/session``: the sign-in form (GET), a key-protected link (GET ``?key=``) or the
        form's POST; a right key sets the session cookie and goes to the chat page."""
        if self.signer is None:  # no key: nothing to sign in to
            await _respond(send, 303, b"", [(b"location", b"./"), *self.common_headers])
            return
        try:
            self._not_guessing(r)
            if r.method == "POST":
                form = parse_qs((await self._read_body(r, receive) or b"").decode("utf-8", "replace"))
            else:
                form = parse_qs(r.scope.get("query_string", b"").decode("latin-1"))
            if "key" not in form:
                await _respond(send, 200, login_page(), self._page_headers())
                return
            if not hmac.compare_digest(form["key"][0].encode("utf-8", "surrogateescape"), self.api_key):
                self._failed(r)
                raise _Refusal(401, "wrong key", html=login_page("That key is not right; try again."))
        except _Refusal as refusal:
            await self._refuse(send, refusal, [])
            return
        cookie = self.signer.set_cookie_header(secure=r.scope.get("scheme") == "https")
        await _respond(send, 303, b"", [(b"location", b"./"), (b"set-cookie", cookie), *self._page_headers()])

    def _page_headers(self) -> Headers:
        return [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"cache-control", b"no-store"),
            *self.common_headers,
        ]

    # responses -----------------------------------------------------------------------------

    async def _refuse(self, send: Send, refusal: _Refusal, cors: Headers) -> None:
        if refusal.html:
            await _respond(send, refusal.status, refusal.html, [*refusal.headers, *self._page_headers()])
            return
        body = json.dumps({"error": refusal.message}).encode("utf-8")
        headers = [(b"content-type", b"application/json"), *refusal.headers, *cors, *self.common_headers]
        await _respond(send, refusal.status, body, headers)

    def _with_headers(self, send: Send, cors: Headers) -> Send:
        async def wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in [*cors, *self.common_headers] if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return wrapped


class _Request:
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


def _fn_index(body: bytes | None) -> int | None:
    try:
        value = json.loads(body or b"{}").get("fn_index")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _too_many(wait: float, what: str) -> _Refusal:
    seconds = math.ceil(wait)
    return _Refusal(429, f"{what}; retry in {seconds} s", [(b"retry-after", str(seconds).encode())])


def _preflight() -> Headers:
    return [
        (b"access-control-allow-methods", CORS_METHODS.encode()),
        (b"access-control-allow-headers", CORS_HEADERS.encode()),
        (b"access-control-max-age", b"600"),
    ]


def _replay(body: bytes, receive):
    """A ``receive`` that gives the already-read body, then whatever the client does next."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
