"""Comparing two runs, and the regression gate built on it.

Only questions with an expectation in both runs are compared. A question is better or worse
when the rank of its first correct passage within ``k`` moved, or when the bot now abstains
where it should (unanswerable) or should not (answerable). The gate fails when hit@k dropped,
the share of answerable questions declined (false_abstain) rose, or the share of unanswerable
ones declined (abstain_ok) fell, by more than a tolerance: a run that declines what it used to
answer keeps its hit@k (the closest passages are still ranked) and is no better for learners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from qa.errors import EvaluationError
from qa.eval.questions import UNANSWERABLE

__all__ = ["Change", "Comparison", "compare_runs", "format_comparison", "gate"]


class Change(NamedTuple):
    """One question that got better or worse between two runs (a tuple: id, question, change)."""

    id: str
    question: str
    change: str
    """What moved, "rank 4 -> 1" or "no hit -> rank 2, abstained"."""


@dataclass(frozen=True)
class Comparison:
    """How run B differs from run A on the questions both scored."""

    better: tuple[Change, ...]
    worse: tuple[Change, ...]
    hit_a: float
    hit_b: float
    compared: int
    """Answerable questions scored in both runs (hit@k is over these)."""
    k: int = 5
    only_a: tuple[str, ...] = ()
    """Ids of scored questions in A and not in B."""
    only_b: tuple[str, ...] = ()
    false_abstain_a: float = 0.0
    """Share of the compared answerable questions the bot declined in A."""
    false_abstain_b: float = 0.0
    unanswerable: int = 0
    """Unanswerable questions in both runs (abstain_ok is over these)."""
    abstain_ok_a: float = 0.0
    """Share of those the bot declined in A, as it should."""
    abstain_ok_b: float = 0.0

    @property
    def drop(self) -> float:
        """How much hit@k fell from A to B (negative when it rose)."""
        return round(self.hit_a - self.hit_b, 3)

    @property
    def empty(self) -> bool:
        """Nothing in common to compare: no shared answerable question and no change."""
        return not self.compared and not self.better and not self.worse

    def regressions(self, tolerance: float) -> tuple[str, ...]:
        """What got worse by more than ``tolerance`` (a change equal to it passes), in words:
        "hit@5 dropped by 0.25", "false_abstain (answerable questions declined) rose by 0.2:
        0.05 -> 0.25", ..."""
        found = []
        if self.drop > tolerance:
            found.append(f"hit@{self.k} dropped by {self.drop}")
        rise = round(self.false_abstain_b - self.false_abstain_a, 3)
        if rise > tolerance:
            found.append(
                f"false_abstain (answerable questions declined) rose by {rise}: "
                f"{self.false_abstain_a} -> {self.false_abstain_b}"
            )
        fall = round(self.abstain_ok_a - self.abstain_ok_b, 3)
        if self.unanswerable and fall > tolerance:
            found.append(
                f"abstain_ok (unanswerable questions declined) fell by {fall}: "
                f"{self.abstain_ok_a} -> {self.abstain_ok_b}"
            )
        return tuple(found)

    def regressed(self, tolerance: float) -> bool:
        """Whether hit@k, false_abstain or abstain_ok got worse by more than ``tolerance``."""
        return bool(self.regressions(tolerance))


def _quality(row: Mapping[str, Any], k: int) -> tuple[int, str]:
    """A sortable quality (higher is better) and a label for one run row."""
    abstained = bool(row.get("abstained"))
    if row.get("expected") == UNANSWERABLE:
        return (1, "abstained") if abstained else (0, "answered")
    rank = row.get("rank")
    if rank is None or rank > k:
        return 0, "abstained, no hit" if abstained else "no hit"
    return (k + 1 - rank) * 2 - abstained, f"rank {rank}" + (", abstained" if abstained else "")


def _hit(row: Mapping[str, Any], k: int) -> bool:
    return (row.get("rank") or k + 1) <= k


def compare_runs(
    a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]], *, k: int = 5
) -> Comparison:
    """Questions with an expectation in both runs (id -> row): which got better or worse, hit@k of each."""
    better, worse = [], []
    hits_a = hits_b = n = 0
    declined_a = declined_b = unanswerable = kept_a = kept_b = 0
    for qid in a.keys() & b.keys():
        ra, rb = a[qid], b[qid]
        if "expected" not in ra or "expected" not in rb:
            continue
        (quality_a, label_a), (quality_b, label_b) = _quality(ra, k), _quality(rb, k)
        if ra.get("expected") != UNANSWERABLE:
            n += 1
            hits_a += _hit(ra, k)
            hits_b += _hit(rb, k)
            declined_a += bool(ra.get("abstained"))
            declined_b += bool(rb.get("abstained"))
        else:
            unanswerable += 1
            kept_a += bool(ra.get("abstained"))
            kept_b += bool(rb.get("abstained"))
        change = Change(qid, str(rb.get("question", "")), f"{label_a} -> {label_b}")
        if quality_b > quality_a:
            better.append(change)
        elif quality_b < quality_a:
            worse.append(change)
    scored_a = {i for i, r in a.items() if "expected" in r}
    scored_b = {i for i, r in b.items() if "expected" in r}
    return Comparison(
        better=tuple(sorted(better)),
        worse=tuple(sorted(worse)),
        hit_a=round(hits_a / max(n, 1), 3),
        hit_b=round(hits_b / max(n, 1), 3),
        compared=n,
        k=k,
        only_a=tuple(sorted(scored_a - scored_b)),
        only_b=tuple(sorted(scored_b - scored_a)),
        false_abstain_a=round(declined_a / max(n, 1), 3),
        false_abstain_b=round(declined_b / max(n, 1), 3),
        unanswerable=unanswerable,
        abstain_ok_a=round(kept_a / max(unanswerable, 1), 3),
        abstain_ok_b=round(kept_b / max(unanswerable, 1), 3),
    )


def gate(
    baseline: Mapping[str, Mapping[str, Any]], run: Mapping[str, Mapping[str, Any]], *, k: int = 5
) -> Comparison:
    """:func:`compare_runs`, refusing runs that have nothing to compare (a gate that always passes)."""
    comparison = compare_runs(baseline, run, k=k)
    if comparison.empty:
        raise EvaluationError(
            "no question with expected answers is in both runs; compare runs written by "
            "`qa eval --out` from question files with expected phrases"
        )
    return comparison


def format_comparison(c: Comparison, *, shown: int = 10) -> str:
    """What changed, for a terminal: hit@k and the shares declined before and after, then the
    better and worse questions."""
    lines = [
        f"compared {c.compared} answerable questions: hit@{c.k} {c.hit_a} -> {c.hit_b}, "
        f"false_abstain {c.false_abstain_a} -> {c.false_abstain_b}"
    ]
    if c.unanswerable:
        lines.append(f"and {c.unanswerable} unanswerable: abstain_ok {c.abstain_ok_a} -> {c.abstain_ok_b}")
    for what, ids in (("only in the baseline", c.only_a), ("only in the new run", c.only_b)):
        if ids:
            more = " ..." if len(ids) > shown else ""
            lines.append(f"{what} (not compared): {', '.join(ids[:shown])}{more}")
    for title, changes in (("better", c.better), ("worse", c.worse)):
        lines.append(f"{title}: {len(changes)}")
        lines += [f"  {x.id}: {x.change}  {x.question[:80]}" for x in changes]
    return "\n".join(lines)
