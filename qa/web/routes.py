"""The route table of the guard: which kind of route a path is, and which API routes there are
with their methods (read from the app, so there is no list to keep in step)."""

from __future__ import annotations

import re

__all__ = [
    "ADMIN_API",
    "ADMIN_UPLOADS",
    "API_ROUTES",
    "KEYED_API",
    "LTI_ADMIN_UPLOADS",
    "LTI_QUESTIONS",
    "QUESTION_CALLS",
    "api_routes",
    "methods_of",
    "route_kind",
]

API_SOURCES = "/api/v1/sources/"
API_ROUTES = ((re.compile(r"^/api/v1/ask$"), ("POST",)), (re.compile(r"^/api/v1/health$"), ("GET",)))
API_ROUTES += ((re.compile(r"^/api/v1/sources/.*$"), ("GET",)),)
"""The API's routes and methods when the app does not say (see :func:`api_routes`)."""
KEYED_API = ("/api/v1/ask", API_SOURCES)
ADMIN_API = "/api/v1/admin"
"""The authors' API (:mod:`qa.web.admin`), behind ``QA_ADMIN_KEY``."""
ADMIN_UPLOADS = re.compile(r"^/api/v1/admin/collections/[^/]+/documents/[^/]+$")
"""The admin API's document uploads (a raw file as the body); its other bodies are JSON."""
LTI_ADMIN_UPLOADS = re.compile(r"^/lti/admin/[^/]+/api/v1/admin/collections/[^/]+/documents/[^/]+$")
"""The same uploads from an instructor's LTI session (:mod:`qa.web.lti.scoped`)."""
OPEN_PATHS = frozenset(
    "/favicon.ico /theme.css /robots.txt /manifest.json /widget.js /embed /admin /admin.js /admin.css "
    "/docs /docs/oauth2-redirect /redoc /openapi.json /gradio_api/app_id /gradio_api/app_id/".split()
)
"""Served to anyone. ``app_id`` (an id of the page's build, nothing more) is what the chat page
polls after losing the server, to reload itself once it answers: open without the key, so a page
whose sign-in a new key ended reloads to the sign-in form rather than polling for good."""
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/")
GRADIO_PATHS = frozenset(
    "/config /config/ /gradio_api/info /gradio_api/info/ /gradio_api/queue/join "
    "/gradio_api/queue/data /gradio_api/cancel /gradio_api/call/ask /gradio_api/call/ask/".split()
)
GRADIO_PREFIXES = ("/gradio_api/heartbeat/", "/gradio_api/call/ask/")
QUESTION_CALLS = ("/gradio_api/call/ask", "/gradio_api/call/ask/")
ORIGINALS = "/originals/"
DOCUMENT_PAGES = "/context/"
"""A document as a page with a passage highlighted (:mod:`qa.web.document_page`): guarded as
the originals are."""
LTI = "/lti/"
LTI_QUESTIONS = re.compile(r"^/lti/chat/[^/]+/api/v1/(ask$|sources/)")


def route_kind(path: str) -> str:
    """``api`` (JSON API), ``page`` (the chat page), ``gradio`` (what the page and gradio_client
    call), ``document`` (an indexed source's original file, or its page), ``session`` (sign in), ``lti``
    (the LTI tool: its launches come from the LMS's site, its sessions carry their own signed
    token, see :mod:`qa.web.lti`), ``open`` (static files, docs, widget) or ``closed`` (the rest)."""
    if path.startswith("/api/"):
        return "api"
    if path.startswith(LTI):
        return "lti"
    if path.startswith((ORIGINALS, DOCUMENT_PAGES)):
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


def methods_of(routes, path: str) -> tuple[str, ...] | None:
    """Methods of the API route(s) at ``path``; None for no such route."""
    found = [m for regex, methods in routes if regex.match(path) for m in methods]
    return tuple(dict.fromkeys(found)) if found else None
