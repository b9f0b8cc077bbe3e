"""The admin page's CSV export of what learners asked: a learner's question typed as a formula
shows as text in a spreadsheet (as `qa feedback export` does), ``qa eval`` reads it back as
typed, and the author sees the comments and why each question was declined."""

from __future__ import annotations

import csv
import io

from qa.eval.asked import AskedRecord, eval_rows, log_question, read_asked, rows_csv, summarise
from qa.eval.files import BOM
from qa.eval.questions import read_questions
from qa.eval.results import write_results_csv

FORMULA = '=HYPERLINK("http://evil.example/x","Click for the answer")'


def test_the_csv_export_is_spreadsheet_safe_and_says_why_declined(tmp_path):
    path = tmp_path / "questions.jsonl"
    why = "evidence 0.20; an answer needs 0.35"
    log_question(path, AskedRecord("bio", FORMULA, abstained=True, reason=why))
    log_question(path, AskedRecord("bio", "What do ribosomes build?", abstained=False))
    asked = summarise("most-asked", read_asked(path), [], collection="bio")
    text = rows_csv(eval_rows(asked, view="most-asked", collection="bio"))
    assert text.startswith(BOM)
    table = list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))
    formula = next(row for row in table if "HYPERLINK" in row["question"])
    assert formula["question"] == "'" + FORMULA  # a spreadsheet shows it as text
    assert formula["declined_because"] == why
    assert "comments" in table[0]
    exported = tmp_path / "asked.csv"
    exported.write_text(text, encoding="utf-8")
    questions = read_questions(exported)[0]
    assert FORMULA in [q.question for q in questions]  # qa eval reads it as the learner typed it


ACCENTED = "Qu'est-ce qu'une mitochondrie ? Café, œuvre, naïve, Ørsted"


def test_csv_files_open_in_a_spreadsheet_with_their_accents(tmp_path):
    """Excel reads a UTF-8 CSV without a byte-order mark in the legacy code page ("CafÃ©"):
    the admin export, the results of qa eval and the review export start with one, and qa eval
    reads each of them back with the accents as typed."""
    from qa.eval import review_rows, write_question_rows
    from qa.feedback import FeedbackRecord

    path = tmp_path / "questions.jsonl"
    log_question(path, AskedRecord("bio", ACCENTED, abstained=True, reason="evidence 0.20"))
    exported = tmp_path / "asked.csv"
    exported.write_bytes(
        rows_csv(
            eval_rows(
                summarise("declined", read_asked(path), [], collection="bio"),
                view="declined",
                collection="bio",
            )
        ).encode("utf-8")
    )
    review = tmp_path / "review.csv"
    write_question_rows(review, review_rows([FeedbackRecord("down", ACCENTED, comment="très bien")]))
    results = tmp_path / "results.csv"
    write_results_csv(results, [{"id": "a", "question": ACCENTED, "abstained": True, "passages": []}], k=5)
    for written in (exported, review, results):
        data = written.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and ACCENTED.encode("utf-8") in data, written
        row = next(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert row["question"] == ACCENTED and "id" in row  # the first column keeps its name
    for question_file in (exported, review):
        assert [q.question for q in read_questions(question_file)[0]] == [ACCENTED]
