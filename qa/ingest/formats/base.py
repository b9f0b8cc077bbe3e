"""What every reader returns, and the builder readers use to lay out text with its marks.

A reader turns one file into :class:`Extracted`: the text a person reading the file sees (no
markup, headings on their own lines) and where in that text each page or slide starts and each
section (heading path, HTML anchor) begins. Offsets are into that text, which is what the index
stores and what citations point into.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.answer import SECTION_SEPARATOR

__all__ = ["Extracted", "Limits", "Section", "TextBuilder", "SECTION_SEPARATOR", "collapse", "language_tag"]


_SPACES = re.compile(r"\s+")


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def language_tag(value: object) -> str:
    """A document's language as its file states it ("fr-FR"; "en_US" as "en-US"), or "" for
    none or anything that is not a language tag (so nothing unknown is claimed)."""
    tag = str(value or "").strip().replace("_", "-")
    return tag if _LANGUAGE.fullmatch(tag) else ""


def collapse(text: str) -> str:
    """Runs of whitespace as one space, ends stripped (how a browser shows inline text)."""
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class Section:
    """A section starting at ``start``: its heading path and, for web pages, its ``#anchor``."""

    start: int
    path: str
    anchor: str = ""


@dataclass(frozen=True)
class Limits:
    """Caps that protect the build from hostile or accidental huge inputs."""

    max_file_bytes: int = 50 * 2**20
    max_unpacked_bytes: int = 1000 * 2**20
    """Total uncompressed size allowed inside a DOCX or PPTX (a zip bomb is far over it)."""


@dataclass(frozen=True)
class Extracted:
    """A document's reader-visible text with its page (or slide) and section marks."""

    text: str
    pages: tuple[int, ...] = ()
    """Offset where page (or slide) 1, 2, ... starts; empty when the format has no pages."""
    sections: tuple[Section, ...] = ()
    title: str = ""
    page_unit: str = ""
    """``page`` (PDF), ``slide`` (PPTX) or empty."""
    pages_read: int = 0
    """Pages or slides read (0 for formats without pages), for throughput reports."""
    lang: str = ""
    """The document's language where its file says it (:func:`language_tag`), else ""."""


@dataclass
class TextBuilder:
    """Appends blocks of text with separators, recording page starts and the heading path."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    pages: list[int] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    _stack: list[tuple[int, str, str]] = field(default_factory=list)
    _page_pending: bool = False

    def new_page(self) -> None:
        """The next text added starts a new page (or slide)."""
        if self._page_pending:
            self.pages.append(self._next_offset("\n\n"))
        self._page_pending = True

    def add(self, text: str, *, sep: str = "\n\n") -> int:
        """Append ``text`` (skipped when blank) after ``sep``; returns its start offset."""
        text = text.strip("\n")
        if not text.strip():
            return self.length
        start = self._next_offset(sep)
        if self.parts:
            self.parts.append(sep)
        if self._page_pending:
            self.pages.append(start)
            self._page_pending = False
        self.parts.append(text)
        self.length = start + len(text)
        return start

    def heading(self, text: str, level: int, *, anchor: str = "", label: str = "") -> None:
        """Add a heading on its own line; the section path below it is updated.

        ``label`` names the section in the path when it differs from the heading's text.
        """
        text = collapse(text)
        if text:
            self._open_section(label or text, level, anchor, self.add(text))

    def heading_mark(self, title: str, level: int) -> None:
        """Open a section at the next text added, without adding its title as text."""
        self._open_section(collapse(title), level, "", self._next_offset("\n"))

    def end_sections(self) -> None:
        """The open sections end: the next text added is in none (an untitled slide is not in
        the previous slide's section)."""
        if self._stack:
            self._stack.clear()
            self.sections.append(Section(self._next_offset("\n\n"), ""))

    def _open_section(self, title: str, level: int, anchor: str, start: int) -> None:
        title = title.rstrip("\u00b6 ")  # Sphinx permalink signs are not part of the title
        if not title:
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        inherited = next((a for _, _, a in reversed(self._stack) if a), "")
        self._stack.append((level, title, anchor))
        path = SECTION_SEPARATOR.join(t for _, t, _ in self._stack)
        self.sections.append(Section(start, path, anchor or inherited))

    def build(self, **extra) -> Extracted:
        if self._page_pending:
            self.pages.append(self.length)
        return Extracted("".join(self.parts), pages=tuple(self.pages), sections=tuple(self.sections), **extra)

    def _next_offset(self, sep: str) -> int:
        return self.length + (len(sep) if self.parts else 0)
