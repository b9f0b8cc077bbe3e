"""What the type of a PDF's characters says that their Unicode does not: footnote marks set as
superscripts glued to a word ("Kadatch¹" read as "Kadatch1"), and the symbols of TeX's CMSY
font, which a PDF without a Unicode map for it gives as the digits of their places ("≠", a
negation slash struck over "=", read as "6="; a prime, "crc′", read as "crc0").

Each is changed only where the characters' font, size and position say so, and without changing
the line's length (a dropped character becomes :data:`GONE`, which :func:`~.pdf_page.clean_line`
removes), so every offset into the line still points at the same character of the page.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol

__all__ = ["GONE", "read_marks"]

GONE = "\u200b"
"""Stands in for a character left out (a zero-width space, dropped when the line is cleaned)."""
_GLUED_DIGITS = re.compile(r"(?<=[A-Za-z]{2})\d{1,2}(?!\w|\.\d)|(?:^|(?<=\s))\d{1,2}(?=[A-Z][a-z])")
"""Digits after a word of two letters or more ("Kadatch1 and"), or before a capitalised word at
a line's or word's start ("1Google Inc."): where a footnote mark may be glued to a name."""
_SUPERSCRIPT_SIZE = 0.85
"""A superscript's type is at most this much of the word's it is glued to ..."""
_SUPERSCRIPT_RISE = 0.15
"""... and its baseline higher than the word's by at least this much of the word's size."""
_SYMBOL_FONT = re.compile(r"^cmsy\d", re.IGNORECASE)
"""TeX's symbol fonts (the OMS encoding): their characters 0x30-0x39 are symbols, not digits."""
_SYMBOLS = {"0": "\u2032", "1": "\u221e", "2": "\u2208", "3": "\u220b", "8": "\u2200", "9": "\u2203"}
"""The OMS encoding's prime, infinity, element of, contains, for all, there exists."""
_SLASH = "6"
"""The OMS encoding's negation slash, drawn over the sign after it."""
_NOT = "\u0338"
"""Combining long solidus overlay: "=" with it composes to "≠", "∈" to "∉"."""


class Chars(Protocol):
    """The character metrics a page gives, by offset into its text."""

    def box(self, index: int) -> tuple[float, float]: ...

    def baseline(self, index: int) -> float: ...

    def size(self, index: int) -> float: ...

    def family(self, index: int) -> str: ...


def read_marks(chars: Chars, raw_line: str, start: int) -> str:
    """``raw_line`` (at offset ``start`` of its page's text) with the symbol font's characters
    read as the symbols they are, negation slashes composed with the sign they strike, and
    superscript footnote marks glued to a word left out."""
    if any(c.isdigit() for c in raw_line):
        raw_line = _symbols(chars, raw_line, start)
        raw_line = _footnote_marks(chars, raw_line, start)
    return raw_line


def _symbols(chars: Chars, raw_line: str, start: int) -> str:
    out = list(raw_line)
    for i, char in enumerate(raw_line):
        if not ("0" <= char <= "9") or not _SYMBOL_FONT.match(chars.family(start + i)):
            continue
        if char in _SYMBOLS:
            out[i] = _SYMBOLS[char]
        elif char == _SLASH and i + 1 < len(raw_line) and not raw_line[i + 1].isspace():
            _negate(chars, raw_line, start, i, out)
    return "".join(out)


def _negate(chars: Chars, raw_line: str, start: int, i: int, out: list[str]) -> None:
    """The slash at ``i`` and the sign after it as one negated sign, when drawn over it."""
    left, right = chars.box(start + i)
    struck_left, struck_right = chars.box(start + i + 1)
    if struck_left >= right or struck_right <= left:
        return  # not drawn over the next character
    composed = unicodedata.normalize("NFC", raw_line[i + 1] + _NOT)
    if len(composed) == 1:
        out[i], out[i + 1] = GONE, composed


def _footnote_marks(chars: Chars, raw_line: str, start: int) -> str:
    """Digits glued to a word and set smaller and higher than its letter next to them."""
    out = list(raw_line)
    for match in _GLUED_DIGITS.finditer(raw_line):
        a, b = match.span()
        word = a - 1 if a > 0 and raw_line[a - 1].isalpha() else b  # the letter it is glued to
        size, base = chars.size(start + word), chars.baseline(start + word)
        if size and all(
            chars.size(start + i) <= _SUPERSCRIPT_SIZE * size
            and chars.baseline(start + i) >= base + _SUPERSCRIPT_RISE * size
            for i in range(a, b)
        ):
            out[a:b] = GONE * (b - a)
    return "".join(out)
