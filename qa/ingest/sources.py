"""Source documents: discovery in the seeds folder, UTF-8 reading, and title/URL sidecars.

A document ``seeds/NAME.txt`` (or ``.md``) may have a sidecar ``seeds/NAME.txt.meta.json``
with ``{"title": ..., "url": ..., "license": ...}``. Files that are not UTF-8 text are skipped
with a :class:`~qa.errors.SourceError` reported to the caller, so one bad file never hides the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from qa.errors import SourceError

__all__ = ["COLLECTION_FILE", "Document", "SOURCE_SUFFIXES", "read_source", "scan_sources"]

SOURCE_SUFFIXES = (".txt", ".md", ".markdown")
META_SUFFIX = ".meta.json"
COLLECTION_FILE = "collection.json"
"""Marks a subfolder of the seeds folder as a collection of its own: its documents are not
part of the enclosing folder's documents."""
MAX_SOURCE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """One source text as indexed. ``source`` is its path relative to the project root."""

    source: str
    text: str
    title: str
    url: str = ""
    license: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def read_source(path: Path) -> str:
    """The file's text as Python reads it with ``encoding="utf-8"`` (universal newlines)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(f"{path.name}: larger than {MAX_SOURCE_BYTES // 2**20} MiB; split it")
    if b"\x00" in data:
        raise SourceError(f"{path.name}: looks like a binary file, not text; remove it from seeds/")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path.name}: not UTF-8 text (bad byte at offset {exc.start}); "
            "save it as UTF-8 or remove it from seeds/"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def _default_title(path: Path, text: str) -> str:
    if path.suffix in (".md", ".markdown"):
        heading = re.search(r"^#\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
        if heading:
            return heading.group(1)
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def scan_sources(seeds_dir: Path, root: Path) -> tuple[list[Document], list[SourceError]]:
    """Every readable document under ``seeds_dir``, sorted by path, and the problems met."""
    docs: list[Document] = []
    problems: list[SourceError] = []
    if not seeds_dir.is_dir():
        return docs, problems
    nested = [c.parent for c in seeds_dir.rglob(COLLECTION_FILE) if c.parent != seeds_dir]
    paths = sorted(
        p
        for p in seeds_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SOURCE_SUFFIXES
        and not p.name.startswith(".")
        and not any(folder in p.parents for folder in nested)
    )
    for path in paths:
        try:
            text = read_source(path)
            if not text.strip():
                raise SourceError(f"{path.name}: empty file, nothing to index")
            meta = _read_meta(path)
        except SourceError as exc:
            problems.append(exc)
            continue
        try:
            source = path.resolve().relative_to(root).as_posix()
        except ValueError:
            source = path.resolve().as_posix()
        docs.append(
            Document(
                source=source,
                text=text,
                title=meta.get("title") or _default_title(path, text),
                url=meta.get("url", ""),
                license=meta.get("license", ""),
            )
        )
    return docs, problems
