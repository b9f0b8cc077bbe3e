"""What a launch opens, each under its session token (:mod:`qa.web.lti.tokens`):

- ``/lti/chat/TOKEN/``: the chat for the token's collection (the widget, inline), and under
  the same path the JSON API it calls (``api/v1/ask``, ``api/v1/sources/...``), the
  originals it links to and the documents' pages (``context/...``), each refused (403)
  for any other collection than the token's;
- ``/lti/admin/TOKEN/`` (instructor tokens only): the admin page and API of that one
  collection (documents, indexing progress, what learners asked), never the others, never
  creating or deleting collections, and without the global admin key.

A bad or expired token is a 401 (an HTML page for the pages, ``{"error"}`` for the API).
Requests from another origin are refused (403): the pages call only their own server.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from qa.config import Settings
from qa.errors import QAError
from qa.retrieval.registry import Registry
from qa.web.admin import CollectionOut, _document_routes, _question_routes, collection_out
from qa.web.assets import STATIC, static_file
from qa.web.lti.pages import headers, page, refused
from qa.web.lti.tokens import SessionToken, TokenError, TokenSigner

__all__ = ["scoped_router"]


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") != f"{request.url.scheme}://{request.headers.get('host')}":
        raise HTTPException(403, "this session answers only its own page, not other origins")


def _token(signer: TokenSigner, request: Request) -> SessionToken:
    try:
        return signer.verify(request.path_params.get("token", ""))
    except TokenError as exc:
        raise HTTPException(401, str(exc)) from None


def scoped_router(
    settings: Settings, live, registry: Registry, signer: TokenSigner, frames: Callable[[], tuple[str, ...]]
) -> APIRouter:
    """The chat and admin pages and APIs a launch opens (see the module docstring)."""
    from qa.web.api import api_router
    from qa.web.document_page import document_router
    from qa.web.originals import originals_router

    router = APIRouter()

    async def chat_scope(request: Request) -> None:
        """Only the token's collection: in the question, the context look-up and the originals."""
        token = _token(signer, request)
        _same_origin(request)
        path = request.url.path
        if path.endswith("/api/v1/ask"):
            try:
                body = await request.json()
            except ValueError:
                return  # the API answers 422 for a body it cannot read
            wanted = (body.get("collection") if isinstance(body, dict) else None) or "default"
        elif "/api/v1/sources/" in path:
            wanted = request.query_params.get("collection") or "default"
        elif "source" in request.path_params:  # an original, a document's page, anything by source
            source = request.path_params.get("source", "")
            try:
                held = {d.source for d in registry.get(token.collection).index.documents}
            except QAError:
                held = set()
            wanted = token.collection if source in held else ""
        else:
            wanted = token.collection
        if wanted != token.collection:
            raise HTTPException(403, "this session is for another collection")

    chat_api = APIRouter(prefix="/chat/{token}", dependencies=[Depends(chat_scope)])
    chat_api.include_router(api_router(settings, live, registry))
    chat_api.include_router(originals_router(settings, live, registry))
    chat_api.include_router(document_router(settings, live, registry))
    router.include_router(chat_api, prefix="")
    _chat_pages(router, settings, signer, frames)
    _admin(router, settings, registry, signer, frames)
    _admin_pages(router, signer, frames)
    return router


def _chat_pages(router: APIRouter, settings: Settings, signer: TokenSigner, frames) -> None:
    from qa.index.collections import get_collection

    @router.get("/chat/{token}")
    def chat_no_slash(token: str) -> Response:
        return RedirectResponse(f"{token}/", status_code=308)

    @router.get("/chat/{token}/")
    def chat(token: str) -> Response:
        try:
            session = signer.verify(token)
            collection = get_collection(settings, session.collection)
        except TokenError as exc:
            return refused(401, "This session has ended", str(exc), frames())
        except QAError:
            return refused(
                404,
                "This course's collection does not exist any more",
                "It was deleted after the assistant was opened. Open the assistant again from your "
                "course page; if it still does not open, tell your instructor.",
                frames(),
            )
        return page(
            "chat.html.j2",
            frames(),
            title=session.title or collection.title,
            collection=collection.name,
            k=session.k,
            manage_url=f"../../admin/{token}/" if session.instructor else "",
        )

    @router.get("/chat/{token}/widget.js")
    def widget(token: str) -> Response:
        return static_file("widget", "js", {"Cache-Control": "public, max-age=300"})


def _admin(router: APIRouter, settings: Settings, registry: Registry, signer: TokenSigner, frames) -> None:
    from qa.ingest.sources import SOURCE_SUFFIXES

    def instructor(request: Request) -> SessionToken:
        token = _token(signer, request)
        _same_origin(request)
        if not token.instructor:
            raise HTTPException(403, "only the course's instructors manage its documents")
        name = request.path_params.get("name")
        if name is not None and name != token.collection:
            raise HTTPException(403, "this session manages only its own course's collection")
        return token

    api = APIRouter(prefix="/admin/{token}/api/v1/admin", dependencies=[Depends(instructor)])

    @api.get("/formats")
    def formats() -> list[str]:
        return list(SOURCE_SUFFIXES)

    @api.get("/collections")
    def collections(request: Request) -> list[CollectionOut]:
        return [collection_out(settings, registry, instructor(request).collection)]

    @api.get("/collections/{name}")
    def one(name: str) -> CollectionOut:
        return collection_out(settings, registry, name)

    _document_routes(api, settings, registry)
    _question_routes(api, settings)
    router.include_router(api)


def _admin_pages(router: APIRouter, signer: TokenSigner, frames) -> None:
    @router.get("/admin/{token}/")
    def admin_page(token: str) -> Response:
        try:
            session = signer.verify(token)
        except TokenError as exc:
            return refused(401, "This session has ended", str(exc), frames())
        if not session.instructor:
            return refused(403, "Only the course's instructors manage its documents", "", frames())
        html = (STATIC / "admin.html").read_text(encoding="utf-8")
        html = html.replace('<html lang="en">', f'<html lang="en" data-collection="{session.collection}">', 1)
        return Response(html, media_type="text/html", headers=headers(frames()))

    @router.get("/admin/{token}/admin.{kind}")
    def admin_asset(token: str, kind: str) -> Response:
        if kind not in ("js", "css"):
            raise HTTPException(404, "no such file")
        return static_file("admin", kind)
