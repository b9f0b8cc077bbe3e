"""What the type of a PDF's characters says that their Unicode does not: the symbols of TeX's CMSY
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

    def family(self, index: int) -> str: ...


def read_marks(chars: Chars, raw_line: str, start: int) -> str:
    """``raw_line`` (at offset ``start`` of its page's text) with the symbol font's characters
    read as the symbols they are, negation slashes composed with the sign they strike."""
    if any(c.isdigit() for c in raw_line):
        raw_line = _symbols(chars, raw_line, start)
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
