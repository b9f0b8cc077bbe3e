"""What a Word paragraph style says about its paragraphs: heading level, numbering, contents line.

A heading is a paragraph whose style is "Title" or "Heading N", has an outline level
(``w:outlineLvl``, what Word's navigation pane shows), or is based on a "Heading N" style
("Chapter" based on "Heading 1"); a paragraph's own outline level overrides its style's. A style
may number its paragraphs (``w:numPr``: headings linked to a numbered list). "TOC N" styles are
the lines of a table of contents, which repeat the headings and are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest.formats.docx_numbering import w

__all__ = ["Styles", "heading_level_of"]

_HEADING = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_TOC = re.compile(r"^toc\s*\d$", re.IGNORECASE)
_BODY_TEXT = 9
"""``w:outlineLvl`` 9: body text, not a heading."""


def _val(element, child: str) -> str | None:
    found = element.find(w(child)) if element is not None else None
    return found.get(w("val")) if found is not None else None


def heading_level_of(outline: str | None) -> int | None:
    """Heading level of an outline level (0 -> 2, as "Heading 1": "Title" is 1); 0 for body
    text; None when there is none."""
    if outline is None or not outline.isdigit():
        return None
    return 0 if int(outline) >= _BODY_TEXT else int(outline) + 2


@dataclass(frozen=True)
class _Style:
    name: str
    based_on: str
    outline: str | None
    num_id: str | None
    ilvl: str | None


class Styles:
    """A document's paragraph styles, from ``word/styles.xml``."""

    def __init__(self, root) -> None:
        self._styles: dict[str, _Style] = {}
        self.default = ""
        self.list_styles: dict[str, str] = {}
        """Numbering style id -> the list (``numId``) it stands for (``w:numStyleLink``)."""
        self._levels: dict[str, int] = {}
        for style in root.iterfind(w("style")) if root is not None else ():
            style_id = style.get(w("styleId"), "")
            ppr = style.find(w("pPr"))
            numpr = ppr.find(w("numPr")) if ppr is not None else None
            kind = style.get(w("type"), "paragraph")
            if kind == "numbering" and numpr is not None:
                self.list_styles[style_id] = _val(numpr, "numId") or ""
            if kind != "paragraph":
                continue
            if style.get(w("default")) in ("1", "true", "on"):
                self.default = style_id
            self._styles[style_id] = _Style(
                name=_val(style, "name") or "",
                based_on=_val(style, "basedOn") or "",
                outline=_val(ppr, "outlineLvl"),
                num_id=_val(numpr, "numId"),
                ilvl=_val(numpr, "ilvl"),
            )

    def heading_level(self, style_id: str) -> int:
        """1 for "Title", N + 1 for "Heading N" or outline level N - 1, 0 for body text."""
        if style_id not in self._levels:
            style = self._styles.get(style_id)
            if style is not None and style.name.strip().lower() == "title":
                self._levels[style_id] = 1
            else:
                self._levels[style_id] = self._inherited_level(style_id, 0)
        return self._levels[style_id]

    def _inherited_level(self, style_id: str, depth: int) -> int:
        style = self._styles.get(style_id)
        if style is None or depth > 10:
            return 0
        level = heading_level_of(style.outline)
        if level is not None:
            return level
        heading = _HEADING.match(style.name.strip())
        if heading:
            return int(heading.group(1)) + 1
        return self._inherited_level(style.based_on, depth + 1) if style.based_on else 0

    def numbering(self, style_id: str) -> tuple[str, int | None] | None:
        """The list (``numId``, level or None) that numbers paragraphs of this style, if any."""
        seen = 0
        while style_id in self._styles and seen < 10:
            style = self._styles[style_id]
            if style.num_id is not None:
                return style.num_id, int(style.ilvl) if style.ilvl and style.ilvl.isdigit() else None
            style_id, seen = style.based_on, seen + 1
        return None

    def is_contents(self, style_id: str) -> bool:
        """A line of a table of contents ("TOC 1", "toc 2", ...)."""
        style = self._styles.get(style_id)
        return style is not None and bool(_TOC.match(style.name.strip()))
