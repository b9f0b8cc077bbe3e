"""Small real Word and PowerPoint files with what authors' files hold: content controls, numbered
headings and lists, footnotes, endnotes, text boxes, tracked changes, headers; speaker notes,
shapes placed out of XML order, charts. Built with python-docx / python-pptx, plus the XML Word
and PowerPoint write for what those libraries cannot make."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (
    f'xmlns:w="{W_NS}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)


def element(fragment: str):
    """An element from WordprocessingML text, namespaces declared on it."""
    from docx.oxml import parse_xml

    tag_end = fragment.index(">") if " " not in fragment[: fragment.index(">")] else fragment.index(" ")
    return parse_xml(fragment[:tag_end] + " " + NS + fragment[tag_end:])


def run(text: str, extra: str = "") -> str:
    return f'<w:r>{extra}<w:t xml:space="preserve">{text}</w:t></w:r>'


def para(inner: str, style: str = "", props: str = "") -> str:
    style_xml = f'<w:pStyle w:val="{style}"/>' if style else ""
    ppr = f"<w:pPr>{style_xml}{props}</w:pPr>"
    return f"<w:p>{ppr}{inner}</w:p>"


def text_box(text: str) -> str:
    """A floating text box as Word saves it: DrawingML, and the same box again in VML."""
    content = f"<w:txbxContent>{para(run(text))}</w:txbxContent>"
    return (
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic>'
        '<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f"<wps:wsp><wps:txbx>{content}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor>"
        f"</w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{content}</v:textbox>"
        "</v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )


def numbered_headings(document) -> None:
    """Heading 1 and 2 numbered "1." and "1.1" through their styles, as Word's multilevel list
    gallery links them."""
    numbering = document.part.numbering_part.element
    abstract = element(
        '<w:abstractNum w:abstractNumId="90"><w:multiLevelType w:val="multilevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading1"/>'
        '<w:lvlText w:val="%1."/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading2"/>'
        '<w:lvlText w:val="%1.%2"/></w:lvl></w:abstractNum>'
    )
    numbering.insert(0, abstract)
    numbering.append(element('<w:num w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    letters = element(
        '<w:abstractNum w:abstractNumId="91"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%1)"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerRoman"/>'
        '<w:lvlText w:val="%2."/></w:lvl></w:abstractNum>'
    )
    numbering.insert(1, letters)
    numbering.append(element('<w:num w:numId="91"><w:abstractNumId w:val="91"/></w:num>'))
    for level, style_id in ((0, "Heading1"), (1, "Heading2")):
        style = document.styles.element.get_by_id(style_id)
        style.get_or_add_pPr().append(
            element(f'<w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>')
        )


def make_word(path: Path) -> Path:
    """A course policy as Word templates make them: a cover page and a table of contents in
    content controls, numbered headings, a list, a footnote, an endnote, a text box, a tracked
    insertion, a header and footer, a heading style based on "Heading 1", an outline level."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    numbered_headings(document)
    chapter = document.styles.add_style("Chapter", WD_STYLE_TYPE.PARAGRAPH)
    chapter.base_style = document.styles["Heading 1"]
    section = document.sections[0]
    section.header.paragraphs[0].text = "CONFIDENTIAL DRAFT"
    section.footer.paragraphs[0].text = "Page 1 of 9"
    body = document.element.body
    blocks = [
        '<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Cover Pages"/></w:docPartObj></w:sdtPr>'
        f"<w:sdtContent>{para(run('Course policy 2026'), 'Title')}"
        f"{para(run('Prepared by the Registry'))}"
        '<w:sdt><w:sdtPr><w:alias w:val="Subtitle"/><w:showingPlcHdr/></w:sdtPr><w:sdtContent>'
        f"{para(run('[Document subtitle]'))}</w:sdtContent></w:sdt></w:sdtContent></w:sdt>",
        '<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj>'
        f"</w:sdtPr><w:sdtContent>{para(run('Contents'), 'TOCHeading')}"
        + para(run("1. Enrolment\t2"), "TOC1")
        + "</w:sdtContent></w:sdt>",
        para(run("Enrolment"), "Heading1"),
        para(
            run("Students enrol online")
            + '<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteReference w:id="2"/></w:r>'
            + run(" through the ")
            + f'<w:hyperlink w:anchor="contacts">{run("student portal")}</w:hyperlink>'
            + f'<w:ins w:id="7" w:author="A">{run(" before week one")}</w:ins>'
            + f'<w:del w:id="8" w:author="A"><w:r><w:delText>{" after week two"}</w:delText></w:r></w:del>'
            + run(".")
            + text_box("Remember: deadlines are strict.")
            + run(" hidden words", "<w:rPr><w:vanish/></w:rPr>")
        ),
        para(run("Late enrolment"), "Heading2"),
        para(run("A late fee applies")),
        para(run("Redistribution"), "Heading1"),
        para(
            run("You may share the notes"),
            props='<w:numPr><w:ilvl w:val="0"/><w:numId w:val="91"/></w:numPr>',
        ),
        para(run("with credit"), props='<w:numPr><w:ilvl w:val="1"/><w:numId w:val="91"/></w:numPr>'),
        para(run("unchanged"), props='<w:numPr><w:ilvl w:val="1"/><w:numId w:val="91"/></w:numPr>'),
        para(
            run("You may not sell them") + '<w:r><w:endnoteReference w:id="3"/></w:r>' + run("."),
            props='<w:numPr><w:ilvl w:val="0"/><w:numId w:val="91"/></w:numPr>',
        ),
        '<w:sdt><w:sdtPr><w:alias w:val="Appendix"/></w:sdtPr><w:sdtContent>'
        f"{para(run('Appeals'), 'Chapter')}{para(run('Write to the dean'), 'ListBullet')}"
        f"{para(run('within ten days'), 'ListBullet')}</w:sdtContent></w:sdt>",
        para(run("Contacts"), props='<w:outlineLvl w:val="1"/>'),
        para(run("Office hours: ") + f"<w:sdt><w:sdtContent>{run('Monday 9-12')}</w:sdtContent></w:sdt>"),
    ]
    sect_pr = body[-1]
    for block in blocks:
        sect_pr.addprevious(element(block))
    document.save(str(path))
    add_notes(
        path,
        footnotes={"2": "Online enrolment opens in August."},
        endnotes={"3": "Selling notes breaks the honour code."},
    )
    return path


def add_notes(path: Path, *, footnotes: dict[str, str], endnotes: dict[str, str]) -> None:
    """Add footnotes and endnotes parts (with Word's separator notes) to a saved .docx."""
    parts = {}
    for kind, notes in (("footnote", footnotes), ("endnote", endnotes)):
        items = "".join(
            f'<w:{kind} w:id="{i}" w:type="{t}"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>'
            for i, t in (("-1", "separator"), ("0", "continuationSeparator"))
        ) + "".join(
            f'<w:{kind} w:id="{note_id}"><w:p><w:r><w:{kind}Ref/></w:r>{run(" " + text)}</w:p></w:{kind}>'
            for note_id, text in notes.items()
        )
        parts[f"word/{kind}s.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><w:{kind}s {NS}>{items}</w:{kind}s>'
        )
    rewrite_zip(
        path,
        parts,
        edits={
            "[Content_Types].xml": lambda s: s.replace(
                "</Types>",
                "".join(
                    f'<Override PartName="/word/{k}s.xml" ContentType="application/'
                    f'vnd.openxmlformats-officedocument.wordprocessingml.{k}s+xml"/>'
                    for k in ("footnote", "endnote")
                )
                + "</Types>",
            ),
            "word/_rels/document.xml.rels": lambda s: s.replace(
                "</Relationships>",
                "".join(
                    f'<Relationship Id="rIdQa{k}" Type="http://schemas.openxmlformats.org/officeDocument/'
                    f'2006/relationships/{k}s" Target="{k}s.xml"/>'
                    for k in ("footnote", "endnote")
                )
                + "</Relationships>",
            ),
        },
    )


def rewrite_zip(path: Path, added: dict[str, str], *, edits) -> None:
    """Rewrite the package at ``path`` with ``added`` parts and ``edits`` (name -> str -> str)."""
    copy = path.with_suffix(".tmp")
    shutil.move(path, copy)
    with zipfile.ZipFile(copy) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename in edits:
                data = edits[item.filename](data.decode("utf-8")).encode("utf-8")
            new.writestr(item, data)
        for name, text in added.items():
            new.writestr(name, text.encode("utf-8"))
    copy.unlink()


def unlink_main_part(path: Path) -> None:
    """Empty the package's own relationships: nothing then says where its main part is."""
    empty = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
    rewrite_zip(path, {}, edits={"_rels/.rels": lambda _: empty})


SMARTART_DATA = (
    '<dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><dgm:ptLst>'
    '<dgm:pt modelId="0" type="doc"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/><a:p><a:endParaRPr/></a:p>'
    "</dgm:t></dgm:pt>"
    + "".join(
        f'<dgm:pt modelId="{i}"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/><a:lstStyle/><a:p><a:r>'
        f"<a:t>{step}</a:t></a:r></a:p></dgm:t></dgm:pt>"
        f'<dgm:pt modelId="{i + 10}" type="parTrans"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/>'
        "<a:p><a:endParaRPr/></a:p></dgm:t></dgm:pt>"
        for i, step in enumerate(["Plan the build", "Write the rules", "Run ninja"], start=1)
    )
    + "</dgm:ptLst><dgm:cxnLst/></dgm:dataModel>"
)


def _add_smartart(slide, *, top: int) -> None:
    """A SmartArt graphic as PowerPoint saves one: a graphic frame pointing at a diagram data part."""
    from pptx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from pptx.opc.package import Part
    from pptx.opc.packuri import PackURI
    from pptx.oxml import parse_xml

    part = Part(
        PackURI("/ppt/diagrams/data1.xml"),
        CONTENT_TYPE.DML_DIAGRAM_DATA,
        slide.part.package,
        SMARTART_DATA.encode("utf-8"),
    )
    rel_id = slide.part.relate_to(part, RELATIONSHIP_TYPE.DIAGRAM_DATA)
    frame = parse_xml(
        '<p:graphicFrame xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<p:nvGraphicFramePr><p:cNvPr id="40" name="Diagram 1"/><p:cNvGraphicFramePr/><p:nvPr/>'
        f'</p:nvGraphicFramePr><p:xfrm><a:off x="457200" y="{top}"/><a:ext cx="8000000" cy="900000"/>'
        '</p:xfrm><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/diagram">'
        '<dgm:relIds xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" '
        f'r:dm="{rel_id}" r:lo="" r:qs="" r:cs=""/></a:graphicData></a:graphic></p:graphicFrame>'
    )
    slide.shapes._spTree.append(frame)


def make_slides(path: Path) -> Path:
    """A lesson deck: speaker notes under a titled slide; a slide whose text boxes were added out
    of reading order, with a chart, a SmartArt graphic and a footer; an untitled slide with notes."""
    import pptx
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Dependency graphs"
    first.placeholders[1].text = "Each edge joins an input to an output file."
    first.notes_slide.notes_text_frame.text = (
        "Ask the class why ninja refuses a cycle.\nDraw a small graph on the board."
    )
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "Build steps"
    for left, top, text in [
        (5.0, 1.6, "Outputs are rebuilt when an input is newer."),
        (0.5, 5.0, "Steps of a build:"),
        (0.5, 1.5, "Inputs are read from build.ninja."),
    ]:
        box = second.shapes.add_textbox(Inches(left), Inches(top), Inches(4), Inches(0.8))
        box.text_frame.text = text
    data = CategoryChartData()
    data.categories = ["clean", "no-op"]
    data.add_series("seconds", (41.0, 0.2))
    chart = second.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(0.5), Inches(2.6), Inches(8), Inches(2.2), data
    ).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Build time of a clean build and a no-op build"
    _add_smartart(second, top=int(Inches(5.8)))
    footer = next(p for p in deck.slide_layouts[5].placeholders if p.placeholder_format.type == 15)  # FOOTER
    second.shapes.clone_placeholder(footer)
    second.placeholders[footer.placeholder_format.idx].text = "Build systems course, autumn term"
    third = deck.slides.add_slide(deck.slide_layouts[6])  # blank: no title
    box = third.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
    box.text_frame.text = "Questions?"
    third.notes_slide.notes_text_frame.text = "Leave ten minutes for questions about pools."
    deck.save(str(path))
    return path
