"""The span of a passage to show first: the words with the best evidence for the question.

On text without punctuation (like the seed) it is the ``HIGHLIGHT_WORDS``-word run with the best
mean word score plus the IDF share of the question's terms it contains.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from qa.index.core import Index
from qa.ingest.normalize import STOP_WORDS, normalize, stem
from qa.lexical.bm25 import LexicalIndex

__all__ = ["Highlighter", "HIGHLIGHT_WORDS"]

HIGHLIGHT_WORDS = 20
TERM_COVER_WEIGHT = 0.5
"""Weight of the query terms' IDF share against the mean word score."""


class Highlighter:
    """Finds the highlight of a passage; holds stem ids of every word of every document."""

    def __init__(self, index: Index, lexicon: LexicalIndex) -> None:
        self.index = index
        self.lexicon = lexicon

    @cached_property
    def stem_ids(self) -> tuple[dict[str, int], list[np.ndarray]]:
        """Stem ids of every word of every document (0 for stop words)."""
        vocabulary: dict[str, int] = {"": 0}
        out = []
        for document, words in zip(self.index.documents, self.index.word_maps):
            row = np.zeros(len(words), dtype=np.int32)
            for j, (start, end) in enumerate(zip(words.starts, words.ends)):
                word = normalize(document.text[start:end])
                if word and word not in STOP_WORDS:
                    row[j] = vocabulary.setdefault(stem(word), len(vocabulary))
            out.append(row)
        return vocabulary, out

    def term_hits(self, doc: int, start: int, end: int, query_terms: list[str]) -> dict[str, np.ndarray]:
        """For each distinct query term the corpus knows: which words of ``[start, end)`` are it."""
        vocabulary, stem_ids = self.stem_ids
        ids = stem_ids[doc][start:end]
        return {t: ids == vocabulary[t] for t in set(query_terms) if t in vocabulary}

    def weights(self, query_terms: list[str]) -> dict[str, float]:
        return {t: self.lexicon.idf(t) for t in set(query_terms)}

    def fixed_span(
        self, doc: int, start: int, end: int, word_scores: np.ndarray, query_terms: list[str]
    ) -> tuple[int, int]:
        """The ``HIGHLIGHT_WORDS``-word run with the best mean word score plus query-term cover."""
        size = min(HIGHLIGHT_WORDS, end - start)
        runs = end - start - size + 1
        weights = self.weights(query_terms)
        total = sum(weights.values()) or 1.0
        cover = np.zeros(runs)
        box = np.ones(size, dtype=np.int32)
        for term, hits in self.term_hits(doc, start, end, query_terms).items():
            if hits.any():
                cover += weights[term] * (np.convolve(hits.astype(np.int32), box, mode="valid") > 0)
        cumulative = np.concatenate([[0.0], np.cumsum(word_scores[start:end], dtype=np.float64)])
        mean_score = (cumulative[size:] - cumulative[:-size]) / size
        best = int(np.argmax(mean_score + TERM_COVER_WEIGHT * cover / total))
        return start + best, start + best + size
