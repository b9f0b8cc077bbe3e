"""One reader per file format behind one function, :func:`read_document`.

Every reader takes ``(path, limits)`` and returns :class:`Extracted` (the text a reader of the
file sees, with page and section marks) or raises :class:`~qa.errors.SourceError` saying what is
wrong; the caller adds the file's name. The content is checked against the extension first, so
a file whose extension lies is refused instead of misread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import SECTION_SEPARATOR, Extracted, Limits, Section

__all__ = [
    "READER_VERSIONS",
    "SECTION_SEPARATOR",
    "SUFFIXES",
    "Extracted",
    "Limits",
    "Section",
    "read_document",
    "reader_change",
    "reader_versions",
    "sniff",
]

Reader = Callable[[Path, Limits], Extracted]

_KIND = {
    ".pdf": "pdf",
    ".docx": "zip",
    ".pptx": "zip",
    ".html": "text",
    ".htm": "text",
    ".md": "text",
    ".markdown": "text",
    ".txt": "text",
}
SUFFIXES = tuple(_KIND)
_NAMES = {
    ".pdf": "PDF",
    ".docx": "Word (.docx)",
    ".pptx": "PowerPoint (.pptx)",
    ".html": "a web page",
    ".htm": "a web page",
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".txt": "text",
}
_CONTENT = {
    "pdf": "a PDF",
    "zip": "a ZIP archive",
    "ole": "an OLE compound file (an old .doc/.ppt or an encrypted Office file)",
    "image": "an image",
    "binary": "binary data",
    "text": "text",
}


READER_VERSIONS = {"pdf": 10, "pptx": 4, "docx": 2, "html": 4, "htm": 4, "md": 4, "markdown": 4}
"""Version of each reader whose text has changed since readers were first recorded (1, the
version of any reader not listed). Bump it when the same file reads as different text, so an
index built from the older text is rebuilt saying why."""
_VERSION_KEY = "reader:"


def reader_versions() -> dict[str, str]:
    """The readers' versions as an index manifest records them (``{"reader:pdf": "2"}``)."""
    return {_VERSION_KEY + kind: str(version) for kind, version in READER_VERSIONS.items()}


def reader_change(recorded: dict[str, str], source: str) -> str:
    """Why ``source`` reads differently now than when an index recording ``recorded`` (its
    manifest's versions) was built: "the PDF reader changed (version 1 -> 2)", or ""."""
    kind = Path(source).suffix.lower().lstrip(".")
    now = READER_VERSIONS.get(kind, 1)
    then = int(recorded.get(_VERSION_KEY + kind, "1"))
    if then == now:
        return ""
    return f"the {kind.upper()} reader changed (version {then} -> {now})"


def _reader(suffix: str) -> Reader:
    if suffix == ".pdf":
        from qa.ingest.formats.pdf import read_pdf as reader
    elif suffix == ".docx":
        from qa.ingest.formats.docx import read_docx as reader
    elif suffix == ".pptx":
        from qa.ingest.formats.pptx import read_pptx as reader
    elif suffix in (".html", ".htm"):
        from qa.ingest.formats.html import read_html as reader
    elif suffix in (".md", ".markdown"):
        from qa.ingest.formats.markdown import read_markdown as reader
    else:
        from qa.ingest.formats.text import read_text as reader
    return reader


def sniff(head: bytes) -> str:
    """What the first bytes of a file say it is: pdf, zip, ole, image, binary or text."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF")):
        return "image"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    return "text"


def read_document(path: Path, limits: Limits) -> Extracted:
    """The reader-visible text of ``path`` with its marks; SourceError saying why it cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in _KIND:
        raise SourceError(f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError as exc:
        raise SourceError(f"cannot be read ({exc.strerror})") from None
    if size > limits.max_file_bytes:
        raise SourceError(
            f"{size / 2**20:,.1f} MB is over QA_MAX_FILE_MB={limits.max_file_bytes / 2**20:g}; "
            "split it or raise the limit"
        )
    if size == 0:  # a failed copy or download: nothing in it, whatever its name says
        raise SourceError("empty file, nothing to index")
    found = sniff(head)
    if found != _KIND[suffix]:
        if found == "ole" and suffix in (".docx", ".pptx"):
            raise SourceError(
                "encrypted (password-protected) or old binary Office file; save an unprotected "
                f"copy as {suffix} to index it"
            )
        raise SourceError(
            f"the extension says {_NAMES[suffix]} but the content is {_CONTENT[found]}; rename or remove it"
        )
    extracted = _reader(suffix)(path, limits)
    if not extracted.text.strip():
        raise SourceError("empty file, nothing to index")
    return extracted
