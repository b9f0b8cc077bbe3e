"""Serving indexed originals: ``GET /originals/{source}`` returns the file a citation points at.

Only sources in the index are served, by their exact cited name, and only when the file is still
a regular file inside the seeds folder (no ``..``, no symbolic links). Web pages are served under
a sandbox policy so a page's own scripts never run with the app's origin.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from qa.config import Settings
from qa.errors import QAError
from qa.ingest.links import ORIGINALS_PREFIX
from qa.ingest.sources import original_path
from qa.retrieval.registry import Registry
from qa.retrieval.retriever import Retriever
from qa.web.api import ErrorOut
from qa.web.course_scope import key_course, refuse_other_course

__all__ = ["CONTENT_TYPES", "originals_router"]

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown; charset=utf-8",
    ".markdown": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"


def _indexed(source: str, retriever: Retriever, registry: Registry | None) -> bool:
    """Whether some collection's live index holds ``source`` (source names are unique across
    collections: each collection's folder is inside the seeds folder)."""
    if registry is None:
        return source in {d.source for d in retriever.index.documents}
    return registry.holds(source)


def check_course(http: Request, source: str, retriever, registry: Registry | None) -> None:
    """With a course key, only its course's documents: another course's is a 403 (one in no
    course's index stays a 404)."""
    course = key_course(http)
    if course is None:
        return
    from qa.index.collections import DEFAULT
    from qa.retrieval.registry import current_retriever

    try:
        own = current_retriever(retriever) if course == DEFAULT else registry and registry.get(course)
        held = own is not None and source in {d.source for d in own.index.documents}
    except QAError:
        held = False
    if not held and _indexed(source, current_retriever(retriever), registry):
        raise refuse_other_course()
    if not held:
        raise HTTPException(404, f"no indexed original named {source!r}")


def originals_router(settings: Settings, retriever: Retriever, registry: Registry | None = None) -> APIRouter:
    """The route serving each indexed source's original file, with its content type."""
    router = APIRouter(prefix=ORIGINALS_PREFIX.rstrip("/"), tags=["originals"])

    @router.get(
        "/{source:path}",
        summary="The original file of an indexed source",
        response_class=FileResponse,
        responses={
            200: {
                "description": "The file with its content type (web pages sandboxed: no scripts run).",
                "content": {kind: {} for kind in dict.fromkeys(CONTENT_TYPES.values())},
            },
            401: {"model": ErrorOut, "description": "With `QA_API_KEY` set: no key, session or signed link."},
            403: {
                "model": ErrorOut,
                "description": "The request's origin is not allowed, or a course key was sent for "
                "another course's document.",
            },
            404: {"model": ErrorOut, "description": "No indexed source by that exact name."},
            422: {"model": ErrorOut, "description": "The request is not valid (the message says why)."},
        },
    )
    def original(source: str, http: Request):
        path = None
        check_course(http, source, retriever, registry)
        if _indexed(source, retriever, registry):
            path = original_path(source, settings.seeds_dir, settings.root)
        suffix = path.suffix.lower() if path is not None else ""
        if path is None or suffix not in CONTENT_TYPES:
            raise HTTPException(404, f"no indexed original named {source!r}")
        inline = suffix not in (".docx", ".pptx")
        headers = {"Cache-Control": "no-cache"}
        if suffix in (".html", ".htm"):
            headers["Content-Security-Policy"] = _SANDBOX
        return FileResponse(
            path,
            media_type=CONTENT_TYPES[suffix],
            headers=headers,
            content_disposition_type="inline" if inline else "attachment",
            filename=path.name,
        )

    return router
