"""Every format read from small real files made here: exact text, pages, slides and sections,
and each kind of bad input skipped with a message naming the file."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import pytest

from qa.ingest.formats import Limits, read_document
from qa.ingest.formats.html import render_html
from qa.ingest.formats.markdown import render_markdown
from qa.ingest.formats.pdf import NO_TEXT_LAYER
from qa.ingest.sources import scan_sources

BODY = "Ninja reads build files quickly and rebuilds only what changed. "
POOLS = "Pools limit how many jobs of one kind run at once, such as linking. "


def make_pdf(path: Path, *, outline: bool = False, password: str = "") -> Path:
    """Three pages: two with big-font headings, a smaller subheading on page 3."""
    from fpdf import FPDF

    pdf = FPDF()
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    for title, size, text, level in [
        ("Getting started", 20, BODY * 12, 0),
        ("Advanced use", 20, "Advanced builds use many rules. " * 10, 0),
        ("Pools", 15, POOLS * 8, 1),
    ]:
        pdf.add_page()
        if outline:
            pdf.start_section(title, level=level)
        pdf.set_font("Helvetica", size=size)
        pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Course handbook"
    document.add_heading("Enrolment", level=1)
    document.add_paragraph("Students enrol online before the first week.")
    document.add_heading("Deadlines", level=2)
    document.add_paragraph("Late enrolment closes on the tenth day of term.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Fee", "Amount"
    table.cell(1, 0).text, table.cell(1, 1).text = "Late fee", "40 euros"
    document.save(str(path))
    return path


def make_pptx(path: Path, *, repeat: int = 1) -> Path:
    import pptx

    deck = pptx.Presentation()
    for title, body in [
        ("Welcome", "This course covers build systems. " * repeat),
        ("Dependency graphs", "Each edge joins an input to an output file. " * repeat),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body.strip()
    deck.save(str(path))
    return path


HTML = """<!doctype html><html><head><meta charset="iso-8859-1"><title>Caf\xe9 guide</title>
<style>body {color: red}</style><script>var hidden = "script text";</script></head><body>
<nav role="navigation"><a href="/">Home</a> | <a href="/next">Next</a></nav>
<h1 id="top">Caf\xe9 guide</h1><p>Order a <b>caf\xe9 au lait</b> at
the counter.</p>
<div class="section" id="sec-pay"><h2>Paying<a class="headerlink" href="#sec-pay">\xb6</a></h2>
<p>Cards are accepted.<br>Cash too.</p></div>
<a name="AEN9"></a><h3>Tips</h3><p>Tipping is optional.</p>
<pre>  code   keeps
    its spaces</pre></body></html>"""


def _seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    return seeds


def _by_name(problems) -> dict[str, str]:
    return {str(p).split(":", 1)[0]: str(p) for p in problems}


def test_pdf_pages_and_sections_from_fonts(tmp_path):
    got = read_document(make_pdf(tmp_path / "m.pdf"), Limits())
    assert got.page_unit == "page" and got.pages_read == 3 and len(got.pages) == 3
    assert [s.path for s in got.sections] == ["Getting started", "Advanced use", "Advanced use \u203a Pools"]
    for page, section in zip(got.pages, got.sections):
        assert got.text[page:].startswith(got.text[section.start :][:10])
    assert got.text[got.sections[2].start :].startswith("Pools\n\n" + POOLS.split(",")[0])


def test_pdf_sections_from_the_outline(tmp_path):
    got = read_document(make_pdf(tmp_path / "m.pdf", outline=True), Limits())
    assert [s.path for s in got.sections] == ["Getting started", "Advanced use", "Advanced use \u203a Pools"]
    assert got.text[got.sections[1].start :].startswith("Advanced use\n\n")


def test_docx_headings_paragraphs_and_tables(tmp_path):
    got = read_document(make_docx(tmp_path / "h.docx"), Limits())
    assert got.title == "Course handbook" and got.pages == ()
    assert got.text == (
        "Enrolment\n\nStudents enrol online before the first week.\n\nDeadlines\n\n"
        "Late enrolment closes on the tenth day of term.\n\nFee\tAmount\nLate fee\t40 euros"
    )
    assert [(got.text[s.start : s.start + 9], s.path) for s in got.sections] == [
        ("Enrolment", "Enrolment"),
        ("Deadlines", "Enrolment \u203a Deadlines"),
    ]


def test_pptx_slides_and_titles(tmp_path):
    got = read_document(make_pptx(tmp_path / "d.pptx"), Limits())
    assert got.page_unit == "slide" and got.pages_read == 2
    assert got.text == (
        "Welcome\n\nThis course covers build systems.\n\n"
        "Dependency graphs\n\nEach edge joins an input to an output file."
    )
    assert got.pages == (0, got.text.index("Dependency graphs"))
    assert [s.path for s in got.sections] == ["Welcome", "Dependency graphs"]


def test_html_is_the_text_a_browser_shows_with_anchors(tmp_path):
    path = tmp_path / "guide.html"
    path.write_bytes(HTML.encode("latin-1"))
    got = read_document(path, Limits())
    assert got.title == "Caf\xe9 guide"
    assert got.text == (
        "Caf\xe9 guide\n\nOrder a caf\xe9 au lait at the counter.\n\nPaying\n\n"
        "Cards are accepted.\nCash too.\n\nTips\n\nTipping is optional.\n\n  code   keeps\n    its spaces"
    )
    assert [(s.path, s.anchor) for s in got.sections] == [
        ("Caf\xe9 guide", "top"),
        ("Caf\xe9 guide \u203a Paying", "sec-pay"),
        ("Caf\xe9 guide \u203a Paying \u203a Tips", "AEN9"),
    ]


def test_markdown_is_shown_without_markup():
    got = render_markdown(
        "\ufeff# Build **fast**\n\nSee [the manual](http://x.example) and `ninja -t`.\n\n"
        "## Pools\n\n- one *pool*\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nrule cc\n```\n"
    )
    assert got.title == "Build fast"
    assert got.text == (
        "Build fast\n\nSee the manual and ninja -t.\n\nPools\n\n\u2022 one pool\n\u2022 two\n\n"
        "a\tb\n1\t2\n\nrule cc"
    )
    assert [(s.start, s.path) for s in got.sections] == [(0, "Build fast"), (42, "Build fast \u203a Pools")]


def test_html_without_a_main_leaves_out_cookie_notices_dialogs_and_the_site_footer():
    page = (
        "<html><head><title>Lab safety</title></head><body>"
        '<div id="cookie-consent"><p>We use cookies to improve your experience.</p><button>OK</button></div>'
        '<div class="CookieBanner">Accept all cookies?</div>'
        '<div role="dialog" aria-label="Privacy">Manage your privacy choices.</div>'
        "<h1>Lab safety</h1><p>Goggles are worn at all times.</p>"
        '<section id="cookies"><h2>HTTP cookies</h2><p class="cookie-definition">A cookie is a small piece'
        " of data a server sends.</p></section>"
        "<article><p>An article.</p><footer>Written by the lab staff.</footer></article>"
        "<article><p>Another.</p></article>"
        "<footer><p>© 2026 University. Privacy policy. Imprint.</p></footer>"
        '<div role="contentinfo">Powered by a CMS.</div>'
        "</body></html>"
    )
    text = render_html(page).text
    for chrome in ("We use cookies", "Accept all", "privacy choices", "Imprint", "Powered by"):
        assert chrome not in text, chrome
    # content about cookies, and an article's own footer, stay
    for content in ("Goggles are worn", "HTTP cookies", "A cookie is a small", "Written by the lab staff"):
        assert content in text, content


def test_html_from_a_string_needs_no_file():
    assert render_html("<p>one</p><p>two</p>").text == "one\n\ntwo"


def test_scan_reads_every_format_with_sidecars_and_bom(tmp_path):
    seeds = _seeds(tmp_path)
    make_pdf(seeds / "manual.pdf")
    make_docx(seeds / "handbook.docx")
    make_pptx(seeds / "deck.pptx")
    (seeds / "guide.htm").write_bytes(HTML.encode("latin-1"))
    (seeds / "notes.md").write_bytes("\ufeff# Notes title\n\nPlain **notes**.\n".encode())
    (seeds / "plain.txt").write_text("just text\n", encoding="utf-8")
    (seeds / "deck.pptx.meta.json").write_text('{"title": "The deck", "url": "https://x.example/deck"}')
    docs, problems = scan_sources(seeds, tmp_path)
    assert not problems
    by = {d.source: d for d in docs}
    assert sorted(by) == [
        f"seeds/{n}"
        for n in sorted(["manual.pdf", "handbook.docx", "deck.pptx", "guide.htm", "notes.md", "plain.txt"])
    ]
    assert by["seeds/deck.pptx"].title == "The deck" and by["seeds/deck.pptx"].page_unit == "slide"
    notes = by["seeds/notes.md"]
    assert notes.title == "Notes title" and notes.text == "Notes title\n\nPlain notes."
    manual = by["seeds/manual.pdf"]
    at = manual.text.index("Pools limit")
    assert manual.page_at(at) == 3 and manual.section_at(at) == "Advanced use \u203a Pools"
    assert manual.page_at(0) == 1 and by["seeds/plain.txt"].page_at(0) is None
    guide = by["seeds/guide.htm"]
    assert guide.anchor_at(guide.text.index("Cash too")) == "sec-pay"


def test_progress_reports_pages_per_second(tmp_path):
    seeds = _seeds(tmp_path)
    make_pdf(seeds / "a.pdf")
    make_pptx(seeds / "b.pptx")
    seen = []
    scan_sources(seeds, tmp_path, progress=seen.append)
    assert [(p.files_done, p.files_total, p.pages_done) for p in seen] == [(1, 2, 3), (2, 2, 5)]
    assert all(p.pages_per_second > 0 for p in seen)


def _zip_bomb_docx(path: Path) -> Path:
    make_docx(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/filler.bin", bytes(30 * 2**20))
    return path


def _scanned_pdf(path: Path) -> Path:
    from fpdf import FPDF
    from PIL import Image

    pdf = FPDF()
    pdf.add_page()
    pdf.image(Image.new("RGB", (200, 100), "gray"), x=10, y=10, w=100)
    pdf.output(str(path))
    return path


def test_bad_inputs_are_skipped_each_with_its_message(tmp_path):
    seeds = _seeds(tmp_path)
    make_pdf(seeds / "good.pdf")
    make_pdf(seeds / "locked.pdf", password="secret")
    _scanned_pdf(seeds / "scan.pdf")
    data = (seeds / "good.pdf").read_bytes()
    (seeds / "truncated.pdf").write_bytes(data[: len(data) // 2])
    docx_bytes = make_docx(tmp_path / "ok.docx").read_bytes()
    (seeds / "truncated.docx").write_bytes(docx_bytes[: len(docx_bytes) // 2])
    _zip_bomb_docx(seeds / "bomb.docx")
    (seeds / "big.txt").write_text("word " * 400_000, encoding="utf-8")
    (seeds / "latin1.html").write_bytes("<p>caf\xe9</p>".encode("latin-1"))
    (seeds / "really-a-pdf.docx").write_bytes(data)
    (seeds / "really-a-zip.pdf").write_bytes(docx_bytes)
    (seeds / "really-html.pptx").write_text("<html><body>hi</body></html>")
    docs, problems = scan_sources(seeds, tmp_path, max_file_mb=1)
    assert [d.source for d in docs] == ["seeds/good.pdf"]
    msg = _by_name(problems)
    assert set(msg) == {
        "seeds/locked.pdf",
        "seeds/scan.pdf",
        "seeds/truncated.pdf",
        "seeds/truncated.docx",
        "seeds/bomb.docx",
        "seeds/big.txt",
        "seeds/latin1.html",
        "seeds/really-a-pdf.docx",
        "seeds/really-a-zip.pdf",
        "seeds/really-html.pptx",
    }
    assert "encrypted PDF (password protected)" in msg["seeds/locked.pdf"]
    assert msg["seeds/scan.pdf"] == f"seeds/scan.pdf: {NO_TEXT_LAYER}"
    assert "corrupt or truncated PDF" in msg["seeds/truncated.pdf"]
    assert "PDFium" not in msg["seeds/truncated.pdf"] and ")." not in msg["seeds/truncated.pdf"]
    assert "corrupt or truncated Word file" in msg["seeds/truncated.docx"]
    assert "over the 20 MiB cap for Word files (a zip bomb?)" in msg["seeds/bomb.docx"]
    assert "is over QA_MAX_FILE_MB=1" in msg["seeds/big.txt"]
    assert "not UTF-8 and declares no charset" in msg["seeds/latin1.html"]
    assert "the extension says Word (.docx) but the content is a PDF" in msg["seeds/really-a-pdf.docx"]
    assert "the extension says PDF but the content is a ZIP archive" in msg["seeds/really-a-zip.pdf"]
    assert "the extension says PowerPoint (.pptx) but the content is text" in msg["seeds/really-html.pptx"]


def test_utf16_text_is_named_as_such_not_as_binary(tmp_path):
    """Windows Notepad's "Unicode" is UTF-16 with a byte-order mark: its NUL bytes made it 'a
    binary file' ('remove it from the seeds folder', also said of an upload that was never stored)."""
    seeds = _seeds(tmp_path)
    (seeds / "notes.txt").write_bytes(codecs.BOM_UTF16_LE + "Office hours".encode("utf-16-le"))
    (seeds / "week.md").write_bytes(codecs.BOM_UTF16_BE + "# Week 1".encode("utf-16-be"))
    (seeds / "wide.txt").write_bytes(codecs.BOM_UTF32_LE + "Office".encode("utf-32-le"))
    docs, problems = scan_sources(seeds, tmp_path)
    msg = _by_name(problems)
    assert not docs
    assert (
        msg["seeds/notes.txt"]
        == "seeds/notes.txt: is UTF-16 text; save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"
    )
    assert "is UTF-16 text; save it as UTF-8" in msg["seeds/week.md"]
    assert "is UTF-32 text; save it as UTF-8" in msg["seeds/wide.txt"]


def test_an_encrypted_office_file_is_named_as_such(tmp_path):
    seeds = _seeds(tmp_path)
    (seeds / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    _, problems = scan_sources(seeds, tmp_path)
    assert "encrypted (password-protected) or old binary Office file" in str(problems[0])


def test_declared_charset_that_does_not_fit_is_reported(tmp_path):
    seeds = _seeds(tmp_path)
    (seeds / "bad.html").write_bytes(b'<meta charset="utf-8"><p>caf\xe9</p>')
    (seeds / "odd.html").write_bytes(b'<meta charset="klingon"><p>qapla</p>')
    _, problems = scan_sources(seeds, tmp_path)
    msg = _by_name(problems)
    assert "declares charset utf-8 but byte" in msg["seeds/bad.html"]
    assert "declares an unknown charset 'klingon'" in msg["seeds/odd.html"]


def test_links_and_paths_outside_the_seeds_are_skipped_with_a_warning(tmp_path, caplog):
    seeds = _seeds(tmp_path)
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret words", encoding="utf-8")
    (seeds / "inside.txt").write_text("inside words", encoding="utf-8")
    (seeds / "link.txt").symlink_to(outside / "secret.txt")
    (seeds / "linked-dir").symlink_to(outside, target_is_directory=True)
    docs, problems = scan_sources(seeds, tmp_path)
    assert [d.source for d in docs] == ["seeds/inside.txt"]
    msg = _by_name(problems)
    assert "a symbolic link; skipped" in msg["link.txt"] and "a symbolic link" in msg["linked-dir"]
    assert "symbolic link" in caplog.text


def test_sources_outside_the_root_are_never_cited_by_absolute_path(tmp_path):
    seeds = tmp_path / "corpus"
    seeds.mkdir()
    (seeds / "a.md").write_text("# A\n\ntext", encoding="utf-8")
    root = tmp_path / "project"
    root.mkdir()
    (doc,), _ = scan_sources(seeds, root)
    assert doc.source == "corpus/a.md"


@pytest.mark.parametrize("name", ["x.pdf", "x.docx", "x.pptx", "x.html", "x.md"])
def test_empty_or_tiny_binaries_are_refused_not_crashing(tmp_path, name):
    """A 0-byte PDF, Word or PowerPoint file (a failed copy or download) is an empty file; it was
    refused as 'the extension says PDF but the content is text', as if misnamed."""
    seeds = _seeds(tmp_path)
    (seeds / name).write_bytes(b"")
    _, problems = scan_sources(seeds, tmp_path)
    assert str(problems[0]) == f"seeds/{name}: empty file, nothing to index"


def test_a_damaged_part_inside_an_office_file_is_reported_not_raised(tmp_path):
    seeds = _seeds(tmp_path)
    good = make_docx(tmp_path / "good.docx")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(seeds / "broken.docx", "w") as dst:
        for item in src.infolist():
            data = b"<w:document><unclosed" if item.filename == "word/document.xml" else src.read(item)
            dst.writestr(item, data)
    (seeds / "fine.txt").write_text("still indexed", encoding="utf-8")
    docs, problems = scan_sources(seeds, tmp_path)
    assert [d.source for d in docs] == ["seeds/fine.txt"]
    assert str(problems[0]).startswith("seeds/broken.docx: corrupt")


def test_pdf_running_headers_and_footers_are_dropped(tmp_path):
    from fpdf import FPDF

    class Printed(FPDF):
        def header(self):
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, "11/25/26, 9:58 PM    Course notes", new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, f"file:///home/notes.html    {self.page_no()}/4")

    pdf = Printed()
    topics = ["rules and commands", "build edges", "pools of jobs", "dynamic dependencies"]
    for n, topic in enumerate(topics):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, f"Lesson {n} is about {topic}. " + BODY * 3)
    pdf.output(str(tmp_path / "printed.pdf"))
    got = read_document(tmp_path / "printed.pdf", Limits())
    assert "Course notes" not in got.text and "file:///" not in got.text
    assert [got.text[p : p + 8] for p in got.pages] == ["Lesson 0", "Lesson 1", "Lesson 2", "Lesson 3"]


def test_markdown_keeps_tags_that_name_no_html_element_as_the_authors_text():
    # a configuration manual writes its elements as bare tags; an HTML tag is markup
    source = (
        '# Config\n\n### <cachedir prefix="xdg">\n\n'
        "It can contain <dir>, <cachedir> and <include> elements in <b>any</b> order.<br>Next"
        " <!-- a comment --> line.\n"
    )
    extracted = render_markdown(source)
    expected = "It can contain <dir>, <cachedir> and <include> elements in any order.\nNext  line."
    assert expected in extracted.text
    assert '<cachedir prefix="xdg">' in extracted.text
    assert "<b>" not in extracted.text and "comment" not in extracted.text
