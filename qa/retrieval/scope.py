"""A follow-up ranked by what it asks: the topic chooses where to look, the question what to pick.

A follow-up ("where does its output go?" after "what is FC_DEBUG for in fontconfig?") is searched
with its conversation's topic, so that the search lands among the topic's passages. Ranked on the
topic and the question together, though, the topic's own words win: the passage that answered the
previous question, or another that repeats its words, ranks above the one answering what is asked
about it now. So a follow-up's candidates stay those found with its topic (recall), and they are
ranked again on the question's own evidence (:class:`Scope`):

- the dense side by a vector halfway between the question with its topic and the question alone
  (:data:`OWN_SHARE`); the same vector reorders the first passages by their sections;
- BM25 on the question's own terms only (:data:`TOPIC_TERM_WEIGHT`); the topic's terms still name
  the document and the sections to prefer (:meth:`Structure.bonus`).

Abstention is decided before, on the passage the search with the topic puts first, as calibrated.
A question searched alone (no history, a topic switch) is not touched, nor is one with no terms of
its own ("and why?"): its topic is all it has to go on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.retrieval.fusion import Candidates, Fusion
from qa.store.base import CandidateSearch

__all__ = ["OWN_SHARE", "TOPIC_TERM_WEIGHT", "Scope"]

OWN_SHARE = 0.5
"""Share of the question's own vector in the vector that ranks a follow-up's candidates."""
TOPIC_TERM_WEIGHT = 0.0
"""BM25 weight of a term only the topic brings (the question's own terms weigh 1)."""


@dataclass(frozen=True)
class Scope:
    """How a follow-up's candidates are ranked: by ``vector`` and BM25 weighed by ``weights``."""

    vector: np.ndarray
    """The question alone and with its topic, mixed by :data:`OWN_SHARE` (unit length)."""
    weights: dict[str, float]
    """Each distinct term of the query: how often the query repeats it, times 1 for the
    question's own terms and :data:`TOPIC_TERM_WEIGHT` for those only the topic brings."""

    @classmethod
    def of(
        cls, with_topic: np.ndarray, own: np.ndarray, query_terms: list[str], own_terms: list[str]
    ) -> Scope | None:
        """The scope of a question searched with its topic (``with_topic``: the vector its
        candidates are ranked by today); None when the question has no terms of its own."""
        mine = set(own_terms)
        if not mine & set(query_terms):
            return None
        topic_side = (1.0 - OWN_SHARE) * np.asarray(with_topic, np.float32)
        mixed = topic_side + OWN_SHARE * np.asarray(own, np.float32)
        norm = float(np.linalg.norm(mixed))
        vector = mixed / norm if norm > 0 else np.asarray(with_topic, np.float32)
        weights = {
            term: query_terms.count(term) * (1.0 if term in mine else TOPIC_TERM_WEIGHT)
            for term in dict.fromkeys(query_terms)
        }
        return cls(vector.astype(np.float32), weights)

    def rank(self, fusion: Fusion, candidates: Candidates) -> tuple[Candidates, dict[str, float] | None]:
        """``candidates`` (found with the topic) fused again on the question's own evidence, and
        the term weights their BM25 was read with (None: a search engine's BM25, kept as it is)."""
        ids = candidates.ids
        ranking = fusion.dense_scores(self.vector, ids) if candidates.dense is not None else None
        store = fusion.index.store
        engine = isinstance(store, CandidateSearch) and store.lexical_in_engine
        if engine or candidates.lexical is None:
            weights, lexical = None, candidates.lexical
        else:
            weights, lexical = self.weights, fusion.weighted_lexical(self.weights, ids)
        if lexical is None:
            lexical = np.zeros(len(ids), np.float32)
        return fusion.rescored(candidates, ranking, lexical), weights
