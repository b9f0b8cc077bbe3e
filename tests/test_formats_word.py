"""Word files as authors' templates make them: content controls, automatic numbers, notes, text
boxes, tracked changes, headers; read as Word shows the body, with exact heading paths."""

from __future__ import annotations

import docx
import pytest
from lxml import etree

from qa.ingest.formats import Limits, read_document
from qa.ingest.formats.docx_numbering import Numbering, W, format_number
from tests.office_files import add_notes, element, make_word, para, rewrite_zip, run, unlink_main_part

POLICY = (
    "Course policy 2026\n\nPrepared by the Registry\n\n"
    "1. Enrolment\n\n"
    "Students enrol online through the student portal before week one.\n\n"
    "Footnote 1: Online enrolment opens in August.\n\n"
    "Remember: deadlines are strict.\n\n"
    "1.1 Late enrolment\n\nA late fee applies\n\n"
    "2. Redistribution\n\n"
    "(a) You may share the notes\n\ni. with credit\n\nii. unchanged\n\n(b) You may not sell them.\n\n"
    "3. Appeals\n\n\u2022 Write to the dean\n\n\u2022 within ten days\n\n"
    "Contacts\n\nOffice hours: Monday 9-12\n\n"
    "Notes\n\nEndnote i: Selling notes breaks the honour code."
)


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return read_document(make_word(tmp_path_factory.mktemp("word") / "policy.docx"), Limits())


def test_the_body_is_read_as_word_shows_it(policy):
    """Cover page and appendix in content controls, numbers and bullets, the footnote after its
    paragraph, the text box once, the tracked insertion, the inline control, the endnote last."""
    assert policy.text == POLICY
    assert "enrol online through the student portal" in policy.text  # no mark inside the sentence
    assert policy.title == "Course policy 2026" and policy.pages == ()


def test_what_a_reader_does_not_see_on_the_page_is_not_read(policy):
    """Header and footer (page furniture), the table of contents (it repeats the headings),
    deleted and hidden text, the prompts of unfilled controls, the text box's VML copy."""
    furniture = ["CONFIDENTIAL", "Page 1 of 9", "Contents", "Enrolment\t2", "after week two", "hidden"]
    for absent in [*furniture, "[Document subtitle]", "Click to enter"]:
        assert absent not in policy.text
    assert policy.text.count("deadlines are strict") == 1


def test_numbered_headings_and_outline_levels_make_the_section_path(policy):
    paths = {policy.text[s.start :].split("\n", 1)[0]: s.path for s in policy.sections}
    top = "Course policy 2026"
    assert paths == {
        top: top,
        "1. Enrolment": f"{top} \u203a 1. Enrolment",
        "1.1 Late enrolment": f"{top} \u203a 1. Enrolment \u203a 1.1 Late enrolment",
        "2. Redistribution": f"{top} \u203a 2. Redistribution",
        "3. Appeals": f"{top} \u203a 3. Appeals",  # style "Chapter", based on "Heading 1"
        "Contacts": f"{top} \u203a 3. Appeals \u203a Contacts",  # outline level 2 on a plain paragraph
        "Notes": "Notes",
    }


def test_a_question_naming_section_4_finds_its_heading(tmp_path):
    """Headings numbered by Word's list (not typed): the number is in the text and the path."""
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.append(
        element(
            '<w:abstractNum w:abstractNumId="70"><w:lvl w:ilvl="0"><w:start w:val="4"/>'
            '<w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl></w:abstractNum>'
        )
    )
    numbering.append(element('<w:num w:numId="70"><w:abstractNumId w:val="70"/></w:num>'))
    heading = document.add_heading("Redistribution", level=1)
    heading._p.get_or_add_pPr().append(element('<w:numPr><w:ilvl w:val="0"/><w:numId w:val="70"/></w:numPr>'))
    document.add_paragraph("You may reproduce and distribute copies.")
    document.save(str(tmp_path / "licence.docx"))
    got = read_document(tmp_path / "licence.docx", Limits())
    assert got.text == "4. Redistribution\n\nYou may reproduce and distribute copies."
    assert [s.path for s in got.sections] == ["4. Redistribution"]


def test_python_docx_list_styles_number_and_bullet(tmp_path):
    document = docx.Document()
    for text, style in [
        ("Read the brief", "List Number"),
        ("Write a draft", "List Number"),
        ("pens", "List Bullet"),
    ]:
        document.add_paragraph(text, style=style)
    document.save(str(tmp_path / "steps.docx"))
    got = read_document(tmp_path / "steps.docx", Limits())
    assert got.text == "1. Read the brief\n\n2. Write a draft\n\n\u2022 pens"


def test_styles_based_on_title_are_not_headings_but_those_based_on_headings_are(tmp_path):
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    subtitle = document.styles.add_style("Tagline", WD_STYLE_TYPE.PARAGRAPH)
    subtitle.base_style = document.styles["Title"]
    part = document.styles.add_style("Part", WD_STYLE_TYPE.PARAGRAPH)
    part.base_style = document.styles["Heading 2"]
    document.add_paragraph("Handbook", style="Title")
    document.add_paragraph("for new staff", style="Tagline")
    document.add_paragraph("Payroll", style="Part")
    document.add_paragraph("Paid monthly.")
    document.save(str(tmp_path / "h.docx"))
    got = read_document(tmp_path / "h.docx", Limits())
    assert [s.path for s in got.sections] == ["Handbook", "Handbook \u203a Payroll"]
    assert got.text == "Handbook\n\nfor new staff\n\nPayroll\n\nPaid monthly."


def test_table_cells_keep_numbers_and_controls_and_notes_follow_the_table(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    cell = table.cell(0, 1)._tc
    cell.remove(cell.find(f"{{{W}}}p"))
    cited = para(run("40 euros") + '<w:r><w:footnoteReference w:id="5"/></w:r>')
    cell.append(element(f"<w:sdt><w:sdtContent>{cited}</w:sdtContent></w:sdt>"))
    table.cell(0, 0).text = "Late fee"
    document.add_paragraph("After the table.")
    document.save(str(tmp_path / "t.docx"))
    add_notes(tmp_path / "t.docx", footnotes={"5": "Waived for exchange students."}, endnotes={})
    assert read_document(tmp_path / "t.docx", Limits()).text == (
        "Late fee\t40 euros\n\nFootnote 1: Waived for exchange students.\n\nAfter the table."
    )


def _numbering(xml: str, list_styles: dict[str, str] | None = None) -> Numbering:
    return Numbering(etree.fromstring(f'<w:numbering xmlns:w="{W}">{xml}</w:numbering>'), list_styles)


def test_number_formats_as_word_writes_them():
    assert [format_number(n, "lowerLetter") for n in (1, 26, 27, 28)] == ["a", "z", "aa", "bb"]
    assert [format_number(n, "upperRoman") for n in (4, 9, 14, 1999)] == ["IV", "IX", "XIV", "MCMXCIX"]
    assert format_number(3, "decimalZero") == "03" and format_number(12, "ordinal") == "12th"
    assert format_number(2, "ordinal") == "2nd" and format_number(5, "chineseCounting") == "5"


def test_counters_restart_deeper_levels_and_continue_across_instances_of_one_list():
    levels = (
        '<w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="upperRoman"/><w:lvlText w:val="%1."/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/>'
        '<w:lvlText w:val="%1.%2)"/></w:lvl>'
        '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerRoman"/><w:isLgl/>'
        '<w:lvlText w:val="%1.%2.%3"/><w:suff w:val="nothing"/></w:lvl></w:abstractNum>'
    )
    numbering = _numbering(
        levels + '<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
        '<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>'
        '<w:num w:numId="3"><w:abstractNumId w:val="1"/>'
        '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
    )
    got = [numbering.label(n, lvl) for n, lvl in [("1", 0), ("1", 1), ("1", 1), ("1", 2), ("2", 0), ("2", 1)]]
    assert got == ["I. ", "I.a) ", "I.b) ", "1.2.1", "II. ", "II.a) "]
    assert numbering.label("3", 0) == "I. "  # restarted by its override
    assert numbering.label("9", 0) == "" and numbering.label("0", 0) == ""


def test_a_heading_style_linked_to_a_list_takes_the_level_that_names_it():
    numbering = _numbering(
        '<w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/>'
        '<w:pStyle w:val="Heading1"/><w:lvlText w:val="Chapter %1"/><w:suff w:val="space"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading2"/>'
        '<w:lvlText w:val="%1.%2"/></w:lvl></w:abstractNum>'
        '<w:num w:numId="5"><w:abstractNumId w:val="1"/></w:num>'
    )
    assert numbering.label("5", None, "Heading1") == "Chapter 1 "
    assert numbering.label("5", None, "Heading2") == "1.1 "
    assert numbering.label("5", None, "Heading1") == "Chapter 2 "


def test_symbol_font_bullets_read_as_the_signs_they_draw():
    numbering = _numbering(
        "".join(
            f'<w:abstractNum w:abstractNumId="{i}"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/>'
            f'<w:lvlText w:val="{char}"/></w:lvl></w:abstractNum>'
            f'<w:num w:numId="{i}"><w:abstractNumId w:val="{i}"/></w:num>'
            for i, char in enumerate(["\uf0b7", "o", "\uf0a7", "\u2013"], start=1)
        )
    )
    assert [numbering.label(str(i), 0) for i in range(1, 5)] == ["\u2022 ", "\u25e6 ", "\u25aa ", "\u2013 "]


@pytest.mark.parametrize(
    ("part", "garbage"),
    [
        ("word/footnotes.xml", b"<w:footnotes><unclosed"),
        ("word/numbering.xml", b"<w:numbering><unclosed"),
    ],
)
def test_a_damaged_notes_or_numbering_part_is_a_clear_message(tmp_path, part, garbage):
    from qa.errors import SourceError

    path = make_word(tmp_path / "policy.docx")
    rewrite_zip(path, {}, edits={part: lambda _: garbage.decode()})
    with pytest.raises(SourceError, match=r"^corrupt Word file \(XMLSyntaxError: .*\); save it again$"):
        read_document(path, Limits())


def test_a_paragraph_sets_its_level_in_its_styles_list_or_removes_the_number(tmp_path):
    from tests.office_files import numbered_headings

    document = docx.Document()
    numbered_headings(document)
    document.add_heading("Scope", level=1)
    deeper = document.add_heading("Who this covers", level=1)
    deeper._p.get_or_add_pPr().append(element('<w:numPr><w:ilvl w:val="1"/></w:numPr>'))
    plain = document.add_heading("Glossary", level=1)
    plain._p.get_or_add_pPr().append(element('<w:numPr><w:numId w:val="0"/></w:numPr>'))
    document.save(str(tmp_path / "n.docx"))
    assert read_document(tmp_path / "n.docx", Limits()).text == "1. Scope\n\n1.1 Who this covers\n\nGlossary"


def test_a_list_defined_by_a_list_style_takes_that_styles_levels():
    """Word's list styles: the list names a numbering style (``w:numStyleLink``), whose own list
    holds the levels (``w:styleLink``)."""
    numbering = _numbering(
        '<w:abstractNum w:abstractNumId="1"><w:styleLink w:val="LegalList"/>'
        '<w:lvl w:ilvl="0"><w:numFmt w:val="upperLetter"/><w:lvlText w:val="Part %1."/></w:lvl>'
        "</w:abstractNum>"
        '<w:abstractNum w:abstractNumId="2"><w:numStyleLink w:val="LegalList"/></w:abstractNum>'
        '<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
        '<w:num w:numId="2"><w:abstractNumId w:val="2"/></w:num>',
        list_styles={"LegalList": "1"},
    )
    assert [numbering.label("2", 0), numbering.label("2", 0)] == ["Part A. ", "Part B. "]


def test_a_word_file_missing_a_part_says_so_in_words(tmp_path):
    """A package whose main part is not linked was 'corrupt Word file (KeyError: "no relationship
    of type 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument'
    in collection")' on the admin page."""
    from qa.errors import SourceError

    path = make_word(tmp_path / "policy.docx")
    unlink_main_part(path)
    with pytest.raises(SourceError) as raised:
        read_document(path, Limits())
    assert str(raised.value) == "corrupt Word file (a part it needs is missing); save it again"
