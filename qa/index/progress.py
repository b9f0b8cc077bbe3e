"""How far a build is: its stage (reading documents, cutting them into windows, loading the
model, embedding windows, saving), counts, speed
and time left; one line of text for logs and status pages, a progress bar on a terminal.

:func:`qa.index.build.ensure_index` reports a :class:`BuildProgress` to its ``stages``
callback; :func:`format_progress` turns one into the line the admin page's status and the
plain (non-terminal) output of ``qa index`` show; :class:`ProgressPrinter` prints them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["BuildProgress", "ProgressPrinter", "RecentRate", "format_progress"]

READING, CUTTING, LOADING, EMBEDDING, SAVING = "reading", "cutting", "loading", "embedding", "saving"
PLAIN_STEPS = 10
"""Without a terminal a stage prints a line each tenth of the way (and its first and last)."""
RECENT_SECONDS = 30.0
"""The embedding's speed and time left are measured over about this many last seconds."""


@dataclass(frozen=True)
class BuildProgress:
    """One stage's progress: ``done`` of ``total`` items (documents when reading, characters of
    text when cutting it into windows, windows when embedding) after ``seconds``; ``pages`` (or
    slides) read so far when reading, counted only for formats that have pages. Loading the
    model (exported to ONNX on a first start) comes before the embedding, so the embedding's
    count and speed start when the model is ready."""

    stage: str
    done: int
    total: int
    seconds: float
    pages: int = 0
    current: str = ""
    """The document just read."""
    since: tuple[float, int] = (0.0, 0)
    """``(seconds, done)`` the embedding's speed is measured from: its start, or a recent point
    (:class:`RecentRate`). Windows are embedded shortest first and a shared machine slows down,
    so the speed since the start was higher than the speed now and the time left ran low."""

    @property
    def unit(self) -> str:
        return {READING: "documents", CUTTING: "characters"}.get(self.stage, "windows")

    @property
    def rate(self) -> float:
        """Pages per second when reading, windows per second when embedding (since ``since``;
        0 before any)."""
        if self.stage == READING:
            return self.pages / self.seconds if self.seconds > 0 else 0.0
        seconds, done = self.seconds - self.since[0], self.done - self.since[1]
        return done / seconds if seconds > 0 and done > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds to the end of the stage at the recent speed (None until there is one)."""
        if self.stage == READING:  # documents, not pages
            rate = self.done / self.seconds if self.seconds > 0 else 0.0
        else:
            rate = self.rate
        if rate <= 0:
            return None
        return (self.total - self.done) / rate

    @property
    def finished(self) -> bool:
        return self.done >= self.total


@dataclass
class RecentRate:
    """The point a running stage's speed is measured from: the last ``(seconds, done)`` reported
    at least ``span`` seconds before the newest (the stage's start until then)."""

    span: float = RECENT_SECONDS
    _points: deque = field(default_factory=deque)

    def add(self, seconds: float, done: int) -> tuple[float, int]:
        """Note progress ``done`` at ``seconds``; the point to measure the speed from."""
        self._points.append((seconds, done))
        while len(self._points) > 2 and self._points[1][0] <= seconds - self.span:
            self._points.popleft()
        return self._points[0]


def format_progress(p: BuildProgress) -> str:
    """One line: "reading documents: 3/6 (41 pages, 190 pages/s)" ("reading documents: 2/2"
    when none of them has pages: text, Markdown, web pages, Word), "cutting the documents into
    windows: 40% of 5,800,000 characters", "loading the embedding
    model ...", "embedding: 1,200/4,000 windows (310 windows/s, about 9 s left)" or "saving the
    index"."""
    if p.stage == SAVING:
        return "saving the index"
    if p.stage == LOADING:
        return "loading the embedding model ..."
    if p.stage == CUTTING:
        share = 100 * p.done // max(p.total, 1)
        return f"cutting the documents into windows: {share}% of {p.total:,} characters"
    if p.stage == READING:
        if not p.pages:
            return f"reading documents: {p.done:,}/{p.total:,}"
        pages = f"{p.pages:,} page" + ("" if p.pages == 1 else "s")
        return f"reading documents: {p.done:,}/{p.total:,} ({pages}, {p.rate:,.0f} pages/s)"
    line = f"embedding: {p.done:,}/{p.total:,} windows ({p.rate:,.0f} windows/s"
    left = p.seconds_left
    if left is not None and not p.finished:
        line += f", about {left:,.0f} s left"
    return line + ")"


class ProgressPrinter:
    """Prints build progress to ``stream``: a tqdm bar per stage on a terminal, else plain lines
    (:func:`format_progress`) at the start, every tenth and the end of each stage."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._stage = ""
        self._step = -1
        self._bar = None

    def __call__(self, p: BuildProgress) -> None:
        if p.stage != self._stage:
            self.close()
            self._stage, self._step = p.stage, -1
        if self.tty:
            self._draw(p)
            return
        step = PLAIN_STEPS if p.finished else (p.done * PLAIN_STEPS) // max(p.total, 1)
        if step != self._step:
            self._step = step
            print(format_progress(p), file=self.stream, flush=True)

    def _draw(self, p: BuildProgress) -> None:
        if p.stage in (LOADING, SAVING):
            print(format_progress(p), file=self.stream, flush=True)
            return
        if self._bar is None:
            from tqdm import tqdm

            desc = {READING: "reading documents", CUTTING: "cutting into windows"}.get(p.stage, "embedding")
            unit = {READING: "doc", CUTTING: "char"}.get(p.stage, "window")
            self._bar = tqdm(total=p.total, desc=desc, unit=unit, file=self.stream, leave=True)
        self._bar.update(p.done - self._bar.n)
        if p.stage == READING and p.pages:
            self._bar.set_postfix_str(f"{p.pages} pages, {p.rate:.0f} pages/s", refresh=True)
        if p.finished:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
