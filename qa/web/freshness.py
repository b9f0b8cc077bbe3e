"""Whether the files on disk still hold what the index holds.

Answers always quote the indexed text (the index keeps every document's text), so an edited
file never changes an answer; but a reader who opens the file should be told it differs, and
health should say so. :class:`SourceWatch` rescans the sources the way the index does
(:func:`~qa.ingest.sources.scan_sources`, so every format is compared as it was indexed) only
when the seeds folder's listing or a file's ``stat`` changed: cheap enough to ask on every
answer, and current at once.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from qa.config import Settings
from qa.errors import QAError

__all__ = ["SourceWatch", "SourceWatches"]

StatKey = tuple[int, int, int]


def _stat(path: Path) -> StatKey | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class SourceWatch:
    """What changed in the sources since an index's build; thread-safe.

    ``reasons(manifest)``: health's list ("source changed: seeds/a.txt", ...).
    ``stale(manifest, sources)``: which of ``sources`` changed or went away.
    The folder listing is looked at most every ``every`` seconds; a cited file whose ``stat``
    differs from the last scan's forces a rescan at once.
    """

    def __init__(self, settings: Settings, *, every: float = 1.0) -> None:
        self.settings, self.every = settings, every
        self._lock = threading.Lock()
        self._looked = -1e9
        self._manifest = None
        self._stats: dict[str, StatKey] = {}
        self._reasons: list[str] = []
        self._changed: set[str] = set()

    def reasons(self, manifest) -> list[str]:
        with self._lock:
            self._refresh(manifest, force=False)
            return list(self._reasons)

    def stale(self, manifest, sources) -> set[str]:
        sources = set(sources)
        paths = {s: self._path(s) for s in sources}
        with self._lock:
            moved = any(_stat(p) != self._stats.get(str(p)) for p in paths.values())
            self._refresh(manifest, force=moved)
            return self._changed & sources

    def _path(self, source: str) -> Path:
        path = Path(source)
        return path if path.is_absolute() else self.settings.root / path

    def _listing(self) -> dict[str, StatKey]:
        out = {}
        for here, dirs, files in os.walk(self.settings.seeds_dir):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                key = _stat(Path(here) / name)
                if key is not None:
                    out[str(Path(here) / name)] = key
        return out

    def _refresh(self, manifest, *, force: bool) -> None:
        now = time.monotonic()
        if manifest is self._manifest and not force and now - self._looked < self.every:
            return
        self._looked = now
        listing = self._listing()
        if manifest is self._manifest and listing == self._stats:
            return  # nothing moved: a rescan would find what the last one found
        self._scan(manifest)
        self._manifest, self._stats = manifest, listing

    def _scan(self, manifest) -> None:
        from qa.index.build import stale_reasons
        from qa.ingest.sources import scan_sources

        try:
            documents, _ = scan_sources(self.settings.seeds_dir, self.settings.root)
        except QAError as exc:
            self._reasons, self._changed = [str(exc)], set(manifest.sources)
            return
        current = {d.source: d.sha256 for d in documents}
        self._changed = {s for s, digest in manifest.sources.items() if current.get(s) != digest}
        self._reasons = stale_reasons(manifest, documents, self.settings)


class SourceWatches:
    """A :class:`SourceWatch` per collection, each over that collection's own folder (made on
    first use), so a file edited by hand in any course's folder is flagged the same way."""

    def __init__(self, settings: Settings, *, every: float = 1.0) -> None:
        self.settings, self.every = settings, every
        self._lock = threading.Lock()
        self._watches: dict[str, SourceWatch] = {}

    def stale(self, collection: str | None, manifest, sources) -> set[str]:
        """Which of ``sources`` (cited from ``collection``'s index, with ``manifest``) changed or
        went away on disk; none for a collection deleted meanwhile."""
        try:
            watch = self.of(collection)
        except QAError:
            return set()
        return watch.stale(manifest, sources)

    def of(self, collection: str | None) -> SourceWatch:
        """The watch over ``collection``'s folder (None: the default collection)."""
        from qa.index.collections import DEFAULT, collection_settings

        name = collection or DEFAULT
        with self._lock:
            if name not in self._watches:
                settings = self.settings if name == DEFAULT else collection_settings(self.settings, name)
                self._watches[name] = SourceWatch(settings, every=self.every)
            return self._watches[name]
