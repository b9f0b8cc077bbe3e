"""Thumbs up / down on answers, kept in an append-only JSONL file.

Each record is written with one ``write`` on a file opened in append mode while holding an
exclusive ``flock``, so concurrent writers (threads or processes) never interleave or lose
lines. Reading skips a torn last line instead of failing.

Records are bounded: one is at most ``MAX_RECORD_BYTES`` and the file stops taking new ones at
the size the caller gives (``feedback_max_bytes``), so no one can fill the disk with ratings.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.render import passage_json

__all__ = [
    "FeedbackError",
    "FeedbackRecord",
    "append_feedback",
    "append_json_line",
    "passages_shown",
    "read_feedback",
]

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
MAX_RECORD_BYTES = 256 * 1024


class FeedbackError(QAError):
    """A feedback record is malformed or cannot be stored."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One rating of one answer, with what the user saw."""

    rating: str
    """``"up"`` or ``"down"``."""
    question: str
    query: str = ""
    """The question as searched (after follow-up resolution)."""
    abstained: bool = False
    passages: tuple[dict[str, Any], ...] = ()
    """The passages shown, as :func:`qa.render.passage_json` gives them."""
    comment: str = ""
    collection: str = "default"
    """The collection that answered."""
    answer_id: str = ""
    """The server's id of the answer rated (one per answer given in a chat session)."""
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        if self.rating not in RATINGS:
            raise FeedbackError(f"rating must be one of {RATINGS}, not {self.rating!r}")
        if len(self.comment) > MAX_COMMENT_CHARS:
            raise FeedbackError(f"a comment is at most {MAX_COMMENT_CHARS} characters")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passages"] = list(self.passages)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedbackRecord:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["passages"] = tuple(known.get("passages") or ())
        return cls(**known)


def append_feedback(path: Path, record: FeedbackRecord, *, max_bytes: int | None = None) -> None:
    """Append ``record`` as one JSON line, safely under concurrent writers.

    Refused (:class:`FeedbackError`) when the record is over ``MAX_RECORD_BYTES`` or the file
    would grow past ``max_bytes``.
    """
    append_json_line(path, record.to_dict(), what="feedback", max_bytes=max_bytes)


def append_json_line(
    path: Path, data: dict[str, Any], *, what: str = "feedback", max_bytes: int | None = None
) -> None:
    """Append ``data`` as one JSON line with one ``write`` under an exclusive lock."""
    line = (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
    if len(line) > MAX_RECORD_BYTES:
        raise FeedbackError(f"a {what} record is at most {MAX_RECORD_BYTES // 1024} KiB")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise FeedbackError(f"cannot open the {what} file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if max_bytes is not None and os.fstat(fd).st_size + len(line) > max_bytes:
            raise FeedbackError(
                f"the feedback file is full ({max_bytes // 2**20} MiB); "
                "export it with `qa feedback export` and move it away"
            )
        view = memoryview(line)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        raise FeedbackError(f"cannot write the {what} file: {exc.strerror}") from None
    finally:
        os.close(fd)  # closing releases the lock


def read_feedback(path: Path) -> Iterator[FeedbackRecord]:
    """The records in ``path`` in order; lines that are not valid records are skipped."""
    if not path.exists():
        return
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                yield FeedbackRecord.from_dict(json.loads(line))
            except (ValueError, TypeError, FeedbackError):
                continue


def passages_shown(passages: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    """Passages as stored in a record (accepts :class:`~qa.answer.Passage` or dicts)."""
    return tuple(p if isinstance(p, dict) else passage_json(p) for p in passages)
