"""PDF: the text layer of each page (pypdfium2) as running text, pages mapped, sections found.

pypdfium2 (Apache-2.0/BSD, PDFium's own text extraction) was measured against pypdf and
pdfminer.six on shared/eval/docs-pdf/: the same answer phrases survive in all three, and it reads
about 300 pages/s where pypdf reads 33 and pdfminer 18.

Lines become paragraphs, and page furniture goes, by the layout (:mod:`.pdf_flow`). Sections come
from the PDF outline (bookmarks) when it has one; otherwise from the type: short lines set larger
than the body text start sections (bigger fonts ranking higher), then standalone bold lines and
numbered ones ("3.2 Title") below them. Headings stay lines of their own.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Extracted, Limits, TextBuilder, collapse, language_tag
from qa.ingest.formats.pdf_flow import JOIN, PARAGRAPH, WORD, Flow, drop_furniture, flow, tidy
from qa.ingest.formats.pdf_page import Line, page_lines

__all__ = ["read_pdf", "NO_TEXT_LAYER", "READER_VERSION"]

READER_VERSION = 10
"""Bumped when the same PDF reads as different text (2: paragraphs joined, furniture dropped;
3: a title page's running title kept, bookmarks matched to lines punctuation aside; 4: a title
set on two lines, contents entries no headings, numbered headings on pages without font sizes;
5: the headings a contents page lists; 6: type sizes on pages with unmapped characters, the
lines set like the listed headings, a contents entry a line of its own; 7: TeX's symbol font's
characters as symbols, "≠" not "6="; 8: superscript footnote marks glued to a word left out;
9: contents entries without their page numbers; 10: a first page's "Chapter 1" heading is no title).
``READER_VERSIONS["pdf"]`` in the package, which the index records, is the same number."""
NO_TEXT_LAYER = "no text layer; scanned pages need OCR, which is not supported"
HEADING_RATIO = 1.15
"""A line is a heading candidate when its font is this much larger than the body text's."""
MAX_HEADING_WORDS = 14
_PUNCTUATION = re.compile(r"[^\w\s.]")
"""Left out when a bookmark's title is compared with a line (the section number's dots stay)."""
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+)\.?\s+[A-Z]")
_SECTION_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S")
"""A line starting with a section number, one part or more ("2 Related work", "4.11.1 ...")."""
_PAGE_NUMBER = re.compile(r"\s+\d{1,4}$")
_CONTENTS_ENTRY = re.compile(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+\S.*?\s\d{1,4}$")
"""A table of contents' line: a section number, its title and a page number ("2 Related work 3")
when a page holds :data:`CONTENTS_RUN` or more of them (a heading may end in a number: "Python 3")."""
_NUMBERED_ENTRY = re.compile(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+[A-Z].*?\s\d{1,4}$")
"""A contents entry whose page number stands without a leader ("2 Related work 3")."""
CONTENTS_RUN = 3
"""Numbered lines standing alone this many in a row, with no text between them, are a table of
contents or a list, not headings."""


def read_pdf(path: Path, limits: Limits) -> Extracted:
    """The PDF's text, page by page; refuses encrypted, damaged and image-only files."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise SourceError(_open_error(str(exc))) from None
    try:
        pages = [_read_page(pdf, i) for i in range(len(pdf))]
        outline = _outline(pdf)
        metadata_title = (pdf.get_metadata_value("Title") or "").strip()
        lang = _language(pdf)
    except pdfium.PdfiumError as exc:
        raise SourceError(_damaged(str(exc))) from None
    finally:
        pdf.close()
    if not pages:
        raise SourceError("a PDF with no pages; re-export it")
    pages = [_entries([line for line in map(tidy, lines) if line.text]) for lines in drop_furniture(pages)]
    if not any(pages):
        raise SourceError(NO_TEXT_LAYER)
    title = metadata_title or _first_page_title(pages)
    laid = flow(pages)
    blocks = _blocks(laid)
    unplaced: dict[int, list[tuple[int, str]]] = {}
    if outline:
        unplaced = _mark_outline(blocks, outline)
    else:
        _mark_by_type(blocks, laid.body)
    builder = TextBuilder()
    _lay_out(builder, laid, blocks, unplaced)
    read = builder.build(title=title, page_unit="page", pages_read=len(pages), lang=lang)
    if not metadata_title and _a_chapter(read):
        return replace(read, title="")  # the file's name titles it, as for a PDF with no title line
    return read


def _language(pdf) -> str:
    """The catalog's ``/Lang`` ("de-DE"), or ""."""
    import ctypes

    import pypdfium2.raw as raw

    size = raw.FPDFCatalog_GetLanguage(pdf.raw, None, 0)
    if size <= 2:
        return ""
    buffer = (ctypes.c_ushort * (size // 2))()
    raw.FPDFCatalog_GetLanguage(pdf.raw, buffer, size)
    return language_tag(bytes(buffer)[: size - 2].decode("utf-16-le", errors="replace"))


def _a_chapter(read: Extracted) -> bool:
    """Whether the title found on the first page is the first of the document's top-level
    sections ("Chapter 1. Enzymes", with "Chapter 2. ..." after it): a course reader or a
    book without a title in its metadata was cited as "Chapter 1. Enzymes · p. 40 · Chapter 3.
    Osmosis"."""
    top = [section.path for section in read.sections if " › " not in section.path]
    return len(top) > 1 and top[0] == read.title


def _entries(lines: list[Line]) -> list[Line]:
    """A page's lines with the page numbers of its contents entries dropped, as :func:`tidy`
    drops those set after a dotted leader, when :data:`CONTENTS_RUN` or more of its lines are
    contents entries, numbered ones ending in a page number ("2 Related work 3") or ones whose
    leader was dropped: the entry then says its heading, so the contents is told from the text
    by what it repeats."""
    listed = [i for i, line in enumerate(lines) if _NUMBERED_ENTRY.match(line.text)]
    if len(listed) + sum(line.entry for line in lines) < CONTENTS_RUN:
        return lines
    out = list(lines)
    for i in listed:
        out[i] = replace(out[i], text=_PAGE_NUMBER.sub("", out[i].text), entry=True)
    return out


def _first_page_title(pages: list[list[Line]]) -> str:
    """The title a PDF without one in its metadata shows: the first page's short line set in
    the largest type, when that is larger than the page's other lines ('' otherwise)."""
    lines = next((lines for lines in pages if lines), [])
    short = [line for line in lines if 0 < len(line.text.split()) <= MAX_HEADING_WORDS]
    if not short:
        return ""
    top = max(short, key=lambda line: line.size)
    at = lines.index(top)
    title = [top]  # a long title runs on in the same type ("... but afraid to" / "forget")
    while at + len(title) < len(lines) and lines[at + len(title)].size == top.size:
        title.append(lines[at + len(title)])
    rest = [line for line in lines if not any(line is t for t in title)]
    larger = top.size > 0 and all(line.size * HEADING_RATIO <= top.size for line in rest)
    text = collapse(" ".join(line.text for line in title))
    return text if larger and len(text.split()) <= MAX_HEADING_WORDS else ""


def _open_error(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered or "security" in lowered:
        return "encrypted PDF (password protected); save an unprotected copy to index it"
    return _damaged(message)


_PDFIUM_DETAIL = re.compile(r"\(PDFium:\s*([^)]*)\)")


def _damaged(message: str) -> str:
    """A damaged PDF's message, with PDFium's own words ("Failed to load document (PDFium: Data
    format error).") cut to what they say ("data format error")."""
    detail = _PDFIUM_DETAIL.search(message)
    said = (detail.group(1) if detail else message).strip().rstrip(".")
    said = said[:1].lower() + said[1:]
    return f"corrupt or truncated PDF{f' ({said})' if said else ''}; re-export it"


def _read_page(pdf, index: int) -> list[Line]:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        return page_lines(textpage)
    finally:
        textpage.close()
        page.close()


def _outline(pdf) -> list[tuple[int, str, int]]:
    """(level, title, page index) of each bookmark that points at a page."""
    items = []
    for bookmark in pdf.get_toc(max_depth=6):
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        title = collapse(bookmark.get_title() or "")
        if index is not None and title:
            items.append((bookmark.level, title, index))
    return items


@dataclass
class _Block:
    """Lines run together into one paragraph (or line), from line ``first`` of page ``page``."""

    page: int
    first: int
    lines: list[Line]
    text: str
    before: str
    """What separates it from the text before (:data:`~.pdf_flow.PARAGRAPH` or a line break)."""
    last_page: int
    heading: tuple[int, str] | None = None
    """(level, section title) when the block is a heading."""

    @property
    def one_page(self) -> bool:
        return self.page == self.last_page


def _blocks(laid: Flow) -> list[_Block]:
    blocks: list[_Block] = []
    for p, (lines, seps) in enumerate(zip(laid.pages, laid.seps)):
        for i, (line, sep) in enumerate(zip(lines, seps)):
            if blocks and sep in (JOIN, WORD):
                block = blocks[-1]
                block.lines.append(line)
                block.text += sep + line.text
                block.last_page = p
            else:
                blocks.append(_Block(p, i, [line], line.text, sep, last_page=p))
    return blocks


def _mark_outline(
    blocks: list[_Block], outline: list[tuple[int, str, int]]
) -> dict[int, list[tuple[int, str]]]:
    """Blocks saying a bookmark's title on the bookmark's page become its heading; returns the
    (level, title) of bookmarks whose title is no line of their page, by page: their sections
    start with the page."""
    by_page: dict[int, list[_Block]] = {}
    unplaced: dict[int, list[tuple[int, str]]] = {}
    for block in blocks:
        by_page.setdefault(block.page, []).append(block)
    for level, title, index in outline:
        found = next(
            (
                b
                for b in by_page.get(index, [])
                if b.heading is None and b.one_page and _is_title(title, b.text)
            ),
            None,
        )
        if found is not None:
            found.heading = (level + 1, title)
        else:
            unplaced.setdefault(index, []).append((level + 1, title))
    return unplaced


def _is_title(title: str, line: str) -> bool:
    """Whether ``line`` says the bookmark ``title``, punctuation aside (an outline may write
    "Nonregular files" where the page prints "Non-regular files")."""
    line, title = _plain(line), _plain(title)
    if len(line.split()) > MAX_HEADING_WORDS + 4:
        return False
    if line == title or line.endswith(title) or (title.endswith(line) and len(line) > 3):
        return True
    bare = re.sub(r"^[\da-z.]{1,8}\s+", "", title)
    return bool(bare) and line.endswith(bare) and len(bare) > 3


def _plain(text: str) -> str:
    return " ".join(_PUNCTUATION.sub("", collapse(text).lower()).split())


def _mark_by_type(blocks: list[_Block], body: float) -> None:
    """Headings by type: larger than the body text, then bold or numbered standalone lines."""
    sizes: Counter[float] = Counter()
    for block in blocks:
        if _heading_like(block) and _uniform_size(block):
            sizes[block.lines[0].size] += 1
    larger = sorted((s for s in sizes if body and s >= body * HEADING_RATIO), reverse=True)
    level_of = {s: i + 1 for i, s in enumerate(larger)}
    unsized = {b.page for b in blocks} - {b.page for b in blocks for line in b.lines if line.size}
    in_run = _numbered_runs(blocks)
    entries = Counter(b.page for b in blocks if _CONTENTS_ENTRY.match(b.text))
    for n, block in enumerate(blocks):
        if not _heading_like(block) or n in in_run or _is_entry(block):
            continue
        if entries[block.page] >= CONTENTS_RUN and _CONTENTS_ENTRY.match(block.text):
            continue
        size = block.lines[0].size if _uniform_size(block) else 0.0
        after = blocks[n + 1].before if n + 1 < len(blocks) else PARAGRAPH
        standalone = block.before == PARAGRAPH and (after == PARAGRAPH or blocks[n + 1].first == 0)
        if block.page in unsized:  # PDFium gave no type there: a line of its own is all there is
            standalone = len(block.lines) == 1
        numbered = _NUMBERED.match(block.text)
        if size in level_of:
            block.heading = (level_of[size], "")
        elif (
            standalone and all(line.bold for line in block.lines) and not block.text.endswith((".", ",", ";"))
        ):
            block.heading = (len(larger) + 1, "")
        elif standalone and numbered and not block.text.endswith((".", ":", ",", ";")):
            block.heading = (len(larger) + numbered.group(1).count("."), "")
    _mark_listed(blocks, in_run)


def _mark_listed(blocks: list[_Block], in_run: set[int]) -> None:
    """Headings a table of contents lists, and the lines set like them: a numbered line of its
    own that says again what a contents line said ("2 Related work" after the entry "2 Related
    work 3", "4.11 Interleaved ..." after its line in a run of numbered lines) is that section's
    heading, whatever type sizes and spacing say (a heading right after a paragraph or another
    heading has no gap above it). Only the second saying counts, and only after a contents line
    that was no heading: a title first met as a heading is found already, and a contents page at
    the end of a manual is no heading. When some are found, they replace the headings found by
    type (which take a paper's title, its date and the labels of its charts for headings), and
    the lines set in their type are headings too: a numbered line in the type of a listed
    heading of its depth (subsections the contents run together on one line), an unnumbered one
    in the type of a top-level one ("References"). Every heading is levelled by its number, so
    "2.1" is within "2", and an unnumbered one stands beside "5", not within it."""
    first: dict[str, bool] = {}  # each title's first saying: a contents line that is no heading?
    listed: list[int] = []
    for n, block in enumerate(blocks):
        number = _SECTION_NUMBER.match(block.text)
        if number is None or len(block.lines) != 1 or not _heading_like(block):
            continue
        key = _entry_key(block.text)
        if key not in first:
            listing = n in in_run or _is_entry(block) or bool(_CONTENTS_ENTRY.match(block.text))
            first[key] = listing and block.heading is None
        elif first[key]:
            first[key] = False  # a third saying is no heading either
            listed.append(n)
    if not listed:
        return
    types = {(_type(blocks[n]), _depth(blocks[n])) for n in listed if blocks[n].lines[0].size}
    entries = Counter(b.page for b in blocks if _CONTENTS_ENTRY.match(b.text))
    for n, block in enumerate(blocks):
        block.heading = None
        if n in listed:
            block.heading = (1 + _depth(block), "")
            continue
        contents = _is_entry(block) or (
            entries[block.page] >= CONTENTS_RUN and _CONTENTS_ENTRY.match(block.text)
        )
        if n in in_run or contents or not _heading_like(block) or not _uniform_size(block):
            continue
        if (_type(block), _depth(block)) in types and not block.text.endswith((".", ",", ";", ":")):
            block.heading = (1 + _depth(block), "")


def _is_entry(block: _Block) -> bool:
    """Whether the block is a contents entry (its leader or page number dropped)."""
    return all(line.entry for line in block.lines)


def _type(block: _Block) -> tuple[float, bool]:
    """How a block is set: its font size and whether every line is bold."""
    return block.lines[0].size, all(line.bold for line in block.lines)


def _depth(block: _Block) -> int:
    """0 for "2 Related work" and for a line without a section number, 1 for "2.1 ...", ..."""
    number = _SECTION_NUMBER.match(block.text)
    return number.group(1).count(".") if number else 0


def _entry_key(text: str) -> str:
    """A contents entry or heading as compared: without the entry's page number, plain."""
    return _plain(_PAGE_NUMBER.sub("", text) if _CONTENTS_ENTRY.match(text) else text)


def _numbered_runs(blocks: list[_Block]) -> set[int]:
    """Positions of the blocks in runs of :data:`CONTENTS_RUN` or more numbered one-line blocks
    with nothing between them."""
    out: set[int] = set()
    run: list[int] = []
    for n, block in enumerate([*blocks, None]):
        if block is not None and len(block.lines) == 1 and _NUMBERED.match(block.text):
            run.append(n)
            continue
        if len(run) >= CONTENTS_RUN:
            out.update(run)
        run = []
    return out


def _heading_like(block: _Block) -> bool:
    words = block.text.split()
    return 0 < len(words) <= MAX_HEADING_WORDS and block.one_page and any(c.isalpha() for c in block.text)


def _uniform_size(block: _Block) -> bool:
    size = block.lines[0].size
    return all(line.size == size and line.end_size == size for line in block.lines)


def _lay_out(
    builder: TextBuilder, laid: Flow, blocks: list[_Block], unplaced: dict[int, list[tuple[int, str]]]
) -> None:
    starts = {(b.page, b.first): b for b in blocks}
    skip: set[tuple[int, int]] = set()
    after_heading = False
    for p, (lines, seps) in enumerate(zip(laid.pages, laid.seps)):
        builder.new_page()
        for level, title in unplaced.get(p, []):
            builder.heading_mark(title, level)
        for i, (line, sep) in enumerate(zip(lines, seps)):
            block = starts.get((p, i))
            if block is not None and block.heading is not None:
                level, label = block.heading
                builder.heading(block.text, level, label=label)
                skip.update((p, i + k) for k in range(1, len(block.lines)))
                after_heading = True
            elif (p, i) not in skip:
                builder.add(line.text, sep=PARAGRAPH if after_heading else sep)
                after_heading = False
