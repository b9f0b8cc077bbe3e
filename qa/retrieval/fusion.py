"""Hybrid scoring over candidates: dense top-N and BM25 top-N, fused over their union.

Only the candidates are scored, so the cost of a question grows with the number of candidates,
not with the number of windows, and any vector store that returns its top hits can serve it.
Both scores are normalised within each window size with statistics of that size's candidates:
dense cosines from the lower quartile of the candidates (0) to the best (1), BM25 by the best candidate.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.config import Settings
from qa.index.model import Index
from qa.lexical.bm25 import LexicalIndex
from qa.lexical.term_scores import TermScores
from qa.lexical.terms import acronyms, terms
from qa.store.base import CandidateSearch

__all__ = ["Candidates", "Fusion", "DENSE_CANDIDATES", "LEXICAL_CANDIDATES", "quantile", "sorted_distinct"]

DENSE_CANDIDATES = 512
"""Dense candidates per question, over all window sizes."""
LEXICAL_CANDIDATES = 64
"""BM25 candidates per question and window size."""
_NEAREST = 1
"""Windows nearest to the question as asked kept among the candidates when another vector ranks
them (the best cosine is evidence for abstention)."""
RECENT_QUERIES = 16
"""Queries whose terms are kept: those of the questions being answered (a handful at once)."""
DENSE_FLOOR_QUANTILE = 0.25
"""Dense scores are rescaled from this quantile of a size's candidates (0) to their best (1)."""


@dataclass(frozen=True)
class Candidates:
    """The windows a question is scored on, with their fused score (0..1) and their cosines."""

    ids: np.ndarray
    fused: np.ndarray
    dense: np.ndarray | None
    """Cosine of each candidate to the question (None in lexical mode)."""
    lexical: np.ndarray | None = None
    """Raw BM25 of each candidate (None: not kept)."""
    bonus: np.ndarray | None = None
    """What :meth:`boosted` added to the fused scores (None: nothing)."""
    ranking: np.ndarray | None = None
    """Cosine of each candidate to the vector that ranks them, when it is not the question's
    own (the question without the name of the document it names: :mod:`qa.retrieval.name_free`);
    None: ``dense`` ranks them."""
    terms: TermScores | None = None
    """The raw BM25 of the query's terms at each candidate, term by term, as ``lexical`` was
    first summed from them (None: not kept); read again rather than looked up twice."""

    def boosted(self, extra: np.ndarray) -> Candidates:
        """The same candidates with ``extra`` added to their fused scores."""
        extra = extra.astype(np.float32)
        bonus = extra if self.bonus is None else self.bonus + extra
        return dataclasses.replace(self, fused=self.fused + extra, bonus=bonus)

    def only(self, mask: np.ndarray) -> Candidates:
        """The candidates ``mask`` marks, each with its scores."""

        def kept(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[mask]

        return Candidates(
            ids=self.ids[mask],
            fused=self.fused[mask],
            dense=kept(self.dense),
            lexical=kept(self.lexical),
            bonus=kept(self.bonus),
            ranking=kept(self.ranking),
            terms=None if self.terms is None else self.terms.only(mask),
        )

    @property
    def best_dense(self) -> float:
        return float(self.dense.max()) if self.dense is not None and len(self.dense) else 0.0

    @property
    def ranking_dense(self) -> np.ndarray | None:
        """The cosines fusion ranks the candidates by."""
        return self.dense if self.ranking is None else self.ranking


class Fusion:
    """Candidate search and score fusion over one index; built lazily, shared between threads."""

    def __init__(self, index: Index, settings: Settings) -> None:
        self.index = index
        self.settings = settings

    @property
    def bm25_by_term(self) -> bool:
        """Whether BM25 is scored here, term by term, and not inside a search engine (whose
        scores are not ours to take apart term by term)."""
        return not (self._engine is not None and self._engine.lexical_in_engine)

    @cached_property
    def _engine(self) -> CandidateSearch | None:
        """The index's store when it finds candidates itself (a search engine), else None;
        checked once: a runtime protocol check costs tens of microseconds."""
        store = self.index.store
        return store if isinstance(store, CandidateSearch) else None

    @property
    def scale_of_window(self) -> np.ndarray:
        return self.index.windows.scale

    @cached_property
    def size_of_window(self) -> np.ndarray:
        """Each window's size as a number from 0 (the smallest size), found once per index."""
        return np.unique(self.scale_of_window, return_inverse=True)[1].reshape(-1)

    @property
    def lexical(self) -> LexicalIndex:
        """BM25 over the windows, each size on its own, saved with the index."""
        return self.index.lexical

    @property
    def lexicon(self) -> LexicalIndex:
        """The BM25 index whose IDF (of the smallest windows) weighs query terms."""
        return self.lexical

    def query_terms(self, query: str) -> list[str]:
        """BM25 terms of the query, plus acronyms of its multi-word names that the corpus uses."""
        return list(self._recent_terms(query))

    @cached_property
    def _recent_terms(self) -> Callable[[str], tuple[str, ...]]:
        """:meth:`query_terms` of the last few queries: one question reads its terms several
        times (search, abstention, the passages' marks)."""

        @functools.lru_cache(maxsize=RECENT_QUERIES)
        def find(query: str) -> tuple[str, ...]:
            found = terms(query)
            found += [a for a in acronyms(query) if self.lexicon.known(a) and a not in found]
            return tuple(found)

        return find

    # candidates ----------------------------------------------------------------------------

    def dense_top(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Window ids of the ``n`` nearest windows (the store's search, exact rescoring later)."""
        _, ids = self.index.store.search(vector[None, :], n)
        return ids[0][ids[0] >= 0]

    def best_dense(self, vector: np.ndarray) -> float:
        """The cosine of the window nearest to ``vector``."""
        return self.nearest(vector)[0]

    def nearest(self, vector: np.ndarray) -> tuple[float, int]:
        """The cosine and id of the window nearest to ``vector`` (0.0 and -1 with no window)."""
        scores, ids = self.index.store.search(vector[None, :], 1)
        return (float(scores[0][0]), int(ids[0][0])) if scores.size else (0.0, -1)

    def dense_scores(self, vector: np.ndarray, window_ids: np.ndarray) -> np.ndarray:
        """Exact cosines of ``window_ids`` from the stored vectors."""
        return np.asarray(self.index.store.vectors(window_ids), dtype=np.float32) @ vector

    def lexical_top(self, query_terms: list[str], n: int) -> np.ndarray:
        """Window ids of the ``n`` best BM25 windows of each size (only windows with a term)."""
        found = self.lexical.top_each(query_terms, n)
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def candidates(
        self, vector: np.ndarray | None, query_terms: list[str], *, ranking: np.ndarray | None = None
    ) -> Candidates:
        """Dense and BM25 candidates fused over their union. With a ``ranking`` vector, the dense
        candidates are its nearest windows and its cosines are fused; ``dense`` keeps the cosines
        of ``vector`` (the question as asked: what abstention reads), and the window nearest to
        ``vector`` is a candidate too."""
        if self._engine is not None:
            found = self._found_by_store(self._engine, vector, query_terms, ranking)
            if found is not None:
                return found
        mode = self.settings.mode
        ranking = ranking if vector is not None and mode != "lexical" else None
        parts = []
        if vector is not None and mode != "lexical":
            if ranking is None:
                parts.append(self.dense_top(vector, DENSE_CANDIDATES))
            else:
                parts += [self.dense_top(ranking, DENSE_CANDIDATES), self.dense_top(vector, _NEAREST)]
        if mode != "dense":
            parts.append(self.lexical_top(query_terms, LEXICAL_CANDIDATES))
        ids = sorted_distinct(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        if not len(ids):  # nothing matched at all: every window is a candidate with score 0
            ids = np.arange(min(len(self.index), LEXICAL_CANDIDATES))
        dense = self.dense_scores(vector, ids) if vector is not None and mode != "lexical" else None
        ranked = self.dense_scores(ranking, ids) if ranking is not None else None
        by_term = self.lexical.term_scores(query_terms, ids) if mode != "dense" else None
        lexical = by_term.total(query_terms) if by_term is not None else np.zeros(len(ids), np.float32)
        fused = self._fuse(ids, dense if ranked is None else ranked, lexical)
        return Candidates(ids, fused, dense, lexical, ranking=ranked, terms=by_term)

    def _found_by_store(
        self,
        store: CandidateSearch,
        vector: np.ndarray | None,
        query_terms: list[str],
        ranking: np.ndarray | None = None,
    ) -> Candidates | None:
        """The candidates a search engine finds itself (dense and, with BM25 in the engine, BM25
        in one round of calls), fused as below; None when nothing matched. With a ``ranking``
        vector the engine searches by it, and ``vector``'s cosines are read from the stored
        vectors."""
        mode = self.settings.mode
        vector = vector if mode != "lexical" else None
        ranking = ranking if vector is not None else None
        lexical_terms = query_terms if mode != "dense" else []
        local = None
        if lexical_terms and not store.lexical_in_engine:  # an engine without BM25: ours finds them
            local = self.lexical_top(lexical_terms, LEXICAL_CANDIDATES)
        searched = vector if ranking is None else ranking
        if ranking is not None:  # the window nearest the question as asked: its cosine is evidence
            nearest = self.dense_top(vector, _NEAREST)
            local = nearest if local is None else np.concatenate([local, nearest])
        found = store.candidates(
            searched, lexical_terms, dense_n=DENSE_CANDIDATES, lexical_n=LEXICAL_CANDIDATES, extra_ids=local
        )
        if not len(found.ids):
            return None
        lexical = found.lexical
        if lexical is None:
            lexical = (
                self.lexical.scores_for(lexical_terms, found.ids)
                if lexical_terms
                else np.zeros(len(found.ids), np.float32)
            )
        if ranking is None:
            return Candidates(found.ids, self._fuse(found.ids, found.dense, lexical), found.dense, lexical)
        dense = self.dense_scores(vector, found.ids)
        fused = self._fuse(found.ids, found.dense, lexical)
        return Candidates(found.ids, fused, dense, lexical, ranking=found.dense)

    def rescored(self, candidates: Candidates, ranking: np.ndarray | None, lexical: np.ndarray) -> Candidates:
        """The same candidates fused again from other ranking cosines and BM25 scores; ``dense``
        (the cosines abstention reads) is kept."""
        fused = self._fuse(candidates.ids, ranking if self.settings.mode != "lexical" else None, lexical)
        return dataclasses.replace(candidates, fused=fused, lexical=lexical, ranking=ranking)

    def names_everywhere(
        self, candidates: Candidates, query_terms: list[str], where: dict[str, np.ndarray]
    ) -> Candidates:
        """``candidates`` fused again so that each query term ``t`` of ``where`` counts alike in
        every candidate the boolean mask ``where[t]`` marks: its BM25 there is replaced by the most
        it gives any marked candidate of the same document and window size. A document is about
        its name wherever the name is written. The same candidates when ``where`` marks none, in
        dense mode, and when a search engine scored BM25 itself (its scores are not ours to take
        apart term by term)."""
        if not self.bm25_by_term or self.settings.mode == "dense" or candidates.lexical is None:
            return candidates
        if not any(mask.any() for mask in where.values()):
            return candidates
        ids = candidates.ids
        named = np.zeros(len(ids), np.float32)  # what the names give each candidate
        for term, mask in where.items():
            if mask.any():
                named[mask] += self._term_bm25(candidates, term, query_terms.count(term), mask)
        marked = np.flatnonzero(np.any(list(where.values()), axis=0))
        # one group per document and window size: every candidate of it gets the group's most
        scales = self.scale_of_window[ids[marked]].astype(np.int64)  # not a pass over every window
        groups = self.index.table["doc"][ids[marked]].astype(np.int64) * (int(scales.max()) + 1) + scales
        keys, group_of = np.unique(groups, return_inverse=True)
        most = np.zeros(len(keys), np.float32)
        np.maximum.at(most, group_of.reshape(-1), named[marked])
        lexical = candidates.lexical.copy()
        lexical[marked] += most[group_of.reshape(-1)] - named[marked]
        fused = self._fuse(ids, candidates.ranking_dense, lexical)
        return dataclasses.replace(candidates, fused=fused, lexical=lexical)

    def _term_bm25(self, candidates: Candidates, term: str, times: int, mask: np.ndarray) -> np.ndarray:
        """``scores_for([term] * times, candidates.ids[mask])``, from the scores the candidates
        kept term by term when they hold ``term`` (the same float32 sums)."""
        row = candidates.terms.row(term) if candidates.terms is not None else None
        if row is None:
            return self.lexical.scores_for([term] * times, candidates.ids[mask])
        out = np.zeros(int(np.count_nonzero(mask)), np.float32)
        for _ in range(times):
            out += row[mask]
        return out

    def _fuse(self, ids: np.ndarray, dense: np.ndarray | None, lexical: np.ndarray) -> np.ndarray:
        """Each candidate's fused score: within its window size, its cosine rescaled from the
        size's lower quartile (0) to its best (1) and its BM25 divided by the size's best, mixed
        by ``dense_weight``. All sizes at once (:class:`_BySize`): a loop over the sizes cost a
        dozen small NumPy calls per size, and a question fuses more than once."""
        mode, weight = self.settings.mode, self.settings.dense_weight
        fused = np.zeros(len(ids), np.float32)
        if not len(ids):
            return fused
        groups = _BySize(self.size_of_window[ids])
        if dense is not None:
            fused += np.float32(weight if mode == "hybrid" else 1.0) * groups.rescaled(dense)
        if mode != "dense":
            fused += np.float32(1.0 - weight if mode == "hybrid" else 1.0) * groups.by_best(lexical)
        return fused


class _BySize:
    """Candidates grouped by window size, rescaled with their size's statistics as a loop over
    the sizes rescaled them, bit for bit: each operation is the loop's, in float32 where the
    loop's was (a Python float meeting a float32 array is cast to float32 first)."""

    def __init__(self, sizes: np.ndarray) -> None:
        """``sizes``: the size of each candidate as a number (:attr:`Fusion.size_of_window`)."""
        counts = np.bincount(sizes)
        if not counts.all():  # sizes without a candidate: the others numbered from 0
            sizes = (np.cumsum(counts > 0) - 1)[sizes]
            counts = counts[counts > 0]
        self.group = sizes
        """The size of each candidate, numbered from 0 among the sizes the candidates have."""
        self.counts = counts
        self.starts = np.cumsum(counts) - counts
        """Where each size begins among the candidates ordered by size."""
        self._order: np.ndarray | None = None
        """The candidates in an order that groups them by size."""

    def rescaled(self, cosines: np.ndarray) -> np.ndarray:
        """Cosines from their size's lower quartile (0) to its best (1), clipped below at 0:
        ``np.clip((part - low) / max(high - low, 1e-6), 0, None)`` with ``low`` the
        :func:`quantile` at :data:`DENSE_FLOOR_QUANTILE` and ``high`` the best of the size."""
        self._order = np.lexsort((cosines, self.group))
        ordered = cosines[self._order]  # by size, then cosine (NaN last)
        virtual = (self.counts - 1) * DENSE_FLOOR_QUANTILE  # quantile's ranks, read off the order
        below = virtual.astype(np.int64)
        above = np.minimum(below + 1, self.counts - 1)
        gamma = virtual - below
        low, high = ordered[self.starts + below], ordered[self.starts + above]
        step = high - low
        low = np.where(
            gamma >= 0.5, high - step * (1 - gamma).astype(np.float32), low + step * gamma.astype(np.float32)
        )
        best = ordered[self.starts + self.counts - 1]  # NaN where the size has one, as max()
        low[np.isnan(best)] = np.nan  # quantile's answer for values with a NaN
        span = np.maximum(best.astype(np.float64) - low.astype(np.float64), 1e-6)  # Python floats'
        return np.clip((cosines - low[self.group]) / span.astype(np.float32)[self.group], 0, None)

    def by_best(self, scores: np.ndarray) -> np.ndarray:
        """Scores divided by the best of their size where that is above 0 (else as they are)."""
        if self._order is None:
            self._order = np.argsort(self.group, kind="stable")
        best = np.maximum.reduceat(scores[self._order], self.starts)[self.group]
        return np.divide(scores, best, out=scores.astype(np.float32, copy=True), where=best > 0)


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for integers: one sort and a comparison of neighbours. NumPy's own
    (a hash table, then a sort) took four times as long for a question's few hundred ids."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def quantile(values: np.ndarray, q: float) -> float:
    """``float(np.quantile(values, q))`` (its default, linear method: the same float, bit for
    bit) from a partition at the two ranks it reads: NumPy's general path costs over ten times
    more for the few hundred cosines of one window size, and a question takes several."""
    count = len(values)
    if not count:
        raise ValueError("the quantile of no values is undefined")
    virtual = (count - 1) * q
    below = int(virtual)
    above = min(below + 1, count - 1)
    gamma = virtual - below
    ordered = np.partition(values, [below, above] if above != below else below)
    low, high = ordered[below], ordered[above]
    if np.isnan(ordered).any():  # NumPy's answer for values with a NaN
        return float("nan")
    step = high - low
    # NumPy's lerp: from the nearer end, in the values' precision (``q`` a Python float)
    return float(high - step * (1 - gamma) if gamma >= 0.5 else low + step * gamma)
