"""From fused window scores to the ``k`` best non-overlapping passages.

Each word scores as the best candidate window covering it (averaged over window sizes); a passage
grows around the peak of those word scores to about ``passage_words`` words, snapped to sentence or
block boundaries when the text has them, never overlapping a passage already chosen.

The passages grown this way are then ranked as wholes: a passage scores the mean, over window
sizes, of its best window of each size (a window counts when at least half of it lies in the
passage). A peak word says where the evidence is densest; the passage score says how well the
passage shown answers at every scale, so a passage whose answer sentence is split across the
small windows' edges is not ranked below one that merely repeats the question's words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.config import Settings
from qa.index.model import Index
from qa.retrieval.fusion import Candidates

__all__ = ["Shape", "Shaper", "WINDOWS_PER_SIZE", "NEIGHBOUR_WORDS", "RANKED_PASSAGES"]

WINDOWS_PER_SIZE = 64
"""Best candidate windows of each size that feed the word scores."""
NEIGHBOUR_WORDS = 10
"""A passage may reach this many words into its neighbours, so a cut never splits a phrase."""
MAX_PASSAGE_WORDS = 120
"""No passage is longer, even when its one sentence is."""
RANKED_PASSAGES = 8
"""Passages grown (at least ``k``) before they are ranked as wholes."""


@dataclass(frozen=True)
class Shape:
    """Words ``[word_start, word_end)`` of document ``doc``, with the word scores it came from."""

    doc: int
    word_start: int
    word_end: int
    score: float
    word_scores: np.ndarray
    """Score of every word of the document (only the passage's part is read)."""


class Shaper:
    """Chooses passages over one index."""

    def __init__(
        self, index: Index, settings: Settings, *, debris: Callable[[int], np.ndarray] | None = None
    ) -> None:
        self.index = index
        self.settings = settings
        self.debris = debris
        """``debris(doc)``: 1 for each word of the document that is debris (headings, link lines);
        a passage does not grow over a sentence made only of them."""

    def shapes(self, candidates: Candidates, k: int) -> list[Shape]:
        if not self.settings.shaping:
            return self.windows(candidates, k)
        grown = self.grown(candidates, max(k, RANKED_PASSAGES))
        return self.ranked(grown, candidates)[:k]

    def ranked(self, shapes: list[Shape], candidates: Candidates) -> list[Shape]:
        """``shapes`` scored as wholes (:meth:`passage_score`), best first (ties keep their order)."""
        scored = [dataclasses.replace(s, score=self.passage_score(s, candidates)) for s in shapes]
        return sorted(scored, key=lambda s: -s.score)

    def passage_score(self, shape: Shape, candidates: Candidates) -> float:
        """Mean over window sizes of the best fused score of a candidate window of that size
        lying at least half inside the passage (0 for a size with none)."""
        table = self.index.table
        ids = candidates.ids
        starts, ends = table["word_start"][ids], table["word_end"][ids]
        overlap = np.minimum(ends, shape.word_end) - np.maximum(starts, shape.word_start)
        inside = (table["doc"][ids] == shape.doc) & (2 * overlap >= ends - starts)
        scales = table["scale"][ids]
        best = [candidates.fused[inside & (scales == size)] for size in self.sizes]
        return float(np.mean([float(b.max()) if len(b) else 0.0 for b in best]))

    def word_scores(self, candidates: Candidates) -> dict[int, np.ndarray]:
        """Per document with a candidate window: each word's score, averaged over window sizes."""
        table = self.index.table
        scales = table["scale"][candidates.ids]
        sizes = self.sizes
        per_doc: dict[int, np.ndarray] = {}
        for size_no, size in enumerate(sizes):
            mine = np.flatnonzero(scales == size)
            if len(mine) > WINDOWS_PER_SIZE:
                mine = mine[np.argpartition(-candidates.fused[mine], WINDOWS_PER_SIZE - 1)[:WINDOWS_PER_SIZE]]
            window_ids, fused = candidates.ids[mine], candidates.fused[mine]
            docs = table["doc"][window_ids]
            for doc in np.unique(docs):
                doc = int(doc)
                if doc not in per_doc:
                    per_doc[doc] = np.zeros((len(sizes), len(self.index.word_maps[doc])), np.float32)
                chosen = docs == doc
                starts = table["word_start"][window_ids[chosen]]
                lengths = table["word_end"][window_ids[chosen]] - starts
                # every word index covered by each window, with that window's score
                covered = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
                np.maximum.at(per_doc[doc][size_no], covered, np.repeat(fused[chosen], lengths))
        return {doc: by_size.mean(axis=0) for doc, by_size in per_doc.items()}

    def grown(self, candidates: Candidates, k: int) -> list[Shape]:
        """The ``k`` best non-overlapping passages, each centred on a peak of the word scores."""
        scores = self.word_scores(candidates)
        remaining = {doc: s.copy() for doc, s in scores.items()}
        best = {doc: float(s.max()) for doc, s in remaining.items()}
        out: list[Shape] = []
        while len(out) < k and best and max(best.values()) >= 0:
            doc = max(best, key=best.__getitem__)
            left = remaining[doc]
            peak = int(np.argmax(left))
            after = np.flatnonzero(left[peak:] != left[peak])
            peak_end = peak + (int(after[0]) if len(after) else len(left) - peak)
            taken = left < 0
            before = np.flatnonzero(taken[:peak])
            low = int(before[-1]) + 1 if len(before) else 0
            beyond = np.flatnonzero(taken[peak_end:])
            high = peak_end + int(beyond[0]) if len(beyond) else len(left)
            low, high = max(low - NEIGHBOUR_WORDS, 0), min(high + NEIGHBOUR_WORDS, len(left))
            whole = self.grow_sentences(doc, peak, peak_end, low, high, scores[doc])
            start, end = whole or self.grow(doc, peak, peak_end, low, high)
            out.append(Shape(doc, start, end, float(left[peak]), scores[doc]))
            left[start:end] = -1.0
            best[doc] = float(left.max())
        return out

    def windows(self, candidates: Candidates, k: int) -> list[Shape]:
        """Without shaping: the best windows themselves, skipping ones that overlap a better one."""
        taken: dict[int, list[tuple[int, int]]] = {}
        out: list[Shape] = []
        table = self.index.table
        for i in np.argsort(-candidates.fused, kind="stable"):
            if len(out) == k:
                break
            window = candidates.ids[i]
            doc = int(table["doc"][window])
            start, end = int(table["word_start"][window]), int(table["word_end"][window])
            spans = taken.setdefault(doc, [])
            if any(start < e and s < end for s, e in spans):
                continue
            spans.append((start, end))
            word_scores = np.zeros(len(self.index.word_maps[doc]), np.float32)
            word_scores[start:end] = candidates.fused[i]
            out.append(Shape(doc, start, end, float(candidates.fused[i]), word_scores))
        return out

    @cached_property
    def sizes(self) -> np.ndarray:
        """The window sizes of the index, ascending."""
        return np.unique(self.index.table["scale"])

    @cached_property
    def sentence_starts(self) -> list[np.ndarray | None]:
        """Per document, the first word of each sentence or block (None: text without punctuation)."""
        out: list[np.ndarray | None] = []
        for words in self.index.word_maps:
            if not words.has_boundaries:
                out.append(None)
                continue
            out.append(np.concatenate([[0], np.flatnonzero(words.boundary_after[:-1]) + 1]))
        return out

    def grow_sentences(
        self, doc: int, peak_start: int, peak_end: int, low: int, high: int, word_scores: np.ndarray
    ) -> tuple[int, int] | None:
        """On punctuated text: the sentences holding the peak, then whole neighbouring sentences
        (the better-scoring side first) while the passage stays within ``passage_words``.
        None when the text has no sentences or the peak's sentences are too long to show whole."""
        starts = self.sentence_starts[doc]
        if starts is None:
            return None
        ends = np.append(starts[1:], len(word_scores))
        first = int(np.searchsorted(starts, peak_start, side="right")) - 1
        last = int(np.searchsorted(starts, max(peak_end - 1, peak_start), side="right")) - 1
        if ends[last] - starts[first] > MAX_PASSAGE_WORDS:
            first = last = int(np.searchsorted(starts, (peak_start + peak_end) // 2, side="right")) - 1
            if ends[last] - starts[first] > MAX_PASSAGE_WORDS:
                return None
        budget = max(self.settings.passage_words, ends[last] - starts[first])
        debris = self.debris(doc) if self.debris is not None else np.zeros(len(word_scores), np.int32)

        def fits(unit: int, length: int) -> bool:
            return length <= budget and not debris[starts[unit] : ends[unit]].all()

        while True:
            options = []
            if first > 0 and starts[first - 1] >= low and fits(first - 1, ends[last] - starts[first - 1]):
                options.append((_mean(word_scores, starts[first - 1], ends[first - 1]), -1))
            if (
                last + 1 < len(starts)
                and ends[last + 1] <= high
                and fits(last + 1, ends[last + 1] - starts[first])
            ):
                options.append((_mean(word_scores, starts[last + 1], ends[last + 1]), 1))
            if not options:
                return int(starts[first]), int(ends[last])
            _, side = max(options)
            first, last = (first - 1, last) if side < 0 else (first, last + 1)

    def grow(self, doc: int, peak_start: int, peak_end: int, low: int, high: int) -> tuple[int, int]:
        """Word span of about ``passage_words`` centred on ``[peak_start, peak_end)``, inside
        ``[low, high)``."""
        words = self.index.word_maps[doc]
        size = self.settings.passage_words
        if peak_end - peak_start >= size:
            middle = (peak_start + peak_end) // 2
            peak_start, peak_end = middle - size // 2, middle - size // 2 + size
        extra = size - (peak_end - peak_start)
        start = max(low, peak_start - extra // 2)
        end = min(high, start + size)
        start = max(low, end - size)
        if words.has_boundaries:
            slack = size // 4
            snapped = words.snap_start(start, slack=slack, floor=low)
            start = snapped if snapped <= peak_start else start
            snapped = words.snap_end(start, end, slack=max(min(slack, end - peak_end), 0))
            end = snapped if snapped >= peak_end else end
        return start, min(end, start + size)


def _mean(values: np.ndarray, start: int, end: int) -> float:
    return float(values[start:end].mean()) if end > start else 0.0
