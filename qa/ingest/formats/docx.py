"""Word (.docx) by python-docx: paragraphs and tables in order; "Heading N" and "Title" styles
make the section path. Word files have no fixed pages (they reflow), so citations give sections."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Extracted, Limits, TextBuilder
from qa.ingest.formats.office import check_package

__all__ = ["read_docx"]

_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)


def read_docx(path: Path, limits: Limits) -> Extracted:
    check_package(path, limits, part="word/document.xml", kind="Word")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
        builder = TextBuilder()
        levels = _heading_levels(document)
        first_title = ""
        body = document.element.body
        for child in body.iterchildren():
            if child.tag.endswith("}p"):
                paragraph = Paragraph(child, document)
                style = child.pPr.pStyle.val if child.pPr is not None and child.pPr.pStyle is not None else ""
                level = levels.get(style, 0)
                if level:
                    first_title = first_title or paragraph.text.strip()
                    builder.heading(paragraph.text, level)
                else:
                    builder.add(paragraph.text)
            elif child.tag.endswith("}tbl"):
                for i, row in enumerate(Table(child, document).rows):
                    builder.add("\t".join(_unique_cells(row)), sep="\n" if i else "\n\n")
        title = (document.core_properties.title or "").strip() or first_title
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise SourceError(f"corrupt Word file ({type(exc).__name__}: {exc}); save it again") from None
    return builder.build(title=title)


def _heading_levels(document) -> dict[str, int]:
    """Style id -> heading level for the "Title" and "Heading N" styles (python-docx's own
    per-paragraph style lookup scans every style each time, which dominated reading time)."""
    levels = {}
    for style in document.styles.element.style_lst:
        match = _HEADING_STYLE.match(style.name_val or "")
        if match and style.styleId:
            levels[style.styleId] = int(match.group(1)) + 1 if match.group(1) else 1
    return levels


def _unique_cells(row) -> list[str]:
    """Cell texts of a table row, a merged cell (repeated by python-docx) once."""
    seen: list[object] = []
    texts = []
    for cell in row.cells:
        if cell._tc in seen:
            continue
        seen.append(cell._tc)
        texts.append(" ".join(cell.text.split()))
    return texts
