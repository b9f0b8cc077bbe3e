"""PDFs read as running text: furniture dropped, lines joined into paragraphs across line ends
and page breaks, hyphenated words mended, headings found by type, pages and sections exact."""

from dataclasses import replace
from pathlib import Path

from qa.index.build import ensure_index, stale_reasons
from qa.ingest.formats import Limits, read_document, reader_change, reader_versions
from qa.ingest.formats.pdf_flow import drop_furniture, flow
from qa.ingest.formats.pdf_page import Line
from qa.ingest.sources import scan_sources

HEADER = "Course Handbook - Draft"
LONG = (
    "Every build starts from the manifest, which lists the inputs of each step and the rule that "
    "turns them into outputs, so that a change to one input rebuilds only what depends on it. "
) * 9
SECOND = "Pools keep heavy steps such as linking from running all at once on small machines."


def _handbook(path: Path) -> Path:
    """Three pages with a running header and footer, a large heading, a paragraph that runs
    over the page break, a bold body-size heading and a numbered one."""
    from fpdf import FPDF

    class Handbook(FPDF):
        def header(self):
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, HEADER, new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, f"Page {self.page_no()} of 3", align="C")

    pdf = Handbook()
    pdf.add_page()
    pdf.set_font("Helvetica", size=20)
    pdf.cell(0, 12, "Getting started", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.ln(3)
    pdf.multi_cell(0, 6, "A short first paragraph.")
    pdf.ln(200)
    pdf.multi_cell(0, 6, LONG.strip())
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(0, 6, "Heavy steps", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, SECOND)
    pdf.add_page()
    pdf.multi_cell(0, 6, "The last page says little.")
    pdf.output(str(path))
    return path


def _page_lines(path: Path, index: int) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return pdf[index].get_textpage().get_text_range().split("\r\n")
    finally:
        pdf.close()


def test_running_header_footer_dropped_and_paragraph_joined_over_the_page_break(tmp_path):
    path = _handbook(tmp_path / "handbook.pdf")
    got = read_document(path, Limits())
    assert HEADER not in got.text and "Page 1 of 3" not in got.text and "of 3" not in got.text
    assert len(got.pages) == 3 and got.pages_read == 3
    assert LONG.strip() in got.text  # wrapped lines and the page break joined by single spaces
    paragraph = got.text.index(LONG.strip())
    assert paragraph < got.pages[1] < paragraph + len(LONG)  # page 2 starts inside the paragraph
    page2_first = next(line for line in _page_lines(path, 1) if line.strip() and line != HEADER)
    assert got.text[got.pages[1] :].startswith(page2_first.strip())
    assert got.text[got.pages[1] - 1] == " "
    assert got.text[got.pages[2] :].startswith("The last page says little.")


def test_headings_by_size_and_by_bold_type_keep_their_own_lines(tmp_path):
    got = read_document(_handbook(tmp_path / "handbook.pdf"), Limits())
    paths = {s.path: s.start for s in got.sections}
    assert list(paths) == ["Getting started", "Getting started \u203a Heavy steps"]
    assert got.text.startswith("Getting started\n\nA short first paragraph.\n\n")
    heavy = paths["Getting started \u203a Heavy steps"]
    assert got.text[heavy:].startswith("Heavy steps\n\n" + SECOND)
    assert got.text[:heavy].endswith(LONG.strip() + "\n\n")


def test_a_paragraph_flowing_over_two_columns_is_one_paragraph(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    with pdf.text_columns(ncols=2, gutter=8, text_align="LEFT") as columns:
        columns.write(text=(LONG * 2).strip())
    pdf.output(str(tmp_path / "columns.pdf"))
    got = read_document(tmp_path / "columns.pdf", Limits())
    assert got.text == (LONG * 2).strip()


def _placed_pdf(path: Path, pages: list[list[tuple[str, int, bool]]]) -> Path:
    """Lines placed one by one: (text, font size, bold) each, 7 mm apart, from the top."""
    from fpdf import FPDF

    pdf = FPDF()
    for lines in pages:
        pdf.add_page()
        y = 30.0
        for text, size, bold in lines:
            pdf.set_font("Helvetica", style="B" if bold else "", size=size)
            pdf.text(20, y, text)
            y += 7 if size <= 12 else 12
    pdf.output(str(path))
    return path


def test_words_split_at_a_line_end_are_mended(tmp_path):
    """Lines filled to the margin end in a hyphen: a word the document writes whole elsewhere
    ("manifest") is joined without it, and so is one neither of whose halves is a word
    ("recon-figured") since this typesetter splits words; a compound whose halves are words
    of the document ("edit-compile") keeps it."""
    lines = [
        ("Builds are fast because the tool reads the manifest only when recon-", 11, False),
        ("figured, and each edit or compile step is logged by the build in its mani-", 11, False),
        ("fest, which a later build reads back to decide what to run. An edit-", 11, False),
        ("compile cycle stays short.", 11, False),
    ]
    got = read_document(_placed_pdf(tmp_path / "h.pdf", [lines]), Limits())
    assert got.text == (
        "Builds are fast because the tool reads the manifest only when reconfigured, and each edit or "
        "compile step is logged by the build in its manifest, which a later build reads back to "
        "decide what to run. An edit-compile cycle stays short."
    )


def test_contents_leaders_and_numbered_headings(tmp_path):
    lines = [
        ("Contents", 16, True),
        ("1 Introduction . . . . . . . . . . . . . . . . 1", 11, False),
        ("2 Pools . . . . . . . . . . . . . . . . . . . . 1", 11, False),
        ("", 11, False),
        ("2.1 Console pool", 11, False),
        ("", 11, False),
        ("The console pool gives a step the terminal.", 11, False),
    ]
    got = read_document(_placed_pdf(tmp_path / "c.pdf", [lines]), Limits())
    assert got.text.startswith("Contents\n\n1 Introduction\n2 Pools\n\n2.1 Console pool\n\n")
    assert [s.path for s in got.sections] == ["Contents", "Contents \u203a 2.1 Console pool"]


def _line(text: str, top: float, **kw) -> Line:
    return Line(
        text, 10.0, 10.0, False, x0=72.0, x1=72.0 + 5 * len(text), top=top, bottom=top, lead=30.0, **kw
    )


def test_page_numbers_in_running_headers_follow_the_pages():
    """A header carrying the page's own number goes ("Chapter 2: Parsing 7"); a heading that
    starts with a number lower on the page stays."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi".split()
    body = [
        [_line(f"The {words[n]} {words[i + 5]} text goes on.", 680.0 - 14 * i) for i in range(4)]
        for n in range(5)
    ]
    pages = [[_line(f"Chapter 2: Parsing {n + 3}", 760.0), *lines] for n, lines in enumerate(body)]
    pages[0].insert(1, _line("2 Parsing", 720.0))
    kept = drop_furniture(pages)
    assert [line.text for line in kept[0]] == ["2 Parsing", *(line.text for line in body[0])]
    assert all(
        [line.text for line in lines] == [line.text for line in mine]
        for lines, mine in zip(kept[1:], body[1:])
    )


def test_code_lines_stay_lines_and_a_lowercase_list_is_not_run_together():
    code = [
        replace(_line("build foo.o: cc foo.c", 700.0), mono=True, x1=500.0),
        replace(_line("build bar.o: cc bar.c", 686.0), mono=True, x1=300.0),
    ]
    items = [
        replace(_line("built-in rules. Out of the box, there are no rules for compiling.", 650.0), x1=500.0),
        replace(_line("build-time customization of the build.", 636.0), x1=300.0),
    ]
    laid = flow([code + items])
    assert laid.seps[0][1] == "\n" and laid.seps[0][3] == "\n"


def test_reader_version_is_recorded_and_names_the_reader_that_changed(project, fake_embedder):
    from qa.ingest.formats.pdf import READER_VERSION

    assert reader_versions()["reader:pdf"] == str(READER_VERSION) == "10"  # the reader's own number
    assert reader_change(reader_versions(), "docs/a.pdf") == ""
    assert reader_change({}, "docs/a.pdf") == "the PDF reader changed (version 1 -> 10)"
    assert reader_change({}, "docs/a.txt") == ""
    _handbook(project.seeds_dir / "handbook.pdf")
    manifest = ensure_index(project, fake_embedder).index.manifest
    assert manifest.versions["reader:pdf"] == "10"
    docs, _ = scan_sources(project.seeds_dir, project.root)
    assert stale_reasons(manifest, docs, project) == []
    before = replace(
        manifest,
        versions={k: v for k, v in manifest.versions.items() if not k.startswith("reader:")},
        sources={source: "text read by the first PDF reader" for source in manifest.sources},
    )
    assert stale_reasons(before, docs, project) == [
        "source changed: seeds/handbook.pdf (the PDF reader changed (version 1 -> 10))"
    ]


def test_a_split_whose_halves_are_no_words_keeps_its_hyphen_unless_the_typesetter_splits_words():
    """PDFium marks a hyphen it took for a line-end break; whether it goes depends on the
    document: a browser never splits words, so "dpkg-shlibdeps" stays whole with its hyphen."""
    mark = "\ufffe"
    browser = flow([[_line(f"Run dpkg{mark}shlibdeps on the package.", 700.0)]])
    assert browser.pages[0][0].text == "Run dpkg-shlibdeps on the package."
    book = flow(
        [
            [
                _line(f"Run dpkg{mark}shlibdeps on the package.", 700.0),
                _line(f"This is manip{mark}ulation; manipulation is fine.", 600.0),
            ]
        ]
    )
    assert [line.text for line in book.pages[0]] == [
        "Run dpkgshlibdeps on the package.",
        "This is manipulation; manipulation is fine.",
    ]


CRC_PAPER = Path(__file__).resolve().parents[1] / "benchmarks" / "devdocs" / "docs" / "crc-doc.pdf"


def test_a_paper_without_outline_or_title_metadata_and_type_sizes_on_few_pages():
    """A LaTeX paper (no bookmarks, no Title, PDFium gives font sizes on a few pages only): its
    two-line title is its title, its table of contents ("2 Related work 3") gives no headings, and
    the numbered headings of the pages without sizes do, so the body is not all "Related work"."""
    doc = read_document(CRC_PAPER, Limits())
    assert doc.title == "Everything we know about CRC but afraid to forget"
    paths = [s.path for s in doc.sections]
    assert not any("Related work 3" in p or "Definition of CRC 2" in p for p in paths)
    software = "4 Efficient software implementation"
    assert f"{software} › 4.6 Computing a CRC byte by byte" in paths
    assert "3 CRC tricks and tips › 3.2 Changing initial CRC value" in paths
    at = doc.text.index("If M(x) is W-bit value")  # the body of 4.6, past the contents page
    section = max((s for s in doc.sections if s.start <= at), key=lambda s: s.start)
    assert section.path == f"{software} › 4.6 Computing a CRC byte by byte"
    # the contents page's own numbered lines (4.4, 4.5, ... in a run) are no headings either
    assert paths.count(f"{software} › 4.4 Computing powers of x") == 1
    assert not any(p.endswith("4.4 Computing powers of x") for p in paths[:2])


def test_the_headings_a_paper_lists_in_its_contents_are_its_sections():
    """Every section the contents page lists is a section where its heading is printed, nested
    by its number, though no type size or gap sets the heading apart: "1 Definition of CRC"
    right after the contents' last line, "4 ..." right above "4.1 ...", "4.11 ..." after a
    paragraph. A passage of section 1 is no longer cited as "Contents", nor one of 4.11 as 4.10."""
    doc = read_document(CRC_PAPER, Limits())
    paths = [s.path for s in doc.sections]
    top = [p for p in paths if " › " not in p]
    assert top == [
        "Contents",
        "1 Definition of CRC",
        "2 Related work",
        "3 CRC tricks and tips",
        "4 Efficient software implementation",
        "5 Experimental results",
        "References",
    ]
    interleaved = "4 Efficient software implementation › 4.11 Interleaved word-by-word CRC"
    assert f"{interleaved} › 4.11.1 Parallelizing CRC computation" in paths
    assert "5 Experimental results › 5.4 Performance of CRC algorithms" in paths

    def section_of(phrase: str) -> str:
        at = doc.text.index(phrase)
        return max((s for s in doc.sections if s.start <= at), key=lambda s: s.start).path

    assert section_of("Cyclic Redundancy Check (CRC) is a well-known technique") == "1 Definition of CRC"
    assert section_of("Cyclic Redundancy Checks (CRCs) were proposed by Peterson") == "2 Related work"


def test_every_page_of_a_paper_with_unmapped_characters_has_its_type():
    """PDFium's text of a page leaves out the characters it maps to no Unicode (U+0000: parts of
    a LaTeX paper's large operators), so its offsets are matched to PDFium's characters counting
    those: every page with text has font sizes, not only those without such characters."""
    import pypdfium2 as pdfium

    from qa.ingest.formats.pdf_page import page_lines

    pdf = pdfium.PdfDocument(str(CRC_PAPER))
    try:
        pages = [page_lines(pdf[i].get_textpage()) for i in range(len(pdf))]
    finally:
        pdf.close()
    assert all(line.size > 0 for lines in pages for line in lines)
    heading = next(line for line in pages[6] if line.text == "4.2 Multiplication of D-normalized polynomials")
    assert (heading.size, heading.bold) == (12.0, True)


def test_a_papers_headings_are_the_lines_set_like_those_its_contents_lists():
    """With type sizes on every page, a paper's title, its date and the labels of its charts
    (set larger than the text) are no headings: the headings are the lines its contents list
    and those set in their type ("References", subsections the contents run on one line), and
    each contents entry, its leader dropped, is a line of its own."""
    doc = read_document(CRC_PAPER, Limits())
    paths = [s.path for s in doc.sections]
    assert paths[0] == "Contents" and paths[-1] == "References" and len(paths) == 30
    assert not any(word in p for p in paths for word in ("September", "Everything", "GCC", "Sarwate"))
    assert "3 CRC tricks and tips › 3.5 Storing CRC value after the message" in paths
    contents = doc.text[doc.text.index("Contents") : doc.text.index("1 Definition of CRC\n\nCyclic")]
    assert "\n3.1 Incremental CRC computation\n3.2 Changing initial CRC value\n" in contents


def test_a_contents_entry_says_its_heading_without_its_page_number():
    """A contents page's "2 Related work 3" reads "2 Related work", as an entry
    after a dotted leader does: the line repeats the heading, so it is told for contents."""
    doc = read_document(CRC_PAPER, Limits())
    contents = doc.text[doc.text.index("Contents") : doc.text.index("1 Definition of CRC\n\nCyclic")]
    assert "\n2 Related work\n" in contents
    assert "\n5 Experimental results\n5.1 Testing methology\n" in contents
    assert not any(line[-1:].isdigit() for line in contents.splitlines())


def _reader_pdf(path: Path, *, title_page: str = "") -> Path:
    """A course reader without a title in its metadata: a chapter a page, each headed in large
    type, under a running header; with ``title_page``, a page before them set larger still."""
    from fpdf import FPDF

    class Reader(FPDF):
        def header(self):
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, "BIO 101 - Course reader", align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

    pdf = Reader()
    if title_page:
        pdf.add_page()
        pdf.set_font("Helvetica", size=28)
        pdf.cell(0, 14, title_page, new_x="LMARGIN", new_y="NEXT")
    for n, (name, body) in enumerate([("Enzymes", LONG), ("Osmosis", SECOND * 6)], start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=18)
        pdf.cell(0, 10, f"Chapter {n}. {name}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, body.strip())
    pdf.output(str(path))
    return path


def test_a_first_chapters_heading_does_not_title_the_whole_pdf(tmp_path):
    """Cited as 'Chapter 1. Enzymes · p. 2 · Chapter 2. Osmosis': the largest line of the first
    page titled the document when it was the first of its chapters. The file's name titles it,
    as for a PDF with no title line; a title page still titles it."""
    read = read_document(_reader_pdf(tmp_path / "bio-reader.pdf"), Limits())
    assert [s.path for s in read.sections] == ["Chapter 1. Enzymes", "Chapter 2. Osmosis"]
    assert read.title == ""
    docs, _ = scan_sources(tmp_path, tmp_path)
    assert [d.title for d in docs] == ["bio reader"]
    titled = read_document(_reader_pdf(tmp_path / "b.pdf", title_page="Cell Biology Reader"), Limits())
    assert titled.title == "Cell Biology Reader"
