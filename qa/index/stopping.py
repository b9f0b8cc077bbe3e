"""Stopping a running build on request, cooperatively, from any process sharing its index folder,
and the builds queued behind it.

A request is a file, :data:`STOP`, beside the build lock (:func:`request_stop`, e.g. from the
admin page of any server replica). The build looks for it between stages, documents and
embedding batches (:class:`StopCheck`) and then raises :class:`~qa.errors.BuildStoppedError`:
nothing of the stopped build is published, the previous index keeps answering, the build's
temporary folder is removed and the lock released. What happened stays in :data:`STOPPED`
(:func:`stopped`).

A stop stands until a new build is asked for (:func:`withdraw_stop`: an upload, a deletion,
``qa index``, a server start): a build asked for before it and still queued (waiting for the
lock, or a server's next build coalesced behind the running one) is cancelled when it would
begin, or while it waits for the lock, and the record says so.
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
    "record_stop",
    "request_stop",
    "stopped",
    "withdraw_stop",
]

STOP = ".stop"
"""A request to stop the running build (its time is the file's modification time)."""
STOPPED = ".stopped"
"""What the last stopped build left: when it stopped and which build still answers. It stands,
like :data:`STOP`, until a new build is asked for."""


@dataclass(frozen=True)
class Stopped:
    """A build stopped on request."""

    stopped_at: str
    """When it stopped (ISO 8601, UTC)."""
    answers_from: str
    """The ``built_at`` of the index that still answers ('' when there is none)."""
    running: bool = True
    """A running build was stopped."""
    queued: bool = False
    """A build queued behind it (or waiting for the lock) was cancelled before it began."""

    @property
    def answering(self) -> str:
        """When the index still answering was built, as people read it ('2026-11-26 16:56 UTC';
        '' when there is none)."""
        return _readable(self.answers_from) if self.answers_from else ""

    @property
    def message(self) -> str:
        """'Build stopped; the course still answers from the documents of <time>' (or that it has
        no indexed documents yet), saying too when a queued build was cancelled."""
        what = {
            (True, False): "Build stopped",
            (True, True): "Build stopped, and the build queued after it cancelled",
            (False, True): "Queued build cancelled before it began",
        }.get((self.running, self.queued), "Build stopped")
        if not self.answers_from:
            return f"{what}; the course has no indexed documents yet"
        return f"{what}; the course still answers from the documents of {self.answering}"


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
    """Raises :class:`~qa.errors.BuildStoppedError` when called while a stop stands for
    ``index_dir``: a request (:data:`STOP`) not yet carried out, or, with ``queued=True`` (a
    build about to begin, or waiting for the lock), also the record of one carried out
    (:data:`STOPPED`), as neither was withdrawn by a new build request since."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / STOP
        self.record = index_dir / STOPPED

    def __call__(self, *, queued: bool = False) -> None:
        if self.path.exists():
            raise BuildStoppedError("the build was stopped on request; the previous index still answers")
        if queued and self.record.exists():
            raise BuildStoppedError(
                "the build was cancelled before it began: a stop was asked for while it was queued; "
                "the previous index still answers"
            )


def withdraw_stop(index_dir: Path) -> None:
    """A new build of ``index_dir`` is asked for: a stop asked before it, and the record of a
    build it stopped, no longer apply (call before starting or queueing the build)."""
    for name in (STOP, STOPPED):
        with contextlib.suppress(OSError):
            (index_dir / name).unlink(missing_ok=True)


def record_stop(
    index_dir: Path, *, answers_from: str, queued: bool = False, carried_out: bool = True
) -> Stopped:
    """Keep that a build on ``index_dir`` stopped (``queued``: was cancelled before it began),
    with the ``built_at`` of the index still answering ('' if none), for :func:`stopped`; a
    record left since the stop by another build of the same folder is completed, not replaced.
    ``carried_out`` (the caller holds the build lock): the request's file is removed, and the
    record stands for the builds still queued."""
    earlier = stopped(index_dir)
    record = Stopped(
        earlier.stopped_at if earlier else datetime.now(timezone.utc).isoformat(timespec="seconds"),
        answers_from,
        running=not queued or (earlier is not None and earlier.running),
        queued=queued or (earlier is not None and earlier.queued),
    )
    with contextlib.suppress(OSError):
        if carried_out:
            (index_dir / STOP).unlink(missing_ok=True)
        atomic_write(index_dir / STOPPED, json.dumps(record.__dict__), mode=0o666)
    return record


def stopped(index_dir: Path) -> Stopped | None:
    """The record of the last build stopped on ``index_dir`` if no build was asked for since (None)."""
    try:
        data = json.loads((index_dir / STOPPED).read_text(encoding="utf-8"))
        return Stopped(
            str(data["stopped_at"]),
            str(data["answers_from"]),
            bool(data.get("running", True)),
            bool(data.get("queued", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
