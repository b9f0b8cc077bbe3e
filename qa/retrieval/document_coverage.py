"""Whether the document of the passage shown first holds the question's words at all.

The coverage signal (:mod:`qa.retrieval.abstain`) asks whether the top passage holds the
question's terms. This one asks the same of the passage's whole document. A question the
documents answer lands in a document about it: the document holds nearly all its terms, spread
over its sections if not in the passage. An unanswerable question on a covered topic often lands
in a document that shares a few of its words (a word used as a name of an element, a common verb)
while its rarer terms live in another document or nowhere. Both are IDF shares of the same
terms, so the signal means the same on any corpus; it is one input of the abstention model.

The stems of a document are read once, when a question first lands in it, and only its distinct
stem ids are kept (a sorted array, not a row per word), so a question costs a binary search per
term.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Protocol

import numpy as np

from qa.index.lazy import PerDocument

__all__ = ["DocumentCoverage"]


class Stems(Protocol):
    """What this reads of :class:`qa.retrieval.highlight.Highlighter`."""

    @property
    def stem_ids(self) -> tuple[dict[str, int], Sequence[np.ndarray]]: ...

    def passage_stems(self, doc: int, start: int, end: int) -> np.ndarray: ...

    def weights(self, query_terms: list[str]) -> dict[str, float]: ...


class DocumentCoverage:
    """IDF share of a question's terms found anywhere in one document."""

    def __init__(self, stems: Stems, words: Callable[[int], int], documents: int) -> None:
        self.stems = stems
        self.words = words
        """``words(doc)``: how many words document ``doc`` has."""
        self.documents = documents

    @cached_property
    def _distinct(self) -> PerDocument[np.ndarray]:
        return PerDocument(
            lambda doc: np.unique(self.stems.passage_stems(doc, 0, self.words(doc))), self.documents
        )

    def __call__(self, doc: int, query_terms: list[str]) -> float:
        """IDF share of the distinct ``query_terms`` that some word of ``doc`` is."""
        weights = self.stems.weights(query_terms)
        total = sum(weights.values())
        if not total:
            return 0.0
        distinct = self._distinct[doc]  # reads the document first: its stems join the vocabulary
        vocabulary = self.stems.stem_ids[0]
        found = 0.0
        for term, weight in weights.items():
            stem_id = vocabulary.get(term)
            if stem_id is None:
                continue
            at = int(np.searchsorted(distinct, stem_id))
            if at < len(distinct) and distinct[at] == stem_id:
                found += weight
        return found / total
