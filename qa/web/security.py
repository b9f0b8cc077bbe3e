"""The one guard in front of every route, the JSON API's and Gradio's alike, and error responses
without internals.

It is one pure ASGI middleware (so Gradio's streamed responses pass through untouched). Every
request is sorted into one of a few kinds by its path (:func:`qa.web.routes.route_kind`);
anything not listed is a 404, so Gradio's upload, file, proxy, monitoring and login routes are
closed. The pieces it works with (the request, refusals, raw responses) are in :mod:`qa.web.asgi`.

- **methods**: GET, HEAD, POST and OPTIONS only (others 405 with ``Allow``); an API route
  answers 405 for a method it does not have.
- **origin**: a cross-origin request (``Origin`` not this server) to anything but static files
  is refused with 403 unless the origin is in ``allowed_origins``; the API sends CORS headers
  (preflights included) to allowed origins.
- **key**: with ``api_key`` set, ``/api/v1/ask`` and ``/api/v1/sources`` need
  ``Authorization: Bearer <key>``, the server key or a course key (:mod:`qa.index.course_keys`,
  which opens that course only: its course is noted in the request's scope for the routes,
  :mod:`qa.web.course_scope`); the chat page, Gradio's routes and ``/originals/`` need that
  header or the signed session cookie from ``/session`` (:mod:`qa.web.sessions`); ``/originals/``
  also opens through a link the API signed (:mod:`qa.web.signed_links`). Keys are compared as bytes
  in constant time and never logged. Wrong keys (the admin API's too) are counted per client
  *before* any answer: past
  ``auth_fail_limit`` a minute, every keyed request from that client gets 429.
- **body**: counted as it arrives, chunked or not, whatever ``Content-Length`` says; past
  ``MAX_BODY_BYTES`` the request is refused with 413 and never held in memory. Only the routes
  given ``body_limits`` (the admin API's document uploads) take more; the admin API's JSON
  bodies (settings, names, titles) have the ordinary limit. An API POST without
  ``Content-Length`` gets 411.
- **rate**: per client, ``rate_limit`` questions a minute (API asks and chat questions),
  ``lookup_rate_limit`` source look-ups (no model runs for one) and ``feedback_rate_limit``
  ratings; past them 429 with ``Retry-After``. The client
  is the peer address; ``X-Forwarded-For`` counts only from ``trusted_proxies``.
- every response: ``Content-Security-Policy: frame-ancestors 'self' <allowed origins>``,
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``;
  ``/embed?collection=X`` may also be framed by the origins X's settings file allows.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from qa.config import Settings
from qa.index.course_keys import CourseKeyRing
from qa.web.asgi import Headers, Refusal, Request, Send, fn_index, preflight, replay, respond, too_many
from qa.web.course_scope import COURSE, KEY
from qa.web.document_page import missing_page, no_page, refused_page, wants_page
from qa.web.limits import BodyTooLarge, ClientDisconnected, RateLimiter, read_body
from qa.web.routes import (
    ADMIN_API,
    API_ROUTES,
    API_SOURCES,
    KEYED_API,
    LTI_QUESTIONS,
    QUESTION_CALLS,
    methods_of,
)
from qa.web.sessions import SessionSigner, after_sign_in, cookie_value, login_page, wanted_collection
from qa.web.signed_links import LinkSigner, bound_key

__all__ = ["MAX_BODY_BYTES", "SecurityMiddleware"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_UPLOAD_BODY_BYTES = 50 * 2**20
"""Admin uploads (behind the admin key) may be this large."""
MAX_FORM_BYTES = 4 * 1024
METHODS = ("GET", "HEAD", "POST", "OPTIONS")
API_ONLY_METHODS = ("PUT", "DELETE")
"""Methods only API routes that declare them take (the admin API's uploads and deletes)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
COURSE_KEY_SIGN_IN = (
    "That is a course key: it opens its course's API and widget, not this page. Sign in with the "
    "server's key."
)
COURSE_KEY_PAGES = (
    "a course key opens only its course's JSON API and documents; the chat page needs the server "
    "key (or a sign-in at /session)"
)


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
        body_limits: Mapping[re.Pattern, int] | None = None,
        collection_origins: Callable[[], frozenset[str]] | None = None,
        own_origins: Callable[[str], frozenset[str]] | None = None,
        title_of: Callable[[str], str] | None = None,
    ) -> None:
        self.app = app
        self.routes = routes
        self.body_limits = dict(body_limits or {})
        """Path pattern -> larger body limit in bytes for a PUT there (an upload route behind a key)."""
        self.allowed = set(settings.allowed_origins)
        self.collection_origins = collection_origins or frozenset
        """Origins some collection's settings allow (the API route checks it is that collection)."""
        self.own_origins = own_origins or (lambda name: frozenset())
        """The origins collection ``name``'s settings allow: they may frame ``/embed?collection=NAME``."""
        self.title_of = title_of or (lambda name: "")
        """The title of collection ``name`` ('' the default), shown on the sign-in page."""
        self.trusted = tuple(settings.trusted_proxies)
        self.api_key = settings.api_key.encode("utf-8", "surrogateescape")
        self.admin_key = settings.admin_key.encode("utf-8", "surrogateescape")
        self.signer = SessionSigner(self.api_key) if self.api_key else None
        self.links = LinkSigner(self.api_key) if self.api_key else None
        self.course_keys = CourseKeyRing(settings)
        self.limits = {
            "question": RateLimiter(settings.rate_limit),
            "lookup": RateLimiter(settings.lookup_rate_limit),
            "feedback": RateLimiter(settings.feedback_rate_limit),
        }
        self.failed_keys = RateLimiter(settings.auth_fail_limit)
        self.call_kinds = dict(call_kinds or {})
        self.common_headers: Headers = [
            _frame_ancestors(self.allowed),
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
        request = Request(scope, self.trusted)
        cors: Headers = []
        try:
            cors = self._check_origin(request)
            methods = methods_of(self.routes, request.path) if request.kind == "api" else None
            if request.method == "OPTIONS" and methods:
                allow = ", ".join((*methods, "OPTIONS")).encode()
                extra = preflight() if cors else []
                await respond(send, 204, b"", [(b"allow", allow), *cors, *extra, *self.common_headers])
                return
            self._check_route(request)
            if request.kind == "session":
                await self._session(request, receive, send)
                return
            self._check_key(request)
            self._count_admin_guesses(request)
            body = await self._read_body(request, receive)
            self._check_rate(request, body)
        except Refusal as refusal:
            await self._refuse(send, refusal, cors)
            return
        except ClientDisconnected:
            return
        if body is not None:
            receive = replay(body, receive)
        await self.app(scope, receive, self._with_headers(send, cors, self._embed_headers(request)))

    # the checks, in order ------------------------------------------------------------------

    def _check_origin(self, r: Request) -> Headers:
        """CORS headers for an allowed cross-origin API call; 403 for an origin not allowed."""
        if r.kind in ("open", "closed", "lti") or not r.cross_origin:
            return []
        if r.origin not in self.allowed and not (r.kind == "api" and r.origin in self.collection_origins()):
            raise Refusal(403, "this origin is not allowed to use this server")
        if r.kind != "api":
            return []
        # a portal's script reads a 429's Retry-After only when it is exposed (not a safelisted header)
        return [
            (b"access-control-allow-origin", r.origin.encode("latin-1")),
            (b"access-control-expose-headers", b"Retry-After"),
            (b"vary", b"Origin"),
        ]

    def _check_route(self, r: Request) -> None:
        if r.method not in METHODS and not (r.kind in ("api", "lti") and r.method in API_ONLY_METHODS):
            if r.kind != "api":  # an API route says below which methods it takes
                raise Refusal(405, f"method {r.method} is not allowed", [(b"allow", b"GET, HEAD, POST")])
        if _CONTROL.search(r.path) or r.kind == "closed":
            missing = no_page("no such page or API route") if missing_page(r.path, r.header("accept")) else ""
            raise Refusal(404, "no such page or API route", html=missing.encode("utf-8"))
        if r.kind == "document" and r.method not in ("GET", "HEAD"):
            raise Refusal(405, f"{r.method} is not allowed here", [(b"allow", b"GET, HEAD")])
        if r.kind == "api":
            methods = methods_of(self.routes, r.path)
            if methods is None:
                raise Refusal(404, "no such API route; see /docs")
            if r.method not in methods:
                allow = ", ".join((*methods, "OPTIONS")).encode()
                raise Refusal(405, f"{r.path} does not take {r.method}", [(b"allow", allow)])

    def _check_key(self, r: Request) -> None:
        """With a key set: Bearer key (API), or key or session cookie (chat page, Gradio)."""
        keyed = ("page", "gradio", "document")
        needs_key = (r.kind == "api" and r.path.startswith(KEYED_API)) or r.kind in keyed
        if not self.api_key or not needs_key:
            return
        self._not_guessing(r)
        query = r.scope.get("query_string", b"")
        if r.kind == "document" and self.links.valid(r.path, query):
            bound = bound_key(query)  # a link given to a course key: only while the key lives
            if not bound or self.course_keys.alive(bound):
                return
        token = _bearer(r)
        if token is not None:  # other schemes (a proxy's Basic login) are not our key
            if self._key_accepted(r, token):
                return
            self._failed(r)
        elif r.kind != "api":
            cookie = cookie_value(r.header("cookie"))
            if cookie and self.signer.valid(cookie):
                return
            if cookie:
                self._failed(r)
            if r.kind == "page" and r.method in ("GET", "HEAD"):
                collection = wanted_collection(parse_qs(query.decode("latin-1")))
                where = b"session" + (f"?collection={collection}".encode() if collection else b"")
                raise Refusal(303, "sign in first", [(b"location", where)])
        www = [(b"www-authenticate", b'Bearer realm="qa"')]
        if r.kind == "api":
            raise Refusal(401, "a valid API key is required: Authorization: Bearer <key>", www)
        message = "sign in at /session (or send Authorization: Bearer <key>)"
        expired = r.kind == "document" and b"sig=" in query
        if expired:
            message = (
                "this link to the original has expired (or its course key was revoked); ask the "
                "question again for a fresh link"
            )
        raise Refusal(401, message, www, html=_document_refusal(r, message, sign_in=not expired))

    def _key_accepted(self, r: Request, token: bytes) -> bool:
        """Whether ``token`` is the server key, or a course key: then its course is noted in the
        scope, and the routes answer only that course (:mod:`qa.web.course_scope`)."""
        if hmac.compare_digest(token, self.api_key):
            return True
        key = self.course_keys.find(token)
        if key is None:
            return False
        if r.kind not in ("api", "document"):
            raise Refusal(403, COURSE_KEY_PAGES)
        r.scope[COURSE], r.scope[KEY] = key.course, key.binding
        return True

    def _count_admin_guesses(self, r: Request) -> None:
        """The admin API checks its key itself (:mod:`qa.web.admin`); a wrong one counts here as a
        wrong key does, so the admin key cannot be guessed faster than the learners' key."""
        if not self.admin_key or r.kind != "api" or not r.path.startswith(ADMIN_API + "/"):
            return
        self._not_guessing(r)
        token = _bearer(r)
        if token is not None and not hmac.compare_digest(token, self.admin_key):
            self._failed(r, "admin key")

    def _not_guessing(self, r: Request) -> None:
        wait = self.failed_keys.peek(r.client)
        if wait:
            raise too_many(wait, "too many wrong keys")

    def _failed(self, r: Request, what: str = "API key or session") -> None:
        log.warning("wrong %s from %s on %s", what, r.client, r.path)
        wait = self.failed_keys.check(r.client)
        if wait:
            raise too_many(wait, "too many wrong keys")

    async def _read_body(self, r: Request, receive) -> bytes | None:
        """The body, read whole up to the limit (None for a request without one)."""
        length = r.header("content-length")
        chunked = "transfer-encoding" in r.headers
        if r.kind == "api" and r.method in ("POST", "PUT") and not length:
            # the API wants to know the size up front; a chunked body gets 411
            raise Refusal(411, "the request needs a Content-Length header")
        limit = MAX_FORM_BYTES if r.kind == "session" else MAX_BODY_BYTES
        if r.method == "PUT":
            limit = next((size for route, size in self.body_limits.items() if route.match(r.path)), limit)
        too_large = Refusal(413, f"the request body is limited to {_size(limit)}")
        if length and (not length.isdigit() or int(length) > limit):
            raise too_large
        if not chunked and not int(length or 0):
            return None
        try:
            return await read_body(receive, limit)
        except BodyTooLarge:
            raise too_large from None

    def _check_rate(self, r: Request, body: bytes | None) -> None:
        kind = "free"
        if r.kind == "api" and r.path.startswith(API_SOURCES):
            kind = "lookup"
        elif r.kind == "api" and r.path.startswith(KEYED_API):
            kind = "question"
        elif r.kind == "lti" and LTI_QUESTIONS.match(r.path):
            kind = "question"
        elif r.kind == "gradio" and r.method == "POST" and r.path in QUESTION_CALLS:
            kind = "question"
        elif r.kind == "gradio" and r.path == "/gradio_api/queue/join":
            kind = self.call_kinds.get(fn_index(body), "question")
        if kind in self.limits:
            wait = self.limits[kind].check(r.client)
            if wait:
                raise too_many(wait, "too many ratings" if kind == "feedback" else "too many requests")

    # sign in -------------------------------------------------------------------------------

    async def _session(self, r: Request, receive, send) -> None:
        """``/session``: the sign-in form (GET), a key-protected link (GET ``?key=``) or the
        form's POST; a right key sets the session cookie and goes to the chat page."""
        if self.signer is None:  # no key: nothing to sign in to
            await respond(send, 303, b"", [(b"location", b"./"), *self.common_headers])
            return
        try:
            self._not_guessing(r)
            if r.method == "POST":
                form = parse_qs((await self._read_body(r, receive) or b"").decode("utf-8", "replace"))
            else:
                form = parse_qs(r.scope.get("query_string", b"").decode("latin-1"))
            collection = wanted_collection(form)
            title = self.title_of(collection)
            if "key" not in form:
                await respond(send, 200, login_page(collection=collection, title=title), self._page_headers())
                return
            typed = form["key"][0].encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(typed, self.api_key):
                said = COURSE_KEY_SIGN_IN if self.course_keys.course_of(typed) else ""
                if not said:
                    self._failed(r)
                page = login_page(said or "That key is not right; try again.", collection, title)
                raise Refusal(401, "wrong key", html=page)
        except Refusal as refusal:
            await self._refuse(send, refusal, [])
            return
        cookie = self.signer.set_cookie_header(secure=r.scope.get("scheme") == "https")
        where = after_sign_in(collection)
        await respond(send, 303, b"", [(b"location", where), (b"set-cookie", cookie), *self._page_headers()])

    def _page_headers(self) -> Headers:
        return [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"cache-control", b"no-store"),
            *self.common_headers,
        ]

    # responses -----------------------------------------------------------------------------

    async def _refuse(self, send: Send, refusal: Refusal, cors: Headers) -> None:
        if refusal.html:
            await respond(send, refusal.status, refusal.html, [*refusal.headers, *self._page_headers()])
            return
        body = json.dumps({"error": refusal.message}).encode("utf-8")
        headers = [(b"content-type", b"application/json"), *refusal.headers, *cors, *self.common_headers]
        await respond(send, refusal.status, body, headers)

    def _embed_headers(self, r: Request) -> Headers:
        """The common headers, where ``/embed?collection=X`` may also be framed by the origins
        X's settings allow (the embed page of the default collection by the default's)."""
        if r.path != "/embed":
            return self.common_headers
        query = parse_qs(r.scope.get("query_string", b"").decode("latin-1"))
        own = self.own_origins(query.get("collection", [""])[0])
        if own <= self.allowed:
            return self.common_headers
        return [_frame_ancestors(self.allowed | own), *self.common_headers[1:]]

    def _with_headers(self, send: Send, cors: Headers, common: Headers) -> Send:
        async def wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in [*cors, *common] if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return wrapped


def _bearer(r: Request) -> bytes | None:
    """The token of ``Authorization: Bearer <token>`` (None for no header or another scheme)."""
    scheme, _, token = r.raw_header(b"authorization").partition(b" ")
    return token.strip() if scheme.lower() == b"bearer" else None


def _document_refusal(r: Request, message: str, *, sign_in: bool) -> bytes:
    """A short page instead of JSON when a browser tab opens a citation's document (b"" else)."""

    if r.kind != "document" or not wants_page(r.path, r.header("accept")):
        return b""
    return refused_page(401, message, sign_in=sign_in).encode("utf-8")


def _frame_ancestors(origins) -> tuple[bytes, bytes]:
    """The CSP header that lets this server and ``origins`` (and no one else) frame a page."""
    ancestors = " ".join(["'self'", *sorted(origins)])
    return (b"content-security-policy", f"frame-ancestors {ancestors}".encode())


def _size(limit: int) -> str:
    """A body limit as people write it: "50 MiB" (not "51200 KiB"), "256 KiB"."""
    if limit >= 2**20 and limit % 2**20 == 0:
        return f"{limit // 2**20} MiB"
    return f"{limit // 1024} KiB"
