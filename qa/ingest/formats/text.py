"""Plain text: UTF-8 (a byte-order mark dropped), newlines as Python reads them."""

from __future__ import annotations

from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Extracted, Limits

__all__ = ["decode_utf8", "read_text"]


def decode_utf8(data: bytes) -> str:
    """``data`` as UTF-8 text without a BOM and with universal newlines; refuses binary data."""
    if b"\x00" in data:
        raise SourceError("looks like a binary file, not text; remove it from the seeds folder")
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
