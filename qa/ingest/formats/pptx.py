"""PowerPoint (.pptx) by python-pptx: each slide a page, its title the section.

A slide's shapes are read in the order a person reads the slide, top to bottom and, among shapes
side by side, left to right (not the order they were added in); groups likewise inside. Read:
text frames (a line break inside a paragraph stays a line break), tables, chart titles and
SmartArt text. Not read: the slide's footer, date and slide-number placeholders (page furniture).
The speaker notes, where lessons keep their narrative, follow the slide's text on the same slide
under a "Notes" line, a section of its own ("Dependency graphs › Notes"), so a citation says
it quotes the notes. An untitled slide has no section (not the previous slide's).

The deck's title is its metadata's; without one, the title of a first slide that is a title
slide (a centre title, or a title with at most a subtitle beside it). A first slide with body
text is a content slide: its title is the first section's heading, not the deck's, and the
file's name titles the deck, as for a PDF whose first page opens with its first chapter.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from qa.ingest.formats.base import Extracted, Limits, TextBuilder, collapse, language_tag
from qa.ingest.formats.office import check_package, corrupt

__all__ = ["NOTES_HEADING", "read_pptx"]

NOTES_HEADING = "Notes"
_ROW_TOLERANCE = 0.05
"""Shapes whose tops are within this share of the slide's height are side by side (one row)."""
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_DIAGRAM = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def read_pptx(path: Path, limits: Limits) -> Extracted:
    check_package(path, limits, part="ppt/presentation.xml", kind="PowerPoint")
    import pptx
    from lxml import etree

    try:
        presentation = pptx.Presentation(str(path))
        row = int((presentation.slide_height or 6858000) * _ROW_TOLERANCE)
        builder = TextBuilder()
        slides, first_title = 0, ""
        for slide in presentation.slides:
            slides += 1
            slide_title = _read_slide(builder, slide, row)
            if slides == 1 and _a_title_slide(slide):
                first_title = slide_title
        title = (presentation.core_properties.title or "").strip() or first_title
        lang = language_tag(presentation.core_properties.language)
    except (KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise corrupt("PowerPoint", exc) from None
    return builder.build(title=title, page_unit="slide", pages_read=max(slides, 1), lang=lang)


def _read_slide(builder: TextBuilder, slide, row: int) -> str:
    """Lay out one slide and its notes; its title, "" when it has none."""
    builder.new_page()
    title_shape = slide.shapes.title
    title = collapse(title_shape.text_frame.text) if title_shape is not None else ""
    if title:
        builder.heading(title, 1)
    else:
        builder.end_sections()
    title_id = title_shape.shape_id if title_shape is not None else None
    for shape in _reading_order([s for s in slide.shapes if s.shape_id != title_id], row):
        _add_shape(builder, shape, slide, row)
    notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    if notes is not None and notes.text.strip():
        builder.heading(NOTES_HEADING, 2)
        _add_paragraphs(builder, notes)
    return title


def _a_title_slide(slide) -> bool:
    """Whether ``slide`` is a title slide: a centre title, or nothing but its title and a
    subtitle (page furniture and pictures aside)."""
    from pptx.enum.shapes import PP_PLACEHOLDER

    title = slide.shapes.title
    if title is None:
        return False
    if title.placeholder_format.type == PP_PLACEHOLDER.CENTER_TITLE:
        return True
    for shape in slide.shapes:
        if shape.shape_id == title.shape_id or _furniture(shape):
            continue
        if shape.is_placeholder and shape.placeholder_format.type == PP_PLACEHOLDER.SUBTITLE:
            continue
        if _has_text(shape):
            return False
    return True


def _has_text(shape) -> bool:
    """Whether ``shape`` (a group: any shape in it) shows text: a text frame, a table or a chart."""
    inner = getattr(shape, "shapes", None)
    if shape.shape_type is not None and inner is not None:
        return any(_has_text(each) for each in inner)
    if getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():
        return True
    return bool(getattr(shape, "has_table", False) or getattr(shape, "has_chart", False))


def _reading_order(shapes, row: int) -> list:
    """Shapes top to bottom; shapes whose tops are within ``row`` of a row's first, left to right."""
    shapes = [shape for shape in shapes if not _furniture(shape)]
    if len(shapes) < 2:  # a placeholder's position is looked up in its layout: slow, and not needed
        return shapes
    placed = sorted(
        ((shape.top or 0, shape.left or 0, i, shape) for i, shape in enumerate(shapes)),
        key=lambda item: (item[0], item[2]),
    )
    rows: list[list[tuple]] = []
    for item in placed:
        if rows and item[0] - rows[-1][0][0] <= row:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item[3] for line in rows for item in sorted(line, key=lambda item: (item[1], item[2]))]


def _furniture(shape) -> bool:
    """A footer, date or slide-number placeholder."""
    if not getattr(shape, "is_placeholder", False):
        return False
    from pptx.enum.shapes import PP_PLACEHOLDER

    kind = shape.placeholder_format.type
    return kind in (PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.SLIDE_NUMBER)


def _add_shape(builder: TextBuilder, shape, slide, row: int) -> None:
    if shape.shape_type is not None and getattr(shape, "shapes", None) is not None:  # a group
        for inner in _reading_order(shape.shapes, row):
            _add_shape(builder, inner, slide, row)
    elif getattr(shape, "has_table", False) and shape.has_table:
        for i, table_row in enumerate(shape.table.rows):
            cells = "\t".join(" ".join(c.text.split()) for c in table_row.cells)
            builder.add(cells, sep="\n" if i else "\n\n")
    elif getattr(shape, "has_chart", False) and shape.has_chart:
        chart = shape.chart
        if chart.has_title and chart.chart_title.has_text_frame:
            _add_paragraphs(builder, chart.chart_title.text_frame)
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        _add_paragraphs(builder, shape.text_frame)
    else:
        builder.add("\n".join(_smartart_lines(shape, slide)))


def _add_paragraphs(builder: TextBuilder, frame) -> None:
    for i, paragraph in enumerate(frame.paragraphs):
        # a line break inside a paragraph (<a:br/>, "\v" in python-pptx) is a line of its
        # own, as a slide shows it: code keeps its lines
        builder.add(paragraph.text.replace("\v", "\n"), sep="\n" if i else "\n\n")


def _smartart_lines(shape, slide) -> list[str]:
    """The text of a SmartArt graphic's nodes, in the order of its data model (python-pptx does
    not read SmartArt; its text is in the diagram's data part)."""
    from lxml import etree

    data = shape.element.find(f".//{_A}graphicData[@uri='{_DIAGRAM}']")
    ids = data.find(f"{{{_DIAGRAM}}}relIds") if data is not None else None
    rel_id = ids.get(_RELATIONSHIPS + "dm") if ids is not None else None
    if not rel_id or rel_id not in slide.part.rels:
        return []
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    model = etree.fromstring(slide.part.related_part(rel_id).blob, parser)
    lines = []
    for point in model.iter(f"{{{_DIAGRAM}}}pt"):
        body = point.find(f"{{{_DIAGRAM}}}t")
        if point.get("type", "node") != "node" or body is None:
            continue
        for paragraph in body.iter(_A + "p"):
            lines.append("".join(t.text or "" for t in paragraph.iter(_A + "t")).strip())
    return [line for line in lines if line]
