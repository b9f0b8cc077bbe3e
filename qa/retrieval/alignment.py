"""Whether the top passage says what is asked, word by word: token alignment of the question.

The coverage signals (:mod:`qa.retrieval.abstain`, :mod:`qa.retrieval.soft_coverage`) ask
whether the passage holds the question's terms, or words close to them taken alone. This one
reads both texts through the model: each content word of the question, in the question's
context, is matched with the passage's token nearest to it (MaxSim over the model's token
states, as late-interaction retrievers do), and the signal is the IDF-weighted mean of those
matches over all the question's own words, a word the passage holds counting in full. Unlike
coverage it also weighs the words the corpus never uses ("Python", "SIMD", "libpng"), which an
unanswerable question on a covered topic often turns on, and credits them when the passage says
the same in other words. It is one input of the abstention model.

It costs one model run over the passage (about as many tokens as a window) and the question, so
the abstainer asks for it only when it can change the decision
(:meth:`qa.retrieval.abstain.Abstainer.complete`), and not at all when the passage holds every
word of the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from qa.embedders.tokens import TokenStates
from qa.ingest.normalize import content_words, stem

__all__ = ["TokenAlignment"]

_WORD = re.compile(r"\S+")


class TokenAlignment:
    """IDF-weighted share of a question's words matched in a passage, by the model's token states."""

    def __init__(self, encode_tokens: Callable[[list[str]], Sequence[TokenStates]]) -> None:
        self.encode_tokens = encode_tokens

    def __call__(self, question: str, passage: str, weights: dict[str, float], held: set[str]) -> float:
        """Alignment (0..1) of the stemmed terms ``weights`` (term -> IDF) of ``question`` with
        ``passage``; the terms in ``held`` (the passage holds them) count in full, without a
        model run when that is all of them. 1.0 when the question has no terms."""
        total = sum(weights.values())
        if not total:
            return 1.0
        if all(term in held for term in weights):
            return 1.0
        best = self.matches(question, passage)
        found = sum(
            weight * (1.0 if term in held else min(max(best.get(term, 0.0), 0.0), 1.0))
            for term, weight in weights.items()
        )
        return found / total

    def matches(self, question: str, passage: str) -> dict[str, float]:
        """Each stem of the question's content words -> the best cosine of its tokens' states
        with a token state of ``passage`` (the mean over the word's tokens; its best occurrence)."""
        question_states, passage_states = self.encode_tokens([question, passage])
        if not len(passage_states.states) or not len(question_states.states):
            return {}
        passage_rows = _unit(passage_states.states)
        question_rows = _unit(question_states.states)
        best: dict[str, float] = {}
        for match in _WORD.finditer(question):
            words = content_words(match.group())
            tokens = np.flatnonzero(
                (question_states.starts >= match.start())
                & (question_states.ends <= match.end())
                & (question_states.ends > question_states.starts)
            )
            if not words or not len(tokens):
                continue
            score = float((question_rows[tokens] @ passage_rows.T).max(axis=1).mean())
            term = stem(words[0])
            best[term] = max(best.get(term, -1.0), score)
        return best


def _unit(states: np.ndarray) -> np.ndarray:
    return states / (np.linalg.norm(states, axis=1, keepdims=True) + 1e-9)
