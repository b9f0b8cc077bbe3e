"""Stopping a running build on request, cooperatively, from any process sharing its index folder.

A request is a file, :data:`STOP`, beside the build lock (:func:`request_stop`, e.g. from the
admin page of any server replica). The build looks for it between stages, documents and
embedding batches (:class:`StopCheck`) and then raises :class:`~qa.errors.BuildStoppedError`:
nothing of the stopped build is published, the previous index keeps answering, the build's
temporary folder is removed and the lock released. What happened stays in :data:`STOPPED`
(:func:`stopped`) until the next build starts, so every process can say it.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qa.atomic import atomic_write
from qa.errors import BuildStoppedError

__all__ = [
    "STOP",
    "STOPPED",
    "StopCheck",
    "Stopped",
    "forget_stop",
    "forget_stopped",
    "record_stop",
    "request_stop",
    "stopped",
]

STOP = ".stop"
"""A request to stop the running build (its time is the file's modification time)."""
STOPPED = ".stopped"
"""What the last stopped build left: when it stopped and which build still answers."""


@dataclass(frozen=True)
class Stopped:
    """A build stopped on request."""

    stopped_at: str
    """When it stopped (ISO 8601, UTC)."""
    answers_from: str
    """The ``built_at`` of the index that still answers ('' when there is none)."""

    @property
    def answering(self) -> str:
        """When the index still answering was built, as people read it ('2026-11-26 16:56 UTC';
        '' when there is none)."""
        return _readable(self.answers_from) if self.answers_from else ""

    @property
    def message(self) -> str:
        """'Build stopped; the course still answers from the documents of <time>' (or that it has
        no indexed documents yet)."""
        if not self.answers_from:
            return "Build stopped; the course has no indexed documents yet"
        return f"Build stopped; the course still answers from the documents of {self.answering}"


def _readable(iso: str) -> str:
    """'2026-11-26T16:56:01+00:00' as '2026-11-26 16:56 UTC' (as given if it is not such a time)."""
    try:
        at = datetime.fromisoformat(iso).astimezone(timezone.utc)
    except ValueError:
        return iso
    return at.strftime("%Y-%m-%d %H:%M UTC")


def request_stop(index_dir: Path) -> None:
    """Ask the build running on ``index_dir`` (in any process) to stop at its next check."""
    index_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(index_dir / STOP, datetime.now(timezone.utc).isoformat(timespec="seconds"), mode=0o666)


class StopCheck:
    """Raises :class:`~qa.errors.BuildStoppedError` when called after a stop was requested for
    ``index_dir`` since ``since`` (a :func:`time.time`; an older request, left by a build that ended
    before it looked, is removed). Call only while holding the build lock."""

    def __init__(self, index_dir: Path, *, since: float) -> None:
        self.path = index_dir / STOP
        with contextlib.suppress(OSError):
            if self.path.stat().st_mtime < since:
                self.path.unlink()

    def __call__(self) -> None:
        if self.path.exists():
            raise BuildStoppedError("the build was stopped on request; the previous index still answers")


def forget_stop(index_dir: Path) -> None:
    """Remove a stop request (a build ends: one coming too late must not stop the next)."""
    with contextlib.suppress(OSError):
        (index_dir / STOP).unlink(missing_ok=True)


def forget_stopped(index_dir: Path) -> None:
    """Remove the record of an earlier stopped build (a new build starts)."""
    with contextlib.suppress(OSError):
        (index_dir / STOPPED).unlink(missing_ok=True)


def record_stop(index_dir: Path, *, answers_from: str) -> Stopped:
    """Keep that a build on ``index_dir`` stopped, with the ``built_at`` of the index still
    answering ('' if none), for :func:`stopped`."""
    record = Stopped(datetime.now(timezone.utc).isoformat(timespec="seconds"), answers_from)
    with contextlib.suppress(OSError):
        (index_dir / STOP).unlink(missing_ok=True)
        atomic_write(index_dir / STOPPED, json.dumps(record.__dict__), mode=0o666)
    return record


def stopped(index_dir: Path) -> Stopped | None:
    """The record of the last build stopped on ``index_dir`` if no build started since (None)."""
    try:
        data = json.loads((index_dir / STOPPED).read_text(encoding="utf-8"))
        return Stopped(str(data["stopped_at"]), str(data["answers_from"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
