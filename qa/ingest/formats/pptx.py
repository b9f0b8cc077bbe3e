"""PowerPoint (.pptx) by python-pptx: each slide a page; its title the section; text frames and
tables in the order of the slide's shapes; a line break inside a paragraph stays a line break."""

from __future__ import annotations

import zipfile
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Extracted, Limits, TextBuilder
from qa.ingest.formats.office import check_package

__all__ = ["read_pptx"]


def read_pptx(path: Path, limits: Limits) -> Extracted:
    check_package(path, limits, part="ppt/presentation.xml", kind="PowerPoint")
    import pptx

    try:
        presentation = pptx.Presentation(str(path))
        builder = TextBuilder()
        slides = 0
        for slide in presentation.slides:
            slides += 1
            builder.new_page()
            title_shape = slide.shapes.title
            if title_shape is not None and title_shape.text_frame.text.strip():
                builder.heading(title_shape.text_frame.text, 1)
            for shape in slide.shapes:
                if title_shape is None or shape.shape_id != title_shape.shape_id:
                    _add_shape(builder, shape)
        title = (presentation.core_properties.title or "").strip()
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise SourceError(f"corrupt PowerPoint file ({type(exc).__name__}: {exc}); save it again") from None
    if not title and builder.sections:
        title = builder.sections[0].path
    return builder.build(title=title, page_unit="slide", pages_read=max(slides, 1))


def _add_shape(builder: TextBuilder, shape) -> None:
    if shape.shape_type is not None and getattr(shape, "shapes", None) is not None:  # a group
        for inner in shape.shapes:
            _add_shape(builder, inner)
    elif getattr(shape, "has_table", False) and shape.has_table:
        for i, row in enumerate(shape.table.rows):
            cells = "\t".join(" ".join(c.text.split()) for c in row.cells)
            builder.add(cells, sep="\n" if i else "\n\n")
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        for i, paragraph in enumerate(shape.text_frame.paragraphs):
            # a line break inside a paragraph (<a:br/>, "\v" in python-pptx) is a line of its
            # own, as a slide shows it: code keeps its lines
            builder.add(paragraph.text.replace("\v", "\n"), sep="\n" if i else "\n\n")
