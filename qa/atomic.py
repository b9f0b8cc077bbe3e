"""Replacing a file so that a reader sees the old or the new content, never a mix, even after a
crash: the one way the index pointer, collection settings, uploads and evaluation outputs are
written."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "current_umask", "file_sha256", "fsync_path"]


def file_sha256(path: Path) -> str:
    """SHA-256 of ``path``'s bytes, read in 1 MiB blocks (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask (read from ``/proc`` where it can be, so it is never changed)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: str | bytes, *, make_folder: bool = True, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` (text as UTF-8): write a hidden temporary file beside it,
    flush it to disk, rename it over, flush the folder. On any failure the temporary file goes
    and ``path`` is as it was; the error (``OSError``) is raised. ``make_folder``: create the
    missing folders above ``path`` first (otherwise a missing folder is an error). The file is
    private (0600) unless ``mode`` is given: then it gets ``mode`` less the umask, as
    ``open()`` would make it (0666 for a file a user writes: 0644 under the usual umask)."""
    path = Path(path)
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
