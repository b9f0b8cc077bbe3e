"""Scoring runs against question sets, with the definitions of ``shared/eval/score.py``.

A question set is JSONL (``id``, ``question``, optional ``answer_phrases``, ``kind``,
``needs_all``). A run is JSONL too: one answer per question, in the format of
:meth:`qa.answer.Answer.to_dict` plus ``id``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import QAError

__all__ = ["Question", "Metrics", "QuestionFileError", "read_questions", "score", "first_hit"]

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
    """The questions of a JSONL file, and one message per bad line (with its line number)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"cannot read {path}: {exc}") from None
    questions: list[Question] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
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


def _question(row: Mapping[str, Any], *, default_id: str) -> Question:
    text = row.get("question")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing or empty 'question'")
    phrases = row.get("answer_phrases") or ()
    if isinstance(phrases, str):
        phrases = [phrases]
    if not all(isinstance(p, str) for p in phrases):
        raise ValueError("'answer_phrases' must be a list of strings")
    known = {"id", "question", "answer_phrases", "kind", "needs_all"}
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
        }


def score(
    questions: Iterable[Question], run: Mapping[str, Mapping[str, Any]], *, k: int = 5
) -> tuple[Metrics, dict[str, int | None]]:
    """Metrics of ``run`` (id -> answer dict) and the first-hit rank of each scored question."""
    n_ans = hits1 = hits3 = hitsk = unans = abst_ok = false_abst = too_long = n_pass = words = 0
    rr = 0.0
    ranks: dict[str, int | None] = {}
    for q in questions:
        if not q.has_expectation:
            continue
        r = run.get(q.id) or {"passages": [], "abstained": False}
        texts = [p.get("text", "") for p in (r.get("passages") or [])[:k]]
        for t in texts:
            n_pass += 1
            words += len(t.split())
            too_long += len(t.split()) > MAX_WORDS
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
    )
    return metrics, ranks


def write_run(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write run rows as JSONL, atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
