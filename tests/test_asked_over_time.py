"""The declined view over time: an author adds material for what the course lacked, and the
questions it now answers are told apart from those it still declines."""

from __future__ import annotations

import csv
import io
import json

from qa.eval.asked import AskedRecord, eval_rows, rows_csv, rows_jsonl, summarise


def record(question: str, time: str, *, declined: bool) -> AskedRecord:
    return AskedRecord(
        "bio", question, abstained=declined, reason="evidence 0.1" if declined else "", time=time
    )


def test_a_declined_question_answered_since_is_marked_and_listed_after_the_others():
    asked = [
        record("What is osmosis?", "2026-11-01T10:00:00+00:00", declined=True),
        record("What is osmosis?", "2026-11-02T10:00:00+00:00", declined=True),
        record("What is osmosis?", "2026-11-03T10:00:00+00:00", declined=True),
        record("What is a prion?", "2026-11-02T11:00:00+00:00", declined=True),
        # the author uploads a chapter on osmosis: answered twice since
        record("what is osmosis", "2026-11-05T09:00:00+00:00", declined=False),
        record("What is osmosis?", "2026-11-06T09:00:00+00:00", declined=False),
        # answered, then declined again (a later upload removed it): still lacking
        record("What is meiosis?", "2026-11-01T09:00:00+00:00", declined=True),
        record("What is meiosis?", "2026-11-04T09:00:00+00:00", declined=False),
        record("What is meiosis?", "2026-11-07T09:00:00+00:00", declined=True),
        record("What is a cell?", "2026-11-07T09:00:00+00:00", declined=False),
    ]
    rows = summarise("declined", asked, [], collection="bio")
    assert [(q.question, q.declined, q.answered_since) for q in rows] == [
        ("What is meiosis?", 2, ""),
        ("What is a prion?", 1, ""),
        ("What is osmosis?", 3, "2026-11-05T09:00:00+00:00"),  # the most declined, but fixed
    ]
    never = summarise("most-asked", asked, [], collection="bio")
    assert next(q for q in never if q.question == "What is a cell?").answered_since == ""


def test_the_export_says_which_declined_questions_are_answered_since():
    """The evaluation rows an author exports carry the same mark as the view: a question new
    material answers is not mistaken for one the course still lacks."""
    asked = [
        record("What is osmosis?", "2026-11-01T10:00:00+00:00", declined=True),
        record("What is osmosis?", "2026-11-05T09:00:00+00:00", declined=False),
        record("What is a prion?", "2026-11-02T11:00:00+00:00", declined=True),
    ]
    rows = eval_rows(summarise("declined", asked, [], collection="bio"), view="declined", collection="bio")
    lines = [json.loads(line) for line in rows_jsonl(rows).splitlines()]
    assert [(r["question"], r["answered_since"]) for r in lines] == [
        ("What is a prion?", ""),
        ("What is osmosis?", "2026-11-05T09:00:00+00:00"),
    ]
    table = list(csv.DictReader(io.StringIO(rows_csv(rows).removeprefix("\ufeff"))))
    assert [r["answered_since"] for r in table] == ["", "2026-11-05T09:00:00+00:00"]


def test_the_same_question_typed_on_a_phone_and_a_laptop_is_one():
    """A phone's smart punctuation ('What’s', full-width '？') made the same question two rows,
    each with part of its count, so the most asked view ranked it too low."""
    asked = [
        record("What's a prion?", "2026-11-01T10:00:00+00:00", declined=True),
        record("What’s a prion?", "2026-11-01T11:00:00+00:00", declined=True),
        record("what’s a prion？", "2026-11-01T12:00:00+00:00", declined=True),
        record("What is a cell?", "2026-11-01T13:00:00+00:00", declined=False),
        record("What is a cell?", "2026-11-01T14:00:00+00:00", declined=False),
    ]
    rows = summarise("most-asked", asked, [], collection="bio")
    assert [(q.question, q.asked) for q in rows] == [("What's a prion?", 3), ("What is a cell?", 2)]
