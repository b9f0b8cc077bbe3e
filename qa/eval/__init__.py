"""Evaluating the bot on a question set: read questions, run, score, compare, report, review.

``import qa.eval`` is cheap: nothing loads a model or an index until :func:`run_eval` is called
with a retriever, and Jinja2 is imported only when a report is rendered.
"""

from qa.errors import EvaluationError, QuestionFileError
from qa.eval.compare import Change, Comparison, compare_runs, format_comparison, gate
from qa.eval.metrics import (
    MAX_WORDS,
    Metrics,
    Outcome,
    first_hit,
    format_metrics,
    found_nowhere,
    outcome,
    score,
)
from qa.eval.questions import UNANSWERABLE, Question, SkippedRow, read_questions
from qa.eval.report import render_report, write_report
from qa.eval.results import write_results_csv
from qa.eval.review import check_review_path, review_jsonl, review_rows, write_question_rows
from qa.eval.runs import (
    Answers,
    EvalRun,
    Timing,
    check_outputs,
    format_timing,
    read_run,
    run_collection,
    run_eval,
    run_rows,
    write_outputs,
    write_run,
)

__all__ = [
    "MAX_WORDS",
    "UNANSWERABLE",
    "Answers",
    "Change",
    "Comparison",
    "EvalRun",
    "EvaluationError",
    "Metrics",
    "Outcome",
    "Question",
    "QuestionFileError",
    "SkippedRow",
    "Timing",
    "check_outputs",
    "check_review_path",
    "compare_runs",
    "first_hit",
    "format_comparison",
    "format_metrics",
    "format_timing",
    "found_nowhere",
    "gate",
    "outcome",
    "read_questions",
    "read_run",
    "run_collection",
    "render_report",
    "review_jsonl",
    "review_rows",
    "run_eval",
    "run_rows",
    "score",
    "write_outputs",
    "write_question_rows",
    "write_report",
    "write_results_csv",
    "write_run",
]
