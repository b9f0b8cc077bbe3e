"""Question files: JSONL or CSV in, typed :class:`Question` objects out, bad rows reported by line.

JSONL (``.jsonl``, ``.ndjson``, ``.json`` with one object per line): ``id``, ``question``, optional
``answer_phrases`` (a list), ``kind`` (``unanswerable`` when the documents should not answer),
``needs_all`` and ``history`` (the earlier questions of a conversation, oldest first).

CSV (``.csv``, or ``.tsv`` separated by tabs): a ``question`` column, optional ``id`` (default
``q<line>``), ``expected`` (answer phrases separated by ``|``), ``kind``, ``needs_all``
(``true``/``false``) and ``history`` (earlier questions separated by ``|``).

Any other field or column is kept in :attr:`Question.extra` and carried to the outputs. A row
that cannot be used (broken JSON, no question, a duplicate id, extra cells) becomes a
:class:`SkippedRow` naming its line; the others are still read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QuestionFileError
from qa.eval.files import from_spreadsheet

__all__ = ["UNANSWERABLE", "Question", "SkippedRow", "read_questions"]

UNANSWERABLE = "unanswerable"
"""The ``kind`` of a question the documents should not answer (the bot should abstain)."""

SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv")
_TABLES = (".csv", ".tsv")
"""A spreadsheet's table: comma-, semicolon- or tab-separated (a ``.tsv`` as Google Sheets saves it)."""
KNOWN_FIELDS = frozenset({"id", "question", "answer_phrases", "kind", "needs_all", "expected", "history"})


@dataclass(frozen=True)
class Question:
    """One question to evaluate; no ``answer_phrases`` and kind "unanswerable" means no answer exists."""

    id: str
    question: str
    answer_phrases: tuple[str, ...] = ()
    kind: str = ""
    needs_all: bool = False
    """True: every phrase must appear within the top passages (together), not just one."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Fields or columns of the input that the evaluation does not use, kept for the outputs."""
    history: tuple[str, ...] = ()
    """Earlier questions of the conversation, oldest first (for follow-up questions)."""
    line: int = 0
    """Line of the questions file the question is on (0 when it was not read from a file)."""

    @property
    def unanswerable(self) -> bool:
        return self.kind == UNANSWERABLE

    @property
    def has_expectation(self) -> bool:
        """Whether the question can be scored: it has answer phrases or should be declined."""
        return self.unanswerable or bool(self.answer_phrases)


@dataclass(frozen=True)
class SkippedRow:
    """An input row that was not used, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "reason": self.reason}


def read_questions(path: Path) -> tuple[list[Question], list[SkippedRow]]:
    """The questions of a JSONL or CSV file, and the rows skipped (with line numbers and reasons).

    Raises :class:`~qa.errors.QuestionFileError` when the file as a whole is unusable: another
    format, not UTF-8, unreadable, a JSON array, or a CSV without a ``question`` column.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise QuestionFileError(
            f"{path}: questions must be a .jsonl file (one JSON object per line) or a .csv file "
            "with a 'question' column (or a .tsv, separated by tabs)"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionFileError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise QuestionFileError(f"cannot read {path}: {exc.strerror}") from None
    if suffix not in _TABLES and text.lstrip().startswith("["):
        raise QuestionFileError(f"{path} holds a JSON array; write one JSON object per line (.jsonl)")
    rows = _csv_rows(path, text) if suffix in _TABLES else _jsonl_rows(text)
    questions: list[Question] = []
    skipped: list[SkippedRow] = []
    seen: set[str] = set()
    for line, row in rows:
        try:
            if isinstance(row, str):
                raise ValueError(row)
            question = _question(row, default_id=f"q{line}", line=line)
            if question.id in seen:
                raise ValueError(f"duplicate id {question.id!r}")
        except (ValueError, TypeError) as exc:
            skipped.append(SkippedRow(str(path), line, str(exc)))
            continue
        seen.add(question.id)
        questions.append(question)
    return questions, skipped


def _jsonl_rows(text: str) -> Iterable[tuple[int, dict | str]]:
    """(line number, object) per non-empty line; a string instead of the object says what is wrong."""
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError as exc:
            yield line, f"not valid JSON ({exc.msg})"
            continue
        yield line, row if isinstance(row, dict) else "not a JSON object"


def _csv_rows(path: Path, text: str) -> Iterable[tuple[int, dict | str]]:
    """(line number, row in the JSONL shape) per CSV row; ``expected`` and ``history`` split at ``|``.

    The columns may be separated by commas, semicolons (a spreadsheet's export where the comma is
    the decimal mark) or tabs, whichever splits the header into one naming ``question``; the
    known columns' names are read whatever their case ("Question", "Expected")."""
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text))
    header = [_column(h) for h in reader.fieldnames or []]
    if "question" not in header:
        raise QuestionFileError(f"{path}: the CSV needs a 'question' column (found: {', '.join(header)})")
    reader.fieldnames = header
    for row in reader:
        line = reader.line_num
        if None in row:
            yield line, "more cells than columns"
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # an empty row (",,,": a spreadsheet's rows below the table), as a blank line
        out: dict[str, Any] = {k: from_spreadsheet(v) for k, v in row.items() if v is not None}
        out["answer_phrases"] = _split_turns(out.pop("expected", ""))
        if "history" in out:
            out["history"] = _split_turns(out["history"])
        if not out.get("id"):
            out.pop("id", None)
        yield line, out


def _delimiter(text: str) -> str:
    """The separator of the CSV's header line: ``,`` unless ``;`` or a tab splits out ``question``."""
    first = text.split("\n", 1)[0]
    for sep in (",", ";", "\t"):
        if "question" in (_column(name) for name in first.split(sep)):
            return sep
    return ","


def _column(name: str) -> str:
    """A header cell: a known column's name in lower case, any other as written (trimmed)."""
    name = name.strip().strip('"').strip()
    return name.lower() if name.lower() in KNOWN_FIELDS else name


def _split_turns(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").split("|") if part.strip()]


def _question(row: Mapping[str, Any], *, default_id: str, line: int) -> Question:
    text = row.get("question")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing or empty 'question'")
    qid = row.get("id")
    if qid is not None and not isinstance(qid, (str, int)):
        raise ValueError("'id' must be text or a number")
    return Question(
        id=str(qid or default_id),
        question=text,
        answer_phrases=_texts(row.get("answer_phrases"), "answer_phrases", "a list of strings"),
        kind=str(row.get("kind") or "").strip().lower(),  # "Unanswerable" typed in a spreadsheet
        needs_all=_flag(row.get("needs_all")),
        extra={k: v for k, v in row.items() if k not in KNOWN_FIELDS},
        history=_texts(row.get("history"), "history", "a list of earlier questions (strings)"),
        line=line,
    )


def _texts(value: object, name: str, expected: str) -> tuple[str, ...]:
    """A list of non-empty strings from a list field (a lone string counts as a list of one)."""
    items = [value] if isinstance(value, str) else value or []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"'{name}' must be {expected}")
    return tuple(item.strip() for item in items if item.strip())


def _flag(value: object) -> bool:
    """A yes/no field: JSON booleans, or CSV text such as "true", "1", "yes" or empty."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in ("", "0", "false", "no", "n"):
        return False
    if text in ("1", "true", "yes", "y"):
        return True
    raise ValueError(f"'needs_all' must be true or false, not {value!r}")
