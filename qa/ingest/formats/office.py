"""Checks shared by the Office readers: a DOCX or PPTX is a ZIP archive, opened only when its
declared uncompressed size is under the cap, so a zip bomb is refused before it is inflated."""

from __future__ import annotations

import zipfile
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Limits

__all__ = ["check_package", "corrupt"]


def check_package(path: Path, limits: Limits, *, part: str, kind: str) -> None:
    """Refuse a file that is not a readable ZIP holding ``part``, or that unpacks too large."""
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
            names = {m.filename for m in members}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise SourceError(f"corrupt or truncated {kind} file ({exc}); save it again") from None
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise SourceError(
            f"unpacks to {unpacked / 2**20:,.0f} MiB, over the {limits.max_unpacked_bytes / 2**20:,.0f} MiB "
            f"cap for {kind} files (a zip bomb?); not read"
        )
    if part not in names:
        raise SourceError(f"a ZIP archive without {part}, so not a {kind} file; rename or remove it")


def corrupt(kind: str, exc: Exception) -> SourceError:
    """The error for a ``kind`` file its library could not read: what broke, in words a person
    can use. A missing part came as python-docx's "KeyError: no relationship of type
    'http://schemas.openxmlformats.org/...' in collection"."""
    if isinstance(exc, KeyError):
        return SourceError(f"corrupt {kind} file (a part it needs is missing); save it again")
    return SourceError(f"corrupt {kind} file ({type(exc).__name__}: {exc}); save it again")
