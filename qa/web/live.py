"""The retriever a running server answers with, swapped for a new one when an index is rebuilt.

``qa index`` publishes a build by replacing the index folder's ``CURRENT`` pointer.
:class:`LiveRetriever` looks at the pointer at most every ``every`` seconds; when it names
another build, that build is loaded and warmed up in a background thread and then swapped in
with one assignment. A question already being answered keeps the retriever it started with
(:meth:`LiveRetriever.pin`), so its citations and context come from one index. With ``watch``
(a running server) a thread also looks at the pointer every ``every`` seconds, so a build
published by another process (a second replica's upload, ``qa index``) is loaded while the
server is idle, not first noticed by a question, which would still get the old index.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from pathlib import Path

from qa.config import Settings
from qa.errors import EmptyCollectionError, QAError
from qa.index.build import open_index
from qa.index.files import POINTER
from qa.retrieval.retriever import Retriever

__all__ = ["LiveRetriever"]

log = logging.getLogger(__name__)

PIN_SECONDS = 60.0


def _pointer(index_dir: Path) -> str:
    try:
        return (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _watch(ref: weakref.ref, every: float) -> None:
    """Refresh the :class:`LiveRetriever` behind ``ref`` every ``every`` seconds while it lives."""
    while True:
        time.sleep(every)
        live = ref()
        if live is None:
            return
        try:
            live.refresh()
        except Exception:  # a pointer that cannot be read now is looked at again next time
            log.exception("looking for a rebuilt index failed")
        del live


class LiveRetriever:
    """The current :class:`Retriever`, reloaded when the index is rebuilt; thread-safe.

    It also stands in for a retriever where one is expected (``ask``, ``index``, ``settings``,
    ``embedder``): ``ask`` pins the retriever it used to the calling thread, and ``index`` then
    returns that retriever's index for a while, so code that asks and then opens the passages'
    context in the same call sees one index even if a swap happens in between.
    """

    def __init__(
        self, retriever: Retriever, settings: Settings, *, every: float = 2.0, watch: bool = False
    ) -> None:
        self.settings = settings
        self.every = every
        self.watching = watch
        self._current = retriever
        self._build = _pointer(settings.index_dir)
        self.unpublished = False
        """The index was unpublished (its collection's last document removed, here or by another
        replica): nothing is answered from it until a build is published again."""
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._pins: dict[int, tuple[Retriever, float]] = {}
        self.reloads = 0
        if watch:
            threading.Thread(
                target=_watch, args=(weakref.ref(self), max(every, 0.1)), name="qa-index-watch", daemon=True
            ).start()

    @property
    def current(self) -> Retriever:
        """The retriever for a new question (starts a reload if the index was rebuilt).

        EmptyCollectionError once the index is unpublished: its documents were all removed, and
        answering from the retriever still loaded would cite files that are gone."""
        if time.monotonic() - self._checked >= self.every:
            self.refresh()
        if self.unpublished:
            raise EmptyCollectionError("the collection has no indexed documents now; upload some")
        return self._current

    def pin(self) -> Retriever:
        """The current retriever, remembered for this thread for ``PIN_SECONDS`` (see
        :attr:`index`). Pins expire, so an old index is freed soon after its last question."""
        retriever = self.current
        now = time.monotonic()
        with self._lock:
            self._pins = {t: p for t, p in self._pins.items() if now - p[1] < PIN_SECONDS}
            self._pins[threading.get_ident()] = (retriever, now)
        return retriever

    def ask(self, question, **options):
        return self.pin().ask(question, **options)

    @property
    def index(self):
        current = self.current  # EmptyCollectionError once unpublished, pinned or not
        pinned = self._pins.get(threading.get_ident())
        if pinned and time.monotonic() - pinned[1] < PIN_SECONDS:
            return pinned[0].index
        return current.index

    @property
    def embedder(self):
        return self._current.embedder

    def refresh(self, *, wait: bool = False) -> bool:
        """Look at the index pointer now; load a new build in the background (or, with ``wait``,
        until it is swapped in). True when a reload was started or is running."""
        with self._lock:
            self._checked = time.monotonic()
            build = _pointer(self.settings.index_dir)
            # no pointer at all (not one that could not be read): the index was unpublished
            self.unpublished = not build and not (self.settings.index_dir / POINTER).exists()
            if self._loading is None and build and build != self._build:
                self._loading = threading.Thread(target=self._load, args=(build,), daemon=True)
                self._loading.start()
            loading = self._loading
        if loading is not None and wait:
            loading.join()
        return loading is not None

    def _load(self, build: str) -> None:
        where = self.settings.index_dir / build  # the folder names the collection: embeddings/NAME/...
        try:
            index = open_index(self.settings)
            retriever = Retriever(index, self._current.embedder, self.settings)
            retriever.warm_up(background=False)  # the old index answers, warm, until this one is
        except QAError as exc:
            log.warning(
                "the rebuilt index %s cannot be used yet (%s); still answering from the old one", where, exc
            )
            retriever = None
        except Exception:  # a reload must never take the server down
            log.exception("loading the rebuilt index %s failed; still answering from the old one", where)
            retriever = None
        with self._lock:
            if retriever is not None:
                self._current = retriever
                self.reloads += 1
                log.info("now answering from the rebuilt index %s", where)
            self._build = build
            self._loading = None
