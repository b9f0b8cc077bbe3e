"""BM25 over the windows' normalised, stemmed words (via ``bm25s``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from qa.lexical.terms import terms

__all__ = ["LexicalIndex"]


class LexicalIndex:
    """Okapi BM25 scores of every window for a query; built in memory from the window texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)

        self.n = len(texts)
        tokens = [terms(t) or ["\x00empty"] for t in texts]
        self._bm25 = bm25s.BM25()
        self._bm25.index(tokens, show_progress=False)
        self._vocab = self._bm25.vocab_dict
        df: dict[str, int] = {}
        for toks in tokens:
            for tok in set(toks):
                df[tok] = df.get(tok, 0) + 1
        self._df = df

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of each window (zeros when no query term is in the corpus)."""
        known = [t for t in query_terms if t in self._vocab]
        if not known:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; high for terms the corpus lacks."""
        df = self._df.get(term, 0)
        return float(np.log(1.0 + (self.n - df + 0.5) / (df + 0.5)))

    def known(self, term: str) -> bool:
        return term in self._df
