"""Source documents: discovery in the seeds folder, reading by format, and title/URL sidecars.

A document ``seeds/NAME.pdf`` (or ``.docx``, ``.pptx``, ``.html``, ``.htm``, ``.md``, ``.txt``)
may have a sidecar ``seeds/NAME.pdf.meta.json`` with ``{"title": ..., "url": ..., "license": ...}``.
Each file is read by its format's reader (:mod:`qa.ingest.formats`) into the text a reader sees;
that text is what the index stores and citations point into. A file that cannot be read is
skipped with a :class:`~qa.errors.SourceError` naming it, so one bad file never hides the rest.
Symbolic links and anything resolving outside the seeds folder are skipped with a warning.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats import SUFFIXES, Extracted, Limits, read_document
from qa.ingest.formats.text import decode_utf8

__all__ = [
    "COLLECTION_FILE",
    "Document",
    "ScanProgress",
    "SOURCE_SUFFIXES",
    "original_path",
    "read_limits",
    "read_source",
    "scan_sources",
    "source_name",
]

log = logging.getLogger(__name__)

SOURCE_SUFFIXES = SUFFIXES
META_SUFFIX = ".meta.json"
COLLECTION_FILE = "collection.json"
"""Marks a subfolder of the seeds folder as a collection of its own: its documents are not
part of the enclosing folder's documents."""
DEFAULT_MAX_FILE_MB = 50.0
UNPACK_RATIO = 20
"""A DOCX/PPTX may unpack to at most this many times ``QA_MAX_FILE_MB`` (more: a zip bomb)."""


def read_limits(max_file_mb: float) -> Limits:
    """What a build lets a reader read: files up to ``max_file_mb`` (``QA_MAX_FILE_MB``), Office
    packages unpacking to at most :data:`UNPACK_RATIO` times that."""
    max_bytes = int(max_file_mb * 2**20)
    return Limits(max_file_bytes=max_bytes, max_unpacked_bytes=max_bytes * UNPACK_RATIO)


@dataclass(frozen=True)
class Document:
    """One source as indexed: ``source`` is its name in citations (never an absolute path) and
    ``text`` the text a reader of the file sees, which citations' offsets point into.

    ``pages`` holds the offset where each page (or slide) starts; ``sections`` holds
    ``(start, heading path, anchor)`` for each section, in text order.
    """

    source: str
    text: str
    title: str
    url: str = ""
    license: str = ""
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str, str], ...] = ()
    page_unit: str = ""
    """``page`` (PDF), ``slide`` (PPTX), or empty when the format has no pages."""
    lang: str = ""
    """The document's language where its file says it ("fr-FR"), else "" (unknown)."""

    def __post_init__(self) -> None:  # documents.jsonl gives lists; keep the dataclass hashable
        object.__setattr__(self, "pages", tuple(int(p) for p in self.pages))
        object.__setattr__(self, "sections", tuple((int(s), str(p), str(a)) for s, p, a in self.sections))

    @property
    def sha256(self) -> str:
        h = hashlib.sha256(self.text.encode("utf-8"))
        if self.pages or self.sections:
            h.update(json.dumps([self.pages, self.sections, self.page_unit]).encode("utf-8"))
        return h.hexdigest()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page (or slide) holding character ``offset``; None for formats without pages."""
        if not self.pages:
            return None
        return max(bisect.bisect_right(self.pages, offset), 1)

    def _section(self, offset: int) -> tuple[int, str, str] | None:
        i = bisect.bisect_right(self.sections, (offset, "\uffff", "\uffff")) - 1
        return self.sections[i] if i >= 0 else None

    def section_at(self, offset: int) -> str:
        """The heading path of the section holding ``offset`` ("Manual › Variables"), or ""."""
        found = self._section(offset)
        return found[1] if found else ""

    def anchor_at(self, offset: int) -> str:
        """The HTML ``id`` of the section holding ``offset`` (web pages), or ""."""
        found = self._section(offset)
        return found[2] if found else ""


@dataclass(frozen=True)
class ScanProgress:
    """How far a scan is: files and pages read so far, and the seconds it has taken."""

    files_done: int
    files_total: int
    pages_done: int
    seconds: float
    current: str = ""

    @property
    def pages_per_second(self) -> float:
        return self.pages_done / self.seconds if self.seconds > 0 else 0.0


def read_source(path: Path) -> str:
    """A plain-text file's text as Python reads it with ``encoding="utf-8"`` (BOM dropped)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot be read ({exc.strerror})") from None
    try:
        return decode_utf8(data)
    except SourceError as exc:
        raise SourceError(f"{path.name}: {exc}") from None


def source_name(path: Path, seeds_dir: Path, root: Path) -> str:
    """How ``path`` (inside ``seeds_dir``) is cited: relative to ``root`` when the seeds folder is
    under it, else under the seeds folder's own name; never an absolute path."""
    inside = path.relative_to(seeds_dir).as_posix()
    prefix = _prefix(seeds_dir, root)
    return f"{prefix}/{inside}" if prefix else inside


def original_path(source: str, seeds_dir: Path, root: Path) -> Path | None:
    """The file a ``source`` name was read from, if it is a regular file inside ``seeds_dir``."""
    seeds_dir = Path(seeds_dir).resolve()
    prefix = _prefix(seeds_dir, Path(root).resolve())
    if prefix:
        if not source.startswith(prefix + "/"):
            return None
        source = source[len(prefix) + 1 :]
    candidate = seeds_dir / source
    try:
        resolved = candidate.resolve(strict=True)
        resolved.relative_to(seeds_dir)
    except (OSError, ValueError, RuntimeError):
        return None
    if resolved != candidate or not resolved.is_file():
        return None  # ".." parts or a symbolic link on the way
    return resolved


def _prefix(seeds_dir: Path, root: Path) -> str:
    try:
        inside = seeds_dir.relative_to(root).as_posix()
    except ValueError:
        return seeds_dir.name
    return "" if inside == "." else inside


def _read_meta(path: Path) -> dict[str, str]:
    meta_path = path.with_name(path.name + META_SUFFIX)
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{meta_path.name}: not a valid JSON sidecar ({exc})") from None
    if not isinstance(meta, dict):
        raise SourceError(f"{meta_path.name}: must hold a JSON object with title/url/license")
    return {k: str(v) for k, v in meta.items() if k in ("title", "url", "license") and v}


def _default_title(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def _candidates(seeds_dir: Path, problems: list[SourceError]) -> list[Path]:
    """Regular files with a known extension under ``seeds_dir``; links reported and skipped."""
    found = []
    for folder, dirs, files in os.walk(seeds_dir, followlinks=False):
        here = Path(folder)
        for name in sorted(dirs):
            if (here / name).is_symlink():
                _warn_link(here / name, seeds_dir, problems)
        dirs[:] = sorted(d for d in dirs if _walk_into(here / d))
        for name in files:
            path = here / name
            if name.startswith(".") or path.suffix.lower() not in SOURCE_SUFFIXES:
                continue
            if path.is_symlink():
                _warn_link(path, seeds_dir, problems)
            elif path.is_file():
                found.append(path)
    return sorted(found)


def _walk_into(folder: Path) -> bool:
    """Not hidden, not a link, and not another collection (a folder with ``collection.json``)."""
    hidden = folder.name.startswith(".")
    return not hidden and not folder.is_symlink() and not (folder / COLLECTION_FILE).exists()


def _warn_link(path: Path, seeds_dir: Path, problems: list[SourceError]) -> None:
    name = path.relative_to(seeds_dir).as_posix()
    message = f"{name}: a symbolic link; skipped (only files inside the seeds folder are indexed)"
    log.warning(message)
    problems.append(SourceError(message))


@lru_cache(maxsize=512)
def _extract(path: str, size: int, mtime_ns: int, limits: Limits) -> Extracted:
    """Extraction memoised on the file's size and time, so re-checking unchanged sources is cheap."""
    return read_document(Path(path), limits)


def _document(path: Path, name: str, limits: Limits) -> tuple[Document, int]:
    """The document read from ``path`` and its pages read; SourceError naming it when it
    cannot be read."""
    try:
        stat = path.stat()
        extracted = _extract(str(path), stat.st_size, stat.st_mtime_ns, limits)
        meta = _read_meta(path)
    except SourceError as exc:
        raise exc if str(exc).startswith(name) else SourceError(f"{name}: {exc}") from None
    except OSError as exc:
        raise SourceError(f"{name}: cannot be read ({exc.strerror})") from None
    except Exception as exc:  # a reader library choking on a damaged file must not stop the build
        log.debug("reading %s failed", name, exc_info=True)
        raise SourceError(f"{name}: corrupt or unreadable ({type(exc).__name__}); save it again") from None
    document = Document(
        source=name,
        text=extracted.text,
        title=meta.get("title") or extracted.title or _default_title(path),
        url=meta.get("url", ""),
        license=meta.get("license", ""),
        pages=extracted.pages,
        sections=tuple((s.start, s.path, s.anchor) for s in extracted.sections),
        page_unit=extracted.page_unit,
        lang=extracted.lang,
    )
    return document, extracted.pages_read


def scan_sources(
    seeds_dir: Path,
    root: Path,
    *,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
    progress: Callable[[ScanProgress], None] | None = None,
) -> tuple[list[Document], list[SourceError]]:
    """Every readable document under ``seeds_dir``, sorted by path, and the problems met.

    ``progress`` is called after each file (read or skipped) with the files and pages so far.
    """
    docs: list[Document] = []
    problems: list[SourceError] = []
    if not seeds_dir.is_dir():
        return docs, problems
    seeds_dir, root = Path(seeds_dir).resolve(), Path(root).resolve()
    limits = read_limits(max_file_mb)
    paths = _candidates(seeds_dir, problems)
    started, pages = time.perf_counter(), 0
    for n, path in enumerate(paths, 1):
        name = source_name(path, seeds_dir, root)
        try:
            doc, read = _document(path, name, limits)
        except SourceError as exc:
            problems.append(exc)
        else:
            docs.append(doc)
            pages += read
        if progress:
            progress(ScanProgress(n, len(paths), pages, time.perf_counter() - started, name))
    return docs, problems
