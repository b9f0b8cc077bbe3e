"""Word (.docx): the body as Word shows it, read from its XML (python-docx opens the package).

Read: paragraphs and tables in order, with their automatic numbers and bullets ("4.", "1.2",
"(b)", "•"; :mod:`docx_numbering`); the content of content controls (``w:sdt``: cover pages,
template fields, whole sections), except a table of contents; tracked insertions, hyperlinks,
fields and inline controls inside paragraphs (python-docx's ``paragraph.text`` drops all but
runs and hyperlinks); text boxes once, after the paragraph that anchors them (Word stores each
twice: DrawingML and a VML fallback); footnotes after the paragraph (or table) citing them, as
"Footnote 1: text"; endnotes at the end under "Notes", as "Endnote i: text". Not read: headers and
footers (page furniture), comments, deleted text, hidden text, the prompts of unfilled controls.
Headings and the section path come from :mod:`docx_styles`. Word files reflow, so citations give
sections, not pages.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest.formats.base import Extracted, Limits, TextBuilder, collapse, language_tag
from qa.ingest.formats.docx_numbering import Numbering, format_number, w
from qa.ingest.formats.docx_styles import Styles, heading_level_of
from qa.ingest.formats.office import check_package, corrupt

__all__ = ["read_docx"]

_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_CONTAINERS = frozenset(
    w(t) for t in ("hyperlink", "ins", "moveTo", "smartTag", "fldSimple", "customXml", "dir", "bdo")
)
"""Inline elements whose runs are shown: links, tracked insertions, simple fields, tags."""
_RUN_TEXT = {w("t"): None, w("tab"): "\t", w("ptab"): "\t", w("cr"): "\n", w("noBreakHyphen"): "-"}
_DRAWINGS = frozenset((w("drawing"), w("pict"), w("object")))
_CONTENTS_GALLERY = "Table of Contents"
ENDNOTES_HEADING = "Notes"


def read_docx(path: Path, limits: Limits) -> Extracted:
    check_package(path, limits, part="word/document.xml", kind="Word")
    import docx
    from lxml import etree

    try:
        document = docx.Document(str(path))
        parts = _parts(document)
        styles = Styles(document.styles.element)
        body = document.element.body
        reader = _Body(
            styles=styles,
            numbering=Numbering(parts.get("numbering"), styles.list_styles),
            notes=_Notes.of(parts, body),
        )
        reader.blocks(body)
        reader.endnotes()
        title = (document.core_properties.title or "").strip() or reader.first_title
        lang = language_tag(document.core_properties.language) or _default_language(document.styles.element)
    except (KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise corrupt("Word", exc) from None
    return reader.builder.build(title=title, lang=lang)


def _default_language(styles_element) -> str:
    """The language of the document's default run properties (``w:docDefaults``' ``w:lang``),
    which Word sets from the author's editing language; "" when absent."""
    found = styles_element.find(f"{w('docDefaults')}/{w('rPrDefault')}/{w('rPr')}/{w('lang')}")
    return language_tag(found.get(w("val"))) if found is not None else ""


def _parts(document) -> dict[str, object]:
    """The XML of the document's numbering, footnotes, endnotes and settings parts, by kind."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    found = {}
    for rel in document.part.rels.values():
        kind = rel.reltype.rsplit("/", 1)[-1]
        if rel.is_external or kind not in ("numbering", "footnotes", "endnotes", "settings"):
            continue
        part = rel.target_part
        element = getattr(part, "element", None)
        found[kind] = element if element is not None else etree.fromstring(part.blob, parser)
    return found


@dataclass
class _Notes:
    """Footnote and endnote texts by id, and the format of their numbers."""

    texts: dict[tuple[str, str], object]
    formats: dict[str, str]
    counts: dict[str, int] = field(default_factory=lambda: {"footnote": 0, "endnote": 0})

    @classmethod
    def of(cls, parts: dict, body) -> _Notes:
        texts = {}
        for kind in ("footnote", "endnote"):
            root = parts.get(kind + "s")
            for note in root.iterfind(w(kind)) if root is not None else ():
                texts[(kind, note.get(w("id"), ""))] = note
        formats = {"footnote": "decimal", "endnote": "lowerRoman"}  # Word's defaults
        for where in (parts.get("settings"), body.find(w("sectPr"))):
            for kind in formats:
                props = where.find(w(kind + "Pr")) if where is not None else None
                number = props.find(w("numFmt")) if props is not None else None
                if number is not None and number.get(w("val")):
                    formats[kind] = number.get(w("val"))
        return cls(texts, formats)

    def label(self, kind: str) -> str:
        self.counts[kind] += 1
        return format_number(self.counts[kind], self.formats[kind]) or str(self.counts[kind])


@dataclass
class _Inline:
    """A paragraph's shown text, the notes it cites and the text boxes it anchors."""

    notes: _Notes
    parts: list[str] = field(default_factory=list)
    cited: list[tuple[str, str, object]] = field(default_factory=list)
    boxes: list[object] = field(default_factory=list)

    def walk(self, element) -> None:
        for child in element:
            tag = child.tag
            if tag == w("r"):
                self.run(child)
            elif tag in _CONTAINERS:
                self.walk(child)
            elif tag == w("sdt"):
                self.walk(_content(child))
            elif tag == _MC + "AlternateContent":
                self.walk(_chosen(child))
            elif tag in (_M + "oMath", _M + "oMathPara"):
                self.parts.append("".join(t.text or "" for t in child.iter(_M + "t")))

    def run(self, run) -> None:
        props = run.find(w("rPr"))
        hidden = props.find(w("vanish")) if props is not None else None
        if hidden is not None and hidden.get(w("val"), "1") not in ("0", "false", "off"):
            return
        for child in run:
            tag = child.tag
            if tag in _RUN_TEXT:
                self.parts.append(child.text or "" if _RUN_TEXT[tag] is None else _RUN_TEXT[tag])
            elif tag == w("br"):
                self.parts.append("\n" if child.get(w("type"), "textWrapping") == "textWrapping" else "")
            elif tag in (w("footnoteReference"), w("endnoteReference")):
                self.cite(child)
            elif tag in _DRAWINGS:
                self.boxes.extend(_outer_boxes(child))
            elif tag == _MC + "AlternateContent":
                for inner in _chosen(child):
                    self.boxes.extend(_outer_boxes(inner))

    def cite(self, reference) -> None:
        kind = "footnote" if reference.tag == w("footnoteReference") else "endnote"
        note = self.notes.texts.get((kind, reference.get(w("id"), "")))
        if note is None:
            return
        if reference.get(w("customMarkFollows")) in ("1", "true", "on"):
            self.cited.append((kind, "", note))  # the mark is the run's own text, and the note's
            return
        # no mark in the sentence: "enrol online[1] through" would break a quoted phrase, and
        # "[1]" reads as a passage number on the chat page; the note follows, numbered
        self.cited.append((kind, f"{kind.capitalize()} {self.notes.label(kind)}", note))

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _content(sdt) -> list:
    """What a content control holds (its ``w:sdtContent``); nothing while it shows its
    placeholder prompt ("Click or tap here to enter text.", a cover page's "[Document subtitle]")."""
    props = sdt.find(w("sdtPr"))
    prompt = props.find(w("showingPlcHdr")) if props is not None else None
    if prompt is not None and prompt.get(w("val"), "1") not in ("0", "false", "off"):
        return []
    content = sdt.find(w("sdtContent"))
    return list(content) if content is not None else []


def _chosen(alternate) -> list:
    """The content Word shows of an ``mc:AlternateContent``: its first choice, else its fallback."""
    for branch in alternate:
        if branch.tag in (_MC + "Choice", _MC + "Fallback"):
            return list(branch)
    return []


def _outer_boxes(drawing) -> list:
    """The text boxes of a drawing; a box inside another box is read with that box."""
    out = []
    for box in drawing.iter(w("txbxContent")):
        parent = box.getparent()
        while parent is not None and parent is not drawing and parent.tag != w("txbxContent"):
            parent = parent.getparent()
        if parent is drawing:
            out.append(box)
    return out


@dataclass
class _Body:
    """Lays out the body's blocks in a :class:`TextBuilder`."""

    styles: Styles
    numbering: Numbering
    notes: _Notes
    builder: TextBuilder = field(default_factory=TextBuilder)
    first_title: str = ""
    pending: list[tuple[str, str, object]] = field(default_factory=list)
    endnotes_cited: list[tuple[str, object]] = field(default_factory=list)

    def blocks(self, parent) -> None:
        for child in parent:
            tag = child.tag
            if tag == w("p"):
                self.paragraph(child)
            elif tag == w("tbl"):
                self.table(child)
            elif tag == w("sdt") and not _is_contents(child):
                self.blocks(_content(child))
            elif tag == w("customXml"):
                self.blocks(child)
            else:
                continue
            self.flush()

    def paragraph(self, p) -> None:
        text, level = self.read_paragraph(p)
        if level:
            self.first_title = self.first_title or collapse(text)
            self.builder.heading(text, level)
        else:
            self.builder.add(text)

    def read_paragraph(self, p) -> tuple[str, int]:
        """The paragraph's text with its number, and its heading level (0: not a heading);
        notes it cites and boxes it anchors wait in ``pending`` for :meth:`flush`."""
        props = p.find(w("pPr"))
        style = _attr(props, "pStyle") or self.styles.default
        if self.styles.is_contents(style):
            return "", 0
        inline = _Inline(self.notes)
        inline.walk(p)
        self.pending.extend(inline.cited)
        self.pending.extend(("box", "", box) for box in inline.boxes)
        number = self.number(props, style)
        text = inline.text
        if not text.strip():
            return "", 0
        outline = heading_level_of(_attr(props, "outlineLvl"))
        level = outline if outline is not None else self.styles.heading_level(style)
        return number + text.strip("\n") if number else text, level

    def number(self, props, style: str) -> str:
        """The paragraph's number or bullet: its own list and level (``w:numPr``), each falling
        back to its style's; "" when it has none (or ``numId`` 0, which removes the style's)."""
        numpr = props.find(w("numPr")) if props is not None else None
        by_style = self.styles.numbering(style) or ("", None)
        num_id = _attr(numpr, "numId") or by_style[0]
        ilvl = _attr(numpr, "ilvl")
        level = int(ilvl) if ilvl and ilvl.isdigit() else by_style[1]
        return self.numbering.label(num_id, level, style) if num_id else ""

    def table(self, tbl) -> None:
        for i, row in enumerate(_rows(tbl)):
            cells = [collapse(" ".join(self.cell_texts(cell))) for cell in _cells(row)]
            self.builder.add("\t".join(cells), sep="\n" if i else "\n\n")

    def cell_texts(self, parent) -> list[str]:
        out = []
        for child in parent:
            if child.tag == w("p"):
                out.append(self.read_paragraph(child)[0])
            elif child.tag == w("tbl"):
                out.extend(" ".join(self.cell_texts(cell)) for row in _rows(child) for cell in _cells(row))
            elif child.tag in (w("sdt"), w("customXml")):
                out.extend(self.cell_texts(_content(child) if child.tag == w("sdt") else child))
        return out

    def flush(self) -> None:
        """Notes cited and text boxes anchored by the block just read, after it."""
        while self.pending:
            waiting, self.pending = self.pending, []
            for kind, label, element in waiting:
                if kind == "box":
                    self.blocks(element)
                elif kind == "endnote":
                    self.endnotes_cited.append((label, element))
                else:
                    self.builder.add(self.note_text(label, element))

    def note_text(self, label: str, note) -> str:
        lines = []
        for p in note.iter(w("p")):
            inline = _Inline(self.notes)
            inline.walk(p)
            lines.append(inline.text.strip())
        text = "\n".join(line for line in lines if line)
        return f"{label}: {text}" if label else text

    def endnotes(self) -> None:
        """Endnotes at the end, as Word prints them, under a "Notes" heading."""
        texts = [self.note_text(label, note) for label, note in self.endnotes_cited]
        if any(t.strip() for t in texts):
            self.builder.heading(ENDNOTES_HEADING, 1)
            for text in texts:
                self.builder.add(text)


def _attr(props, child: str) -> str | None:
    found = props.find(w(child)) if props is not None else None
    return found.get(w("val")) if found is not None else None


def _is_contents(sdt) -> bool:
    """A content control holding a table of contents (its lines repeat the headings)."""
    props = sdt.find(w("sdtPr"))
    gallery = props.find(f"{w('docPartObj')}/{w('docPartGallery')}") if props is not None else None
    return gallery is not None and gallery.get(w("val"), "") == _CONTENTS_GALLERY


def _unwrapped(parent, tag: str):
    """Children with ``tag``, also inside content controls and custom XML."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag == w("sdt"):
            yield from _unwrapped(_content(child), tag)
        elif child.tag in (w("customXml"), w("ins"), w("moveTo")):
            yield from _unwrapped(child, tag)


def _rows(tbl):
    return _unwrapped(tbl, w("tr"))


def _cells(row):
    return _unwrapped(row, w("tc"))
