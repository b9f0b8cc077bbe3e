"""The authors' side: ``/api/v1/admin/...`` (collections, documents, index status, what
learners asked) and the admin page at ``/admin``.

Mounted only when ``QA_ADMIN_KEY`` is set. Every admin route needs ``Authorization: Bearer
<admin key>`` (compared in constant time, never logged; the learners' API key is not it) and
refuses requests from any other origin. An upload is checked by the reader before it is stored
and starts a background rebuild of that collection only; learners keep their answers from the
previous index until the new one is published.
"""

from __future__ import annotations

import hmac
from collections import Counter
from dataclasses import replace
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from qa.config import Settings
from qa.errors import EmptyCollectionError, SourceError
from qa.eval.asked import VIEWS, clear_asked, eval_rows, read_asked, rows_csv, rows_jsonl, summarise
from qa.feedback import read_feedback
from qa.index.collections import (
    MAX_UPLOAD_BYTES,
    CollectionConfig,
    collection_names,
    collection_settings,
    create_collection,
    delete_collection,
    delete_document,
    get_collection,
    list_files,
    save_document,
    set_document_title,
    update_config,
)
from qa.index.stopping import request_stop, withdraw_stop
from qa.ingest.formats import read_document
from qa.ingest.sources import SOURCE_SUFFIXES, read_limits
from qa.render import CONTEXT_PREFIX
from qa.retrieval.registry import BuildStatus, Registry
from qa.web.admin_keys import key_routes
from qa.web.api import ErrorOut
from qa.web.build_state import build_state
from qa.web.routes import ADMIN_API
from qa.web.signed_links import LinkSigner

__all__ = ["admin_router", "collection_out"]

NAME = Annotated[str, Path(description="Collection name: a short slug, e.g. `biology-101`.", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollectionIn(_Strict):
    name: str = Field(description="A short slug: lowercase letters, digits, inner hyphens.", max_length=64)
    title: str = Field("", max_length=120)
    examples: list[Annotated[str, Field(max_length=300)]] = Field(default=[], max_length=10)
    allowed_origins: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=20)


class SettingsIn(_Strict):
    title: str = Field("", max_length=120)
    examples: list[Annotated[str, Field(max_length=300)]] = Field(default=[], max_length=10)
    allowed_origins: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=20)


class TitleIn(_Strict):
    title: str = Field(
        description="The title citations give the document; '' for the document's own "
        "(front matter, first heading, file name).",
        max_length=200,
    )


class StatusOut(BaseModel):
    collection: str
    state: str = Field(
        description="ready, queued, indexing, done, failed (the old index still answers), stopped "
        "(on request; the old index still answers) or empty."
    )
    message: str
    embedded: int = Field(description="Windows embedded so far by the running build.")
    to_embed: int = Field(description="Windows this build embeds (unchanged documents are reused).")
    reused: int
    documents: int
    windows: int
    built_at: str
    skipped: list[str] = Field(description="Files that could not be read, with the reader's message.")
    generation: int = Field(description="Builds published by this server for the collection.")


class DocumentOut(BaseModel):
    name: str
    source: str = Field(description="How citations name the document.")
    format: str
    bytes: int
    title: str = Field(description="Empty until indexed.")
    pages: int = Field(description="Pages or slides (0 for formats without pages).")
    words: int = Field(
        0, description="Words of the text the index read, as citations count them (0: not indexed yet)."
    )
    windows: int = Field(description="Retrieval windows in the live index (0: not indexed yet).")
    indexed_at: str = Field(
        description="When its vectors were made (kept while it is unchanged); empty if pending."
    )
    warnings: list[str]
    page_url: str = Field(
        default="",
        description="The document as the index reads it, a page of the app (headings, pages, slides), "
        "signed when learners need a key; '' until indexed.",
    )


class CollectionOut(BaseModel):
    name: str
    title: str
    examples: list[str]
    allowed_origins: list[str]
    documents: list[DocumentOut]
    status: StatusOut
    questions_logged: bool = Field(
        default=False,
        description="Whether learners' questions are recorded (QA_LOG_QUESTIONS); thumbs down always are.",
    )


class QuestionOut(BaseModel):
    id: str
    question: str
    asked: int
    declined: int
    thumbs_down: int
    last: str
    comments: list[str]
    reason: str = Field(
        default="", description="Why it was last declined: the deciding signals and figures ('' if never)."
    )
    answered_since: str = Field(
        default="",
        description="When it was first answered after it was last declined ('' if never declined or "
        "still declined); the declined view lists these last.",
    )


def status_out(status: BuildStatus) -> StatusOut:
    return StatusOut(
        **{k: getattr(status, k) for k in StatusOut.model_fields if k != "skipped"},
        skipped=list(status.skipped),
    )


def _require_admin(settings: Settings):
    key = settings.admin_key.encode("utf-8")

    def check(request: Request) -> None:
        origin = request.headers.get("origin")
        if (
            origin is not None
            and origin.rstrip("/") != f"{request.url.scheme}://{request.headers.get('host')}"
        ):
            raise HTTPException(403, "the admin API answers only its own page, not other origins")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), key):
            raise HTTPException(
                401,
                "the admin key is required: Authorization: Bearer <QA_ADMIN_KEY>",
                headers={"WWW-Authenticate": 'Bearer realm="qa-admin"'},
            )

    return check


def _documents(settings: Settings, registry: Registry, name: str, status: BuildStatus) -> list[DocumentOut]:
    try:
        index = registry.get(name).index
    except EmptyCollectionError:
        index = None
    counts: Counter[int] = Counter()
    if index is not None:
        counts.update(int(d) for d in index.table["doc"])
    links = LinkSigner(settings.api_key.encode("utf-8", "surrogateescape")) if settings.api_key else None
    out = []
    for f in list_files(settings, name):
        doc, windows = None, 0
        if index is not None:
            try:
                doc = index.document(f.source)
                windows = counts[index.document_index(f.source)]
            except KeyError:
                doc = None
        warnings = [m for m in status.skipped if f.name in m]
        page = CONTEXT_PREFIX + quote(f.source)
        if doc is None and not warnings and not status.busy:  # skipped by a build before this server's
            warnings = [w for w in [_unreadable(settings.root / f.source, settings.max_file_mb)] if w]
        out.append(
            DocumentOut(
                name=f.name,
                source=f.source,
                format=f.format,
                bytes=f.bytes,
                title=doc.title if doc else "",
                pages=len(getattr(doc, "pages", ()) or ()) if doc else 0,
                words=len(index.word_maps[index.document_index(f.source)]) if doc else 0,
                windows=windows,
                indexed_at=index.indexed_at(f.source) if doc else "",
                warnings=warnings,
                page_url=(links.sign(page) if links else page) if doc else "",  # what the index read
            )
        )
    return out


def _unreadable(path: FilePath, max_file_mb: float) -> str:
    """Why the reader refuses the file at ``path``, as a build would say it ('' if it reads)."""
    try:
        stat = path.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return _reader_verdict(str(path), stat.st_size, stat.st_mtime_ns, max_file_mb)


@lru_cache(maxsize=256)
def _reader_verdict(path: str, size: int, mtime_ns: int, max_file_mb: float) -> str:
    """:func:`_unreadable`, remembered while the file keeps its size and time."""
    try:
        read_document(FilePath(path), read_limits(max_file_mb))
    except SourceError as exc:
        return str(exc)
    except Exception as exc:  # a reader library choking on a damaged file
        return f"corrupt or unreadable ({type(exc).__name__}); save it again"
    return ""


ERRORS = {
    401: {"model": ErrorOut, "description": "Missing or wrong admin key."},
    403: {"model": ErrorOut, "description": "Another origin than the admin page's."},
    413: {"model": ErrorOut, "description": "The JSON body is over 256 KiB."},
    422: {"model": ErrorOut, "description": "The request is not valid (the message says why)."},
    429: {"model": ErrorOut, "description": "Too many wrong keys from this client; see `Retry-After`."},
}
"""Every admin route's errors, in the shape they are sent: ``{"error": ..., "problems": [...]}``."""
NAMED = {**ERRORS, 404: {"model": ErrorOut, "description": "No such collection."}}
"""The errors of a route naming a collection."""


def admin_router(settings: Settings, registry: Registry) -> APIRouter:
    """The admin JSON API over ``registry``'s collections."""
    router = APIRouter(prefix=ADMIN_API, tags=["admin"], dependencies=[Depends(_require_admin(settings))])
    _collection_routes(router, settings, registry)
    _document_routes(router, settings, registry)
    _question_routes(router, settings)
    key_routes(router, settings, NAMED)
    return router


def collection_out(settings: Settings, registry: Registry, name: str) -> CollectionOut:
    """A collection as the admin API shows it: its settings, documents and indexing status."""
    c = get_collection(settings, name)
    status = build_state(settings, registry, c.name)  # one look at the shared build lock
    return CollectionOut(
        name=c.name,
        title=c.title,
        examples=list(c.config.examples),
        allowed_origins=list(c.config.allowed_origins),
        documents=_documents(settings, registry, c.name, status),
        status=status_out(status),
        questions_logged=settings.log_questions,
    )


def _collection_routes(router: APIRouter, settings: Settings, registry: Registry) -> None:
    errors, named = ERRORS, NAMED

    @router.get(
        "/formats", response_model=list[str], summary="File types an upload may have", responses=errors
    )
    def formats() -> list[str]:
        return list(SOURCE_SUFFIXES)

    @router.get(
        "/collections", response_model=list[CollectionOut], summary="Every collection", responses=errors
    )
    def collections() -> list[CollectionOut]:
        return [collection_out(settings, registry, n) for n in collection_names(settings)]

    @router.post(
        "/collections",
        response_model=CollectionOut,
        status_code=201,
        summary="Create a collection",
        responses={**errors, 409: {"model": ErrorOut, "description": "The name is taken."}},
    )
    def create(body: CollectionIn) -> CollectionOut:
        config = CollectionConfig(
            title=body.title or body.name,
            examples=tuple(body.examples),
            allowed_origins=tuple(body.allowed_origins),
        )
        return collection_out(settings, registry, create_collection(settings, body.name, config).name)

    @router.get(
        "/collections/{name}", response_model=CollectionOut, summary="One collection", responses=named
    )
    def one(name: NAME) -> CollectionOut:
        return collection_out(settings, registry, name)

    @router.put(
        "/collections/{name}/settings",
        response_model=CollectionOut,
        summary="Title, examples, origins",
        responses=named,
    )
    def change(name: NAME, body: SettingsIn) -> CollectionOut:
        config = CollectionConfig(
            title=body.title, examples=tuple(body.examples), allowed_origins=tuple(body.allowed_origins)
        )
        return collection_out(settings, registry, update_config(settings, name, config).name)

    @router.delete(
        "/collections/{name}",
        status_code=204,
        summary="Delete a collection, its index and what its learners asked",
        responses=named,
    )
    def delete(name: NAME) -> None:
        name = get_collection(settings, name).name
        delete_collection(settings, name)
        registry.forget(name)
        # what its learners asked and rated goes with it: a collection made again under the
        # name showed the deleted course's questions as its own
        clear_asked(settings.questions_path, settings.feedback_path, collection=name)


class LimitsOut(BaseModel):
    max_upload_bytes: int = Field(
        description="The largest document an upload may be, in bytes: the upload limit, or the "
        "reader's (QA_MAX_FILE_MB) when it is lower. The admin page refuses larger files before sending."
    )


def upload_limit(settings: Settings) -> int:
    """The largest file an upload stores and a build reads, in bytes."""
    return min(MAX_UPLOAD_BYTES, int(settings.max_file_mb * 2**20))


def _rebuild(settings: Settings, registry: Registry, name: str) -> StatusOut:
    """Start (or queue) a build of collection ``name`` for a change just made: a stop asked
    before the change no longer applies to it."""
    withdraw_stop(collection_settings(settings, name).index_dir)
    return status_out(registry.rebuild(name))


def _document_routes(router: APIRouter, settings: Settings, registry: Registry) -> None:
    errors, named = ERRORS, NAMED

    @router.get("/limits", response_model=LimitsOut, summary="How large an upload may be", responses=errors)
    def limits() -> LimitsOut:
        return LimitsOut(max_upload_bytes=upload_limit(settings))

    @router.put(
        "/collections/{name}/documents/{filename}",
        response_model=StatusOut,
        status_code=202,
        summary="Upload (or replace) a document; the collection is re-indexed in the background",
        description=f"The raw file is the body (at most {MAX_UPLOAD_BYTES // 2**20} MiB). A file the reader "
        "cannot read is refused with 422 and its message; nothing changes then.",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
        responses={
            **named,
            413: {"model": ErrorOut, "description": "Too large."},
            422: {"model": ErrorOut, "description": "Refused by the reader, or the request is not valid."},
        },
    )
    async def upload(
        name: NAME, filename: Annotated[str, Path(max_length=160)], request: Request
    ) -> StatusOut:
        from starlette.concurrency import run_in_threadpool

        get_collection(settings, name)
        data = await request.body()
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"a document is at most {MAX_UPLOAD_BYTES // 2**20} MiB; split it")
        await run_in_threadpool(save_document, settings, name, filename, data)
        return _rebuild(settings, registry, name)

    @router.delete(
        "/collections/{name}/documents/{filename}",
        response_model=StatusOut,
        status_code=202,
        summary="Delete a document; the collection is re-indexed in the background",
        responses={**named, 404: {"model": ErrorOut, "description": "No such collection or document."}},
    )
    def remove(name: NAME, filename: Annotated[str, Path(max_length=160)]) -> StatusOut:
        delete_document(settings, name, filename)
        return _rebuild(settings, registry, name)

    @router.put(
        "/collections/{name}/documents/{filename}/title",
        response_model=StatusOut,
        status_code=202,
        summary="Set a document's title (a sidecar beside it); the collection is re-indexed",
        responses={**named, 404: {"model": ErrorOut, "description": "No such collection or document."}},
    )
    def title(name: NAME, filename: Annotated[str, Path(max_length=160)], body: TitleIn) -> StatusOut:
        set_document_title(settings, name, filename, body.title)
        return _rebuild(settings, registry, name)

    @router.post(
        "/collections/{name}/stop",
        response_model=StatusOut,
        status_code=202,
        summary="Stop the running build; the previous index keeps answering",
        description="The build stops at its next step (between documents, stages and embedding "
        "batches) and publishes nothing; a build queued after it (a later upload, or one waiting "
        "for another process's build) is cancelled. The documents stay uploaded, not yet indexed, "
        "until the next change or `qa index`. The status then says `stopped`.",
        responses={**named, 409: {"model": ErrorOut, "description": "No build of it is running."}},
    )
    def stop(name: NAME) -> StatusOut:
        current = build_state(settings, registry, name)
        if not current.busy:
            raise HTTPException(409, f"no build of {current.collection} is running; nothing to stop")
        request_stop(collection_settings(settings, current.collection).index_dir)
        message = "stopping: the build ends at its next step, and a build queued after it is cancelled"
        return status_out(replace(current, message=message))

    @router.get(
        "/collections/{name}/status", response_model=StatusOut, summary="Indexing progress", responses=named
    )
    def status(name: NAME) -> StatusOut:
        return status_out(build_state(settings, registry, name))

    @router.get(
        "/collections/{name}/questions",
        response_model=list[QuestionOut],
        summary="What learners asked: most asked, declined, thumbs-down",
        responses=named,
    )
    def questions(
        name: NAME,
        view: Annotated[str, Query(pattern="^(most-asked|declined|thumbs-down)$")] = VIEWS[0],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[QuestionOut]:
        found = _summary(settings, name, view, limit)
        return [QuestionOut(**{**q.__dict__, "comments": list(q.comments)}) for q in found]


class ClearedOut(BaseModel):
    removed: int = Field(description="Records removed: questions asked and ratings given.")


def _question_routes(router: APIRouter, settings: Settings) -> None:

    @router.delete(
        "/collections/{name}/questions",
        response_model=ClearedOut,
        summary="Clear what learners asked: the collection's recorded questions and ratings",
        description="Removes the collection's records from the question log (`QA_QUESTIONS_PATH`) "
        "and the feedback file (`QA_FEEDBACK_PATH`); other collections' records stay. Deleting a "
        "collection clears them too.",
        responses=NAMED,
    )
    def clear(name: NAME) -> ClearedOut:
        c = get_collection(settings, name)
        removed = clear_asked(settings.questions_path, settings.feedback_path, collection=c.name)
        return ClearedOut(removed=removed)

    @router.get(
        "/collections/{name}/questions/export",
        response_class=Response,
        summary="A view as rows of an evaluation question file (JSONL or CSV)",
        responses={
            **NAMED,
            200: {
                "description": "The rows, as a file to save (`Content-Disposition: attachment`).",
                "content": {"application/jsonl": {}, "text/csv": {}},
            },
        },
    )
    def export(
        name: NAME,
        view: Annotated[str, Query(pattern="^(most-asked|declined|thumbs-down)$")] = VIEWS[0],
        format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl",
    ) -> PlainTextResponse:
        c = get_collection(settings, name)
        rows = eval_rows(_summary(settings, c.name, view, 1000), view=view, collection=c.name)
        body, media = (
            (rows_csv(rows), "text/csv") if format == "csv" else (rows_jsonl(rows), "application/jsonl")
        )
        filename = f"{c.name}-{view}.{format}"
        return PlainTextResponse(
            body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )


def _summary(settings: Settings, name: str, view: str, limit: int):
    c = get_collection(settings, name)
    return summarise(
        view,
        read_asked(settings.questions_path),
        read_feedback(settings.feedback_path),
        collection=c.name,
        limit=limit,
    )
