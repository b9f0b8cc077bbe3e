"""Whether the files on disk still hold the text the index holds.

Answers always quote the indexed text (the index keeps every document's text), so a changed
file never changes an answer; but a reader who opens the file should be told it differs.
:class:`Freshness` checks one indexed document by the file's ``stat`` first and hashes it only
when the ``stat`` changed, so asking on every answer costs a few system calls.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from qa.config import Settings
from qa.errors import QAError
from qa.ingest.sources import Document, read_source

__all__ = ["Freshness"]


class Freshness:
    """``changed(document)``: the file behind an indexed document differs from its indexed text."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.root
        self._seen: dict[str, tuple[tuple[int, int, int], str]] = {}
        self._lock = threading.Lock()

    def changed(self, document: Document) -> bool:
        path = Path(document.source)
        path = path if path.is_absolute() else self.root / path
        try:
            st = path.stat()
        except OSError:
            return True  # removed or unreadable
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            seen = self._seen.get(document.source)
        if seen is None or seen[0] != key:
            try:
                digest = hashlib.sha256(read_source(path).encode("utf-8")).hexdigest()
            except QAError:
                digest = ""
            with self._lock:
                if len(self._seen) > 100_000:
                    self._seen.clear()
                self._seen[document.source] = (key, digest)
            seen = (key, digest)
        return seen[1] != document.sha256
