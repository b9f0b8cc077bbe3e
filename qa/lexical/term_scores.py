"""BM25 scores kept term by term: what a query's score at some windows is summed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["TermScores"]


@dataclass(frozen=True)
class TermScores:
    """``rows[i]``: the BM25 score of ``terms[i]`` at each of some windows (0 where a window
    does not hold it)."""

    terms: tuple[str, ...]
    rows: np.ndarray
    """float32, one row per term, one column per window."""

    def row(self, term: str) -> np.ndarray | None:
        """The scores of ``term`` (None: not one of :attr:`terms`)."""
        try:
            return self.rows[self.terms.index(term)]
        except ValueError:
            return None

    def total(self, query_terms: Sequence[str]) -> np.ndarray:
        """The query's score at each window: its terms' rows summed in float32 in the query's
        order, a term asked twice counted twice (BM25's sums, bit for bit: adding a term's 0 where
        a window lacks it changes no sum of scores that are never negative)."""
        out = np.zeros(self.rows.shape[1], dtype=np.float32)
        for term in query_terms:
            row = self.row(term)
            if row is not None:
                out += row
        return out

    def only(self, mask: np.ndarray) -> TermScores:
        """The same terms at the windows ``mask`` marks."""
        return TermScores(self.terms, self.rows[:, mask])
