"""Thumbs up / down on answers, kept in an append-only JSONL file (see :mod:`qa.records`:
safe under concurrent writers, a torn last line skipped on reading).

Records are bounded: one is at most ``MAX_RECORD_BYTES`` and the file stops taking new ones at
the size the caller gives (``feedback_max_bytes``), so no one can fill the disk with ratings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qa.errors import QAError, RecordFileError
from qa.records import append_json_line, read_json_lines
from qa.render import passage_json

__all__ = [
    "FeedbackError",
    "FeedbackRecord",
    "append_feedback",
    "passages_shown",
    "read_feedback",
]

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000


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
    try:
        append_json_line(
            path,
            record.to_dict(),
            what="feedback",
            max_bytes=max_bytes,
            when_full="; export it with `qa feedback export` and move it away",
        )
    except RecordFileError as exc:
        raise FeedbackError(str(exc)) from None


def read_feedback(path: Path) -> Iterator[FeedbackRecord]:
    """The records in ``path`` in order; lines that are not valid records are skipped."""
    for data in read_json_lines(path):
        try:
            yield FeedbackRecord.from_dict(data)
        except (ValueError, TypeError, FeedbackError):
            continue


def passages_shown(passages: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    """Passages as stored in a record (accepts :class:`~qa.answer.Passage` or dicts)."""
    return tuple(p if isinstance(p, dict) else passage_json(p) for p in passages)
