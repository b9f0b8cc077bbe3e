"""Scoring runs against question sets, with the definitions of ``shared/eval/score.py``.

A question set is JSONL (``id``, ``question``, optional ``answer_phrases``, ``kind``,
``needs_all``) or CSV (a ``question`` column, optional ``id`` and ``expected``, the latter one
or more answer phrases separated by ``|``). Other fields or columns are kept through to the
outputs. A run is JSONL too: one answer per question, in the format of
:func:`qa.render.answer_json` plus ``id`` and, when the question has expected phrases,
``rank`` (of the first correct passage, or null) -- the format ``shared/eval/score.py`` reads.
The settings a run was made with go to a sidecar ``RUN.jsonl.meta.json``.

Also here: the per-question CSV of a run, the comparison of two runs behind the regression
gate, and thumbs-down feedback turned into question rows to review.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.render import answer_json

__all__ = [
    "OUTCOMES",
    "Comparison",
    "Metrics",
    "Question",
    "QuestionFileError",
    "compare_runs",
    "first_hit",
    "format_metrics",
    "outcome",
    "read_questions",
    "read_run",
    "review_rows",
    "run_rows",
    "score",
    "write_question_rows",
    "write_results_csv",
    "write_run",
]

MAX_WORDS = 120


class QuestionFileError(QAError):
    """The questions file cannot be read at all."""


@dataclass(frozen=True)
class Question:
    """One question to evaluate; ``answer_phrases`` empty and kind "unanswerable" means none exists."""

    id: str
    question: str
    answer_phrases: tuple[str, ...] = ()
    kind: str = ""
    needs_all: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def unanswerable(self) -> bool:
        return self.kind == "unanswerable"

    @property
    def has_expectation(self) -> bool:
        return self.unanswerable or bool(self.answer_phrases)


def read_questions(path: Path) -> tuple[list[Question], list[str]]:
    """The questions of a JSONL or CSV file, and one message per bad row (with its line number)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".json", ".csv"):
        raise QuestionFileError(
            f"{path}: questions must be a .jsonl file (one JSON object per line) or a .csv file "
            "with a 'question' column"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionFileError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise QuestionFileError(f"cannot read {path}: {exc.strerror}") from None
    if suffix != ".csv" and text.lstrip().startswith("["):
        raise QuestionFileError(f"{path} holds a JSON array; write one JSON object per line (.jsonl)")
    rows = _csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(path, text)
    questions: list[Question] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, row in rows:
        if isinstance(row, str):
            problems.append(f"{path}:{n}: {row}")
            continue
        try:
            q = _question(row, default_id=f"q{n}")
        except (ValueError, TypeError) as exc:
            problems.append(f"{path}:{n}: {exc}")
            continue
        if q.id in seen:
            problems.append(f"{path}:{n}: duplicate id {q.id!r}")
            continue
        seen.add(q.id)
        questions.append(q)
    return questions, problems


def _jsonl_rows(path: Path, text: str) -> Iterable[tuple[int, dict | str]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield n, f"not valid JSON ({exc.msg})"
            continue
        yield n, row if isinstance(row, dict) else "not a JSON object"


def _csv_rows(path: Path, text: str) -> Iterable[tuple[int, dict | str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if "question" not in header:
        raise QuestionFileError(f"{path}: the CSV needs a 'question' column (found: {', '.join(header)})")
    reader.fieldnames = header
    for row in reader:
        n = reader.line_num
        if None in row:
            yield n, "more cells than columns"
            continue
        out: dict[str, Any] = {k: v for k, v in row.items() if v is not None}
        expected = out.pop("expected", "") or ""
        out["answer_phrases"] = [p.strip() for p in expected.split("|") if p.strip()]
        if not out.get("id"):
            out.pop("id", None)
        yield n, out


def _question(row: Mapping[str, Any], *, default_id: str) -> Question:
    text = row.get("question")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing or empty 'question'")
    if row.get("id") is not None and not isinstance(row.get("id"), (str, int)):
        raise ValueError("'id' must be text or a number")
    phrases = row.get("answer_phrases") or ()
    if isinstance(phrases, str):
        phrases = [phrases]
    if not all(isinstance(p, str) for p in phrases):
        raise ValueError("'answer_phrases' must be a list of strings")
    known = {"id", "question", "answer_phrases", "kind", "needs_all", "expected"}
    return Question(
        id=str(row.get("id") or default_id),
        question=text,
        answer_phrases=tuple(p for p in phrases if p.strip()),
        kind=str(row.get("kind") or "").strip(),
        needs_all=_flag(row.get("needs_all")),
        extra={k: v for k, v in row.items() if k not in known},
    )


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


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s.lower()).split())


def first_hit(question: Question, texts: Sequence[str], *, max_words: int = MAX_WORDS) -> int | None:
    """1-based rank of the first passage that answers ``question``, or None."""
    normed = [_norm(t) if len(t.split()) <= max_words else "" for t in texts]
    phrases = [_norm(p) for p in question.answer_phrases]
    if not phrases:
        return None
    for i in range(len(normed)):
        if question.needs_all:
            upto = " | ".join(normed[: i + 1])
            ok = all(p in upto for p in phrases)
        else:
            ok = any(p in normed[i] for p in phrases)
        if ok:
            return i + 1
    return None


@dataclass(frozen=True)
class Metrics:
    """Aggregate scores of a run, as ``score.py`` defines them."""

    answerable: int
    hit1: float
    hit3: float
    hitk: float
    mrr: float
    unanswerable: int
    abstain_ok: float
    false_abstain: float
    avg_words: float
    too_long: int
    k: int
    bad_citations: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "answerable": self.answerable,
            "hit@1": self.hit1,
            "hit@3": self.hit3,
            f"hit@{self.k}": self.hitk,
            f"mrr@{self.k}": self.mrr,
            "unanswerable": self.unanswerable,
            "abstain_ok": self.abstain_ok,
            "false_abstain": self.false_abstain,
            "avg_words": self.avg_words,
            "too_long": self.too_long,
            "bad_citations": self.bad_citations,
        }


def score(
    questions: Iterable[Question],
    run: Mapping[str, Mapping[str, Any]],
    *,
    k: int = 5,
    source_text: Callable[[str], str | None] | None = None,
) -> tuple[Metrics, dict[str, int | None]]:
    """Metrics of ``run`` (id -> answer dict) and the first-hit rank of each scored question.

    Only the first ``k`` passages count; a passage over ``MAX_WORDS`` words never answers. With
    ``source_text`` (source name -> its text, or None), every passage's text is checked against
    ``source[start:end]`` and each mismatch counts as a bad citation (as ``score.py --root``).
    Questions with no expectation (no phrases, not unanswerable) are left out.
    """
    n_ans = hits1 = hits3 = hitsk = unans = abst_ok = false_abst = too_long = n_pass = words = 0
    bad = 0
    rr = 0.0
    ranks: dict[str, int | None] = {}
    for q in questions:
        if not q.has_expectation:
            continue
        r = run.get(q.id) or {"passages": [], "abstained": False}
        texts = []
        for p in (r.get("passages") or [])[:k]:
            t = p.get("text", "")
            n_pass += 1
            words += len(t.split())
            too_long += len(t.split()) > MAX_WORDS
            if source_text is not None and not _cited_exactly(p, source_text):
                bad += 1
            texts.append(t)
        if q.unanswerable:
            unans += 1
            abst_ok += bool(r.get("abstained"))
            continue
        n_ans += 1
        false_abst += bool(r.get("abstained"))
        rank = ranks[q.id] = first_hit(q, texts)
        if rank:
            rr += 1.0 / rank
            hits1 += rank <= 1
            hits3 += rank <= 3
            hitsk += rank <= k
    div = max(n_ans, 1)
    metrics = Metrics(
        answerable=n_ans,
        hit1=round(hits1 / div, 3),
        hit3=round(hits3 / div, 3),
        hitk=round(hitsk / div, 3),
        mrr=round(rr / div, 3),
        unanswerable=unans,
        abstain_ok=round(abst_ok / max(unans, 1), 3),
        false_abstain=round(false_abst / div, 3),
        avg_words=round(words / max(n_pass, 1), 1),
        too_long=too_long,
        k=k,
        bad_citations=bad,
    )
    return metrics, ranks


def _cited_exactly(passage: Mapping[str, Any], source_text: Callable[[str], str | None]) -> bool:
    text = source_text(str(passage.get("source", "")))
    start, end = passage.get("start"), passage.get("end")
    if text is None or not isinstance(start, int) or not isinstance(end, int):
        return False
    return text[start:end] == passage.get("text")


def run_rows(questions: Sequence[Question], answers: Sequence[Any], k: int) -> list[dict[str, Any]]:
    """Run rows: each answer's dict with the question's id, kind, extra fields, expectation and rank."""
    rows = []
    for q, a in zip(questions, answers):
        row = {"id": q.id, **answer_json(a)}
        if q.kind:
            row["kind"] = q.kind
        if q.extra:
            row["fields"] = dict(q.extra)
        if q.answer_phrases and not q.unanswerable:
            row["rank"] = first_hit(q, [p["text"] for p in row["passages"][:k]])
        if q.has_expectation:
            row["expected"] = list(q.answer_phrases) if not q.unanswerable else "unanswerable"
            if q.needs_all:
                row["needs_all"] = True
        rows.append(row)
    return rows


OUTCOMES = {
    "correct": "correct",
    "wrong": "wrong",
    "abstained_ok": "abstained (right)",
    "false_abstain": "abstained (wrong)",
    "answered_unanswerable": "answered, should abstain",
    "unscored": "no expectation",
}
"""Outcome of a question (see :func:`outcome`) -> how reports name it."""


def outcome(row: Mapping[str, Any], k: int) -> str:
    """The key of :data:`OUTCOMES` for a run row made by :func:`run_rows`.

    An answerable question is "correct" when a correct passage is in the top ``k``, even if
    the bot abstained (as hit@k counts it); abstaining there is shown as "false_abstain".
    """
    expected = row.get("expected")
    if expected is None:
        return "unscored"
    if expected == "unanswerable":
        return "abstained_ok" if row.get("abstained") else "answered_unanswerable"
    if row.get("abstained"):
        return "false_abstain"
    rank = row.get("rank")
    return "correct" if rank is not None and rank <= k else "wrong"


def write_run(path: Path, rows: Iterable[Mapping[str, Any]], meta: Mapping[str, Any] | None = None) -> None:
    """Write run rows as JSONL (and ``meta`` to ``PATH.meta.json``), each atomically."""
    path = Path(path)
    _atomic_write(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    if meta is not None:
        _atomic_write(path.with_name(path.name + ".meta.json"), json.dumps(meta, indent=2) + "\n")


def write_results_csv(path: Path, rows: Sequence[Mapping[str, Any]], *, k: int) -> None:
    """One CSV row per question: outcome, rank, top passage and its citation, extra input columns."""
    extra = sorted({key for r in rows for key in r.get("fields") or {}})
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "id",
            "question",
            "expected",
            "outcome",
            "first_correct_rank",
            "abstained",
            "score",
            "citation",
            "top_passage",
            *extra,
        ]
    )
    for r in rows:
        top = (r.get("passages") or [{}])[0]
        expected = r.get("expected")
        fields = r.get("fields") or {}
        w.writerow(
            [
                r["id"],
                r.get("question", ""),
                " | ".join(expected) if isinstance(expected, list) else expected or "",
                OUTCOMES[outcome(r, k)],
                "" if r.get("rank") is None else r["rank"],
                "yes" if r.get("abstained") else "no",
                top.get("score", ""),
                _citation(top),
                top.get("text", ""),
                *[_cell(fields.get(c, "")) for c in extra],
            ]
        )
    _atomic_write(Path(path), out.getvalue())


def _citation(p: Mapping[str, Any]) -> str:
    """ "seeds/a.txt, words 12–111 (characters 80–702)" for a passage dict, or ""."""
    if not p:
        return ""
    words = p.get("words") or (p.get("citation") or {}).get("words") or {}
    where = f", words {words['start'] + 1}\u2013{words['end']}" if "start" in words else ""
    return f"{p.get('source', '')}{where} (characters {p.get('start')}\u2013{p.get('end')})"


def _cell(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise QuestionFileError(f"cannot write {path}: {exc.strerror}") from None


def read_run(path: Path) -> dict[str, dict[str, Any]]:
    """A run file as id -> row; bad lines are a :class:`QuestionFileError` naming the line."""
    out: dict[str, dict[str, Any]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise QuestionFileError(f"the run {path} is not UTF-8 text") from None
    except OSError as exc:
        raise QuestionFileError(f"cannot read the run {path}: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["id"])] = row
        except (ValueError, KeyError, TypeError):
            raise QuestionFileError(f"{path}:{n}: not a run row (JSON object with an id)") from None
    return out


@dataclass(frozen=True)
class Comparison:
    """How run B differs from run A on the questions both answered."""

    better: tuple[tuple[str, str, str], ...]
    """(id, question, "rank 4 -> 1") for questions B answers better."""
    worse: tuple[tuple[str, str, str], ...]
    hit_a: float
    hit_b: float
    compared: int
    """Answerable questions scored in both runs (hit@k is over these)."""
    only_a: tuple[str, ...] = ()
    """Ids of scored questions in A and not in B."""
    only_b: tuple[str, ...] = ()

    @property
    def drop(self) -> float:
        return round(self.hit_a - self.hit_b, 3)


def _quality(row: Mapping[str, Any], k: int) -> tuple[int, str]:
    """A sortable quality (higher is better) and a label for one run row."""
    abstained = bool(row.get("abstained"))
    if row.get("expected") == "unanswerable":
        return (1, "abstained") if abstained else (0, "answered")
    rank = row.get("rank")
    if rank is None or rank > k:
        return 0, "abstained, no hit" if abstained else "no hit"
    return (k + 1 - rank) * 2 - abstained, f"rank {rank}" + (", abstained" if abstained else "")


def compare_runs(
    a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]], *, k: int = 5
) -> Comparison:
    """Questions with an expectation in both runs: which got better or worse, and hit@k of each.

    Better or worse means a higher or lower rank of the first correct passage within ``k``, or
    abstaining where it should (unanswerable) or should not (answerable) when it did not before.
    """
    better, worse = [], []
    hits_a = hits_b = n = 0
    for qid in a.keys() & b.keys():
        ra, rb = a[qid], b[qid]
        if "expected" not in ra or "expected" not in rb:
            continue
        (qa_, la), (qb, lb) = _quality(ra, k), _quality(rb, k)
        if ra.get("expected") != "unanswerable":
            n += 1
            hits_a += (ra.get("rank") or k + 1) <= k
            hits_b += (rb.get("rank") or k + 1) <= k
        entry = (qid, str(rb.get("question", "")), f"{la} -> {lb}")
        if qb > qa_:
            better.append(entry)
        elif qb < qa_:
            worse.append(entry)
    scored_a = {i for i, r in a.items() if "expected" in r}
    scored_b = {i for i, r in b.items() if "expected" in r}
    return Comparison(
        better=tuple(sorted(better)),
        worse=tuple(sorted(worse)),
        hit_a=round(hits_a / max(n, 1), 3),
        hit_b=round(hits_b / max(n, 1), 3),
        compared=n,
        only_a=tuple(sorted(scored_a - scored_b)),
        only_b=tuple(sorted(scored_b - scored_a)),
    )


_METRIC_NOTES = {
    "answerable": "questions with expected phrases",
    "hit@1": "a correct passage ranked first",
    "hit@3": "a correct passage in the top 3",
    "unanswerable": "questions the documents should not answer",
    "abstain_ok": "unanswerable questions where the bot abstained",
    "false_abstain": "answerable questions where the bot abstained",
    "avg_words": "words per passage",
    "too_long": f"passages over {MAX_WORDS} words (they never count as correct)",
    "bad_citations": "passages whose text is not source[start:end]",
}


def format_metrics(metrics: Metrics) -> str:
    """The metrics as a small aligned table, one line each with what it means."""
    notes = {
        **_METRIC_NOTES,
        f"hit@{metrics.k}": f"a correct passage in the top {metrics.k}",
        f"mrr@{metrics.k}": "mean of 1/rank of the first correct passage (0 when none)",
    }
    values = metrics.as_dict()
    width = max(len(key) for key in values)
    vwidth = max(len(str(v)) for v in values.values())
    lines = [f"metrics (top {metrics.k} passages)"]
    for key, value in values.items():
        lines.append(f"  {key.ljust(width)}  {str(value).rjust(vwidth)}  {notes.get(key, '')}".rstrip())
    return "\n".join(lines)


def review_rows(records: Iterable[Any]) -> list[dict[str, Any]]:
    """Thumbs-down feedback records as question-file rows to complete and add to a question set.

    One row per distinct question (case and spacing ignored), in the order first rated down;
    the id is a hash of the question, so exporting again gives the same ids. ``answer_phrases``
    and ``kind`` are left empty for the reviewer; the query and passages shown come along.
    """
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.rating != "down":
            continue
        key = " ".join(record.question.lower().split())
        if not key:
            continue
        row = rows.get(key)
        if row is None:
            rows[key] = row = {
                "id": "fb-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10],
                "question": record.question.strip(),
                "answer_phrases": [],
                "kind": "",
                "query": record.query or record.question.strip(),
                "abstained": record.abstained,
                "context": [
                    {k: p.get(k) for k in ("source", "start", "end", "text")} for p in record.passages
                ],
                "comments": [],
                "thumbs_down": 0,
                "rated_at": record.time,
            }
        row["thumbs_down"] += 1
        if record.comment.strip() and record.comment.strip() not in row["comments"]:
            row["comments"].append(record.comment.strip())
    return list(rows.values())


def write_question_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows from :func:`review_rows` as a question file: JSONL, or CSV with an empty ``expected``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        _atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return
    if suffix != ".csv":
        raise QuestionFileError(f"{path}: write the review rows to a .jsonl or .csv file")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
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
        ]
    )
    for r in rows:
        context = "\n\n".join(
            f"[{p.get('source')} {p.get('start')}\u2013{p.get('end')}] {p.get('text') or ''}"
            for p in r.get("context", ())
        )
        w.writerow(
            [
                r["id"],
                r["question"],
                "",
                r.get("kind", ""),
                r.get("query", ""),
                "yes" if r.get("abstained") else "no",
                context,
                " / ".join(r.get("comments", ())),
                r.get("thumbs_down", 1),
                r.get("rated_at", ""),
            ]
        )
    _atomic_write(path, out.getvalue())
