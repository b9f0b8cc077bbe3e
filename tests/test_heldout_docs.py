"""Each held-out document (benchmarks/heldout/docs/) is read with its title and headings, and
keeps the text its questions quote: fast, no model."""

from pathlib import Path

import pytest

from qa.ingest.headings import SectionMap
from qa.ingest.sources import scan_sources

DOCS = Path(__file__).resolve().parents[1] / "benchmarks" / "heldout" / "docs"

EXPECTED = {
    "mpl-2.0.txt": (
        "",
        ["Mozilla Public License Version 2.0", "6. Disclaimer of Warranty", "10. Versions of the License"],
    ),
    "apache-2.0.docx": (
        "Apache License",
        ["Apache License", "4. Redistribution.", "APPENDIX: How to apply the Apache License to your work."],
    ),
    "shared-mime-info-spec.pdf": (
        "Shared MIME-info Database",
        ["1. Introduction", "2.4. The glob files", "2.16. Security implications"],
    ),
    "xtrans.html": (
        "X Transport Interface",
        [
            "Chapter 3. Definition of Address Specification Format",
            "Core Interface API",
            "Chapter 8. Configuration",
        ],
    ),
    "systemd-coding-style.pptx": ("Coding Style", ["Formatting", "Error Handling", "File Descriptors"]),
}


@pytest.fixture(scope="module")
def documents():
    docs, problems = scan_sources(DOCS, DOCS)
    assert problems == []
    return {d.source: d for d in docs}


def test_every_held_out_file_is_read(documents):
    assert set(documents) == set(EXPECTED)


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_a_held_out_file_is_read_with_its_title_and_headings(documents, source):
    title, headings = EXPECTED[source]
    document = documents[source]
    if title:
        assert document.title == title
    sections = SectionMap(document.text, document.sections)
    found = [h.title for h in sections.headings]
    for heading in headings:
        assert heading in found, f"{source}: no heading {heading!r} among {found}"
        assert heading in document.text  # a heading is a line of the text, not only a mark


def test_slides_keep_the_lines_of_their_code(documents):
    text = documents["systemd-coding-style.pptx"].text
    assert "void some_function(\n                int foo," in text


def test_the_pdf_keeps_its_title_page_title_once(documents):
    text = documents["shared-mime-info-spec.pdf"].text
    assert text.startswith("Shared MIME-info Database\n")
    assert text.count("Shared MIME-info Database\n") == 1  # the running headers stay dropped


def test_a_bookmark_written_without_a_hyphen_still_finds_its_heading(documents):
    """The outline says "2.13. Nonregular files", the page prints "2.13. Non-regular files": the
    section starts at that heading, not at the top of its page (under the section before)."""
    document = documents["shared-mime-info-spec.pdf"]
    sections = SectionMap(document.text, document.sections)
    heading = document.text.index("2.13. Non-regular files")
    assert sections.path(heading)[-1] == "2.13. Nonregular files"
    assert sections.path(heading - 10)[-1] == "2.12. Recommended checking order"
