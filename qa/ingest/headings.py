"""Headings of a text, found in the text itself, and the heading path of every offset.

Recognised: Markdown ATX headings (``## Rules``, outside fenced code), setext headings (a line
underlined with ``===`` or ``---``, also inside a box drawn with ``*`` or ``|`` borders), a line
set between runs of three or more stars (``*** System features ***``, as old plain-text design
notes mark their sections), a short numbered line standing alone between blank lines
(``  4. Conveying Verbatim Copies.``, as licences number theirs), and the first line of a plain
text when it is short and does not end like a sentence (a title line): the title alone, or above
starred and numbered sections. Used as evidence of what a section is about.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.ingest.formats.base import SECTION_SEPARATOR

__all__ = ["Heading", "SectionMap", "find_headings"]

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_BOXED = re.compile(r"^[ \t]*([*|])[ \t](.*?)[ \t]*\1[ \t]*$")
"""A line inside a box drawn with ``*`` or ``|`` borders (licences set their disclaimers so)."""
_TITLE_LINE_WORDS = 12
_STARRED = re.compile(r"^[ \t]*\*{3,}[ \t]*([^*\s][^*]*?)[ \t]*\*{3,}[ \t]*$")
"""``*** System features ***``: a section's title between runs of stars on a line of its own."""
_NUMBERED = re.compile(r"^[ \t]{0,4}(\d{1,2})\.[ \t]+([A-Z][^.:;,]*?)\.?[ \t]*$")
"""``  4. Conveying Verbatim Copies.``: a number, then a capitalised title and at most a full stop."""
_NUMBERED_WORDS = 8


@dataclass(frozen=True)
class Heading:
    """A heading at character ``start`` of its text; level 1 is the top."""

    start: int
    level: int
    title: str


def _lines(text: str) -> list[tuple[int, str]]:
    out, offset = [], 0
    for line in text.split("\n"):
        out.append((offset, line))
        offset += len(line) + 1
    return out


def _unboxed(line: str) -> str:
    """The line's text inside a box's side borders ("*  6. Disclaimer  *" -> "6. Disclaimer")."""
    boxed = _BOXED.match(line)
    return boxed.group(2).strip() if boxed else line


def _setext_level(line: str, previous: str) -> int | None:
    """1 for ``===``, 2 for ``---`` under a non-empty line that is not itself a rule or list;
    inside a box too, both lines between its borders."""
    if _BOXED.match(line) and _BOXED.match(previous):
        line, previous = _unboxed(line), _unboxed(previous)
    match = _SETEXT.match(line)
    if not match or not previous.strip() or _SETEXT.match(previous) or len(match.group(1)) < 3:
        return None
    return 1 if match.group(1)[0] == "=" else 2


def _numbered(lines: list[tuple[int, str]], i: int) -> str:
    """The title of a short numbered line standing alone between blank lines, or ''."""
    match = _NUMBERED.match(lines[i][1])
    if not match or len(match.group(2).split()) > _NUMBERED_WORDS:
        return ""
    before = not i or not lines[i - 1][1].strip()
    after = i + 1 == len(lines) or not lines[i + 1][1].strip()
    return lines[i][1].strip() if before and after else ""


def find_headings(text: str) -> list[Heading]:
    """Every heading of ``text`` in order."""
    lines = _lines(text)
    found: list[Heading] = []
    in_fence = False
    plain = 0  # starred or numbered lines: sections under the title line when they are all there are
    for i, (offset, line) in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        atx = _ATX.match(line)
        if atx:
            found.append(Heading(offset, len(atx.group(1)), atx.group(2).strip()))
            continue
        level = _setext_level(line, lines[i - 1][1]) if i else None
        if level:
            previous_offset, previous = lines[i - 1]
            found.append(Heading(previous_offset, level, _unboxed(previous).strip()))
            continue
        starred = _STARRED.match(line)
        title = starred.group(1).strip() if starred else _numbered(lines, i)
        if title:
            found.append(Heading(offset + len(line) - len(line.lstrip()), 2, title))
            plain += 1
    if len(found) == plain:
        first = next(((o, line.strip()) for o, line in lines if line.strip()), None)
        title_like = first and not first[1].endswith((".", ":", ";", ","))
        if title_like and len(first[1].split(None, _TITLE_LINE_WORDS)) <= _TITLE_LINE_WORDS:
            if not found or first[0] < found[0].start:
                found.insert(0, Heading(first[0], 1, first[1]))
    return found


class SectionMap:
    """The heading path ("Manual › Rules › Variables") of any offset of one text: from the
    document's own heading map when its reader made one, else from headings found in the text."""

    def __init__(self, text: str, sections: Sequence[tuple[int, str, str]] = ()) -> None:
        if sections:
            self._starts = [int(start) for start, _, _ in sections]
            self.paths = [tuple(path.split(SECTION_SEPARATOR)) if path else () for _, path, _ in sections]
            self.headings = [
                Heading(start, len(path), path[-1]) for start, path in zip(self._starts, self.paths) if path
            ]
            return
        self.headings = find_headings(text)
        self._starts = [h.start for h in self.headings]
        paths: list[tuple[str, ...]] = []
        stack: list[Heading] = []
        for heading in self.headings:
            while stack and stack[-1].level >= heading.level:
                stack.pop()
            stack.append(heading)
            paths.append(tuple(h.title for h in stack))
        self.paths = paths

    @property
    def starts(self) -> list[int]:
        """Offset where each section starts, ascending."""
        return self._starts

    def section_of(self, offset: int) -> int:
        """Index of the section holding ``offset`` (-1 before the first heading)."""
        return bisect.bisect_right(self._starts, offset) - 1

    def path(self, offset: int) -> tuple[str, ...]:
        section = self.section_of(offset)
        return self.paths[section] if section >= 0 else ()
