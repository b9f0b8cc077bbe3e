"""Whether a question is searched alone or with its conversation's topic, decided on evidence.

The rules are in :mod:`qa.retrieval.followup`; this module runs the searches they weigh over one
index: the best cosine of the question alone and with its topic, and, for a question that must keep
its own words, the first passage each search finds (:class:`~qa.retrieval.followup.TopicCheck`)
and, when the topic pulls the search back to its own passage in another document, whether the
question alone is answered there at all (abstention's verdict on it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.retrieval.followup import Reading, TopicCheck, continues_topic
from qa.retrieval.fusion import Fusion
from qa.retrieval.shaping import Shape

__all__ = ["TopicReader"]


class TopicReader:
    """Decides the query of each question with a topic, from searches over one index."""

    def __init__(
        self,
        fusion: Fusion,
        *,
        encode: Callable[[Sequence[str]], np.ndarray],
        top_shape: Callable[[str, np.ndarray], Shape | None],
        known_terms: Callable[[Sequence[str]], list[str]],
        coverage: Callable[[int, int, int, list[str]], float],
        answered: Callable[[str, np.ndarray], bool],
    ) -> None:
        """``top_shape(query, vector)``: the first passage found for a query; ``known_terms``:
        the question's terms abstention reads (:meth:`Abstainer.known_terms`); ``coverage(doc,
        start, end, terms)``: the IDF share of ``terms`` in those words of ``doc``;
        ``answered(question, vector)``: whether the question searched alone gets an answer
        (abstention does not decline it)."""
        self.fusion = fusion
        self.encode = encode
        self.top_shape = top_shape
        self.known_terms = known_terms
        self.coverage = coverage
        self.answered = answered

    def query(self, reading: Reading, vectors: dict[str, np.ndarray]) -> str:
        """The question as searched: alone, or with its topic when the evidence says it follows
        (``vectors`` holds the vectors of ``reading.question`` and ``reading.combined``)."""
        if not reading.topic:
            return reading.question
        if reading.undecided:
            alone = self.fusion.best_dense(vectors[reading.question])
            combined = self.fusion.best_dense(vectors[reading.combined])
            follows = continues_topic(reading, alone, combined)
            if follows and reading.keeps_own_words:
                check = self.topic_check(reading, vectors)
                follows = continues_topic(reading, alone, combined, check=check)
            return reading.query(follows=follows)
        return reading.combined

    def topic_check(self, reading: Reading, vectors: dict[str, np.ndarray]) -> TopicCheck:
        """What the question found alone and with its topic (:class:`TopicCheck`)."""
        known = self.known_terms(self.fusion.query_terms(reading.question))
        alone = self.top_shape(reading.question, vectors[reading.question])
        combined = self.top_shape(reading.combined, vectors[reading.combined])
        lost = self._coverage(alone, known) - self._coverage(combined, known)
        if alone is None or combined is None or alone.doc == combined.doc:
            return TopicCheck(lost)
        topic = self.previous_answer(reading.topic)
        back = topic is not None and topic.doc == combined.doc and _overlap(topic, combined)
        # pulled back from an answer elsewhere only if the question alone has one ("What does the
        # second reason mean?" finds nothing it answers alone, and the topic's passage holds it)
        back = back and self.answered(reading.question, vectors[reading.question])
        return TopicCheck(lost, back_to_topic=back)

    def previous_answer(self, topic: str) -> Shape | None:
        """The first passage found for the conversation's ``topic`` alone, by the search's own
        evidence (before the first passages are reordered by their sections): where the previous
        answer is."""
        return self.top_shape(topic, self.encode([topic])[0])

    def _coverage(self, shape: Shape | None, known: list[str]) -> float:
        """The IDF share of ``known`` in ``shape``'s words."""
        if shape is None or not known:
            return 0.0
        return self.coverage(shape.doc, shape.word_start, shape.word_end, known)


def _overlap(one: Shape, other: Shape) -> bool:
    """Whether two passages of the same document share a word."""
    return one.word_start < other.word_end and other.word_start < one.word_end
