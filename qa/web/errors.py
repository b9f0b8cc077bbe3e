"""Error responses in one shape, ``{"error": "..."}``, that never show the server's internals."""

from __future__ import annotations

import logging
import re

from qa.errors import (
    CollectionExistsError,
    CollectionNameError,
    CourseKeyError,
    EmptyCollectionError,
    QAError,
    QuestionError,
    UnknownCollectionError,
    UnknownKeyError,
    UnknownSourceError,
    UploadError,
)

__all__ = ["install_error_handlers"]

log = logging.getLogger(__name__)


def install_error_handlers(app) -> None:
    """Library errors become 4xx with their message; validation errors a readable 422; HTTP
    errors (404, 405, a body that is not UTF-8) keep their status in the same ``{"error"}``
    shape (a short page instead when a browser tab opens a citation's document); anything else
    a 500 that says nothing about the server's internals."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    status_of = {
        QuestionError: 422,
        UnknownSourceError: 404,
        CollectionNameError: 422,
        UnknownCollectionError: 404,
        CollectionExistsError: 409,
        EmptyCollectionError: 409,
        UploadError: 422,
        CourseKeyError: 422,
        UnknownKeyError: 404,
    }

    @app.exception_handler(QAError)
    async def qa_error(request, exc: QAError):
        status = next((s for kind, s in status_of.items() if isinstance(exc, kind)), 503)
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        from fastapi.responses import HTMLResponse

        from qa.web.document_page import refused_page, wants_page

        message = exc.detail if isinstance(exc.detail, str) else "the request cannot be handled"
        if exc.status_code == 400:
            # FastAPI's one 400: bytes that are not UTF-8, or JSON nested past Python's recursion
            # limit (which read "send UTF-8 JSON" to a sender of valid UTF-8 JSON)
            message = "the request body cannot be read: it is not UTF-8, or its JSON is nested too deeply"
        if wants_page(request.url.path, request.headers.get("accept", "")):  # a learner's tab
            page = refused_page(exc.status_code, message, in_lms="/lti/chat/" in request.url.path)
            return HTMLResponse(page, status_code=exc.status_code, headers=exc.headers)
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        problems = [_problem(err, json_body=_json_type(request)) for err in exc.errors()]
        return JSONResponse({"error": "; ".join(problems)[:2000], "problems": problems[:20]}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request, exc: Exception):
        log.error("unexpected error on %s: %s", request.url.path, type(exc).__name__, exc_info=exc)
        return JSONResponse({"error": "internal error; the server log has the details"}, 500)


def _problem(err: dict, *, json_body: bool) -> str:
    """One validation error in words an integrator reads (no regex, no pydantic phrasing)."""
    if err.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    if tuple(err.get("loc", ())) == ("body",) and not json_body:
        # FastAPI reads a body as JSON only when it is said to be JSON (a portal's fetch
        # with text/plain got "body: Input should be a valid dictionary ...")
        return "the request body is read as JSON only with Content-Type: application/json"
    if tuple(err.get("loc", ())) == ("body",) and err.get("type") in _NOT_AN_OBJECT:
        # a JSON array, string or number got "body: Input should be a valid dictionary or
        # object to extract fields from"
        return 'the request body must be a JSON object ({"field": value, ...})'
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
    choices = _CHOICES.fullmatch(str((err.get("ctx") or {}).get("pattern", "")))
    if err.get("type") == "string_pattern_mismatch" and choices:  # not the regex itself
        return f"{where}: must be one of {', '.join(choices.group(1).split('|'))}"
    if where.split(".")[-1] == "collection" and err.get("type") in _NAME_MISMATCH:
        # say what a course name may hold, not the regex of NAME_PATTERN
        return f"{where}: {_not_a_name(err.get('input'))}"
    return f"{where}: {err.get('msg', 'invalid')}"


_CHOICES = re.compile(r"\^\(([\w-]+(?:\|[\w-]+)+)\)\$")
"""A pattern that lists the values allowed, ``^(most-asked|declined|thumbs-down)$``."""


_NAME_MISMATCH = ("string_pattern_mismatch", "string_too_long")
_NOT_AN_OBJECT = ("model_attributes_type", "dict_type", "model_type")


def _not_a_name(value: object) -> str:
    from qa.index.collections import check_name

    try:
        check_name(value)
    except CollectionNameError as exc:
        return str(exc)
    return "not a collection name"


def _json_type(request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")
