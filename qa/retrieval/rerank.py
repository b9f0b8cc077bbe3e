"""A learned order for the passages grown for a question: a linear score over evidence the
retriever has already computed for each of them.

Each candidate passage (the :data:`~qa.retrieval.shaping.RANKED_PASSAGES` grown before ranking)
is described by :data:`FEATURE_NAMES`: its score today and its gap to the best, the best cosine
and BM25 of the windows lying in it (per window size, averaged over sizes), the structure bonus,
the IDF share of the query's terms it holds, whether it lies in the document the question names,
opens a section, or is made of debris. The passages are ordered by ``weights · features``, the
weights fitted by ``benchmarks/fit_ranker.py`` (a listwise softmax over the dev sets' questions)
and held in ``Settings.rank_weights``; no weights (the default) keeps today's order. NumPy only.
No fitted model beat today's order on every dev set left out of its fit, so none is the default
(benchmarks/README.md, "A learned passage order").
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.errors import ConfigError
from qa.index.model import Index
from qa.retrieval.fusion import Candidates
from qa.retrieval.highlight import Highlighter
from qa.retrieval.shaping import Shape
from qa.retrieval.structure import Structure

__all__ = ["FEATURE_NAMES", "PassageEvidence", "Reranker", "order_by", "passage_evidence"]

FEATURE_NAMES = (
    "score",
    "score_gap",
    "first",
    "peak",
    "peak_gap",
    "dense",
    "dense_gap",
    "dense_max",
    "dense_small",
    "dense_large",
    "lexical",
    "lexical_gap",
    "lexical_small",
    "lexical_large",
    "lexical_ideal",
    "bonus",
    "coverage",
    "coverage_gap",
    "named",
    "opening",
    "depth",
    "position",
    "debris",
    "words",
)
"""What each passage is described by (the order of ``Settings.rank_weights``):

- ``score``: the passage score today (mean over sizes of the best fused window inside it);
  ``score_gap``: it less the best passage's (0 for the best); ``first``: 1 for the first today;
- ``peak``: the word score it was grown around; ``peak_gap``: it less the best passage's;
- ``dense``: mean over sizes of the best cosine of a window inside it (0 for a size with none);
  ``dense_gap``: it less the best passage's; ``dense_max``: the best cosine of any window inside;
  ``dense_small``, ``dense_large``: the best cosine of a window of the smallest, largest size;
- ``lexical``: mean over sizes of the best BM25 of a window inside it, over that size's best
  candidate (as fused today); ``lexical_gap``: it less the best passage's; ``lexical_small``,
  ``lexical_large``: the same of the smallest, largest size alone; ``lexical_ideal``: the mean
  over sizes of the best raw BM25 inside, over the sum of the query's term IDFs;
- ``bonus``: the best structure bonus (heading path, named document, debris) of a window inside;
- ``coverage``: IDF share of the query's distinct terms the passage holds; ``coverage_gap``: it
  less the best passage's;
- ``named``: 1 when the passage lies in the document the question names;
- ``opening``: 1 when a section starts within :data:`OPENING_WORDS` words of the passage's start
  (it holds the section's heading or lead); ``depth``: the heading levels above it (0: none);
- ``position``: where it starts in its document (0 first word, 1 last);
- ``debris``: share of its words on debris lines (headings, links, rules);
- ``words``: its length over ``passage_words``.
"""
_GAPS = (
    ("score_gap", "score"),
    ("peak_gap", "peak"),
    ("dense_gap", "dense"),
    ("lexical_gap", "lexical"),
    ("coverage_gap", "coverage"),
)
OPENING_WORDS = 12
"""A section that starts within this many words of the passage's start (before or after) opens it."""


@dataclass(frozen=True)
class PassageEvidence:
    """What the features read besides the candidates: per passage, the IDF share of the query's
    terms it holds, whether a section opens it, and its debris share; and the named document."""

    coverage: Callable[[Shape], float]
    opens_section: Callable[[Shape], bool]
    debris: Callable[[Shape], float]
    depth: Callable[[Shape], int]
    named: int | None
    ideal_lexical: float
    """The sum of the IDFs of the query's distinct terms (what a window holding each once scores)."""
    passage_words: int


def passage_evidence(
    index: Index,
    structure: Structure,
    highlighter: Highlighter,
    query_terms: list[str],
    *,
    passage_words: int,
) -> PassageEvidence:
    """The per-passage evidence of one question, read from the index's structure and words."""

    def opens_section(shape: Shape) -> bool:
        starts = structure.sections[shape.doc].starts
        if not starts:
            return False
        words = index.word_maps[shape.doc]
        first = int(words.starts[max(shape.word_start - OPENING_WORDS, 0)])
        last = int(words.starts[min(shape.word_start + OPENING_WORDS, shape.word_end) - 1])
        at = bisect.bisect_left(starts, first)
        return at < len(starts) and starts[at] <= last

    def debris(shape: Shape) -> float:
        sums = structure.debris_sums[shape.doc]
        if sums is None:
            return 0.0
        return float(sums[shape.word_end] - sums[shape.word_start]) / max(
            shape.word_end - shape.word_start, 1
        )

    def depth(shape: Shape) -> int:
        offset = int(index.word_maps[shape.doc].starts[shape.word_start])
        return len(structure.sections[shape.doc].path(offset))

    return PassageEvidence(
        coverage=lambda s: highlighter.coverage(s.doc, s.word_start, s.word_end, query_terms),
        opens_section=opens_section,
        debris=debris,
        depth=depth,
        named=structure.named_document(query_terms),
        ideal_lexical=sum(highlighter.weights(query_terms).values()),
        passage_words=passage_words,
    )


class Reranker:
    """Describes candidate passages by :data:`FEATURE_NAMES` and orders them by fitted weights."""

    def __init__(self, weights: Sequence[float], *, sizes: np.ndarray, index: Index) -> None:
        if weights and len(weights) != len(FEATURE_NAMES):
            raise ConfigError(
                f"rank_weights must be empty or {len(FEATURE_NAMES)} numbers "
                f"({', '.join(FEATURE_NAMES)}); benchmarks/fit_ranker.py prints them"
            )
        self.index = index
        self.weights = np.asarray(weights, np.float64)
        self.sizes = sizes
        """The index's window sizes, ascending."""

    @property
    def active(self) -> bool:
        return bool(len(self.weights)) and bool(np.any(self.weights))

    def features(
        self, shapes: Sequence[Shape], candidates: Candidates, evidence: PassageEvidence
    ) -> np.ndarray:
        """One row of :data:`FEATURE_NAMES` per passage of ``shapes`` (ranked as today)."""
        column = {name: i for i, name in enumerate(FEATURE_NAMES)}
        out = np.zeros((len(shapes), len(FEATURE_NAMES)), np.float64)
        if not shapes:
            return out
        table = self.index.table
        ids = candidates.ids
        starts, ends = table["word_start"][ids], table["word_end"][ids]
        docs, scales = table["doc"][ids], table["scale"][ids]
        dense = candidates.dense if candidates.dense is not None else np.zeros(len(ids), np.float32)
        raw = candidates.lexical if candidates.lexical is not None else np.zeros(len(ids), np.float32)
        lexical = _per_size_share(raw, scales, self.sizes)
        bonus = candidates.bonus if candidates.bonus is not None else np.zeros(len(ids), np.float32)
        for row, shape in enumerate(shapes):
            overlap = np.minimum(ends, shape.word_end) - np.maximum(starts, shape.word_start)
            inside = (docs == shape.doc) & (2 * overlap >= ends - starts)
            best = _best_by_size(inside, scales, self.sizes)
            best_dense, best_lexical, ideal = best(dense), best(lexical), evidence.ideal_lexical
            values = {
                "score": shape.score,
                "peak": shape.peak,
                "dense": np.mean(best_dense),
                "dense_max": dense[inside].max() if inside.any() else 0.0,
                "dense_small": best_dense[0],
                "dense_large": best_dense[-1],
                "lexical": np.mean(best_lexical),
                "lexical_small": best_lexical[0],
                "lexical_large": best_lexical[-1],
                "lexical_ideal": np.mean(best(raw)) / ideal if ideal else 0.0,
                "bonus": bonus[inside].max() if inside.any() else 0.0,
                "coverage": evidence.coverage(shape),
                "named": float(shape.doc == evidence.named),
                "opening": float(evidence.opens_section(shape)),
                "depth": evidence.depth(shape),
                "position": shape.word_start / max(int(self.index.word_counts[shape.doc]), 1),
                "debris": evidence.debris(shape),
                "words": (shape.word_end - shape.word_start) / evidence.passage_words,
            }
            for name, value in values.items():
                out[row, column[name]] = value
        out[0, column["first"]] = 1.0
        for gap, of in _GAPS:
            out[:, column[gap]] = out[:, column[of]] - out[:, column[of]].max()
        return out

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The learned score of each row of ``features``."""
        return features @ self.weights

    def order(self, features: np.ndarray) -> np.ndarray:
        """Positions of the passages, best first by the learned score (ties keep today's order)."""
        return order_by(features, self.weights)


def order_by(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rows of ``features`` by ``features @ weights``, best first, ties in their given order
    (scores equal to 9 decimals tie: float noise in the features never decides)."""
    return np.argsort(-np.round(features @ weights, 9), kind="stable")


def _per_size_share(lexical: np.ndarray, scales: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Each candidate's BM25 over the best of its size (0 where no candidate has a term)."""
    out = np.zeros(len(lexical), np.float32)
    for size in sizes:
        mine = scales == size
        if mine.any():
            top = float(lexical[mine].max())
            out[mine] = lexical[mine] / top if top > 0 else 0.0
    return out


def _best_by_size(
    inside: np.ndarray, scales: np.ndarray, sizes: np.ndarray
) -> Callable[[np.ndarray], list[float]]:
    """A function giving, for a per-candidate array, its best value among the candidates
    ``inside`` a passage for each size (0 for a size with none)."""
    masks = [inside & (scales == size) for size in sizes]

    def best(values: np.ndarray) -> list[float]:
        return [float(values[m].max()) if m.any() else 0.0 for m in masks]

    return best
