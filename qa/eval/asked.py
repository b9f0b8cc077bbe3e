"""What learners asked: an opt-in log of questions (``QA_LOG_QUESTIONS``), and the views an
author needs from it — the most asked questions, the ones the bot declined (content the course
lacks) and the thumbs-down answers — each exportable as rows of an evaluation question file.

Only the question, the query as searched, the collection, whether it abstained, the evidence
and the cited sources are kept: no client address, no key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qa.answer import Answer
from qa.eval.files import csv_text
from qa.feedback import FeedbackRecord
from qa.records import append_json_line, drop_json_lines, read_json_lines
from qa.render import decision

__all__ = [
    "VIEWS",
    "AskedQuestion",
    "AskedRecord",
    "clear_asked",
    "eval_rows",
    "log_question",
    "read_asked",
    "rows_csv",
    "rows_jsonl",
    "summarise",
]

VIEWS = ("most-asked", "declined", "thumbs-down")


@dataclass(frozen=True)
class AskedRecord:
    """One question as asked, and what the bot did with it."""

    collection: str
    question: str
    query: str = ""
    abstained: bool = False
    evidence: float = 0.0
    sources: tuple[str, ...] = ()
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    reason: str = ""
    """Why it declined, with the deciding figures ('' for an answer): for the author, who sees
    what the course lacks; learners were told in plain words."""

    @classmethod
    def of(cls, collection: str, answer: Answer) -> AskedRecord:
        return cls(
            collection=collection,
            question=answer.question,
            query=answer.query or answer.question,
            abstained=answer.abstained,
            evidence=round(float(answer.evidence), 4),
            sources=tuple(dict.fromkeys(p.citation.source for p in answer.passages)),
            reason=decision(answer) if answer.abstained else "",
        )


@dataclass(frozen=True)
class AskedQuestion:
    """One distinct question (case, spacing, end punctuation and curly or straight apostrophes
    ignored) in a view."""

    id: str
    question: str
    asked: int
    declined: int
    thumbs_down: int
    last: str
    comments: tuple[str, ...] = ()
    reason: str = ""
    """Why it was last declined (the deciding figures), '' if never."""
    answered_since: str = ""
    """When it was first answered after it was last declined ('' if it was never declined, or its
    last asking was declined too): an author who added material sees which declined questions
    it fixed."""


def log_question(path: Path, record: AskedRecord) -> None:
    """Append one record (safe under concurrent writers)."""
    append_json_line(path, {**asdict(record), "sources": list(record.sources)}, what="question log")


def read_asked(path: Path) -> Iterator[AskedRecord]:
    """The records in ``path`` in order; malformed lines are skipped."""
    for data in read_json_lines(path):
        try:
            yield AskedRecord(**{**data, "sources": tuple(data.get("sources") or ())})
        except (ValueError, TypeError):
            continue


def clear_asked(questions_path: Path, feedback_path: Path, *, collection: str) -> int:
    """Remove one collection's records, the questions asked and the ratings given (an author
    clearing its views, a collection deleted, so one made again under its name starts empty);
    the number removed. Other collections' records stay as they were."""

    def of_it(data: dict[str, Any]) -> bool:
        return data.get("collection", "default") == collection  # feedback from before collections: default

    return drop_json_lines(questions_path, of_it, what="question log") + drop_json_lines(
        feedback_path, of_it, what="feedback"
    )


_SAME_MARKS = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "？": "?", "！": "!", "。": "."}
)
"""A phone's typographic apostrophes and quotes ("What’s", smart punctuation) and full-width end
marks read as the keyboard's, so the same question typed on a phone and on a laptop is one."""


def _key(question: str) -> str:
    return " ".join(question.lower().translate(_SAME_MARKS).split()).rstrip("?!. ")


def _id(key: str) -> str:
    return "asked-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


def summarise(
    view: str,
    asked: Iterable[AskedRecord],
    feedback: Iterable[FeedbackRecord],
    *,
    collection: str,
    limit: int = 100,
) -> list[AskedQuestion]:
    """The questions of one view for one collection, most frequent first (in the declined view,
    those answered since they were last declined after the others)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}")
    groups: dict[str, dict[str, Any]] = {}

    def group(question: str, time: str) -> dict[str, Any]:
        key = _key(question)
        empty = {"question": question, "asked": 0, "declined": 0, "down": 0, "last": "", "comments": []}
        g = groups.setdefault(key, {**empty, "reason": "", "answered_since": ""})
        g["last"] = max(g["last"], time)
        return g

    for record in asked:
        if record.collection == collection:
            g = group(record.question, record.time)
            g["asked"] += 1
            g["declined"] += int(record.abstained)
            if record.abstained:
                g["answered_since"] = ""
                if record.reason:
                    g["reason"] = record.reason  # records are in time order: the latest stays
            elif g["declined"] and not g["answered_since"]:
                g["answered_since"] = record.time
    for record in feedback:
        if record.rating == "down" and getattr(record, "collection", "default") == collection:
            g = group(record.question, record.time)
            g["down"] += 1
            if record.comment:
                g["comments"].append(record.comment)
    wanted = {"most-asked": "asked", "declined": "declined", "thumbs-down": "down"}[view]
    rows = [
        AskedQuestion(
            _id(k),
            g["question"],
            g["asked"],
            g["declined"],
            g["down"],
            g["last"],
            tuple(g["comments"]),
            g["reason"],
            g["answered_since"],
        )
        for k, g in groups.items()
        if g[wanted] > 0
    ]
    order = {
        "most-asked": lambda q: q.asked,
        "declined": lambda q: q.declined,
        "thumbs-down": lambda q: q.thumbs_down,
    }
    # what the course still lacks before what new material has answered since
    rows.sort(
        key=lambda q: (view == "declined" and bool(q.answered_since), -order[view](q), q.question.lower())
    )
    return rows[:limit]


def eval_rows(questions: Iterable[AskedQuestion], *, view: str, collection: str) -> list[dict[str, Any]]:
    """Rows for the evaluation question file (``qa eval``): fill in ``answer_phrases`` (or mark
    ``kind`` ``unanswerable``), then run ``qa eval --collection`` to see whether new material fixed them."""
    return [
        {
            "id": q.id,
            "question": q.question,
            "answer_phrases": [],
            "kind": "",
            "source_view": view,
            "collection": collection,
            "asked": q.asked,
            "declined": q.declined,
            "thumbs_down": q.thumbs_down,
            "comments": list(q.comments),
            "declined_because": q.reason,
            "answered_since": q.answered_since,
        }
        for q in questions
    ]


def rows_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


CSV_COLUMNS = (
    "id",
    "question",
    "expected",
    "kind",
    "source_view",
    "collection",
    "asked",
    "declined",
    "thumbs_down",
    "comments",
    "declined_because",
    "answered_since",
)
"""The admin export's CSV columns: what ``qa eval`` reads, then what the author reviews by."""


def rows_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The rows as the CSV ``qa eval`` reads (``expected`` phrases separated by ``|``), with the
    learners' comments and why each was declined. Every cell is spreadsheet-safe: a question a
    learner typed as ``=HYPERLINK(...)`` shows as text, and ``qa eval`` reads it back as typed."""
    table = []
    for row in rows:
        cells = {
            **row,
            "expected": "|".join(row.get("answer_phrases") or ()),
            "comments": " | ".join(row.get("comments") or ()),
        }
        table.append([cells.get(column, "") for column in CSV_COLUMNS])
    return csv_text(CSV_COLUMNS, table)
