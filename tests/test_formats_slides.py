"""PowerPoint lessons as authors make them: speaker notes on each slide's page under "Notes",
shapes in reading order, chart titles and SmartArt read, footers not; exact slides and sections."""

from __future__ import annotations

import pytest

from qa.ingest.formats import Limits, read_document
from tests.office_files import make_slides, rewrite_zip, unlink_main_part

FIRST = (
    "Dependency graphs\n\nEach edge joins an input to an output file.\n\n"
    "Notes\n\nAsk the class why ninja refuses a cycle.\nDraw a small graph on the board."
)
SECOND = (
    "Build steps\n\n"
    "Inputs are read from build.ninja.\n\n"  # left, 1.5" down, added last
    "Outputs are rebuilt when an input is newer.\n\n"  # right, 1.6" down: the same row
    "Build time of a clean build and a no-op build\n\n"  # the chart's title, 2.6"
    "Steps of a build:\n\n"  # 5", added second
    "Plan the build\nWrite the rules\nRun ninja"  # the SmartArt's nodes, 5.8"
)
THIRD = "Questions?\n\nNotes\n\nLeave ten minutes for questions about pools."


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    return read_document(make_slides(tmp_path_factory.mktemp("slides") / "lesson.pptx"), Limits())


def test_each_slide_reads_its_text_in_reading_order_then_its_notes(deck):
    assert deck.text == f"{FIRST}\n\n{SECOND}\n\n{THIRD}"
    assert deck.page_unit == "slide" and deck.pages_read == 3
    assert deck.pages == (0, len(FIRST) + 2, len(FIRST) + len(SECOND) + 4)
    assert (
        deck.title == ""
    )  # slide 1 is a content slide: its title is its section's; the file's name titles the deck


def test_the_footer_placeholder_is_not_read(deck):
    assert "autumn term" not in deck.text


def test_notes_are_a_section_of_their_slide_and_an_untitled_slide_has_no_section(deck):
    def path_at(phrase: str) -> str:
        at = deck.text.index(phrase)
        return [s.path for s in deck.sections if s.start <= at][-1]

    assert path_at("Ask the class") == "Dependency graphs \u203a Notes"
    assert path_at("Each edge") == "Dependency graphs"
    assert path_at("Run ninja") == "Build steps"
    assert path_at("Questions?") == ""  # not "Build steps": that was the slide before
    assert path_at("Leave ten minutes") == "Notes"
    notes = deck.text.index("Ask the class")
    assert deck.text[deck.pages[0] : deck.pages[1]].rstrip().endswith("on the board.")
    assert deck.pages[0] <= notes < deck.pages[1]  # on its slide's page


def test_a_slide_without_notes_or_title_reads_as_before(tmp_path):
    from tests.test_formats import make_pptx

    got = read_document(make_pptx(tmp_path / "d.pptx"), Limits())
    assert "Notes" not in got.text and [s.path for s in got.sections] == ["Welcome", "Dependency graphs"]


def test_a_damaged_smartart_part_is_a_clear_message(tmp_path):
    from qa.errors import SourceError

    path = make_slides(tmp_path / "lesson.pptx")
    rewrite_zip(path, {}, edits={"ppt/diagrams/data1.xml": lambda _: "<dgm:dataModel><unclosed"})
    with pytest.raises(SourceError, match=r"^corrupt PowerPoint file \(XMLSyntaxError: .*\); save it again$"):
        read_document(path, Limits())


def test_a_slide_deck_missing_a_part_says_so_in_words(tmp_path):
    """As for Word files: not 'KeyError: "no relationship of type 'http://schemas...'"'."""
    from qa.errors import SourceError

    path = make_slides(tmp_path / "lesson.pptx")
    unlink_main_part(path)
    with pytest.raises(SourceError) as raised:
        read_document(path, Limits())
    assert str(raised.value) == "corrupt PowerPoint file (a part it needs is missing); save it again"


def _deck(path, slides, *, title: str = ""):
    """A deck of ``slides``: (layout number, title, body) each, "" for none."""
    import pptx

    deck = pptx.Presentation()
    deck.core_properties.title = title
    for layout, slide_title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[layout])
        if slide_title:
            slide.shapes.title.text = slide_title
        if body:
            slide.placeholders[1].text = body
    deck.save(str(path))
    return path


@pytest.mark.parametrize(
    ("slides", "title"),
    [
        (
            [(0, "Build systems", "Autumn term"), (1, "Dependency graphs", "Edges.")],
            "Build systems",
        ),  # a title slide
        (
            [(2, "Coding style", ""), (1, "Formatting", "Tabs.")],
            "Coding style",
        ),  # a title alone (a section header)
        ([(6, "", ""), (1, "Dependency graphs", "Edges.")], ""),  # untitled: not the next slide's title
        ([(1, "Chapter 1. Graphs", "Edges."), (1, "Chapter 2. Rules", "Rules.")], ""),  # a content slide
    ],
)
def test_a_deck_without_a_title_is_titled_by_its_title_slide_only(tmp_path, slides, title):
    """As for a PDF: a title slide's title is the deck's; the heading of a first content slide
    (a chapter's) is not, nor a later slide's, and the file's name titles the deck."""
    got = read_document(_deck(tmp_path / "deck.pptx", slides), Limits())
    assert got.title == title
    assert got.sections[0].path == slides[0][1] or not slides[0][1]  # still slide 1's section


def test_a_decks_metadata_title_comes_first(tmp_path):
    slides = [(1, "Chapter 1. Graphs", "Edges.")]
    assert (
        read_document(_deck(tmp_path / "d.pptx", slides, title="Build systems"), Limits()).title
        == "Build systems"
    )
