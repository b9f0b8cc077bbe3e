"""Where a citation opens: the original as the app serves it (a PDF at its page, a web page at
its section or a text fragment), the document's web address, or the document as a page of the
app with the passage highlighted (:func:`context_page`).

Part of :mod:`qa.render` (the one place an answer becomes words and links), so every renderer
links the same.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

from qa.answer import Citation, Passage

__all__ = [
    "CITED_ID",
    "CONTEXT_PREFIX",
    "ORIGINALS_PREFIX",
    "citation_link",
    "context_page",
    "deep_link",
    "original_link",
    "passage_digest",
    "web_address",
]

ORIGINALS_PREFIX = "/originals/"
"""Where the app serves indexed originals (see ``qa.web.originals``)."""
CONTEXT_PREFIX = "/context/"
"""Where the app serves a document as a page with a passage highlighted (``qa.web.document_page``)."""
CITED_ID = "cited"
"""The ``id`` of the highlighted passage in that page: a link ending ``#cited`` scrolls to it."""
_WEB_PAGES = (".html", ".htm")
_TEXT_ORIGINALS = (*_WEB_PAGES, ".txt", ".md", ".markdown")
"""Originals a browser shows as text, where a text fragment scrolls to the passage."""
_READ_IN_CONTEXT = (".docx", ".pptx", ".md", ".markdown", ".txt")
"""Originals whose citations open the document's page (:func:`context_page`) rather than the
file: a browser downloads Word and PowerPoint files, shows Markdown as raw markup (where a text
fragment of the indexed text may not match), and a text file's fragment marks only the first
place its first and last words occur, where supported; the page marks the exact passage in
every browser. PDFs keep their page (the author's layout), web pages their anchor or fragment
(their own layout, tables and images)."""


def original_link(citation: Citation, *, prefix: str = ORIGINALS_PREFIX) -> str:
    """The URL of the cited original, as served by the app, opened where the passage is.

    ``/originals/docs/manual.pdf#page=12`` for a PDF (the fragment PDF viewers understand),
    ``/originals/docs/manual.html#_variables`` for a web page whose section has an ``id``, and
    the bare file URL otherwise (slides and Word files have no standard fragment).
    """
    url = prefix + quote(citation.source)
    name = citation.source.lower()
    if name.endswith(".pdf") and citation.page:
        return f"{url}#page={citation.page}"
    if name.endswith(_WEB_PAGES) and citation.anchor:
        return f"{url}#{quote(citation.anchor, safe='-._~:!$&()*+,;=@')}"
    return url


_UNSPACED_LETTERS = (
    "\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uff66-\uff9f\U00020000-\U0002fa1f"
)
"""Letters of scripts written without spaces between words (kana, Han characters, half-width
katakana): the same ranges as the word spans' ``qa.ingest.normalize.CJK_LETTERS`` (a test keeps
them equal; render sits below ingest, so it keeps its own copy)."""
_UNSPACED_LETTER = re.compile(f"[{_UNSPACED_LETTERS}]")
_UNSPACED_BREAK = re.compile("[\\s\u3001-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+")
"""Spaces and the punctuation of those scripts: where a phrase of unspaced text may begin or end.
A browser matches a text fragment only at word boundaries, and it finds the words of Chinese and
Japanese with a dictionary this code does not have; a clause's edges are boundaries in every one."""
_UNSPACED_CHARS = 10
"""Characters of unspaced text in each phrase of its fragment, at least (a clause may run on):
about as specific as four English words."""


def _unspaced_phrases(line: str) -> tuple[str, str]:
    """The first and last clauses of ``line`` (a line holding Chinese or Japanese) of at least
    :data:`_UNSPACED_CHARS` characters each, or the whole line and '' when those would meet."""
    edges = sorted({m.end() for m in _UNSPACED_BREAK.finditer(line)} | {len(line)})
    head = next(e for e in edges if e >= _UNSPACED_CHARS or e == len(line))
    tail = max((e for e in edges if len(line) - e >= _UNSPACED_CHARS), default=0)
    if tail <= head:
        return line.strip(), ""
    return line[:head].strip(), line[tail:].strip()


def _served_text_fragment(highlight_text: str, words: int = 4) -> str:
    """``start,end`` of a text fragment for ``highlight_text`` as the app serves the original:
    the first and last ``words`` words, each phrase on one line of it (a fragment's phrase does
    not match across a paragraph), percent-encoded with ``-``, ``,`` and ``&`` escaped. A line
    of Chinese or Japanese gives its first and last clauses instead (:func:`_unspaced_phrases`)."""
    lines = [line for line in highlight_text.splitlines() if line.split()]
    if not lines or not any(ch.isalnum() for ch in highlight_text):
        return ""

    def phrase(text: str) -> str:
        return quote(" ".join(text.split()), safe="").replace("-", "%2D")

    first_line, last_line = lines[0], lines[-1]
    if len(lines) == 1 and _UNSPACED_LETTER.search(first_line):
        first, last = _unspaced_phrases(first_line)
        return f"{phrase(first)},{phrase(last)}" if last else phrase(first)
    if len(lines) == 1 and len(first_line.split()) <= 2 * words:
        return phrase(first_line)
    if _UNSPACED_LETTER.search(first_line):
        first = _unspaced_phrases(first_line)[0]
    else:
        first = " ".join(first_line.split()[:words])
    if _UNSPACED_LETTER.search(last_line):
        head, tail = _unspaced_phrases(last_line)
        last = tail or head
    else:
        last = " ".join(last_line.split()[-words:])
    return f"{phrase(first)},{phrase(last)}"


def passage_digest(text: str) -> str:
    """Eight hex digits of the passage's SHA-256. A link to a passage carries it (``v=``), so the
    page it opens can tell when the document was indexed again with other text at those offsets
    (a replaced document) instead of marking whatever lies there now."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def context_page(p: Passage, *, closest: bool = False) -> str:
    """The app's page of the passage's document with the passage highlighted and scrolled to:
    ``/context/seeds/a.docx?start=10&end=90&hs=20&he=40&v=1a2b3c4d#cited`` (``v``:
    :func:`passage_digest`). ``closest``: the passage of a declined answer, shaded as the text
    closest to the question, with nothing marked as if it answered (``&closest=1``, no ``hs``/``he``)."""
    c = p.citation
    query = f"start={c.start}&end={c.end}"
    query += "" if closest else f"&hs={p.highlight.start}&he={p.highlight.end}"
    query += f"&v={passage_digest(p.text)}" + ("&closest=1" if closest else "")
    return f"{CONTEXT_PREFIX}{quote(c.source)}?{query}#{CITED_ID}"


def citation_link(p: Passage, *, closest: bool = False) -> str:
    """Where a citation opens: the document's web address when it has one (:func:`deep_link`),
    else its page with the passage highlighted (:func:`context_page`; ``closest`` for a declined
    answer's passage) for the formats a browser cannot open at the passage, else the original as
    the app serves it, at the page or anchor."""
    c = p.citation
    if not web_address(c.url) and c.source.lower().endswith(_READ_IN_CONTEXT):
        return context_page(p, closest=closest)
    return deep_link(c, p.highlight_text)


def web_address(url: str) -> str:
    """``url`` if it is a web address, else '' (no ``javascript:`` or file links)."""
    return url if url.startswith(("https://", "http://")) else ""


def deep_link(c: Citation, highlight_text: str = "") -> str:
    """Where to open the original, as deep as it allows.

    A document with a web URL opens there: at its section's anchor, at a PDF's page, else at a
    text fragment of the highlight's first and last few words
    (``#:~:text=first%20words,last%20words``) that browsers which support it scroll to (others,
    or a page without those words, open the top). A document without one opens as the app
    serves it (:func:`original_link`); a text or web page there without a section anchor opens
    at a text fragment of the highlight (its first and last few words).
    """
    url = web_address(c.url)
    if not url:
        link = original_link(c)
        if "#" in link or not c.source.lower().endswith(_TEXT_ORIGINALS):
            return link
        fragment = _served_text_fragment(highlight_text)
        return f"{link}#:~:text={fragment}" if fragment else link
    if "#" in url:
        return url
    if c.anchor:
        return f"{url}#{quote(c.anchor, safe='-._~:!$&()*+,;=@')}"
    if c.page is not None and url.lower().endswith(".pdf"):
        return f"{url}#page={c.page}"
    # phrases of a few words, as for the served originals: a lone first and last word ("If",
    # "must") matched the first place the page uses them, usually far from the passage; a phrase
    # the page does not hold (the seed is the article without stop words) opens the page's top
    words = [w for w in highlight_text.split() if any(ch.isalnum() for ch in w)]
    specific = len(words) >= 2 or len(_UNSPACED_LETTER.findall(highlight_text)) >= _UNSPACED_CHARS // 2
    fragment = _served_text_fragment(highlight_text) if specific else ""
    return f"{url}#:~:text={fragment}" if fragment else url
