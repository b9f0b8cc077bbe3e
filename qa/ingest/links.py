"""Where a citation is in the author's file: a label ("p. 12 · Variable expansion") and a deep
link to the original (PDFs at ``#page=N``, web pages at ``#anchor``).

Pure functions, so every renderer (chat page, widget JSON, CLI, report) says and links the same.
"""

from __future__ import annotations

from urllib.parse import quote

from qa.answer import Citation

__all__ = ["ORIGINALS_PREFIX", "original_link", "place_label"]

ORIGINALS_PREFIX = "/originals/"
"""Where the app serves indexed originals (see ``qa.web.originals``)."""

_WEB_PAGES = (".html", ".htm")


def original_link(citation: Citation, *, prefix: str = ORIGINALS_PREFIX) -> str:
    """The URL of the cited original opened where the passage is.

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


def place_label(citation: Citation) -> str:
    """ "p. 12 · Variable expansion" (PDF), "slide 3 · Welcome" (PPTX), the section alone for
    formats without pages, or "" when neither is known."""
    parts = []
    if citation.page:
        unit = "slide" if citation.source.lower().endswith(".pptx") else "p."
        parts.append(f"{unit} {citation.page}")
    if citation.section:
        parts.append(citation.section)
    return " \u00b7 ".join(parts)
