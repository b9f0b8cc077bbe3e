"""A follow-up ranked by what it asks: the topic chooses where to look, the question what to pick.

A follow-up ("where does its output go?" after "what is FC_DEBUG for in fontconfig?") is searched
with its conversation's topic, so that the search lands among the topic's passages. Ranked on the
topic and the question together, though, the topic's own words win: the passage that answered the
previous question, or another that repeats its words, ranks above the one answering what is asked
about it now. So the passages grown for a follow-up with its topic (the pool the first ``k`` are
chosen from) are ranked again on evidence where the question's own part leads (:class:`Scope`):

- the dense side by the unit vector halfway between the question with its topic and the question
  alone (:data:`OWN_SHARE`); the same vector reorders the first passages by their sections;
- the BM25 side by the BM25 of the question's own terms and that of the topic's terms, each scaled
  to its best candidate of each window size, mixed with the question's own leading
  (:data:`OWN_TERMS_SHARE`): the topic's words still count, so "And how common is it?" after
  "What is debt bondage?" stays on debt bondage, but no longer outweigh what is asked.

In the document the topic leads to (that of the first passage found with the topic), the passages
are grown again from that ranking (:func:`within`; as many as the topic's pool had there), so that
they are cut around what the question asks: grown from the topic's ranking, a passage on the
topic's words can end one sentence before the answer to the follow-up ("How many data streams work
best?" after a question on the speed of the interleaved CRC: the section's first sentences, without
"is either 3 or 4"). Passages of other documents are those grown with the topic: there the
question's own words, which the search with the topic only met by chance, would cut them around
words that answer nothing about the topic.

The highlight of each passage is the sentence that best holds the question's own terms. Abstention
is decided before, on the passage the search with the topic puts first, as calibrated.
A question searched alone (no history, a topic switch) is not touched. One with no terms of its own
("Why not?", "and why?") has no scope: its topic is all it has to go on, and what it asks about is
the previous answer, so the passage its topic alone finds first (by the search's evidence, before
the reorder by sections) ranks ahead of the passages the two words of the question pull elsewhere
(:func:`on_previous_answer`, :data:`PREVIOUS_ANSWER_BONUS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.retrieval.fusion import Candidates, Fusion
from qa.retrieval.shaping import Shape

__all__ = [
    "OWN_SHARE",
    "OWN_TERMS_SHARE",
    "PREVIOUS_ANSWER_BONUS",
    "Scope",
    "on_previous_answer",
    "within",
]

OWN_SHARE = 0.5
"""Share of the question's own vector in the vector that ranks a follow-up's passages."""
OWN_TERMS_SHARE = 0.7
"""Share of the BM25 of the question's own terms in a follow-up's BM25 side (the topic's terms
have the rest), each scaled to its best candidate of each window size."""
PREVIOUS_ANSWER_BONUS = 0.2
"""Added to the fused score of each candidate window lying in the previous answer's passage, for a
follow-up with no terms of its own: a prior of the size of the structure's bonuses for a heading
or a name the question shares (``SECTION_BONUS`` 0.15, ``NAME_BONUS`` 0.25)."""


@dataclass(frozen=True)
class Scope:
    """How a follow-up's passages are ranked: by ``vector``, and BM25 of each part of the query."""

    vector: np.ndarray
    """The question alone and with its topic, mixed by :data:`OWN_SHARE` (unit length)."""
    own_terms: tuple[str, ...]
    """The query's terms that are the question's own, as often as the query has them."""
    topic_terms: tuple[str, ...]
    """The query's terms that only the topic brings."""

    @classmethod
    def of(
        cls, with_topic: np.ndarray, own: np.ndarray, query_terms: list[str], own_terms: list[str]
    ) -> Scope | None:
        """The scope of a question searched with its topic (``with_topic``: the vector its
        candidates are ranked by otherwise); None when the question has no terms of its own."""
        mine = set(own_terms)
        asked = tuple(t for t in query_terms if t in mine)
        if not asked:
            return None
        mixed = (1.0 - OWN_SHARE) * np.asarray(with_topic, np.float32)
        mixed += OWN_SHARE * np.asarray(own, np.float32)
        norm = float(np.linalg.norm(mixed))
        vector = mixed / norm if norm > 0 else np.asarray(with_topic, np.float32)
        return cls(vector.astype(np.float32), asked, tuple(t for t in query_terms if t not in mine))

    def rank(self, fusion: Fusion, candidates: Candidates) -> Candidates:
        """``candidates`` (found with the topic) fused again with the question's own part leading.
        A search engine's BM25 (not ours to take apart term by term) is kept as it is."""
        ids = candidates.ids
        ranking = fusion.dense_scores(self.vector, ids) if candidates.dense is not None else None
        lexical = candidates.lexical
        if lexical is not None and fusion.bm25_by_term:
            own = _per_size(fusion, ids, fusion.lexical.scores_for(list(self.own_terms), ids))
            topic = _per_size(fusion, ids, fusion.lexical.scores_for(list(self.topic_terms), ids))
            lexical = (OWN_TERMS_SHARE * own + (1.0 - OWN_TERMS_SHARE) * topic).astype(np.float32)
        if lexical is None:
            lexical = np.zeros(len(ids), np.float32)
        return fusion.rescored(candidates, ranking, lexical)


def _per_size(fusion: Fusion, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``scores`` divided by their best among the candidates of the same window size."""
    out = np.zeros(len(ids), np.float32)
    scales = fusion.scale_of_window[ids]
    for size in np.unique(scales):
        mine = scales == size
        best = float(scores[mine].max())
        out[mine] = scores[mine] / best if best > 0 else 0.0
    return out


def on_previous_answer(fusion: Fusion, candidates: Candidates, previous: Shape) -> Candidates:
    """``candidates`` with :data:`PREVIOUS_ANSWER_BONUS` added to each window lying at least half
    inside ``previous`` (the first passage the topic alone finds), the passage a question with no
    terms of its own ("Why not?") asks about."""
    windows = fusion.index.windows
    ids = candidates.ids
    starts, ends = windows.word_start[ids], windows.word_end[ids]
    overlap = np.minimum(ends, previous.word_end) - np.maximum(starts, previous.word_start)
    inside = (windows.doc[ids] == previous.doc) & (2 * overlap >= ends - starts)
    return candidates.boosted(PREVIOUS_ANSWER_BONUS * inside.astype(np.float32))


def within(fusion: Fusion, candidates: Candidates, doc: int) -> Candidates:
    """The candidates that are windows of document ``doc``, with their scores: what a follow-up's
    passages in the document its topic leads to are grown from again."""
    return candidates.only(fusion.index.windows.doc[candidates.ids] == doc)
