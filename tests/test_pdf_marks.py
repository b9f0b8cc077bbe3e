"""What a PDF's type says that its Unicode does not: TeX's symbol font read as symbols, not as
the digits of their places, and footnote marks set as superscripts glued to a name left out,
changed without moving any offset into the line."""

from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest.formats import Limits, read_document
from qa.ingest.formats.pdf_marks import GONE, read_marks

CRC_PAPER = Path(__file__).resolve().parents[1] / "benchmarks" / "devdocs" / "docs" / "crc-doc.pdf"


@dataclass
class FakeChars:
    """Character metrics by offset: a font per offset (default a text font), boxes 5 points
    wide one after the other unless ``overstruck`` says a character is drawn over the one before."""

    fonts: dict[int, str] = field(default_factory=dict)
    overstruck: set[int] = field(default_factory=set)
    sizes: dict[int, float] = field(default_factory=dict)
    raised: set[int] = field(default_factory=set)

    def family(self, index: int) -> str:
        return self.fonts.get(index, "CMR10")

    def box(self, index: int) -> tuple[float, float]:
        left = 5.0 * (index - 1 if index in self.overstruck else index)
        return left, left + 5.0

    def size(self, index: int) -> float:
        return self.sizes.get(index, 10.0)

    def baseline(self, index: int) -> float:
        return 104.0 if index in self.raised else 100.0


def test_the_symbol_fonts_slash_over_a_sign_is_the_negated_sign_and_its_digits_are_symbols():
    line = "if d 6= D then v0 = 0"
    chars = FakeChars(fonts={5: "CMSY10", 16: "CMSY7"}, overstruck={6})
    read = read_marks(chars, line, 0)
    assert len(read) == len(line)  # offsets into the line still point at the same characters
    assert read.replace(GONE, "") == "if d ≠ D then v′ = 0"


def test_digits_of_a_text_font_and_a_slash_drawn_apart_stay_as_they_are():
    line = "CRC-64 and 6= here"
    assert read_marks(FakeChars(), line, 0) == line
    assert read_marks(FakeChars(fonts={11: "CMSY10"}), line, 0) == line  # not over the "="


def test_a_latex_paper_reads_its_not_equal_sign_and_primes():
    text = read_document(CRC_PAPER, Limits()).text
    assert "6=" not in text and GONE not in text
    assert "polynomial v(x) of a degree d ≠ D by a D-normalized polynomial" in text
    assert "CRCu(M′" in text and "CRCu(M0" not in text  # a prime, not a subscript 0 (M0(x) is one)


def test_a_superscript_footnote_mark_glued_to_a_name_is_left_out():
    line = "Andrew Kadatch1 and Bob Jenkins2"
    chars = FakeChars(sizes={14: 7.0, 31: 7.0}, raised={14, 31})
    read = read_marks(chars, line, 0)
    assert len(read) == len(line) and read.replace(GONE, "") == "Andrew Kadatch and Bob Jenkins"
    mark_first = "1Google Inc."
    assert read_marks(FakeChars(sizes={0: 7.0}, raised={0}), mark_first, 0).replace(GONE, "") == "Google Inc."


def test_digits_set_like_the_text_or_lowered_stay():
    line = "CRC32 and Kadatch1 and crc0 stay"
    assert read_marks(FakeChars(), line, 0) == line  # the text's own size: a name with a number
    lowered = FakeChars(sizes={26: 7.0})  # a subscript ("crc0" set as crc with a 0 below)
    assert read_marks(lowered, line, 0) == line


def test_a_paper_names_its_authors_without_their_footnote_marks():
    text = read_document(CRC_PAPER, Limits()).text
    assert text.startswith(
        "Everything we know about CRC but afraid to forget\n\nAndrew Kadatch and Bob Jenkins\n"
    )
    assert "Kadatch1" not in text and "Jenkins2" not in text and "\nGoogle Inc." in text
    assert "CrcWordByWord1" not in text  # a mark glued to a name in the body
