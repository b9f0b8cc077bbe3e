"""A document as a page to read, with a cited passage highlighted: ``GET /context/{source}``.

What a citation's *in the document* link opens (and, for Word, PowerPoint, Markdown and plain
text, the citation's own link: a browser downloads the first two and cannot point into the
others reliably). The page is made from the text the index holds, the text citations point
into: the sections' headings as headings, paragraphs, page and slide labels as citations name
them ("p. 12", "slide 3"), the passage shaded and its highlight marked. The first of them has
``id="cited"``, so the link's ``#cited`` scrolls there on open (no script: the page runs none).
A link at the top downloads the original.

The route is a "document" route to the guard (:mod:`qa.web.security`): the same key, session
cookie or signed link as ``/originals/``, the same origin rule; under an LTI session it answers
only the session's collection (:mod:`qa.web.lti.scoped`). Only indexed sources are served, by
their exact name.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from html import escape
from itertools import pairwise
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from qa.answer import SECTION_SEPARATOR, Citation
from qa.config import Settings
from qa.errors import QAError
from qa.ingest.headings import SectionMap
from qa.ingest.sources import Document, original_path
from qa.render import CITED_ID, CONTEXT_PREFIX, ORIGINALS_PREFIX, citation_label, passage_digest
from qa.retrieval.registry import Registry, current_retriever
from qa.web.course_scope import key_binding, key_course, refuse_other_course
from qa.web.freshness import SourceWatches
from qa.web.signed_links import LinkSigner

__all__ = [
    "Block",
    "DOCUMENT_PATHS",
    "PAGE_POLICY",
    "document_blocks",
    "document_router",
    "refused_page",
    "render_page",
    "wants_page",
]

PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
"""The page runs no script and loads nothing; only this server may frame it."""
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_MAX_HEADING_CHARS = 300
_ATX_MARKS = re.compile(r"#{0,6}[ \t]*")
_UNDERLINE = re.compile(r"(=+|-+)[ \t]*")
MOVED = (
    "The cited place is not in this document as it is indexed now (it was indexed again since "
    "the link was made); ask the question again for a fresh link."
)
STALE = (
    "This file changed since it was indexed: the text below is what was indexed, the download "
    "is the file as it is now."
)


@dataclass(frozen=True)
class Block:
    """One piece of the page: a ``heading`` (``level`` 2–6), a ``paragraph``, a ``table`` or a
    ``page`` label; ``html`` is its text escaped, with the passage and highlight marked."""

    kind: str
    html: Markup
    level: int = 0
    anchor: str = ""
    text: str = ""
    """The block's plain text."""
    rows: tuple[tuple[Markup, ...], ...] = ()
    """A table's cells row by row, each marked like ``html`` (which holds the same text)."""


_TABLE_SOURCES = (".docx",)
"""Readers that write a table as its rows, one a line, with a tab between cells (the Word
reader); a tab in another reader's text is the document's own."""


def _table_rows(text: str, a: int, b: int) -> list[list[tuple[int, int]]]:
    """The cells of ``text[a:b]`` as ``[start, end)`` row by row when it is a table as the Word
    reader writes one (two lines or more, each with a tab between cells), else ``[]``. The
    tabs of empty cells at its ends, trimmed off the paragraph, are the table's again."""
    while a > 0 and text[a - 1] == "\t":
        a -= 1
    while b < len(text) and text[b] == "\t":
        b += 1
    rows, at = [], a
    for line in text[a:b].split("\n"):
        if "\t" not in line:
            return []
        cells, cell = [], at
        for part in line.split("\t"):
            cells.append((cell, cell + len(part)))
            cell += len(part) + 1
        rows.append(cells)
        at += len(line) + 1
    return rows if len(rows) >= 2 else []


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each paragraph (text between blank lines), whitespace trimmed."""
    spans, at = [], 0
    for gap in _PARAGRAPH_BREAK.finditer(text):
        spans.append((at, gap.start()))
        at = gap.end()
    spans.append((at, len(text)))
    return [_trim(text, a, b) for a, b in spans if text[a:b].strip()]


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _visible_headings(doc: Document) -> dict[int, tuple[int, int]]:
    """Start -> (end of its line, level) of each heading whose line is in the text (a slide's
    title, a Word or Markdown heading; not a section opened without a line of its own)."""
    out = {}
    for heading in SectionMap(doc.text, doc.sections).headings:
        end = doc.text.find("\n", heading.start)
        end = len(doc.text) if end < 0 else end
        line = " ".join(doc.text[heading.start : end].split()).casefold()
        title = " ".join(heading.title.split()).casefold()
        if line and len(line) <= _MAX_HEADING_CHARS and (title in line or line in title):
            out[heading.start] = (end, heading.level)
    return out


class _Marker:
    """Escapes runs of text, shading the passage and marking the highlight; the first marked
    run (the highlight's, else the passage's) gets the ``cited`` id."""

    def __init__(self, text: str, passage: tuple[int, int] | None, highlight: tuple[int, int] | None):
        self.text = text
        self.passage = passage
        self.highlight = highlight
        self.target = highlight[0] if highlight else passage[0] if passage else -1
        self.placed = False

    def html(self, a: int, b: int) -> Markup:
        cuts = {a, b}
        for span in (self.passage, self.highlight):
            if span:
                cuts.update(x for x in span if a < x < b)
        points = sorted(cuts)
        out = []
        for lo, hi in pairwise(points):
            piece = escape(self.text[lo:hi], quote=False)
            if self.highlight and self.highlight[0] <= lo < self.highlight[1]:
                piece = f"<mark>{piece}</mark>"
            if self.passage and self.passage[0] <= lo < self.passage[1]:
                piece = f"<span class='passage'{self._id(hi)}>{piece}</span>"
            out.append(piece)
        return Markup("".join(out))

    def _id(self, hi: int) -> str:
        if self.placed or hi <= self.target:
            return ""
        self.placed = True
        return f" id='{CITED_ID}'"


def document_blocks(
    doc: Document, *, passage: tuple[int, int] | None = None, highlight: tuple[int, int] | None = None
) -> list[Block]:
    """The document as blocks in text order: page labels where pages (slides) start, headings,
    paragraphs; ``passage`` and ``highlight`` (offsets into the text) marked."""
    text = doc.text
    headings = _visible_headings(doc)
    cuts = set(doc.pages) | set(headings) | {end for end, _ in headings.values()}
    marker = _Marker(text, passage, highlight)
    unit = "slide" if doc.page_unit == "slide" or doc.source.lower().endswith(".pptx") else "p."
    pages = list(enumerate(doc.pages, 1))
    tables = doc.source.lower().endswith(_TABLE_SOURCES)
    blocks: list[Block] = []
    for a, b in _paragraphs(text):
        inner = sorted(c for c in cuts if a < c < b)
        for lo, hi in zip([a, *inner], [*inner, b]):
            lo, hi = _trim(text, lo, hi)
            if lo >= hi:
                continue
            while pages and pages[0][1] <= lo:
                number, _ = pages.pop(0)
                label = f"{unit} {number}"
                blocks.append(Block("page", Markup(escape(label)), anchor=f"page-{number}", text=label))
            if lo in headings and hi == _trim(text, lo, headings[lo][0])[1]:
                level = min(headings[lo][1] + 1, 6)
                lo += len(_ATX_MARKS.match(text, lo, hi).group())  # a plain text's "## ", not shown
                blocks.append(Block("heading", marker.html(lo, hi), level=level, text=text[lo:hi]))
            elif blocks and blocks[-1].kind == "heading" and _UNDERLINE.fullmatch(text, lo, hi):
                continue  # the ==== or ---- under a plain text's heading
            elif tables and (rows := _table_rows(text, lo, hi)):
                cells = tuple(tuple(marker.html(*cell) for cell in row) for row in rows)
                html = Markup("\n").join(Markup("\t").join(row) for row in cells)
                lo, hi = rows[0][0][0], rows[-1][-1][1]
                blocks.append(Block("table", html, text=text[lo:hi], rows=cells))
            else:
                blocks.append(Block("paragraph", marker.html(lo, hi), text=text[lo:hi]))
    return blocks


@functools.cache
def _template(name: str = "document.html.j2"):
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("qa.web", "templates"), autoescape=select_autoescape(default=True))
    return env.get_template(name)


DOCUMENT_PATHS = (ORIGINALS_PREFIX, CONTEXT_PREFIX)
"""Paths a learner opens in a browser tab from a citation (also under an LTI session's folder)."""
_ADVICE = {
    401: ("This link has run out", "Ask your question again: the new answer's links open the document."),
    403: ("This document belongs to another course", "Open it from an answer of your own course."),
    404: (
        "This document is not in the course any more",
        "Ask your question again for its current documents.",
    ),
}


_NO_PAGE = (
    "There is no page at this address",
    "Check the address, or open the course's chat page and ask there.",
)


def missing_page(path: str, accept: str) -> bool:
    """Whether a 404 of ``path`` should be a page rather than JSON: a browser tab opened on an
    address the app does not serve (the API's own addresses answer programs, in JSON)."""
    return not path.startswith("/api/") and "text/html" in accept


def no_page(message: str) -> str:
    """What a browser tab shows on an address the app does not serve."""
    title, advice = _NO_PAGE
    return _template("refused.html.j2").render(title=title, advice=advice, message=message, status=404)


def wants_page(path: str, accept: str) -> bool:
    """Whether a refusal of ``path`` should be a page rather than JSON: a browser opening a
    citation's document (it accepts HTML), not a program calling the API."""
    return any(prefix in path for prefix in DOCUMENT_PATHS) and "text/html" in accept


_SIGN_IN = (
    "Sign in first",
    "Open the chat page and sign in with the course's access key, then open this again.",
)


_LMS_SESSION_ENDED = (
    "This session has ended",
    "Open the assistant again from your course page, then ask your question again.",
)
"""An LTI session's link that has run out: asking again in the same frame would fail too."""


def refused_page(status: int, message: str, *, sign_in: bool = False, in_lms: bool = False) -> str:
    """What a learner sees when a citation's document does not open: what happened, what to do,
    and the server's message (``sign_in``: the tab has neither the key nor a session; ``in_lms``:
    it was opened from an LTI launch, whose expired session only the course page renews)."""
    title, advice = _ADVICE.get(status, ("This document cannot be opened", "Ask your question again."))
    if sign_in:
        title, advice = _SIGN_IN
    elif in_lms and status == 401:
        title, advice = _LMS_SESSION_ENDED
    return _template("refused.html.j2").render(title=title, advice=advice, message=message, status=status)


Offsets = tuple[int, int] | None


def _offsets(doc: Document, start, end, hs, he, digest: str = "") -> tuple[Offsets, Offsets, bool]:
    """The passage and highlight to mark, and whether the asked place was not found (an offset
    that is None or negative is not given; ``digest``, when given, must be the
    :func:`~qa.render.passage_digest` of the text at those offsets, else the document was
    indexed again with other text there)."""
    if start is None or end is None or start < 0 or end < 0:
        return None, None, False
    if not 0 <= start < end <= len(doc.text):
        return None, None, True
    if digest and passage_digest(doc.text[start:end]) != digest:
        return None, None, True
    given = hs is not None and he is not None and hs >= 0
    highlight = (hs, he) if given and start <= hs < he <= end else None
    return (start, end), highlight, False


def render_page(
    doc: Document,
    *,
    start: int | None = None,
    end: int | None = None,
    hs: int | None = None,
    he: int | None = None,
    download: str = "",
    stale: bool = False,
    digest: str = "",
    closest: bool = False,
) -> str:
    """The page of ``doc`` with ``[start, end)`` shaded and ``[hs, he)`` marked (offsets into its
    indexed text; a place outside the text, or whose text no longer has ``digest``, is not
    marked, and the page says so). ``closest``: the passage is a declined answer's closest text,
    and the page says so instead of calling it cited."""
    passage, highlight, moved = _offsets(doc, start, end, hs, he, digest)
    label = ""
    if passage:
        where = highlight[0] if highlight else passage[0]  # the key sentence's slide and section
        # as citations name it: the reader's headings, or those found in a plain text
        section = SECTION_SEPARATOR.join(SectionMap(doc.text, doc.sections).path(where))
        page = doc.page_at(where)
        label = citation_label(
            Citation(doc.source, doc.title, doc.url, *passage, 0, 0, 0, page=page, section=section)
        )
    notes = [MOVED] if moved else []
    notes += [STALE] if stale else []
    suffix = doc.source.rsplit(".", 1)[-1].upper() if "." in doc.source else ""
    title = doc.title or doc.source
    blocks = document_blocks(doc, passage=passage, highlight=highlight)
    first = next((b for b in blocks if b.kind != "page"), None)
    titled = first is not None and first.kind == "heading" and _same(first.text, title)
    if titled:  # its own first heading is the page's title: every heading one level up
        blocks = [replace(b, level=max(b.level - 1, 1)) if b.kind == "heading" else b for b in blocks]
    return _template().render(
        title=title,
        heading="" if titled else title,  # not twice when the document opens with its title
        label=label,
        source=doc.source,
        blocks=blocks,
        cited=CITED_ID if passage else "",
        marked=highlight is not None,
        closest=closest,
        download=download,
        kind=suffix,
        notes=notes,
        lang=doc.lang,  # the document's own ("" unknown, not the page's English)
    )


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _find(
    source: str, settings: Settings, index, registry: Registry | None
) -> tuple[Document, str, object] | None:
    """The indexed document named ``source`` (the default collection's ``index`` first), the
    collection holding it and that collection's index."""
    try:
        return index.document(source), "default", index
    except KeyError:
        pass
    if registry is None:
        return None
    from qa.index.collections import DEFAULT, collection_names

    for name in collection_names(settings):
        if name == DEFAULT:
            continue
        try:
            found = registry.get(name).index
            return found.document(source), name, found
        except (KeyError, QAError):
            continue
    return None


def _download(source: str, settings: Settings, links: LinkSigner | None, key: str = "") -> str:
    """A link from the page to the original, relative (so it works under a path prefix and in
    an LTI session's folder), signed when the server has a key (bound to course key ``key``,
    as the page's own link or request was)."""
    if original_path(source, settings.seeds_dir, settings.root) is None:
        return ""
    up = "../" * (source.count("/") + 1)
    href = f"{up}{ORIGINALS_PREFIX.strip('/')}/{quote(source)}"
    if links is not None:
        href += "?" + links.sign(ORIGINALS_PREFIX + quote(source), key=key).partition("?")[2]
    return href


def _binding(http: Request | None) -> str:
    """The course key a request for a page came with, or its signed link was bound to ('')."""
    from qa.web.signed_links import bound_key

    if http is None:
        return ""
    return key_binding(http) or bound_key(http.scope.get("query_string", b""))


def document_router(settings: Settings, live, registry: Registry | None = None) -> APIRouter:
    """The route serving each indexed document as a page (see the module docstring). It is a
    page for people (like ``/embed``), so it is not in ``/openapi.json``; the API's answers give
    its address (``citation.context_page``)."""
    router = APIRouter(prefix=CONTEXT_PREFIX.rstrip("/"))
    changes = SourceWatches(settings)
    links = LinkSigner(settings.api_key.encode("utf-8", "surrogateescape")) if settings.api_key else None

    @router.get("/{source:path}", response_class=HTMLResponse, include_in_schema=False)  # a page, not API
    def document_page(
        source: str,
        start: int = Query(-1, ge=-1, description="Where the passage starts (-1: no passage)."),
        end: int = Query(-1, ge=-1, description="Where the passage ends."),
        hs: int = Query(-1, ge=-1, description="Highlight start (-1: none)."),
        he: int = Query(-1, ge=-1, description="Highlight end."),
        v: str = Query("", max_length=16, description="The passage's digest (qa.render.passage_digest)."),
        closest: int = Query(0, ge=0, le=1, description="1: a declined answer's closest text."),
        http: Request = None,
    ):
        # the newest index, not the one this thread last answered from (LiveRetriever.pin): a
        # link from an answer of a rebuilt index named a document the pinned one lacked (404)
        index = current_retriever(live).index
        found = _find(source, settings, index, registry)
        if found is None:
            raise HTTPException(404, f"no indexed document named {source!r}")
        doc, collection, held = found
        if key_course(http) not in (None, collection):  # a course key: its course's documents only
            raise refuse_other_course()
        stale = bool(changes.stale(collection, held.manifest, [source]))
        page = render_page(
            doc,
            start=start,
            end=end,
            hs=hs,
            he=he,
            download=_download(source, settings, links, _binding(http)),
            stale=stale,
            digest=v,
            closest=bool(closest),
        )
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY}
        return HTMLResponse(page, headers=headers)

    return router
