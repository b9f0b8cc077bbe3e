"""The lines of one PDF page as PDFium lays them out, each with where and how it is set.

PDFium's text page gives the page's text in reading order, one visual line per ``\\r\\n``, and
for every character its box, baseline origin, font size and font. A line keeps what the layout
of a document needs from those: its font size and boldness at both ends, its left and right
edge, the baselines of its first and last character (a line PDFium joined across a hyphenated
line end spans two), and the width of its first word, which tells whether that word would have
fitted at the end of the line before.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass

from qa.ingest.formats.pdf_marks import GONE, read_marks

__all__ = ["Line", "HYPHEN_MARK", "clean_line", "page_lines"]

HYPHEN_MARK = "\ufffe"
"""Where PDFium joined a word hyphenated across a line end (it drops the line break)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\uffff\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|[-,]bd\b|^cmbx|^cmb\d|^sfbx", re.IGNORECASE)
_MONO_FONT = re.compile(r"mono|courier|typewriter|consol|menlo|^cmtt|^cmsltt|^sfti?tt|code", re.IGNORECASE)
_FIXED_PITCH, _FORCE_BOLD = 1, 1 << 18
_BREAKS = re.compile(r"[ \-\u2010\u2013\u2014]")
"""Where a line may wrap: at a space, after a hyphen or dash."""


@dataclass(frozen=True, slots=True)
class Line:
    """One visual line of a page (two when PDFium joined a hyphenated line end)."""

    text: str
    size: float
    """Font size of the first character, to the nearest half point (0 when PDFium gave none)."""
    end_size: float
    """Font size of the last character."""
    bold: bool
    """Whether the first and the last character are set in a bold font."""
    mono: bool = False
    """Whether the first and the last character are set in a fixed-pitch font (code)."""
    x0: float = 0.0
    """Left edge of the first character and right edge of the last, in points."""
    x1: float = 0.0
    top: float = 0.0
    """Baseline of the first character (points from the page's bottom)."""
    bottom: float = 0.0
    """Baseline of the last character."""
    lead: float = 0.0
    """Width from the left edge to the first place the line could have wrapped; 0 when unknown."""
    entry: bool = False
    """Whether the line ended in a contents entry's dotted leader, dropped from ``text`` (its
    right edge is still the leader's, so it seems to reach the margin)."""

    @property
    def placed(self) -> bool:
        """Whether the line has a position on the page (PDFium gave character boxes)."""
        return self.x1 > self.x0


def clean_line(line: str) -> str:
    """A line with ligatures spelt out, odd spaces as one space, control characters dropped."""
    if not line.isascii():
        line = line.replace("\x02", HYPHEN_MARK).translate(_LIGATURES)
    if line.isprintable() and "  " not in line:  # most lines: nothing to change
        return line.strip()
    line = line.replace("\x02", HYPHEN_MARK).replace("\r", " ").replace("\n", " ")
    return _SPACES.sub(" ", _CONTROL.sub("", line)).strip()


class _Chars:
    """Character geometry and fonts from one PDFium text page, through reused ctypes buffers;
    indices are offsets into the page's text, ``at`` maps them to PDFium's characters."""

    def __init__(self, textpage, at: list[int] | range) -> None:
        import pypdfium2.raw as raw

        self.raw, self.page, self.at = raw, textpage.raw, at
        self.left, self.right = ctypes.c_double(), ctypes.c_double()
        self.low, self.high = ctypes.c_double(), ctypes.c_double()
        self.x, self.y = ctypes.c_double(), ctypes.c_double()
        self.font_name = ctypes.create_string_buffer(96)
        self.flags = ctypes.c_int()
        self._fonts: dict[bytes, tuple[bool, bool]] = {}

    def box(self, index: int) -> tuple[float, float]:
        """Left and right edge of character ``index``."""
        self.raw.FPDFText_GetCharBox(self.page, self.at[index], self.left, self.right, self.low, self.high)
        return self.left.value, self.right.value

    def baseline(self, index: int) -> float:
        self.raw.FPDFText_GetCharOrigin(self.page, self.at[index], self.x, self.y)
        return self.y.value

    def size(self, index: int) -> float:
        return round(self.raw.FPDFText_GetFontSize(self.page, self.at[index]) * 2) / 2

    def _font_name(self, index: int) -> bytes:
        """The font's name (its flags left in ``self.flags``)."""
        at, buffer = self.at[index], self.font_name
        self.raw.FPDFText_GetFontInfo(self.page, at, buffer, len(buffer), self.flags)
        return buffer.value

    def family(self, index: int) -> str:
        """The font's name without a subset's prefix ("CMSY10" for "ABCDEF+CMSY10")."""
        return self._font_name(index).decode("latin-1").rpartition("+")[2]

    def font(self, index: int) -> tuple[bool, bool]:
        """Whether character ``index`` is set bold, and whether in a fixed-pitch font."""
        name = self._font_name(index)
        found = self._fonts.get(name)
        if found is None:
            family = name.decode("latin-1").rpartition("+")[2]
            flags = self.flags.value
            found = self._fonts[name] = (
                bool(_BOLD_FONT.search(family) or flags & _FORCE_BOLD),
                bool(_MONO_FONT.search(family) or flags & _FIXED_PITCH),
            )
        return found


def page_lines(textpage) -> list[Line]:
    """Every line with text on the page of ``textpage``, in PDFium's reading order."""
    text = textpage.get_text_range()
    at = _char_positions(textpage, text)
    chars = _Chars(textpage, at) if at is not None else None
    lines: list[Line] = []
    offset = 0
    for raw_line in text.split("\r\n"):
        start = offset
        offset += len(raw_line) + 2
        if chars is not None:
            raw_line = read_marks(chars, raw_line, start)
        line = clean_line(raw_line)
        if not line:
            continue
        if chars is None:
            lines.append(Line(line, 0.0, 0.0, False))
            continue
        first = start + len(raw_line) - len(raw_line.lstrip().lstrip(GONE))
        last = start + len(raw_line.rstrip().rstrip(GONE)) - 1
        lines.append(_placed_line(chars, line, raw_line, start, first, last))
    return lines


def _char_positions(textpage, text: str) -> list[int] | range | None:
    """Which of PDFium's characters each character of the page's ``text`` is: the same index,
    or, when the text leaves out characters PDFium could not map to Unicode (a LaTeX paper's
    large operators, U+0000), the index counting those; None when the two do not line up."""
    count = textpage.count_chars()
    if len(text) == count:
        return range(count)
    import pypdfium2.raw as raw

    codes = [raw.FPDFText_GetUnicode(textpage.raw, i) for i in range(count)]
    at = [i for i, code in enumerate(codes) if code]
    if len(at) != len(text) or any(_differ(codes[i], c) for i, c in zip(at, text)):
        return None
    return at


def _differ(code: int, char: str) -> bool:
    """Whether PDFium's character ``code`` is not ``char`` of the text (which gives a hyphen
    PDFium joined across a line end, code 2, as U+FFFE)."""
    return code != ord(char) and not (code == 2 and char == HYPHEN_MARK)


def _placed_line(chars: _Chars, line: str, raw_line: str, start: int, first: int, last: int) -> Line:
    x0 = chars.box(first)[0]
    x1 = chars.box(last)[1]
    wrap = _BREAKS.search(raw_line, first - start + 1)
    lead = x1 - x0
    if wrap is not None:
        at = start + wrap.start() - (1 if wrap.group() == " " else 0)
        if first <= at <= last:
            lead = chars.box(at)[1] - x0
    (bold, mono), (end_bold, end_mono) = chars.font(first), chars.font(last)
    return Line(
        text=line,
        size=chars.size(first),
        end_size=chars.size(last),
        bold=bold and end_bold,
        mono=mono and end_mono,
        x0=x0,
        x1=x1,
        top=chars.baseline(first),
        bottom=chars.baseline(last),
        lead=lead,
    )
