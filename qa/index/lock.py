"""One build at a time per index folder: a file lock (``filelock``) held while a build runs, and
a note beside it with the running build's progress line, so another process sharing the folder
(a second server replica, ``qa index``) can tell that a build runs and how far it is."""

from __future__ import annotations

import contextlib
import errno
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from qa.atomic import atomic_write
from qa.errors import IndexLockedError, IndexReadOnlyError

__all__ = ["BUILDING", "LOCK", "WAITING", "ProgressNote", "build_lock", "build_running"]

LOCK = ".lock"
BUILDING = ".building"
"""The running build's progress line ("embedding: 1,200/4,000 windows ..."), kept while it runs."""


WAITING = "waiting for another process building this index (a replica, or qa index)"


@contextlib.contextmanager
def build_lock(
    index_dir: Path,
    *,
    timeout: float = 600.0,
    waiting: Callable[[str], None] | None = None,
    check: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold the index folder's build lock (``filelock``); waits for another build to finish,
    first telling ``waiting`` so (with that build's progress line), as a wait can be minutes,
    and calling ``check`` about every second meanwhile (it raises to give up waiting: a stop)."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK
    if path.is_dir():
        raise IndexLockedError(f"{path} is a folder, not a lock file; remove it and run `qa index` again")
    lock = FileLock(path, timeout=timeout)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if waiting is not None:
                line = build_running(index_dir)
                waiting(f"{WAITING}: {line}" if line else WAITING)
            _wait(lock, timeout, check)
    except Timeout:
        raise IndexLockedError(
            f"another process (a replica, or qa index) has held {path} for {timeout:.0f}s; "
            "wait for it or stop it"
        ) from None
    except OSError as exc:
        kind = (
            IndexReadOnlyError if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) else IndexLockedError
        )
        raise kind(f"cannot take the build lock {path} ({exc.strerror}); fix or remove it") from None
    try:
        yield
    finally:
        lock.release()


def _wait(lock, timeout: float, check: Callable[[], None] | None) -> None:
    """Acquire ``lock`` within ``timeout`` seconds, calling ``check`` between tries of a second."""
    from filelock import Timeout

    if check is None:
        lock.acquire()
        return
    deadline = time.monotonic() + timeout
    while True:
        check()
        try:
            lock.acquire(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
            return
        except Timeout:
            if time.monotonic() >= deadline:
                raise


def build_running(index_dir: Path) -> str | None:
    """The progress line of a build holding ``index_dir``'s lock (in this process or another;
    '' before it said any), or None when no build holds it."""
    from filelock import FileLock, Timeout

    path = index_dir / LOCK
    if not path.is_file():
        return None
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        try:
            return (index_dir / BUILDING).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""
    except OSError:
        return None
    lock.release()
    return None


class ProgressNote:
    """Writes a build's progress lines to ``index_dir``'s :data:`BUILDING` note for
    :func:`build_running`, at most once per ``every`` seconds unless the stage's words change;
    :meth:`close` removes it. Call only while holding the build lock."""

    def __init__(self, index_dir: Path, *, every: float = 1.0) -> None:
        self.path = index_dir / BUILDING
        self.every = every
        self._last = 0.0
        self._stage = ""

    def __call__(self, line: str) -> None:
        stage = line.split(":", 1)[0]
        now = time.monotonic()
        if stage == self._stage and now - self._last < self.every:
            return
        self._stage, self._last = stage, now
        with contextlib.suppress(OSError):
            atomic_write(self.path, line, mode=0o666)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
