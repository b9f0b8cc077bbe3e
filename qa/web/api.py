"""The versioned JSON API: ``/api/v1/ask``, ``/api/v1/sources/{source}``, ``/api/v1/health``.

Request and response bodies are typed pydantic models, so ``/openapi.json`` and ``/docs``
describe them exactly. Unknown request fields are refused (422), so a typo such as
``"questoin"`` is reported instead of silently ignored. Library errors become 4xx responses
with their message; anything unexpected is logged and answered with a bare 500 (see
:mod:`qa.web.security`). Every status the guard or a route can answer is listed in the schema.

Answers quote the indexed text; ``stale: true`` says a cited file changed on disk since it was
indexed (the quote is still exactly what was indexed). A rebuilt index is picked up without a
restart (:mod:`qa.web.live`).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, create_model

from qa.answer import Answer, Passage
from qa.config import Settings
from qa.errors import EmptyCollectionError, UnknownSourceError
from qa.index.collections import NAME_PATTERN
from qa.render import CONTEXT_PREFIX, ORIGINALS_PREFIX, answer_json, passage_digest, passage_json
from qa.retrieval.context import passage_context
from qa.retrieval.registry import Registry
from qa.retrieval.retriever import MAX_K
from qa.web.course_scope import key_binding, scoped_collection
from qa.web.freshness import SourceWatches
from qa.web.live import LiveRetriever
from qa.web.signed_links import LinkSigner

__all__ = ["AskRequest", "AskResponse", "ErrorOut", "api_router"]

MAX_HISTORY = 50
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:)?[/\\](?:[^\s'\"/\\]+[/\\])*([^\s'\"/\\]*)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_Strict):
    question: Annotated[str, Field(description="The question, in plain language.", max_length=100_000)]
    k: Annotated[int | None, Field(ge=1, le=MAX_K, description="How many passages to return.")] = None
    history: Annotated[
        list[Annotated[str, Field(max_length=100_000)]],
        Field(
            max_length=MAX_HISTORY,
            description="Previous questions of the conversation, oldest first (for follow-ups).",
        ),
    ] = []
    collection: Annotated[
        str | None,
        Field(
            pattern=NAME_PATTERN,
            max_length=32,
            description="The collection to answer from (default: the default collection; with a "
            "course key, the key's course).",
        ),
    ] = None


QUESTION_PATTERN = r"[^\W_]"
"""A question needs at least one letter or digit (otherwise 422: nothing to search for)."""


def ask_request_model(max_chars: int) -> type[AskRequest]:
    """:class:`AskRequest` whose schema states this server's question rules: 1 to ``max_chars``
    characters with a letter or digit. The rules are checked by the retriever, which says what
    is wrong in words (empty, too long, no words) rather than quoting a pattern."""
    rules = {"minLength": 1, "maxLength": max_chars, "pattern": QUESTION_PATTERN}
    question = Field(
        description=f"The question, in plain language ({max_chars:,} characters at most).",
        max_length=100_000,
        json_schema_extra=rules,
    )
    return create_model("AskRequest", __base__=AskRequest, question=(str, question))


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in one line.")
    problems: list[str] | None = Field(
        default=None, description="Each validation problem (422 only), as `field: message`."
    )


ERRORS = {
    400: {"model": ErrorOut, "description": "The body cannot be read: not UTF-8, or JSON nested too deeply."},
    401: {
        "model": ErrorOut,
        "description": "A valid `Authorization: Bearer` key is required: the server key, or a key of "
        "the course asked (a course key).",
    },
    403: {
        "model": ErrorOut,
        "description": "The request's origin is not allowed, or a course key was sent for another "
        "course than its own.",
    },
    404: {
        "model": ErrorOut,
        "description": "No such indexed source or collection, or bad offsets (a source is looked up in "
        "the collection named by `collection`, else the default one; the message says which).",
    },
    409: {"model": ErrorOut, "description": "The collection has no indexed documents yet."},
    411: {"model": ErrorOut, "description": "A POST body needs a `Content-Length` header."},
    413: {"model": ErrorOut, "description": "The request body is too large (256 KiB at most)."},
    422: {"model": ErrorOut, "description": "The request is not valid (the message says why)."},
    429: {"model": ErrorOut, "description": "Too many requests; see `Retry-After`."},
    500: {"model": ErrorOut, "description": "Internal error (details only in the server log)."},
}


class Range(BaseModel):
    start: int
    end: int


class Words(BaseModel):
    start: int = Field(description="0-based index of the first word.")
    end: int = Field(description="Index one past the last word.")
    total: int = Field(description="Words in the source.")
    label: str = Field(description='Human form, e.g. "words 1,204–1,318 of 5,345".')


class CitationOut(BaseModel):
    source: str = Field(description="The source's path relative to the project root.")
    title: str
    url: str
    link: str = Field(
        description="Where the citation opens: the document's web page at the section or highlight when "
        "it has one; else context_page for Word, PowerPoint, Markdown and text files; else original_url "
        "(a web page without a section anchor: with a text fragment of the highlight)."
    )
    label: str = Field(description='What to show first, e.g. "Title · p. 12 · Section".')
    start: int = Field(description="Character offset where the passage starts in the source.")
    end: int = Field(description="Character offset one past the passage's end.")
    words: Words
    page: int | None = Field(
        default=None,
        description="Page (PDF) or slide (PPTX) of the highlighted sentence (a passage over a page "
        "break may start on the page before).",
    )
    section: str = Field(default="", description='Heading path of its section, e.g. "Manual › Rules".')
    original_url: str = Field(
        default="",
        description="The original file at that place (#page=N, #anchor); with an API key set, signed "
        "(?exp=&sig=) so it opens in a new tab without the key, for 12 hours.",
    )
    context_page: str = Field(
        default="",
        description="The document as a page served by the app, this passage shaded, its highlight marked "
        "and scrolled into view (#cited), with a link to download the original; signed like original_url.",
    )
    stale: bool = Field(
        default=False,
        description="True when the file changed on disk since it was indexed; the text quoted is the "
        "indexed text, so offsets may no longer match the file.",
    )


class PassageOut(BaseModel):
    text: str = Field(description="Exactly the source's text[start:end].")
    source: str = Field(description="Same as citation.source.")
    start: int = Field(description="Same as citation.start.")
    end: int = Field(description="Same as citation.end.")
    score: float
    highlight: Range = Field(description="The best short span, as character offsets in the source.")
    highlight_text: str
    citation: CitationOut
    context_url: str = Field(description="API path of the passage in its surrounding text.")


class AskResponse(BaseModel):
    question: str
    query: str = Field(description="The question as searched, after resolving a follow-up.")
    abstained: bool = Field(description="True when the documents do not answer the question.")
    evidence: float
    notice: str = Field(
        description="Shown to learners above the passages: '' for an answer, else that the documents do "
        "not seem to answer, in plain words."
    )
    reason: str = Field(
        default="",
        description="Why it declined, for authors: the deciding signals and figures ('' for an answer).",
    )
    closest_label: str = Field(description="Heading of a declined answer's passages ('' for an answer).")
    passages: list[PassageOut] = Field(
        description="Ranked passages; when abstained, only the closest matches."
    )
    stale: bool = Field(
        default=False, description="True when any cited file changed on disk since it was indexed."
    )


class Health(BaseModel):
    status: str = Field(description='"ok", or "stale" when the sources changed since the index was built.')
    model: str
    documents: int
    passages: int
    built_at: str
    sources_changed: list[str] = Field(
        description="What changed in the sources since the build (`qa index` applies it; the server "
        "picks up the rebuilt index by itself)."
    )
    warm_up: str = Field(
        default="ready",
        description='"warming" while the index\'s files are read into memory after start (questions '
        'are answered meanwhile, more slowly), then "ready".',
    )


class ContextOut(BaseModel):
    source: str
    title: str
    url: str
    start: int
    end: int
    window: Range
    before: str
    passage: str
    after: str
    highlight: Range | None
    stale: bool = Field(default=False, description="True when the file changed on disk since it was indexed.")


MOVED = (
    "the passage is not at these offsets in the document as indexed now (it was indexed again "
    "since the link was made); ask the question again for a fresh link"
)
"""A ``/sources`` look-up whose ``v`` no longer matches the text at its offsets."""


def not_in_collection(source: str, collection: str | None) -> str:
    """The 404 of a source this collection has not indexed: which collection was searched and
    how to name another. Other collections are not looked in, so the answer is the same whether
    or not one of them holds the document (whoever asks may not be allowed to see them)."""
    searched = f"the collection {collection!r}" if collection else "the default collection"
    return (
        f"no indexed source named {source!r} in {searched}; "
        "for a document of another collection, name it with ?collection=NAME"
    )


def public(text: str) -> str:
    """``text`` with absolute filesystem paths cut to their last part (health is open to all)."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "/", text)


def passage_out(p: Passage, *, stale: bool = False, collection: str = "default") -> PassageOut:
    """One passage of the response, as :func:`qa.render.passage_json` shapes it."""
    data = passage_json(p)
    data["citation"]["stale"] = stale
    if collection != "default":
        data["context_url"] += f"&collection={collection}"
    return PassageOut.model_validate(data)


def answer_out(
    answer: Answer,
    stale: set[str] | frozenset[str] = frozenset(),
    settings: Settings | None = None,
    collection: str = "default",
    links: LinkSigner | None = None,
    key: str = "",
) -> AskResponse:
    """The JSON answer (:func:`qa.render.answer_json`, the one shape of an answer); ``stale``
    names the cited sources whose files changed since indexing; passages of a collection other
    than the default link their context with ``&collection=``; with ``links`` (a key is set),
    the links to originals are signed so they open in a new tab without the key (bound to the
    course key ``key``, ``COURSE.ID``, the answer was asked with: void once it is revoked)."""
    data = answer_json(answer, settings)
    for passage in data["passages"]:
        citation = passage["citation"]
        citation["stale"] = passage["source"] in stale
        if collection != "default":
            passage["context_url"] += f"&collection={collection}"
        if links is not None:
            for field in ("original_url", "link", "context_page"):
                if citation[field].startswith((ORIGINALS_PREFIX, CONTEXT_PREFIX)):
                    citation[field] = links.sign(citation[field], key=key)
    data["stale"] = any(p["citation"]["stale"] for p in data["passages"])
    return AskResponse.model_validate(data)


def _check_origin(settings: Settings, http: Request | None, collection: str | None) -> None:
    """A portal allowed only by some collection's settings may ask only that collection."""
    from qa.index.collections import collection_origins, get_collection

    origin = http.headers.get("origin") if http is not None else None
    if not origin or origin in settings.allowed_origins or origin not in collection_origins(settings):
        return
    if origin not in get_collection(settings, collection).config.allowed_origins:
        raise HTTPException(403, "this origin is not allowed to use this collection")


def _retriever(live: LiveRetriever, registry: Registry | None, collection: str | None):
    """The default collection's live retriever, or another collection's from ``registry``."""
    from qa.index.collections import DEFAULT, check_name

    if registry is None or check_name(collection) == DEFAULT:
        return live.current
    try:
        return registry.get(collection)
    except EmptyCollectionError:
        from qa.web.build_state import build_state

        if not build_state(registry.settings, registry, collection).busy:
            raise
        # its first build runs in another process (a replica, qa index): not "upload some"
        raise EmptyCollectionError(
            f"the collection {collection!r} is being indexed; ask again in a moment"
        ) from None


def _collection_query(description: str):
    """The optional ``?collection=`` of a GET route: a collection's name, or None for the default."""
    return Query(None, pattern=NAME_PATTERN, max_length=32, description=description)


def api_router(settings: Settings, live: LiveRetriever, registry: Registry | None = None):
    """The ``/api/v1`` routes over the live retriever (the default collection) and ``registry``
    (the other collections); auth and limits are applied by :mod:`qa.web.security`."""
    from qa.eval.asked import AskedRecord, log_question

    router = APIRouter(prefix="/api/v1", tags=["qa"])
    changes = SourceWatches(settings)
    links = LinkSigner(settings.api_key.encode("utf-8", "surrogateescape")) if settings.api_key else None

    def ask(request: AskRequest, http: Request) -> AskResponse:
        collection = scoped_collection(http, request.collection)  # a course key: its course only
        _check_origin(settings, http, collection)
        retriever = _retriever(live, registry, collection)  # one retriever for the whole answer
        answer = retriever.ask(request.question, k=request.k, history=request.history)
        name = collection or "default"
        if settings.log_questions:
            log_question(settings.questions_path, AskedRecord.of(name, answer))
        stale = changes.stale(name, retriever.index.manifest, (p.citation.source for p in answer.passages))
        return answer_out(answer, stale, settings, collection=name, links=links, key=key_binding(http))

    ask.__annotations__["request"] = ask_request_model(settings.max_question_chars)
    router.post(
        "/ask",
        response_model=AskResponse,
        summary="Answer a question with cited passages",
        responses={code: ERRORS[code] for code in (400, 401, 403, 404, 409, 411, 413, 422, 429, 500)},
    )(ask)

    documents = live.current.index.documents  # a real example in the docs and the schema
    example = (documents[0].source, min(200, len(documents[0].text))) if documents else ("seeds/a.txt", 200)

    @router.get(
        "/sources/{source:path}",
        response_model=ContextOut,
        summary="A cited passage in its surrounding text",
        responses={code: ERRORS[code] for code in (400, 401, 403, 404, 409, 413, 422, 429, 500)},
    )
    def source_context(
        source: str = PathParam(description="An indexed source, by its exact name.", examples=[example[0]]),
        start: int = Query(ge=0, examples=[0]),
        end: int = Query(ge=1, examples=[example[1]]),
        hs: int | None = Query(None, ge=0, description="Highlight start."),
        he: int | None = Query(None, ge=0, description="Highlight end."),
        v: str | None = Query(
            None,
            pattern="^[0-9a-f]{8}$",
            description="The passage's digest, as an answer's context_url gives it: when the text at "
            "[start, end) no longer has it (the document was indexed again since), a 404.",
        ),
        collection: str | None = _collection_query(
            "The collection (default: default; with a course key, the key's course)."
        ),
        http: Request = None,
    ) -> ContextOut:
        collection = scoped_collection(http, collection)
        _check_origin(settings, http, collection)
        index = _retriever(live, registry, collection).index
        highlight = (hs, he) if hs is not None and he is not None else None
        try:
            words = settings.context_words
            ctx = passage_context(index, source, start, end, words=words, highlight=highlight)
        except UnknownSourceError:
            indexed = any(d.source == source for d in index.documents)
            # a link of an answer from before the document was indexed again, whose offsets now
            # lie past its end: moved, as when they still fit but hold other text
            if v is not None and indexed:
                raise HTTPException(404, MOVED) from None
            if not indexed:
                raise UnknownSourceError(not_in_collection(source, collection)) from None
            raise
        if v is not None and passage_digest(ctx.passage) != v:
            raise HTTPException(404, MOVED)
        stale = bool(changes.stale(collection, index.manifest, [ctx.source]))
        return ContextOut(**ctx.to_dict(), stale=stale)

    @router.get(
        "/health",
        response_model=Health,
        summary="Index and model status",
        responses={code: ERRORS[code] for code in (400, 403, 404, 409, 413, 422, 500)},
    )
    def health(
        collection: str | None = _collection_query(
            "The collection (default: default); an unknown one is a 404, one without indexed documents a 409."
        ),
    ) -> Health:
        retriever = _retriever(live, registry, collection)
        index = retriever.index
        m = index.manifest
        changed = [public(reason) for reason in changes.of(collection).reasons(m)]
        return Health(
            status="stale" if changed else "ok",
            model=public(m.model),
            documents=len(index.documents),
            passages=len(index),
            built_at=m.built_at,
            sources_changed=changed,
            warm_up="ready" if getattr(retriever, "warm", True) else "warming",
        )

    return router
