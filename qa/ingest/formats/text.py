"""Plain text: UTF-8 (a byte-order mark dropped), newlines as Python reads them."""

from __future__ import annotations

import codecs
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Extracted, Limits

__all__ = ["decode_utf8", "read_text"]


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16's, which it starts with
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_utf8(data: bytes) -> str:
    """``data`` as UTF-8 text without a BOM and with universal newlines; refuses binary data,
    and says so of UTF-16 text (Windows' "Unicode"), whose NUL bytes would read as binary."""
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            raise SourceError(f"is {encoding} text; save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)")
    if b"\x00" in data:
        raise SourceError("looks like a binary file, not text; save the text as UTF-8 or leave the file out")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8 or remove it"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path, limits: Limits) -> Extracted:
    """The file's text, unchanged apart from the BOM and newlines."""
    return Extracted(decode_utf8(path.read_bytes()))
