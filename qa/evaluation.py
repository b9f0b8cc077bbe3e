"""Scoring runs against question sets, with the definitions of ``shared/eval/score.py``.

A question set is JSONL (``id``, ``question``, optional ``answer_phrases``, ``kind``,
``needs_all``) or CSV (a ``question`` column, optional ``id`` and ``expected``, the latter one
or more answer phrases separated by ``|``). Other fields or columns are kept through to the
outputs. A run is JSONL too: one answer per question, in the format of
:meth:`qa.answer.Answer.to_dict` plus ``id`` and, when the question has expected phrases,
``rank`` (of the first correct passage, or null) -- the format ``shared/eval/score.py`` reads.
The settings a run was made with go to a sidecar ``RUN.jsonl.meta.json``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import QAError

__all__ = [
    "Comparison",
    "Metrics",
    "Question",
    "QuestionFileError",
    "compare_runs",
    "first_hit",
    "read_questions",
    "read_run",
    "run_rows",
    "score",
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
    if suffix not in (".jsonl", ".json", ".csv"):
        raise QuestionFileError(f"{path}: questions must be a .jsonl or .csv file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionFileError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise QuestionFileError(f"cannot read {path}: {exc.strerror}") from None
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
        kind=str(row.get("kind") or ""),
        needs_all=bool(row.get("needs_all", False)),
        extra={k: v for k, v in row.items() if k not in known},
    )


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

    With ``source_text`` (source name -> its text, or None), every passage's text is checked
    against ``source[start:end]``; a mismatch counts as a bad citation and does not score.
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
                t = ""
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
    """Run rows: each answer's dict with the question's id, extra fields and rank."""
    rows = []
    for q, a in zip(questions, answers):
        row = {"id": q.id, **a.to_dict()}
        if q.extra:
            row["fields"] = dict(q.extra)
        if q.answer_phrases and not q.unanswerable:
            row["rank"] = first_hit(q, [p["text"] for p in row["passages"][:k]])
        if q.has_expectation:
            row["expected"] = list(q.answer_phrases) if not q.unanswerable else "unanswerable"
        rows.append(row)
    return rows


def write_run(path: Path, rows: Iterable[Mapping[str, Any]], meta: Mapping[str, Any] | None = None) -> None:
    """Write run rows as JSONL (and ``meta`` to ``PATH.meta.json``), each atomically."""
    path = Path(path)
    _atomic_write(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    if meta is not None:
        _atomic_write(path.with_name(path.name + ".meta.json"), json.dumps(meta, indent=2) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise QuestionFileError(f"cannot write {path}: {exc.strerror}") from None


def read_run(path: Path) -> dict[str, dict[str, Any]]:
    """A run file as id -> row; bad lines are a :class:`QuestionFileError` naming the line."""
    out: dict[str, dict[str, Any]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"cannot read run {path}: {exc}") from None
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

    @property
    def drop(self) -> float:
        return round(self.hit_a - self.hit_b, 3)


def _outcome(row: Mapping[str, Any], k: int) -> tuple[int, str]:
    """A sortable quality (higher is better) and a label for one run row."""
    if row.get("expected") == "unanswerable":
        return (1, "abstained") if row.get("abstained") else (0, "answered")
    rank = row.get("rank")
    if rank is None or rank > k:
        return 0, "abstained, no hit" if row.get("abstained") else "no hit"
    return (k + 1 - rank) * 2 - bool(row.get("abstained")), f"rank {rank}" + (
        ", abstained" if row.get("abstained") else ""
    )


def compare_runs(
    a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]], *, k: int = 5
) -> Comparison:
    """Questions with an expectation in both runs: which got better or worse, and hit@k of each."""
    better, worse = [], []
    hits_a = hits_b = n = 0
    for qid in a.keys() & b.keys():
        ra, rb = a[qid], b[qid]
        if "expected" not in ra or "expected" not in rb:
            continue
        (qa_, la), (qb, lb) = _outcome(ra, k), _outcome(rb, k)
        if ra.get("expected") != "unanswerable":
            n += 1
            hits_a += (ra.get("rank") or k + 1) <= k
            hits_b += (rb.get("rank") or k + 1) <= k
        entry = (qid, str(rb.get("question", "")), f"{la} -> {lb}")
        if qb > qa_:
            better.append(entry)
        elif qb < qa_:
            worse.append(entry)
    return Comparison(
        better=tuple(sorted(better)),
        worse=tuple(sorted(worse)),
        hit_a=round(hits_a / max(n, 1), 3),
        hit_b=round(hits_b / max(n, 1), 3),
        compared=n,
    )
