"""One build at a time per index folder: a file lock (``filelock``) held while a build runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from qa.errors import IndexLockedError

__all__ = ["LOCK", "build_lock"]

LOCK = ".lock"


@contextlib.contextmanager
def build_lock(index_dir: Path, *, timeout: float = 600.0) -> Iterator[None]:
    """Hold the index folder's build lock (``filelock``); waits for another build to finish."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK
    if path.is_dir():
        raise IndexLockedError(f"{path} is a folder, not a lock file; remove it and run `qa index` again")
    lock = FileLock(path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise IndexLockedError(
            f"another `qa index` has held {path} for {timeout:.0f}s; wait for it or stop it"
        ) from None
    except OSError as exc:
        raise IndexLockedError(
            f"cannot take the build lock {path} ({exc.strerror}); fix or remove it"
        ) from None
    try:
        yield
    finally:
        lock.release()
