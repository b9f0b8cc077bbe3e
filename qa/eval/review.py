"""Thumbs-down feedback from the chat page turned into question rows for a course author to review.

One row per distinct question (case and spacing ignored), in the order first rated down. The id
is a hash of the question, so exporting again gives the same ids. ``answer_phrases`` and
``kind`` are left empty for the reviewer to fill in; the query as searched, whether the bot
abstained, the passages shown, the comments and the count of thumbs down come along. The rows
are a valid question file (JSONL or CSV) once completed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.errors import QuestionFileError
from qa.eval.files import atomic_write, csv_text

__all__ = ["REVIEW_SUFFIXES", "check_review_path", "review_jsonl", "review_rows", "write_question_rows"]

REVIEW_SUFFIXES = (".jsonl", ".ndjson", ".csv")
REVIEW_COLUMNS = (
    "id",
    "question",
    "expected",
    "kind",
    "query",
    "abstained",
    "context",
    "comments",
    "thumbs_down",
    "rated_at",
)


def review_rows(records: Iterable[Any]) -> list[dict[str, Any]]:
    """Thumbs-down :class:`~qa.feedback.FeedbackRecord` s as question-file rows, one per question."""
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        key = " ".join(record.question.lower().split())
        if record.rating != "down" or not key:
            continue
        row = rows.get(key)
        if row is None:
            rows[key] = row = _new_row(record, key)
        row["thumbs_down"] += 1
        comment = record.comment.strip()
        if comment and comment not in row["comments"]:
            row["comments"].append(comment)
    return list(rows.values())


def _new_row(record: Any, key: str) -> dict[str, Any]:
    return {
        "id": "fb-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10],
        "question": record.question.strip(),
        "answer_phrases": [],
        "kind": "",
        "query": record.query or record.question.strip(),
        "abstained": record.abstained,
        "context": [{k: p.get(k) for k in ("source", "start", "end", "text")} for p in record.passages],
        "comments": [],
        "thumbs_down": 0,
        "rated_at": record.time,
    }


def check_review_path(path: Path | None) -> None:
    """Refuse an export file that is neither JSONL nor CSV, before anything is read."""
    if path is not None and Path(path).suffix.lower() not in REVIEW_SUFFIXES:
        raise QuestionFileError(f"{path}: export to a .jsonl or .csv file")


def review_jsonl(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as JSONL text, one question per line."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_question_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows from :func:`review_rows` as a question file: JSONL, or CSV with an empty ``expected``.

    In the CSV, text that a spreadsheet would run as a formula gets a leading ' (a question or a
    comment typed into the chat can start with ``=``); reading the file back removes it.
    """
    path = Path(path)
    check_review_path(path)
    if path.suffix.lower() != ".csv":
        atomic_write(path, review_jsonl(rows))
        return
    table = [
        [
            r["id"],
            r["question"],
            "",
            r.get("kind", ""),
            r.get("query", ""),
            "yes" if r.get("abstained") else "no",
            _context(r.get("context", ())),
            " / ".join(r.get("comments", ())),
            r.get("thumbs_down", 1),
            r.get("rated_at", ""),
        ]
        for r in rows
    ]
    atomic_write(path, csv_text(REVIEW_COLUMNS, table))


def _context(passages: Iterable[Mapping[str, Any]]) -> str:
    """The passages shown, each as "[source start–end] text", separated by blank lines."""
    return "\n\n".join(
        f"[{p.get('source')} {p.get('start')}\u2013{p.get('end')}] {p.get('text') or ''}" for p in passages
    )
