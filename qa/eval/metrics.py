"""Scoring a run against its questions, with the definitions of ``shared/eval/score.py``.

A passage answers a question when it contains an expected phrase, compared after lowercasing and
replacing every run of non-alphanumerics with one space; a passage over :data:`MAX_WORDS` words
never answers. hit@1/3/k and MRR@k are over the answerable questions, ``abstain_ok`` over the
unanswerable ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from qa.eval.questions import UNANSWERABLE, Question

__all__ = [
    "MAX_WORDS",
    "NOT_APPLICABLE",
    "Metrics",
    "Outcome",
    "first_hit",
    "format_metrics",
    "found_nowhere",
    "metric_notes",
    "outcome",
    "score",
    "shown_value",
]

MAX_WORDS = 120
"""Passages longer than this never count as correct (as ``score.py --max-words``)."""


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


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


def found_nowhere(questions: Iterable[Question], texts: Iterable[str]) -> tuple[str, ...]:
    """Ids of the answerable questions whose expected phrases occur in none of ``texts`` (the
    indexed documents), compared as :func:`first_hit` compares them: no passage can ever count
    as correct, as when their document was removed or renamed, or a phrase is mistyped."""
    wanted = [(q, [_norm(p) for p in q.answer_phrases]) for q in questions if q.answer_phrases]
    if not wanted:
        return ()
    corpus = " | ".join(_norm(t) for t in texts)
    return tuple(
        q.id
        for q, phrases in wanted
        if (not all(p in corpus for p in phrases) if q.needs_all else not any(p in corpus for p in phrases))
    )


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
        """The metrics under the names ``score.py`` prints (``hit@k`` and ``mrr@k`` with k filled in)."""
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


@dataclass
class _Tally:
    """Running counts while scoring; turned into :class:`Metrics` at the end."""

    answerable: int = 0
    hits1: int = 0
    hits3: int = 0
    hitsk: int = 0
    reciprocal_ranks: float = 0.0
    unanswerable: int = 0
    abstained_ok: int = 0
    false_abstains: int = 0
    passages: int = 0
    words: int = 0
    too_long: int = 0
    bad_citations: int = 0

    def metrics(self, k: int) -> Metrics:
        div = max(self.answerable, 1)
        return Metrics(
            answerable=self.answerable,
            hit1=round(self.hits1 / div, 3),
            hit3=round(self.hits3 / div, 3),
            hitk=round(self.hitsk / div, 3),
            mrr=round(self.reciprocal_ranks / div, 3),
            unanswerable=self.unanswerable,
            abstain_ok=round(self.abstained_ok / max(self.unanswerable, 1), 3),
            false_abstain=round(self.false_abstains / div, 3),
            avg_words=round(self.words / max(self.passages, 1), 1),
            too_long=self.too_long,
            k=k,
            bad_citations=self.bad_citations,
        )


def score(
    questions: Iterable[Question],
    run: Mapping[str, Mapping[str, Any]],
    *,
    k: int = 5,
    source_text: Callable[[str], str | None] | None = None,
) -> tuple[Metrics, dict[str, int | None]]:
    """Metrics of ``run`` (id -> answer dict) and the first-hit rank of each answerable question.

    Only the first ``k`` passages count; a passage over ``MAX_WORDS`` words never answers. With
    ``source_text`` (source name -> its text, or None), every passage's text is checked against
    ``source[start:end]`` and each mismatch counts as a bad citation (as ``score.py --root``).
    Questions with no expectation (no phrases, not unanswerable) are left out; a question
    missing from the run counts as answered with no passages.
    """
    tally = _Tally()
    ranks: dict[str, int | None] = {}
    for q in questions:
        if not q.has_expectation:
            continue
        answer = run.get(q.id) or {"passages": [], "abstained": False}
        texts = [p.get("text", "") for p in (answer.get("passages") or [])[:k]]
        tally.passages += len(texts)
        tally.words += sum(len(t.split()) for t in texts)
        tally.too_long += sum(len(t.split()) > MAX_WORDS for t in texts)
        if source_text is not None:
            tally.bad_citations += sum(
                not _cited_exactly(p, source_text) for p in (answer.get("passages") or [])[:k]
            )
        abstained = bool(answer.get("abstained"))
        if q.unanswerable:
            tally.unanswerable += 1
            tally.abstained_ok += abstained
            continue
        tally.answerable += 1
        tally.false_abstains += abstained
        rank = ranks[q.id] = first_hit(q, texts)
        if rank:
            tally.reciprocal_ranks += 1.0 / rank
            tally.hits1 += rank <= 1
            tally.hits3 += rank <= 3
            tally.hitsk += rank <= k
    return tally.metrics(k), ranks


def _cited_exactly(passage: Mapping[str, Any], source_text: Callable[[str], str | None]) -> bool:
    text = source_text(str(passage.get("source", "")))
    start, end = passage.get("start"), passage.get("end")
    if text is None or not isinstance(start, int) or not isinstance(end, int):
        return False
    return text[start:end] == passage.get("text")


class Outcome(str, Enum):
    """What happened to one question of a run; compares equal to its value ("correct", ...)."""

    CORRECT = "correct"
    WRONG = "wrong"
    ABSTAINED_OK = "abstained_ok"
    FALSE_ABSTAIN = "false_abstain"
    ANSWERED_UNANSWERABLE = "answered_unanswerable"
    UNSCORED = "unscored"

    @property
    def label(self) -> str:
        """How the CSV and the report name the outcome."""
        return _OUTCOME_LABELS[self]

    @property
    def needs_a_look(self) -> bool:
        """Whether a course author should look at the question (a miss or a wrong abstention)."""
        return self in (Outcome.WRONG, Outcome.FALSE_ABSTAIN, Outcome.ANSWERED_UNANSWERABLE)

    @property
    def answerable(self) -> bool:
        """Whether the question had answer phrases (so it counts in hit@k)."""
        return self in (Outcome.CORRECT, Outcome.WRONG, Outcome.FALSE_ABSTAIN)


_OUTCOME_LABELS = {
    Outcome.CORRECT: "correct",
    Outcome.WRONG: "wrong",
    Outcome.ABSTAINED_OK: "abstained (right)",
    Outcome.FALSE_ABSTAIN: "abstained (wrong)",
    Outcome.ANSWERED_UNANSWERABLE: "answered, should abstain",
    Outcome.UNSCORED: "no expectation",
}


def outcome(row: Mapping[str, Any], k: int) -> Outcome:
    """The outcome of a run row (as :func:`qa.eval.runs.run_rows` makes them).

    An answerable question is correct when a correct passage is in the top ``k``, even if the
    bot abstained (as hit@k counts it); abstaining there is shown as a false abstention.
    """
    expected = row.get("expected")
    if expected is None:
        return Outcome.UNSCORED
    if expected == UNANSWERABLE:
        return Outcome.ABSTAINED_OK if row.get("abstained") else Outcome.ANSWERED_UNANSWERABLE
    if row.get("abstained"):
        return Outcome.FALSE_ABSTAIN
    rank = row.get("rank")
    return Outcome.CORRECT if rank is not None and rank <= k else Outcome.WRONG


def metric_notes(k: int) -> dict[str, str]:
    """What each metric of :meth:`Metrics.as_dict` means, in a few words."""
    return {
        "answerable": "questions with expected phrases",
        "hit@1": "a correct passage ranked first",
        "hit@3": "a correct passage in the top 3",
        f"hit@{k}": f"a correct passage in the top {k}",
        f"mrr@{k}": "mean of 1/rank of the first correct passage (0 when none)",
        "unanswerable": "questions the documents should not answer",
        "abstain_ok": "unanswerable questions where the bot abstained",
        "false_abstain": "answerable questions where the bot abstained",
        "avg_words": "words per passage",
        "too_long": f"passages over {MAX_WORDS} words (they never count as correct)",
        "bad_citations": "passages whose text is not source[start:end]",
    }


NOT_APPLICABLE = "–"
"""Shown for a rate over no questions (abstain_ok with no unanswerable question), not 0.0."""


def shown_value(metrics: Mapping[str, Any], key: str) -> str:
    """``metrics[key]`` as a table or report shows it: :data:`NOT_APPLICABLE` for a rate whose
    questions are none (``abstain_ok`` without unanswerable questions, the hit rates and
    ``false_abstain`` without answerable ones), which would otherwise read as a 0.0 failure."""
    value = metrics[key]
    over = "unanswerable" if key == "abstain_ok" else "answerable"
    rate = key == "abstain_ok" or key == "false_abstain" or key.startswith(("hit@", "mrr@"))
    return NOT_APPLICABLE if rate and metrics.get(over) == 0 else str(value)


def format_metrics(metrics: Metrics) -> str:
    """The metrics as a small aligned table, one line each with what it means."""
    notes = metric_notes(metrics.k)
    values = {key: shown_value(metrics.as_dict(), key) for key in metrics.as_dict()}
    width = max(len(key) for key in values)
    vwidth = max(len(str(v)) for v in values.values())
    lines = [f"metrics (top {metrics.k} passages)"]
    for key, value in values.items():
        lines.append(f"  {key.ljust(width)}  {str(value).rjust(vwidth)}  {notes.get(key, '')}".rstrip())
    return "\n".join(lines)
