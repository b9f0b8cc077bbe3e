"""Append-only JSON-lines files (the feedback file, the question log): one record a line.

Each record is written with one ``write`` on a file opened in append mode while holding an
exclusive ``flock``, so concurrent writers (threads or processes) never interleave or lose
lines. Reading skips a torn or malformed line instead of failing. A record is at most
``MAX_RECORD_BYTES``, and a file stops taking records at the size the caller gives. Records are
removed (an author clearing a course's records) under the same lock, the file rewritten in place,
so a writer waiting for the lock appends after the rewrite and loses nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qa.errors import RecordFileError

__all__ = ["MAX_RECORD_BYTES", "append_json_line", "drop_json_lines", "read_json_lines"]

MAX_RECORD_BYTES = 256 * 1024


def append_json_line(
    path: Path, data: dict[str, Any], *, what: str, max_bytes: int | None = None, when_full: str = ""
) -> None:
    """Append ``data`` as one JSON line with one ``write`` under an exclusive lock.

    Refused (:class:`~qa.errors.RecordFileError`) when the line is over ``MAX_RECORD_BYTES`` or
    the file would grow past ``max_bytes``; ``what`` names the file in the message ("feedback")
    and ``when_full`` says what to do about a full one.
    """
    line = (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
    if len(line) > MAX_RECORD_BYTES:
        raise RecordFileError(f"a {what} record is at most {MAX_RECORD_BYTES // 1024} KiB")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RecordFileError(f"cannot open the {what} file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if max_bytes is not None and os.fstat(fd).st_size + len(line) > max_bytes:
            raise RecordFileError(f"the {what} file is full ({max_bytes // 2**20} MiB){when_full}")
        view = memoryview(line)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        raise RecordFileError(f"cannot write the {what} file: {exc.strerror}") from None
    finally:
        os.close(fd)  # closing releases the lock


def read_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects in ``path``, in order; nothing when it does not exist. A line that is
    not a JSON object (a torn last line, say) is skipped."""
    if not path.exists():
        return
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                yield data


def drop_json_lines(path: Path, drop: Callable[[dict[str, Any]], bool], *, what: str) -> int:
    """Remove the records ``drop`` picks from ``path`` under the writers' lock; the number
    removed (0 when the file does not exist). Other lines stay as they were, byte for byte."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise RecordFileError(f"cannot open the {what} file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        kept, removed = [], 0
        for line in b"".join(chunks).splitlines(keepends=True):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            if isinstance(data, dict) and drop(data):
                removed += 1
            else:
                kept.append(line)
        if removed:
            body = memoryview(b"".join(kept))
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            while body:
                body = body[os.write(fd, body) :]
            os.fsync(fd)
        return removed
    except OSError as exc:
        raise RecordFileError(f"cannot rewrite the {what} file: {exc.strerror}") from None
    finally:
        os.close(fd)  # closing releases the lock
