"""PDF: the text layer of each page (pypdfium2), pages mapped, sections from the outline or fonts.

pypdfium2 (Apache-2.0/BSD, PDFium's own text extraction) was measured against pypdf and
pdfminer.six on shared/eval/docs-pdf/: the same answer phrases survive in all three, and it reads
about 300 pages/s where pypdf reads 33 and pdfminer 18.

Sections come from the PDF outline (bookmarks) when it has one; otherwise lines set in a larger
font than the body text (and short, like headings are) start sections, bigger fonts ranking higher.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Extracted, Limits, TextBuilder, collapse

__all__ = ["read_pdf", "NO_TEXT_LAYER"]

NO_TEXT_LAYER = "no text layer; scanned pages need OCR, which is not supported"
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*/\s*\d{1,4})?\s*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"})
HEADING_RATIO = 1.15
"""A line is a heading candidate when its font is this much larger than the body text's."""
MAX_HEADING_WORDS = 14
RUNNING_EDGE = 2
"""Lines at each end of a page looked at for running headers and footers."""
_DIGITS = re.compile(r"\d+")


def read_pdf(path: Path, limits: Limits) -> Extracted:
    """The PDF's text, page by page; refuses encrypted, damaged and image-only files."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise SourceError(_open_error(str(exc))) from None
    try:
        pages = [_page_lines(pdf, i) for i in range(len(pdf))]
        outline = _outline(pdf)
        title = (pdf.get_metadata_value("Title") or "").strip()
    except pdfium.PdfiumError as exc:
        raise SourceError(f"corrupt or truncated PDF ({exc}); re-export it") from None
    finally:
        pdf.close()
    if not pages:
        raise SourceError("a PDF with no pages; re-export it")
    pages = _without_running_lines(pages)
    if not any(text for lines in pages for text, _ in lines):
        raise SourceError(NO_TEXT_LAYER)
    builder = TextBuilder()
    if outline:
        _lay_out_with_outline(builder, pages, outline)
    else:
        _lay_out_with_fonts(builder, pages)
    return builder.build(title=title, page_unit="page", pages_read=len(pages))


def _open_error(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered or "security" in lowered:
        return "encrypted PDF (password protected); save an unprotected copy to index it"
    return f"corrupt or truncated PDF ({message}); re-export it"


def _page_lines(pdf, index: int) -> list[tuple[str, float]]:
    """(line text, font size of its first character) for each line with text on one page."""
    import pypdfium2.raw as raw

    page = pdf[index]
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        sized = len(text) == textpage.count_chars()
        lines: list[tuple[str, float]] = []
        offset = 0
        for raw_line in text.split("\r\n"):
            start = offset
            offset += len(raw_line) + 2
            line = _clean(raw_line)
            if not line:
                continue
            lead = start + len(raw_line) - len(raw_line.lstrip())
            size = raw.FPDFText_GetFontSize(textpage.raw, lead) if sized else 0.0
            lines.append((line, round(size * 2) / 2))
    finally:
        textpage.close()
        page.close()
    for end in (0, -1):  # a bare page number at the top or bottom is page furniture, not text
        if lines and _PAGE_NUMBER.match(lines[end][0]):
            lines.pop(end)
    return lines


def _furniture_key(line: str) -> str:
    return _DIGITS.sub("#", line.strip().lower())


def _without_running_lines(pages: list[list[tuple[str, float]]]) -> list[list[tuple[str, float]]]:
    """Pages without running headers and footers: a line among the first or last
    ``RUNNING_EDGE`` of a page that recurs (numbers aside) on at least half of 3+ pages, such as
    a browser's printed date, title, URL and "3/27"."""
    if len(pages) < 3:
        return pages
    seen: Counter[str] = Counter()
    for lines in pages:
        edge = lines[:RUNNING_EDGE] + lines[-RUNNING_EDGE:]
        seen.update({_furniture_key(text) for text, _ in edge})
    running = {key for key, n in seen.items() if n >= max(3, len(pages) / 2)}
    if not running:
        return pages
    out = []
    for lines in pages:
        n = len(lines)
        out.append(
            [
                (text, size)
                for i, (text, size) in enumerate(lines)
                if not ((i < RUNNING_EDGE or i >= n - RUNNING_EDGE) and _furniture_key(text) in running)
            ]
        )
    return out


def _clean(line: str) -> str:
    # PDFium marks a hyphen at a line break as U+0002 and joins the two halves itself.
    line = line.replace("\x02", "-").replace("\r", " ").replace("\n", " ").translate(_LIGATURES)
    return _CONTROL.sub("", line).rstrip()


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


def _lay_out_with_outline(builder: TextBuilder, pages, outline) -> None:
    by_page: dict[int, list[tuple[int, str]]] = {}
    for level, title, index in outline:
        by_page.setdefault(index, []).append((level, title))
    for index, lines in enumerate(pages):
        builder.new_page()
        marks = by_page.get(index, [])
        at_line: dict[int, tuple[int, str]] = {}
        for level, title in marks:
            found = next(
                (i for i, (text, _) in enumerate(lines) if i not in at_line and _is_title_line(title, text)),
                None,
            )
            if found is None:  # the title is not a line of its page: the section starts with the page
                builder.heading_mark(title, level + 1)
            else:
                at_line[found] = (level, title)
        for i, (text, _) in enumerate(lines):
            if i in at_line:
                level, title = at_line[i]
                builder.heading(text, level + 1, label=title)
            else:
                builder.add(text, sep="\n")


def _is_title_line(title: str, line: str) -> bool:
    line, title = collapse(line).lower(), title.lower()
    if line == title or line.endswith(title) or (title.endswith(line) and len(line) > 3):
        return True
    bare = re.sub(r"^[\da-z.]{1,8}\s+", "", title)
    return bool(bare) and line.endswith(bare) and len(bare) > 3


def _lay_out_with_fonts(builder: TextBuilder, pages) -> None:
    sizes: Counter[float] = Counter()
    for lines in pages:
        for text, size in lines:
            sizes[size] += len(text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted({s for s in sizes if body and s >= body * HEADING_RATIO}, reverse=True)
    level_of = {s: i + 1 for i, s in enumerate(heading_sizes)}
    for lines in pages:
        builder.new_page()
        for text, size in lines:
            if size in level_of and _looks_like_heading(text):
                builder.heading(text, level_of[size])
            else:
                builder.add(text, sep="\n")


def _looks_like_heading(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= MAX_HEADING_WORDS and any(c.isalpha() for c in text)
