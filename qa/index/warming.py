"""Warming an opened index up: what questions write now, the pages of its files in the background.

A process that serves many questions maps the pages of the index's read-only files (the stored
vectors, FAISS's codes, BM25's postings) into itself once, so questions do not fault them in one
by one. From a cold disk that is the time to read them all (at a million windows 2.3 GB with
float32 vectors, 12 s the first time here; 1.5 GB with float16), so it runs on a daemon thread
and questions are answered meanwhile, slower until the pages are in. The thread only asks the
kernel to map pages of read-only mappings in; it builds nothing a question reads or writes, so it
races with nothing. What questions write (BM25's scratch array for the sums) is made before
:func:`warm_up` returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from qa.index.model import Index

__all__ = ["Warming", "warm_up"]

log = logging.getLogger(__name__)


class Warming:
    """Steps run one after the other on a daemon thread; :attr:`done` once all have returned."""

    def __init__(self, steps: Sequence[Callable[[], object]]) -> None:
        self._steps = list(steps)
        self._done = threading.Event()
        self.started = time.monotonic()
        self.seconds: float | None = None
        """How long the steps took (None while they run)."""

    def start(self) -> Warming:
        threading.Thread(target=self._run, name="qa-warm-up", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            for step in self._steps:
                step()
        except Exception:  # warming is an optimisation: a failure costs speed, never answers
            log.exception("mapping the index's files in failed; questions will read them as they go")
        finally:
            self.seconds = time.monotonic() - self.started
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the steps are done (or ``timeout`` seconds); True when done."""
        return self._done.wait(timeout)


def warm_up(index: Index, *, background: bool = True) -> Warming:
    """Make what questions write now, and map the index's files in on a daemon thread (with
    ``background=False``, before returning). The vector store's files first: a question reads
    a few hundred scattered pages of FAISS's codes and a thousand of the stored vectors, each a
    read from disk while it is cold, where BM25 reads each term's best postings in a few runs."""
    index.lexical.prepare()
    steps: list[Callable[[], object]] = []
    store_warm_up = getattr(index.store, "warm_up", None)  # a store with files to map in
    if store_warm_up is not None:
        steps.append(store_warm_up)
    steps.append(index.lexical.map_in)
    warming = Warming(steps)
    if not background:
        warming._run()
        return warming
    return warming.start()
