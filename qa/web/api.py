"""The versioned JSON API: ``/api/v1/ask``, ``/api/v1/sources/{source}``, ``/api/v1/health``.

Request and response bodies are typed pydantic models, so ``/openapi.json`` and ``/docs``
describe them exactly. Unknown request fields are refused (422), so a typo such as
``"questoin"`` is reported instead of silently ignored. Library errors become 4xx responses
with their message; anything unexpected is logged and answered with a bare 500 (see
:mod:`qa.security`).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from qa.answer import Answer, Passage
from qa.config import Settings
from qa.errors import QAError
from qa.ingest.links import original_link
from qa.retrieval.context import passage_context
from qa.retrieval.retriever import MAX_K, Retriever

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


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in one line.")
    problems: list[str] | None = Field(
        default=None, description="Each validation problem (422 only), as `field: message`."
    )


ERRORS = {
    401: {"model": ErrorOut, "description": "A valid `Authorization: Bearer` key is required."},
    403: {"model": ErrorOut, "description": "The request's origin is not allowed."},
    413: {"model": ErrorOut, "description": "The request body is too large."},
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
    start: int = Field(description="Character offset where the passage starts in the source.")
    end: int = Field(description="Character offset one past the passage's end.")
    words: Words
    page: int | None = Field(default=None, description="Page (PDF) or slide (PPTX) where the passage starts.")
    section: str = Field(default="", description='Heading path of its section, e.g. "Manual › Rules".')
    original_url: str = Field(default="", description="The original file at that place (#page=N, #anchor).")


class PassageOut(BaseModel):
    text: str = Field(description="Exactly the source's text[start:end].")
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
    passages: list[PassageOut] = Field(
        description="Ranked passages; when abstained, only the closest matches."
    )


class Health(BaseModel):
    status: str = Field(description='"ok", or "stale" when the sources changed since the index was built.')
    model: str
    documents: int
    passages: int
    built_at: str
    sources_changed: list[str] = Field(
        description="What changed in the sources since the build (restart or `qa index` to apply)."
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


def public(text: str) -> str:
    """``text`` with absolute filesystem paths cut to their last part (health is open to all)."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "/", text)


class SourceWatch:
    """Whether the source files still match the index, checked at most every ``every`` seconds."""

    def __init__(self, settings: Settings, manifest, *, every: float = 10.0) -> None:
        self.settings, self.manifest, self.every = settings, manifest, every
        self._checked = -every
        self._reasons: list[str] = []
        self._lock = threading.Lock()

    def reasons(self) -> list[str]:
        from qa.index.core import check_sources

        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.every:
                try:
                    self._reasons = check_sources(self.settings, self.manifest)
                except QAError as exc:
                    self._reasons = [str(exc)]
                self._checked = now
            return list(self._reasons)


def passage_out(p: Passage) -> PassageOut:
    c = p.citation
    context = f"/api/v1/sources/{quote(c.source)}?start={c.start}&end={c.end}"
    context += f"&hs={p.highlight.start}&he={p.highlight.end}"
    return PassageOut(
        text=p.text,
        score=round(p.score, 4),
        highlight=Range(start=p.highlight.start, end=p.highlight.end),
        highlight_text=p.highlight_text,
        citation=CitationOut(
            source=c.source,
            title=c.title,
            url=c.url,
            start=c.start,
            end=c.end,
            words=Words(start=c.word_start, end=c.word_end, total=c.total_words, label=c.word_range),
            page=c.page,
            section=c.section,
            original_url=original_link(c),
        ),
        context_url=context,
    )


def answer_out(answer: Answer) -> AskResponse:
    return AskResponse(
        question=answer.question,
        query=answer.query or answer.question,
        abstained=answer.abstained,
        evidence=round(answer.evidence, 4),
        passages=[passage_out(p) for p in answer.passages],
    )


def api_router(settings: Settings, retriever: Retriever):
    """The ``/api/v1`` routes over ``retriever``; auth and limits are applied by :mod:`qa.security`."""

    router = APIRouter(prefix="/api/v1", tags=["qa"])

    @router.post(
        "/ask",
        response_model=AskResponse,
        summary="Answer a question with cited passages",
        responses={code: ERRORS[code] for code in (401, 403, 413, 422, 429, 500)},
    )
    def ask(request: AskRequest) -> AskResponse:
        answer = retriever.ask(request.question, k=request.k, history=request.history)
        return answer_out(answer)

    @router.get(
        "/sources/{source:path}",
        response_model=ContextOut,
        summary="A cited passage in its surrounding text",
        responses={
            404: {"model": ErrorOut, "description": "No indexed source by that exact name, or bad offsets."},
            **{code: ERRORS[code] for code in (401, 403, 422, 429, 500)},
        },
    )
    def source_context(
        source: str,
        start: Annotated[int, Query(ge=0)],
        end: Annotated[int, Query(ge=1)],
        hs: Annotated[int | None, Query(ge=0, description="Highlight start.")] = None,
        he: Annotated[int | None, Query(ge=0, description="Highlight end.")] = None,
    ) -> ContextOut:
        highlight = (hs, he) if hs is not None and he is not None else None
        ctx = passage_context(
            retriever.index, source, start, end, words=settings.context_words, highlight=highlight
        )
        data = ctx.to_dict()
        return ContextOut(**data)

    changes = SourceWatch(settings, retriever.index.manifest)

    @router.get("/health", response_model=Health, summary="Index and model status")
    def health() -> Health:
        m = retriever.index.manifest
        changed = [public(reason) for reason in changes.reasons()]
        return Health(
            status="stale" if changed else "ok",
            model=public(m.model),
            documents=len(retriever.index.documents),
            passages=len(retriever.index),
            built_at=m.built_at,
            sources_changed=changed,
        )

    return router
