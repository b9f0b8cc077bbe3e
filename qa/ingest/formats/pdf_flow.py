"""From a PDF's lines to running text: page furniture dropped, lines joined into paragraphs.

A PDF holds lines, not paragraphs. What a reader takes for one paragraph is recovered from the
layout, the way a reader does it:

- **page furniture**: bare page numbers at a page's top or bottom, running headers and footers
  (a line at a page's edge recurring, numbers aside, on half of 3+ pages, or carrying the page's
  own number, like "Chapter 2: Parsing 4"), and dotted leaders of contents entries are dropped;
  a running line set larger than where it recurs is kept there (the title on the title page);
- **paragraphs**: a line whose first word would have fitted at the end of the line before was
  broken on purpose (a paragraph, list item or code line ends there); otherwise the text wrapped
  and the two lines are one sentence, joined by a space, across a page break and from one column
  to the next too. A vertical gap wider than the usual line pitch starts a paragraph (a blank
  line in the text); a bullet, code after code, a change of type size, a short bold line or a
  lowercase start after a full stop starts a new line;
- **hyphens at line ends**: a word split by a hyphen is joined without it when the document
  uses the whole word elsewhere, or when neither half is a word of its own ("manip-ulation") and
  the typesetter is seen splitting words; it keeps it otherwise ("non-recursive",
  "edit-compile").
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, replace

from qa.ingest.formats.pdf_page import HYPHEN_MARK, Line

__all__ = ["Flow", "JOIN", "LINE", "PARAGRAPH", "WORD", "drop_furniture", "flow", "tidy"]

JOIN, WORD, LINE, PARAGRAPH = " ", "", "\n", "\n\n"
"""What goes before a line: a space (the sentence wraps), nothing (a word hyphenated across the
line end), a line break, a blank line (a new paragraph)."""
RUNNING_EDGE = 2
"""Lines at each end of a page looked at for running headers and footers."""
SIZE_CHANGE = 1.15
"""Lines whose type sizes differ by more than this factor are never run together."""
SHORT_BOLD = 14
"""A bold line of at most this many words is not run together with a line that is not bold."""
PARAGRAPH_GAP = 1.2
"""A gap between baselines over this many times the line pitch starts a paragraph."""
_PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s+)?(?:\d{1,4}|x{0,3}(?:ix|iv|v?i{1,3}|v)|X{0,3}(?:IX|IV|V?I{1,3}|V))"
    r"(?:\s*(?:/|of)\s*\d{1,4})?\s*$",
    re.IGNORECASE,
)
_EDGE_NUMBER = re.compile(r"^\s*(\d{1,4})\s+\S|\S\s+(\d{1,4})\s*$")
_DIGITS = re.compile(r"\d+")
_LEADER = re.compile(r"\s*(?:[.\u2026\u00b7]\s*){4,}(?:\d{1,4}|[ivxlc]{1,6})?\s*$", re.IGNORECASE)
_PERMALINK = re.compile(r"\s*\u00b6$")
_BULLET = re.compile(r"^[\u2022\u2023\u2043\u2219\u25aa\u25cb\u25cf\u25e6\u25a0\u25a1\u2013\u2014*\-]\s")
_SENTENCE_END = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*$")
_WORDS = re.compile(r"\w+")
_SPLIT_PIECE = re.compile(rf"\w*{HYPHEN_MARK}\w*")
_SPLIT_END = re.compile(r"\w*[-\u2010]$")
_FULL_STOP = re.compile(r"(?:^|\s)[^\s.]{4,}\.$")
"""A line ending a sentence with a full stop after a word of 4+ letters (not "e.g.", "etc.")."""


def _furniture_key(line: str) -> str:
    return _DIGITS.sub("#", line.strip().lower())


def _edges(lines: list[Line]) -> list[int]:
    n = len(lines)
    return sorted(set(range(min(RUNNING_EDGE, n))) | set(range(max(n - RUNNING_EDGE, 0), n)))


def _edge_number(index: int, line: Line) -> int | None:
    """``index`` less the number at the start or end of ``line`` (None: no number there)."""
    match = _EDGE_NUMBER.search(line.text)
    return None if match is None else index - int(match.group(1) or match.group(2))


def _numbered_edges(pages: list[list[Line]]) -> set[tuple[int, float]]:
    """(page offset, baseline) of running headers or footers carrying the page's number: lines
    at a page's edge, at the same height on 3+ pages (and on 30 % of them), whose number is the
    page's index less one offset, like "Chapter 2: Parsing 4" on page 6."""
    votes: Counter[tuple[int, float]] = Counter()
    for index, lines in enumerate(pages):
        found = set()
        for i in _edges(lines):
            offset = _edge_number(index, lines[i])
            if offset is not None:
                found.add((offset, round(lines[i].top)))
        votes.update(found)
    return {key for key, n in votes.items() if n >= max(3, len(pages) * 0.3)}


def drop_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Pages without page numbers, running headers and footers."""
    numbered = _numbered_edges(pages) if len(pages) >= 3 else set()
    seen: Counter[str] = Counter()
    sizes: dict[str, Counter[float]] = {}
    if len(pages) >= 3:
        for lines in pages:
            keys = set()
            for i in _edges(lines):
                keys.add(key := _furniture_key(lines[i].text))
                sizes.setdefault(key, Counter())[lines[i].size] += 1
            seen.update(keys)  # a page counts once per line it repeats
    running = {key: sizes[key].most_common(1)[0][0] for key, n in seen.items() if n >= max(3, len(pages) / 2)}
    out = []
    for index, lines in enumerate(pages):
        drop = set()
        for i in _edges(lines):
            line = lines[i]
            offset = _edge_number(index, line)
            key = _furniture_key(line.text)
            # the running title set large on a title page is the title there, not furniture
            title = key in running and line.size > running[key] * SIZE_CHANGE
            if (key in running and not title) or (offset, round(line.top)) in numbered:
                drop.add(i)
        for end in (0, -1):  # a bare page number at the top or bottom
            kept = [i for i in range(len(lines)) if i not in drop]
            if kept and _PAGE_NUMBER.match(lines[kept[end]].text):
                drop.add(kept[end])
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


def tidy(line: Line) -> Line:
    """The line without a contents entry's dotted leader and page number or a printed
    permalink sign ("3.1. Versions¶")."""
    text = line.text
    if text.endswith("\u00b6"):
        text = _PERMALINK.sub("", text)
    if text[-1:].isdigit() or text.endswith((".", "\u2026", "\u00b7")) or text[-1:].lower() in "ivxlc":
        text = _LEADER.sub("", text) if (". ." in text or ".." in text or "\u2026" in text) else text
    if text == line.text:
        return line
    return replace(line, text=text, entry=not line.text.endswith("\u00b6"))


@dataclass(frozen=True)
class _Metrics:
    """Body font size and usual line pitch per font size of one document."""

    body: float
    pitch: dict[float, float]

    @classmethod
    def of(cls, pages: list[list[Line]]) -> _Metrics:
        sizes: Counter[float] = Counter()
        gaps: dict[float, Counter[float]] = {}
        for lines in pages:
            for a, b in itertools.pairwise(lines):
                gap = a.bottom - b.top
                if a.placed and b.placed and a.end_size == b.size and 0.3 * b.size < gap < 3 * b.size:
                    gaps.setdefault(b.size, Counter())[round(gap * 2) / 2] += 1
            for line in lines:
                sizes[line.size] += len(line.text)
        body = sizes.most_common(1)[0][0] if sizes else 0.0
        return cls(body, {size: c.most_common(1)[0][0] for size, c in gaps.items()})

    def paragraph_gap(self, a: Line, b: Line) -> float:
        usual = max(
            self.pitch.get(self.body, 1.2 * self.body),
            self.pitch.get(a.end_size, 0),
            self.pitch.get(b.size, 0),
        )
        return PARAGRAPH_GAP * usual


def _margins(lines: list[Line], body: float, usual: float) -> list[float]:
    """For each line, the right edge of its column: the farthest a line of body text reaching
    over the same stretch of the page goes (code set smaller may run past it). A page with no
    full line of body text (a contents page) takes ``usual``, the document's usual margin."""
    placed = [line for line in lines if line.placed]
    if not placed:
        return [0.0] * len(lines)
    text = [line for line in placed if line.end_size == body] or placed
    right = max(line.x1 for line in text)
    if usual and right < usual - 0.1 * usual:
        right = usual
    widest = max(placed, key=lambda line: line.x1 - line.x0)
    if all(line.x0 < widest.x1 and widest.x0 < line.x1 for line in placed):
        return [right] * len(lines)
    return [
        max((o.x1 for o in text if o.x0 < line.x1 and line.x0 < o.x1), default=max(line.x1, right))
        for line in lines
    ]


def _usual_margin(pages: list[list[Line]], body: float) -> float:
    """The median over pages of the farthest a line of body text reaches (0: none placed)."""
    edges = sorted(
        max(line.x1 for line in lines if line.placed and line.end_size == body)
        for lines in pages
        if sum(line.placed and line.end_size == body for line in lines) >= 3
    )
    return edges[len(edges) // 2] if edges else 0.0


def _wrapped(a: Line, b: Line, margin: float, before: float) -> bool:
    """Whether the text wrapped from ``a`` to ``b``: ``b``'s first word would not have fitted at
    the end of ``a``, or ``a`` ends where the line it continues ends (justified text set
    narrower than the page, such as a quotation). ``before`` is that line's right edge, or 0."""
    if not (a.placed and b.placed and b.lead > 0):
        return False
    if max(_type_size(a), _type_size(b)) > SIZE_CHANGE * min(_type_size(a), _type_size(b)):
        return False  # a heading and its text, or text and a footnote
    if a.bold != b.bold and len((a if a.bold else b).text.split()) <= SHORT_BOLD:
        return False  # a bold heading set at the size of the text
    return a.x1 + 0.3 * a.end_size + b.lead >= margin or abs(a.x1 - before) < 1.0


def _type_size(line: Line) -> float:
    return max(line.size, line.end_size)


def _new_line(a: Line, b: Line) -> bool:
    """Whether ``b`` starts a line of its own whatever the layout says: after a contents entry
    (its leader, dropped, reached the margin), a bullet, a line of code after a line of code
    (code does not wrap), or a lowercase start after a full stop (a list whose items start in
    lowercase)."""
    if a.entry or _BULLET.match(b.text) or (a.mono and b.mono):
        return True
    return bool(_FULL_STOP.search(a.text) and b.text[:1].islower())


def _within_page(a: Line, b: Line, margin: float, before: float, metrics: _Metrics) -> str:
    gap = a.bottom - b.top
    if a.placed and b.placed and gap > metrics.paragraph_gap(a, b):
        return PARAGRAPH
    if _new_line(a, b) or not _wrapped(a, b, margin, before):
        return LINE
    return JOIN


def _across_pages(a: Line, b: Line, margin: float, before: float) -> str:
    if not _new_line(a, b) and _wrapped(a, b, margin, before):
        return JOIN
    return PARAGRAPH if _SENTENCE_END.search(a.text) else LINE


@dataclass(frozen=True)
class Flow:
    """Each page's lines and, for each, what goes before it (:data:`JOIN`, :data:`WORD`,
    :data:`LINE` or :data:`PARAGRAPH`; the document's first line has :data:`PARAGRAPH`)."""

    pages: list[list[Line]]
    seps: list[list[str]]
    body: float
    """The body text's font size."""


def flow(pages: list[list[Line]]) -> Flow:
    """How the lines of ``pages`` (furniture dropped) run together, hyphens at line ends resolved."""
    metrics = _Metrics.of(pages)
    usual = _usual_margin(pages, metrics.body)
    seps: list[list[str]] = []
    previous: tuple[Line, float, float] | None = None  # a line, its margin, what it continues
    for lines in pages:
        margins = _margins(lines, metrics.body, usual)
        mine = []
        for i, line in enumerate(lines):
            if previous is None:
                sep = PARAGRAPH
            elif i == 0:
                sep = _across_pages(previous[0], line, previous[1], previous[2])
            else:
                sep = _within_page(previous[0], line, previous[1], previous[2], metrics)
            mine.append(sep)
            continued = previous[0].x1 if previous is not None and sep == JOIN else 0.0
            previous = (line, margins[i], continued)
        seps.append(mine)
    pages, seps = _hyphens(pages, seps)
    return Flow(pages, seps, metrics.body)


def _vocabulary(pages: list[list[Line]]) -> tuple[set[str], set[str]]:
    """Lowercased words of the document and its hyphenated pairs ("edit-compile"), leaving out
    the pieces of words split at a line end."""
    texts = []
    for lines in pages:
        for line in lines:
            text = line.text
            if HYPHEN_MARK in text:
                text = _SPLIT_PIECE.sub(" ", text)
            if text.endswith(("-", "\u2010")):
                text = _SPLIT_END.sub(" ", text)
            texts.append(text)
    text = "\n".join(texts).lower()
    pairs: set[str] = set()
    for token in text.split():
        if "-" in token:
            parts = [_WORDS.search(part) for part in token.split("-")]
            for x, y in itertools.pairwise(parts):
                if x and y:
                    pairs.add(f"{x.group()}-{y.group()}")
    return set(_WORDS.findall(text)), pairs


@dataclass(frozen=True)
class _Hyphenation:
    """What a document's own words say about a hyphen at a line end."""

    words: set[str]
    pairs: set[str]
    hyphenates: bool = False
    """Whether the typesetter splits words: some split word is written whole elsewhere."""

    def keeps(self, left: str, right: str) -> bool:
        """Whether ``left``-``right`` split at a line end keeps its hyphen: not when the document
        writes the word whole elsewhere, yes when it writes the pair with a hyphen or either half
        is a word of its own; when neither, only if the typesetter never splits words."""
        left, right = left.lower(), right.lower()
        if not left or not right:
            return True  # nothing to join
        if left + right in self.words:
            return False
        if f"{left}-{right}" in self.pairs or left in self.words or right in self.words:
            return True
        return not self.hyphenates


_INLINE_SPLIT = re.compile(rf"(\w*){HYPHEN_MARK}(\w*)")
_LINE_END_SPLIT = re.compile(r"(\w+)[-\u2010]$")
_LINE_START_WORD = re.compile(r"[a-z]\w*")


def _hyphens(pages: list[list[Line]], seps: list[list[str]]) -> tuple[list[list[Line]], list[list[str]]]:
    """Hyphens PDFium marked inside lines, and hyphens ending a line the next one continues,
    kept or dropped (:meth:`_Hyphenation.keeps`)."""
    words, pairs = _vocabulary(pages)
    out = [list(lines) for lines in pages]
    out_seps = [list(s) for s in seps]
    flat = [(p, i) for p, lines in enumerate(out) for i in range(len(lines))]
    ends = []  # (line, the next line, left half, right half) of words split at a line end
    for (p, i), (q, j) in itertools.pairwise(flat):
        if out_seps[q][j] != JOIN or not out[p][i].text.endswith(("-", "\u2010")):
            continue
        left = _LINE_END_SPLIT.search(out[p][i].text)
        right = _LINE_START_WORD.match(out[q][j].text)
        if left and right:
            ends.append(((p, i), (q, j), left.group(1), right.group()))
        elif not out[p][i].text[-2:-1].isspace():
            out_seps[q][j] = WORD  # the line broke after a hyphen ("<hash value>-<arch>"): no space
    inline = [
        m.groups()
        for lines in out
        for line in lines
        if HYPHEN_MARK in line.text
        for m in _INLINE_SPLIT.finditer(line.text)
    ]
    split = [(left, right) for *_, left, right in ends] + inline
    rule = _Hyphenation(words, pairs, any((a + b).lower() in words for a, b in split if a and b))
    for (p, i), (q, j), left, right in ends:
        out_seps[q][j] = WORD
        if not rule.keeps(left, right):
            out[p][i] = replace(out[p][i], text=out[p][i].text[:-1])

    def mend(match: re.Match) -> str:
        return match.group(1) + ("-" if rule.keeps(*match.groups()) else "") + match.group(2)

    for lines in out:
        for i, line in enumerate(lines):
            if HYPHEN_MARK in line.text:
                lines[i] = replace(line, text=_INLINE_SPLIT.sub(mend, line.text))
    return out, out_seps
