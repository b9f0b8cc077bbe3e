"""One retriever per collection, opened on first use, rebuilt in the background and swapped.

A rebuild (after an upload or a delete) runs in a thread of its own per collection: it updates
that collection's index incrementally (unchanged documents keep their vectors), loads the new
index into a fresh :class:`Retriever`, warms it up, and only then replaces the old one. A
question asked meanwhile is answered by the old retriever, whole. Rebuild requests that arrive
while one runs are coalesced into one more run afterwards, so no upload is ever left unindexed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from qa.config import Settings
from qa.embedders.base import Embedder
from qa.errors import (
    BuildStoppedError,
    EmptyCollectionError,
    IndexMissingError,
    NoSourcesError,
    QAError,
)
from qa.index.build import build_lock, ensure_index, open_index
from qa.index.collections import DEFAULT, collection_names, collection_settings, get_collection, list_files
from qa.index.files import POINTER
from qa.index.progress import BuildProgress, format_progress
from qa.retrieval.retriever import Retriever

__all__ = ["BuildStatus", "Registry", "current_retriever"]

log = logging.getLogger(__name__)

BUSY = ("queued", "indexing")


@dataclass(frozen=True)
class BuildStatus:
    """Where a collection's index stands."""

    collection: str
    state: str = "ready"
    """``ready`` (nothing asked since the server started), ``queued``, ``indexing``, ``done``,
    ``failed`` (the previous index still answers), ``stopped`` (on request; the previous index
    still answers) or ``empty`` (no documents)."""
    message: str = ""
    embedded: int = 0
    """Windows embedded so far in the running build."""
    to_embed: int = 0
    """Windows the running build has to embed (unchanged documents are reused, not counted)."""
    reused: int = 0
    documents: int = 0
    windows: int = 0
    built_at: str = ""
    skipped: tuple[str, ...] = ()
    """Files the last build could not read, each with the reader's message."""
    generation: int = 0
    """How many builds this server has published for the collection."""
    updated: float = 0.0

    @property
    def busy(self) -> bool:
        return self.state in BUSY


class _Job:
    def __init__(self, name: str) -> None:
        self.pending = False
        self.thread: threading.Thread | None = None
        self.status = BuildStatus(name)
        self.forgotten = False
        """Its collection was deleted while it ran: dropped when it ends, unless asked again."""


class Registry:
    """The retrievers of every collection; thread-safe; swaps a collection's retriever when its
    rebuild is published."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        *,
        default: Retriever | None = None,
        live: Callable[[Retriever, Settings], Retriever] | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self._live = live
        """Wraps each collection's retriever opened here in one that follows the index's
        published build (the server's :class:`~qa.web.live.LiveRetriever`), so a build published
        by another process (a second replica's upload, ``qa index --collection``) is answered
        from too; without it a collection's retriever changes only with this registry's builds."""
        self._retrievers: dict[str, Retriever] = {}
        if default is not None:
            self._retrievers[DEFAULT] = default
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._opening = threading.Lock()

    def get(self, name: object = None) -> Retriever:
        """The live retriever of collection ``name`` (None: the default collection).

        CollectionNameError for a malformed name, UnknownCollectionError for an unknown one,
        EmptyCollectionError when it has no index yet. A retriever that follows the published
        build is asked for its current one: each caller holds one index for its whole request,
        and a request that only reads documents (a listing, a document page) sees the newest.
        """
        collection = get_collection(self.settings, name)
        with self._lock:
            found = self._retrievers.get(collection.name)
        if found is not None:
            return current_retriever(found)
        with self._opening:
            with self._lock:
                found = self._retrievers.get(collection.name)
            if found is not None:
                return current_retriever(found)
            settings = collection_settings(self.settings, collection.name)
            try:
                index = open_index(settings)
            except IndexMissingError:
                if self.status(collection.name).busy:
                    raise EmptyCollectionError(
                        f"the collection {collection.name!r} is being indexed; ask again in a moment"
                    ) from None
                raise EmptyCollectionError(
                    f"the collection {collection.name!r} has no indexed documents yet; upload some"
                ) from None
            retriever = self._follow(Retriever(index, self.embedder, settings), settings)
            with self._lock:
                return current_retriever(self._retrievers.setdefault(collection.name, retriever))

    def _follow(self, retriever: Retriever, settings: Settings) -> Retriever:
        return self._live(retriever, settings) if self._live is not None else retriever

    def holds(self, source: str) -> bool:
        """Whether the live index of some collection holds ``source``."""
        for name in collection_names(self.settings):
            try:
                if source in {d.source for d in self.get(name).index.documents}:
                    return True
            except QAError:
                continue
        return False

    def status(self, name: object = None) -> BuildStatus:
        name = get_collection(self.settings, name).name
        with self._lock:
            job = self._jobs.get(name)
            return job.status if job else BuildStatus(name)

    def rebuild(self, name: object = None) -> BuildStatus:
        """Start (or queue) an incremental rebuild of one collection; returns its status now."""
        name = get_collection(self.settings, name).name
        with self._lock:
            job = self._jobs.setdefault(name, _Job(name))
            job.pending, job.forgotten = True, False
            if not job.status.busy:
                job.status = replace(job.status, state="queued", message="", updated=time.time())
            if job.thread is None:
                job.thread = threading.Thread(target=self._run, args=(name, job), daemon=True)
                job.thread.start()
            self._changed.notify_all()
            return job.status

    def wait(self, name: object = None, *, timeout: float = 60.0) -> BuildStatus:
        """Block until the collection has no build running or queued (or ``timeout`` passes)."""
        name = get_collection(self.settings, name).name
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                job = self._jobs.get(name)
                if job is None or (job.thread is None and not job.status.busy):
                    return job.status if job else BuildStatus(name)
                left = deadline - time.monotonic()
                if left <= 0:
                    return job.status
                self._changed.wait(left)

    def forget(self, name: str) -> None:
        """Drop a deleted collection's retriever and its last build's status, so a collection
        made again under its name starts clean; a build still running discards its result, and
        its status goes when it ends (unless the new collection asked for a build meanwhile)."""
        with self._lock:
            self._retrievers.pop(name, None)
            job = self._jobs.get(name)
            if job is None:
                return
            if job.thread is None and not job.pending:
                del self._jobs[name]
            else:
                job.forgotten = True
            self._changed.notify_all()

    # the worker --------------------------------------------------------------------------

    def _set(self, job: _Job, **changes) -> None:
        with self._lock:
            job.status = replace(job.status, updated=time.time(), **changes)
            self._changed.notify_all()

    def _run(self, name: str, job: _Job) -> None:
        while True:
            with self._lock:
                if not job.pending:
                    job.thread = None
                    if job.forgotten and self._jobs.get(name) is job:
                        del self._jobs[name]
                    self._changed.notify_all()
                    return
                job.pending = False
            try:
                self._build(name, job)
            except Exception as exc:  # a worker must never die silently
                log.error("rebuilding collection %s failed", name, exc_info=exc)
                self._set(job, state="failed", message="unexpected error; the server log has the details")

    def _build(self, name: str, job: _Job) -> None:
        self._set(job, state="indexing", message="reading documents", embedded=0, to_embed=0, reused=0)
        try:
            settings = collection_settings(self.settings, name)
        except QAError as exc:  # deleted meanwhile
            self._set(job, state="failed", message=str(exc))
            return

        def progress(done: int, total: int) -> None:
            self._set(job, embedded=done, to_embed=total)

        def stage(p: BuildProgress) -> None:  # "reading documents: 2/5 (...)", "embedding: ..."
            self._set(job, message=format_progress(p))

        try:
            report = ensure_index(settings, self.embedder, progress=progress, stages=stage)
        except NoSourcesError:
            self._clear(name, settings)
            self._set(job, state="empty", message="no documents", documents=0, windows=0, skipped=())
            return
        except BuildStoppedError as exc:
            log.info("collection %s: build stopped on request; the previous index still answers", name)
            self._set(job, state="stopped", message=str(exc))
            return
        except QAError as exc:
            log.warning("collection %s: the build failed, the previous index still answers: %s", name, exc)
            self._set(job, state="failed", message=str(exc))
            return
        self._set(job, message="loading the new index")
        retriever = Retriever(report.index, self.embedder, settings)
        retriever.warm_up()
        if not _exists(self.settings, name):
            self._set(job, state="failed", message="the collection was deleted")
            return
        with self._lock:
            current = self._retrievers.get(name)
            live = callable(getattr(current, "refresh", None))  # follows the published build (server)
            if not live:
                self._retrievers[name] = self._follow(retriever, settings)
            generation = job.status.generation + 1
        if live:
            current.refresh(wait=True)  # swapped in (or kept, with a warning) before "done"
        documents = len(report.index.documents)
        log.info(
            "collection %s: index %s, %s document%s, %s windows",
            name,
            report.status,
            f"{documents:,}",
            "" if documents == 1 else "s",
            f"{len(report.index):,}",
        )
        self._set(
            job,
            state="queued" if job.pending else "done",
            message=report.status,
            embedded=report.embedded,
            to_embed=report.embedded,
            reused=report.reused,
            documents=len(report.index.documents),
            windows=len(report.index),
            built_at=report.index.manifest.built_at,
            skipped=tuple(report.skipped),
            generation=generation,
        )

    def _clear(self, name: str, settings: Settings) -> None:
        """No documents left: unpublish the index so nothing answers from removed files."""
        with self._lock:
            self._retrievers.pop(name, None)
        if settings.index_dir.is_dir():
            with build_lock(settings.index_dir), contextlib.suppress(FileNotFoundError):
                (settings.index_dir / POINTER).unlink()


def current_retriever(retriever) -> Retriever:
    """The retriever to answer with now: a following one's current retriever (which looks for a
    newer build as it is asked for), else ``retriever`` itself."""
    return getattr(retriever, "current", retriever)


def _exists(settings: Settings, name: str) -> bool:
    try:
        list_files(settings, name)
    except QAError:
        return False
    return True
