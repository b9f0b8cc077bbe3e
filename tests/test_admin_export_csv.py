"""The admin page's CSV export of what learners asked: a learner's question typed as a formula
shows as text in a spreadsheet (as `qa feedback export` does), ``qa eval`` reads it back as
typed, and the author sees the comments and why each question was declined."""

from __future__ import annotations

import csv
import io

from qa.eval.asked import AskedRecord, eval_rows, log_question, read_asked, rows_csv, summarise
from qa.eval.questions import read_questions

FORMULA = '=HYPERLINK("http://evil.example/x","Click for the answer")'


def test_the_csv_export_is_spreadsheet_safe_and_says_why_declined(tmp_path):
    path = tmp_path / "questions.jsonl"
    why = "evidence 0.20; an answer needs 0.35"
    log_question(path, AskedRecord("bio", FORMULA, abstained=True, reason=why))
    log_question(path, AskedRecord("bio", "What do ribosomes build?", abstained=False))
    asked = summarise("most-asked", read_asked(path), [], collection="bio")
    text = rows_csv(eval_rows(asked, view="most-asked", collection="bio"))
    table = list(csv.DictReader(io.StringIO(text)))
    formula = next(row for row in table if "HYPERLINK" in row["question"])
    assert formula["question"] == "'" + FORMULA  # a spreadsheet shows it as text
    assert formula["declined_because"] == why
    assert "comments" in table[0]
    exported = tmp_path / "asked.csv"
    exported.write_text(text, encoding="utf-8")
    questions = read_questions(exported)[0]
    assert FORMULA in [q.question for q in questions]  # qa eval reads it as the learner typed it
