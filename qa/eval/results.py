"""The results CSV of a run: one row per question, for a course author's spreadsheet.

Columns: ``id``, ``question``, ``expected``, ``outcome``, ``first_correct_rank``, ``abstained``,
``score`` and ``citation`` of the top passage, ``top_passage``, then ``history`` (when any
question has one) and the input's extra columns. The citation is worded as in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.eval.citations import passage_citation
from qa.eval.files import atomic_write, csv_text
from qa.eval.metrics import outcome

__all__ = ["RESULT_COLUMNS", "write_results_csv"]

RESULT_COLUMNS = (
    "id",
    "question",
    "expected",
    "outcome",
    "first_correct_rank",
    "abstained",
    "score",
    "citation",
    "top_passage",
    "reason",
)
"""The fixed columns of the results CSV; a ``history`` column and the input's extra columns follow."""


def write_results_csv(path: Path, rows: Sequence[Mapping[str, Any]], *, k: int) -> None:
    """One CSV row per question: outcome, rank, top passage and its citation, extra input columns.

    Text cells that a spreadsheet would run as a formula are neutralised (see :mod:`qa.eval.files`).
    """
    extra = sorted({key for r in rows for key in r.get("fields") or {}})
    history = ["history"] if any(r.get("history") for r in rows) else []
    table = []
    for r in rows:
        top = (r.get("passages") or [{}])[0]
        expected = r.get("expected")
        fields = r.get("fields") or {}
        table.append(
            [
                r["id"],
                r.get("question", ""),
                " | ".join(expected) if isinstance(expected, list) else expected or "",
                outcome(r, k).label,
                "" if r.get("rank") is None else r["rank"],
                "yes" if r.get("abstained") else "no",
                top.get("score", ""),
                passage_citation(top),
                top.get("text", ""),
                r.get("reason", ""),  # why it declined, with the figures ('' for an answer)
                *([" | ".join(r.get("history") or ())] if history else []),
                *[fields.get(c, "") for c in extra],
            ]
        )
    atomic_write(Path(path), csv_text([*RESULT_COLUMNS, *history, *extra], table))
