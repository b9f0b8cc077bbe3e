"""Whether the ranking and the plain meaning of the question agree on where the answer is.

The passage shown first comes from fused evidence (dense and BM25 scores, structure, shaping).
The window nearest to the question in meaning alone is the dense model's own pick. When a
corpus answers the question, the two usually meet: the nearest window lies in the top passage.
When it does not, the question's words pull the ranking to a passage that shares them, while
its meaning lands somewhere else (or the other way round), and the two part. The signal is
measured on windows and passages alone, so it means the same on any corpus; it is one input of
the abstention model (:mod:`qa.retrieval.abstain`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["nearest_in_passage"]


def nearest_in_passage(
    window_ids: np.ndarray,
    cosines: np.ndarray | None,
    table: dict[str, np.ndarray],
    *,
    doc: int,
    word_start: int,
    word_end: int,
) -> float:
    """1.0 when the candidate window with the highest cosine shares a word with words
    ``[word_start, word_end)`` of document ``doc`` (the top passage), else 0.0. Without cosines
    (lexical mode) or candidates there is nothing to disagree with: 1.0."""
    if cosines is None or not len(cosines):
        return 1.0
    nearest = int(window_ids[int(np.argmax(cosines))])
    same_doc = int(table["doc"][nearest]) == doc
    start, end = int(table["word_start"][nearest]), int(table["word_end"][nearest])
    return float(same_doc and start < word_end and word_start < end)
