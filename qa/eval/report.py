"""A self-contained HTML report of an evaluation run: metrics, skipped rows, charts, every question.

One file, no external requests: inline CSS, inline SVG charts, no scripts, no fonts or images
to fetch. The page is rendered from Jinja2 templates in ``qa/eval/templates/`` with autoescaping,
so every text from a question file or a document is HTML-escaped. It reads on a phone as well as
on a desktop (one column below 640 px).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from qa.eval.charts import Chart, Series, bar_rows, columns, histogram
from qa.eval.citations import passage_citation
from qa.eval.files import atomic_write
from qa.eval.metrics import MAX_WORDS, Outcome, outcome, shown_value
from qa.eval.questions import UNANSWERABLE, SkippedRow

__all__ = ["render_report", "write_report"]

GREEN, RED, BLUE, PURPLE, GREY = "#2f9e5b", "#d9534f", "#2455c3", "#7a5af8", "#8a93a3"
OUTCOME_COLORS = {
    Outcome.CORRECT: GREEN,
    Outcome.WRONG: RED,
    Outcome.ABSTAINED_OK: PURPLE,
    Outcome.FALSE_ABSTAIN: RED,
    Outcome.ANSWERED_UNANSWERABLE: RED,
    Outcome.UNSCORED: GREY,
}
OUTCOME_CSS = {Outcome.CORRECT: "correct", Outcome.ABSTAINED_OK: "abstained", Outcome.UNSCORED: "unscored"}
CARD_NOTES = {
    "answerable": "questions with expected phrases",
    "hit@1": "correct passage first",
    "hit@3": "correct passage in top 3",
    "unanswerable": "questions to abstain on",
    "abstain_ok": "abstained when it should",
    "false_abstain": "abstained when it should not",
    "avg_words": "words per passage",
    "too_long": f"passages over {MAX_WORDS} words",
    "bad_citations": "text ≠ source[start:end]",
}


@dataclass(frozen=True)
class PassageView:
    """One passage as the report shows it: citation line and text split around the highlight."""

    number: int
    citation: str
    """Label, file, word range and characters, exactly as in the results CSV."""
    score: object
    before: str
    highlight: str
    after: str
    first_correct: bool


@dataclass(frozen=True)
class QuestionView:
    id: str
    question: str
    about: tuple[str, ...]
    """Lines under the question: expected phrases, kind, earlier turns, extra fields, the query."""
    outcome: Outcome
    label: str
    css: str
    passages: tuple[PassageView, ...]
    more_note: str


@dataclass(frozen=True)
class KindTable:
    """Outcomes counted per kind of question."""

    outcomes: tuple[Outcome, ...]
    rows: tuple[tuple[str, int, tuple[int, ...]], ...]


def _passage(number: int, p: Mapping[str, Any], *, first_correct: bool) -> PassageView:
    text, start = str(p.get("text", "")), int(p.get("start") or 0)
    span = p.get("highlight") or {}
    a = max(0, min(len(text), int(span.get("start", start)) - start))
    b = max(a, min(len(text), int(span.get("end", start)) - start))
    return PassageView(
        number=number,
        citation=passage_citation(p),
        score=p.get("score"),
        before=text[:a],
        highlight=text[a:b],
        after=text[b:],
        first_correct=first_correct,
    )


def _about(r: Mapping[str, Any]) -> tuple[str, ...]:
    about = []
    expected = r.get("expected")
    if isinstance(expected, list) and expected:
        about.append("expected: " + " | ".join(map(str, expected)))
    if r.get("kind"):
        about.append(f"kind: {r['kind']}")
    if r.get("history"):
        about.append("after: " + " › ".join(map(str, r["history"])))
    about += [f"{key}: {value}" for key, value in (r.get("fields") or {}).items()]
    if r.get("query") and r.get("query") != r.get("question"):
        about.append(f"searched as: {r['query']}")
    if r.get("abstained") and r.get("reason"):  # why, as the run recorded it (authors' words)
        about.append(f"declined: {r['reason']}")
    elif isinstance(r.get("evidence"), (int, float)):
        declined = "declined, " if r.get("abstained") else ""
        about.append(f"{declined}evidence {r['evidence']:.2f}")
    return tuple(about)


def _question(r: Mapping[str, Any], k: int) -> QuestionView:
    o = outcome(r, k)
    rank = r.get("rank")
    passages = tuple(
        _passage(i, p, first_correct=i == rank) for i, p in enumerate((r.get("passages") or [])[:k], 1)
    )
    note = f" (first correct: [{rank}])" if rank is not None and 1 < rank <= k else ""
    return QuestionView(
        id=str(r.get("id")),
        question=str(r.get("question", "")),
        about=_about(r),
        outcome=o,
        label=o.label + (f" @{rank}" if rank is not None and rank <= k else ""),
        css=OUTCOME_CSS.get(o, "wrong"),
        passages=passages,
        more_note=f"{len(passages) - 1} more{note}",
    )


def _charts(rows: Sequence[Mapping[str, Any]], k: int, meta: Mapping[str, Any]) -> list[Chart]:
    outcomes = [outcome(r, k) for r in rows]
    answerable = [r for r, o in zip(rows, outcomes) if o.answerable]
    charts: list[Chart | None] = []
    if answerable:
        ranks = Counter(r.get("rank") for r in answerable)
        data = [(str(i), ranks.get(i, 0)) for i in range(1, k + 1)]
        data.append((f"none in {k}", sum(v for key, v in ranks.items() if key is None or key > k)))
        charts.append(columns("Rank of the first correct passage (answerable questions)", data, BLUE))
    counts = Counter(outcomes)
    charts.append(
        bar_rows("Outcome of each question", [(o.label, counts[o], OUTCOME_COLORS[o]) for o in Outcome])
    )
    with_passages = [r for r in answerable if r.get("passages")]
    top_scores = {True: [], False: []}
    for r in with_passages:
        top_scores[(r.get("rank") or k + 1) <= k].append(float(r["passages"][0].get("score", 0)))
    charts.append(
        histogram(
            f"Score of the top passage, answerable questions: a correct passage in the top {k} or not",
            [
                Series("correct", GREEN, tuple(top_scores[True])),
                Series("wrong", RED, tuple(top_scores[False])),
            ],
        )
    )
    charts.append(_evidence_chart(rows, meta))
    return [c for c in charts if c is not None]


def _evidence_chart(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> Chart | None:
    """Evidence of answerable vs unanswerable questions with the abstain threshold, if any unanswerable."""
    scored = [r for r in rows if isinstance(r.get("evidence"), (int, float)) and "expected" in r]
    unanswerable = tuple(float(r["evidence"]) for r in scored if r["expected"] == UNANSWERABLE)
    if not unanswerable:
        return None
    answerable = tuple(float(r["evidence"]) for r in scored if r["expected"] != UNANSWERABLE)
    threshold = (meta.get("settings") or {}).get("abstain_threshold")
    return histogram(
        "Evidence (what abstention is decided on): answerable vs unanswerable questions; "
        "below the threshold the bot abstains",
        [Series("answerable", BLUE, answerable), Series("unanswerable", PURPLE, unanswerable)],
        marker=("threshold", float(threshold)) if isinstance(threshold, (int, float)) else None,
    )


def _by_kind(rows: Sequence[Mapping[str, Any]], k: int) -> KindTable | None:
    """Outcomes per question kind, when the question file gives at least two kinds."""
    kinds: dict[str, Counter] = {}
    for r in rows:
        if r.get("kind"):
            kinds.setdefault(str(r["kind"]), Counter())[outcome(r, k)] += 1
    if len(kinds) < 2:
        return None
    shown = tuple(o for o in Outcome if any(c[o] for c in kinds.values()))
    table = tuple((kind, sum(c.values()), tuple(c[o] for o in shown)) for kind, c in sorted(kinds.items()))
    return KindTable(shown, table)


def _cards(metrics: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(value, name, what it means) per metric."""
    cards = []
    for key in metrics:
        note = CARD_NOTES.get(key, "")
        if key.startswith("hit@") and not note:
            note = f"correct passage in top {key[4:]}"
        elif key.startswith("mrr@"):
            note = "mean reciprocal rank"
        cards.append((shown_value(metrics, key), key, note))
    return cards


def _skipped_rows(skipped: Sequence[SkippedRow] | None, meta: Mapping[str, Any]) -> list[SkippedRow]:
    """The skipped input rows given, or those recorded in the run's metadata."""
    if skipped is not None:
        return list(skipped)
    out = []
    for item in meta.get("skipped_rows") or ():
        if isinstance(item, Mapping):
            out.append(
                SkippedRow(str(item.get("file", "")), int(item.get("line", 0)), str(item.get("reason", "")))
            )
            continue
        # runs written before skipped rows were structured hold "path:line: reason"
        found = re.match(r"(.*):(\d+): (.*)", str(item), re.DOTALL)
        out.append(SkippedRow(found[1], int(found[2]), found[3]) if found else SkippedRow("", 0, str(item)))
    return out


def _facts(rows: Sequence[Mapping[str, Any]], k: int, meta: Mapping[str, Any], skipped: int) -> list[str]:
    facts = [f"{len(rows)} questions", f"top {k} passages"]
    if skipped:
        facts.append(f"{skipped} input rows skipped")
    shown = ("collection", "questions_file", "created", "model")
    facts += [f"{key}: {meta[key]}" for key in shown if meta.get(key)]
    rate = (meta.get("timing") or {}).get("questions_per_s")
    if rate:
        facts.append(f"{rate} questions/s")
    return facts


@lru_cache(maxsize=1)
def _environment():
    """The Jinja2 environment over ``qa/eval/templates`` (autoescaping on), made on first use."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("qa.eval", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(
    rows: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any] | None,
    *,
    k: int,
    meta: Mapping[str, Any] | None = None,
    title: str = "Evaluation report",
    skipped: Sequence[SkippedRow] | None = None,
) -> str:
    """The report as one HTML string.

    ``rows`` from :func:`qa.eval.runs.run_rows`, ``metrics`` from :meth:`qa.eval.metrics.Metrics.as_dict`
    (None when nothing could be scored), ``meta`` as written beside the run, ``skipped`` the input
    rows left out (default: those recorded in ``meta``).
    """
    meta = meta or {}
    skipped_rows = _skipped_rows(skipped, meta)
    questions = [_question(r, k) for r in rows]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            facts=_facts(rows, k, meta, len(skipped_rows)),
            cards=_cards(metrics) if metrics else None,
            skipped=skipped_rows,
            questions_file=meta.get("questions_file") or "",
            todo=[q for q in questions if q.outcome.needs_a_look],
            charts=_charts(rows, k, meta),
            by_kind=_by_kind(rows, k),
            questions=questions,
            meta_json=json.dumps(meta, indent=2, ensure_ascii=False) if meta else "",
        )
    )


def write_report(path: Path, *args: Any, **kwargs: Any) -> None:
    """:func:`render_report` written to ``path`` atomically."""
    atomic_write(Path(path), render_report(*args, **kwargs), what="the report ")
