"""From fused window scores to the ``k`` best non-overlapping passages.

Each word scores as the best candidate window covering it (averaged over window sizes); a passage
grows around the peak of those word scores to about ``passage_words`` words, snapped to sentence or
block boundaries when the text has them, never overlapping a passage already chosen.

The passages grown this way are then ranked as wholes: a passage scores the mean, over window
sizes, of its best window of each size (a window counts when at least half of it lies in the
passage). A peak word says where the evidence is densest; the passage score says how well the
passage shown answers at every scale, so a passage whose answer sentence is split across the
small windows' edges is not ranked below one that merely repeats the question's words.

Given the question's terms, a passage grown of whole sentences then follows them: a sentence just
past one edge that holds a question term is taken in exchange for sentences at the other edge that
hold none (never the peak's own), so a passage does not stop one sentence short of where the
question's words continue because it spent its words on a listing's last line or a caption.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.config import Settings
from qa.index.lazy import PerDocument
from qa.index.model import Index
from qa.ingest.chunking import may_have_boundaries
from qa.retrieval.fusion import Candidates

__all__ = ["Shape", "Shaper", "TermWords", "WINDOWS_PER_SIZE", "NEIGHBOUR_WORDS", "RANKED_PASSAGES"]

WINDOWS_PER_SIZE = 64
"""Best candidate windows of each size that feed the word scores."""
NEIGHBOUR_WORDS = 10
"""A passage may reach this many words into its neighbours, so a cut never splits a phrase."""
MAX_PASSAGE_WORDS = 120
"""No passage is longer, even when its one sentence is."""
RANKED_PASSAGES = 8
"""Passages grown (at least ``k``) before they are ranked as wholes."""
BARE_LINE_WORDS = 8
"""A line of at most this many words standing alone, not ending like a sentence, is a title or
a heading (what a plain text's title and section lines are)."""
BARE_PIECE_WORDS = 24
"""Only a passage of at most this many words may be bare lines alone (:meth:`Shaper.bare`)."""


TermWords = Callable[[int, int, int], np.ndarray]
"""``terms(doc, start, end)``: for each word of ``[start, end)`` of document ``doc``, the weight of
the question term it is (0 for a word that is none)."""


@dataclass(frozen=True)
class Shape:
    """Words ``[word_start, word_end)`` of document ``doc``, with the word scores it came from."""

    doc: int
    word_start: int
    word_end: int
    score: float
    word_scores: np.ndarray
    """Score of every word of the document (only the passage's part is read)."""
    peak: float = 0.0
    """The word score it was grown around (its score before it was ranked as a whole)."""


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

    def shapes(self, candidates: Candidates, k: int, *, terms: TermWords | None = None) -> list[Shape]:
        if not self.settings.shaping:
            return self.windows(candidates, k)
        return self.pool(candidates, k, terms=terms)[:k]

    def pool(
        self, candidates: Candidates, k: int, *, grown: int = RANKED_PASSAGES, terms: TermWords | None = None
    ) -> list[Shape]:
        """The ``max(k, grown)`` passages grown for a question, ranked as wholes: what the first
        ``k`` are chosen from. With ``terms``, passages of whole sentences follow the question's
        terms (:meth:`follow_terms`)."""
        return self.ranked(self.grown(candidates, max(k, grown), terms=terms), candidates)

    def ranked(self, shapes: list[Shape], candidates: Candidates) -> list[Shape]:
        """``shapes`` scored as wholes (:meth:`passage_score`), best first (ties keep their order)."""
        scores = self.passage_scores(shapes, candidates)
        scored = [dataclasses.replace(s, score=score) for s, score in zip(shapes, scores)]
        return sorted(scored, key=lambda s: -s.score)

    def passage_score(self, shape: Shape, candidates: Candidates) -> float:
        """Mean over window sizes of the best fused score of a candidate window of that size
        lying at least half inside the passage (0 for a size with none)."""
        return self.passage_scores([shape], candidates)[0]

    def passage_scores(self, shapes: list[Shape], candidates: Candidates) -> list[float]:
        """:meth:`passage_score` of each of ``shapes``, the candidates' columns read once."""
        if not shapes:
            return []
        windows = self.index.windows
        ids = candidates.ids
        starts, ends = windows.word_start[ids], windows.word_end[ids]
        docs, scales = windows.doc[ids], windows.scale[ids]
        shape_start = np.array([s.word_start for s in shapes], np.int64)[:, None]
        shape_end = np.array([s.word_end for s in shapes], np.int64)[:, None]
        shape_doc = np.array([s.doc for s in shapes], np.int64)[:, None]
        overlap = np.minimum(ends, shape_end) - np.maximum(starts, shape_start)
        inside = (docs == shape_doc) & (2 * overlap >= ends - starts)  # shapes x candidates
        best = np.zeros((len(shapes), len(self.sizes)), np.float64)
        # the candidates grouped by size: each size's best and whether it has one, one call each
        size_no = np.searchsorted(self.sizes, scales)
        counts = np.bincount(size_no, minlength=len(self.sizes))
        present = np.flatnonzero(counts)
        if len(present):
            order = np.argsort(size_no, kind="stable")
            first = (np.cumsum(counts) - counts)[present]
            inside = inside[:, order]
            found = np.logical_or.reduceat(inside, first, axis=1)
            most = np.maximum.reduceat(np.where(inside, candidates.fused[order], -np.inf), first, axis=1)
            best[:, present] = np.where(found, most, 0.0)
        return best.mean(axis=1).tolist()  # each row's mean, as np.mean of the row gives it

    def word_scores(self, candidates: Candidates) -> dict[int, np.ndarray]:
        """Per document with a candidate window: each word's score, averaged over window sizes."""
        words = _WordScores(self.index, candidates, self.sizes)
        return {doc: words.of(doc) for doc in words.docs}

    def grown(self, candidates: Candidates, k: int, *, terms: TermWords | None = None) -> list[Shape]:
        """The ``k`` best non-overlapping passages, each centred on a peak of the word scores.

        A document's word scores are computed only once its bound (no word of it can score more)
        reaches the best word still to take, so the cost follows the few documents the passages
        come from, not every document with a candidate window; the passages are the same as if
        every document's scores were computed (ties go to the document met first, as before)."""
        words = _WordScores(self.index, candidates, self.sizes)
        waiting = sorted(words.docs, key=lambda doc: (-words.bound[doc], words.rank[doc]))
        scores: dict[int, np.ndarray] = {}
        remaining: dict[int, np.ndarray] = {}
        best: dict[int, float] = {}
        out: list[Shape] = []
        while len(out) < k:
            while waiting and (not best or words.bound[waiting[0]] >= max(best.values())):
                doc = waiting.pop(0)
                scores[doc] = words.of(doc)
                remaining[doc] = scores[doc].copy()
                best[doc] = float(remaining[doc].max())
            if not best or max(best.values()) < 0:
                break
            doc = max(best, key=lambda d: (best[d], -words.rank[d]))
            start, end, score = self.take_best(doc, remaining[doc], scores[doc], terms=terms)
            self.place(Shape(doc, start, end, score, scores[doc], peak=score), out, terms=terms)
            best[doc] = float(remaining[doc].max())
        return out

    def place(self, shape: Shape, out: list[Shape], *, terms: TermWords | None = None) -> None:
        """Add ``shape`` to the passages ``out``, unless it is bare lines alone (:meth:`bare`)
        that the question does not ask for (at least half its words are question terms): then
        a title or heading joins the passage of its document that it touches when the two fit
        :data:`MAX_PASSAGE_WORDS` together, and anything else (lines of links, a contents
        list), or a title touching none, is not shown. A short document's remainder after its
        first passage is often only its title and a heading."""
        if not self.bare(shape.doc, shape.word_start, shape.word_end):
            out.append(shape)
            return
        if terms is not None:
            weights = terms(shape.doc, shape.word_start, shape.word_end)
            if 2 * int(np.count_nonzero(weights)) >= len(weights):
                out.append(shape)
                return
        if self.debris is not None and self.debris(shape.doc)[shape.word_start : shape.word_end].any():
            return
        for i, other in enumerate(out):
            start, end = min(other.word_start, shape.word_start), max(other.word_end, shape.word_end)
            touches = shape.word_start <= other.word_end and other.word_start <= shape.word_end
            if other.doc == shape.doc and touches and end - start <= MAX_PASSAGE_WORDS:
                out[i] = dataclasses.replace(other, word_start=start, word_end=end)
                return

    def bare(self, doc: int, start: int, end: int) -> bool:
        """Whether words ``[start, end)`` of ``doc`` (at most :data:`BARE_PIECE_WORDS`) are only
        lines of links or addresses (``debris``) and bare lines: lines of at most
        :data:`BARE_LINE_WORDS` words standing alone between blank lines, not ending like a
        sentence, not list items."""
        if end - start > BARE_PIECE_WORDS or end <= start:
            return False
        words = self.index.word_maps[doc]
        text = self.index.documents[doc].text
        first, last = words.char_span(start, end)
        debris = self.debris(doc)[start:end] if self.debris is not None else np.zeros(end - start)
        covered = words.starts[start:end]
        line_start = text.rfind("\n", 0, first) + 1
        for line in text[line_start:last].split("\n"):
            line_end = line_start + len(line)
            mine = (covered >= line_start) & (covered < line_end)
            if mine.any() and not debris[mine].all() and not _bare_line(text, line_start, line_end):
                return False
            line_start = line_end + 1
        return True

    def take_best(
        self, doc: int, left: np.ndarray, scores: np.ndarray, *, terms: TermWords | None = None
    ) -> tuple[int, int, float]:
        """The passage of ``doc`` grown around its best word not yet taken: ``(start, end, score)``.
        ``left`` holds the document's word scores with taken words at -1; the passage's words are
        marked taken in it."""
        peak = int(np.argmax(left))
        value = left[peak]
        peak_end = _first_from(left, peak, lambda part: part != value)
        low = _last_taken(left, peak) + 1
        high = _first_from(left, peak_end, lambda part: part < 0)
        low, high = max(low - NEIGHBOUR_WORDS, 0), min(high + NEIGHBOUR_WORDS, len(left))
        whole = self.grow_sentences(doc, peak, peak_end, low, high, scores, terms=terms)
        start, end = whole or self.grow(doc, peak, peak_end, low, high)
        score = float(left[peak])
        left[start:end] = -1.0
        return start, end, score

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
            word_scores = np.zeros(int(self.index.word_counts[doc]), np.float32)
            word_scores[start:end] = candidates.fused[i]
            out.append(Shape(doc, start, end, float(candidates.fused[i]), word_scores))
        return out

    @cached_property
    def sizes(self) -> np.ndarray:
        """The window sizes of the index, ascending."""
        return np.unique(self.index.table["scale"])

    @cached_property
    def sentence_starts(self) -> PerDocument[np.ndarray | None]:
        """Per document, the first word of each sentence or block (None: text without
        punctuation); each document's found on first use."""

        def starts(doc: int) -> np.ndarray | None:
            if not may_have_boundaries(self.index.documents[doc].text):
                return None  # no sentence or block can end inside: no word offsets needed
            words = self.index.word_maps[doc]
            if not words.has_boundaries:
                return None
            return np.concatenate([[0], np.flatnonzero(words.boundary_after[:-1]) + 1])

        return PerDocument(starts, len(self.index.documents))

    def grow_sentences(
        self,
        doc: int,
        peak_start: int,
        peak_end: int,
        low: int,
        high: int,
        word_scores: np.ndarray,
        *,
        terms: TermWords | None = None,
    ) -> tuple[int, int] | None:
        """On punctuated text: the sentences holding the peak, then whole neighbouring sentences
        (the better-scoring side first) while the passage stays within ``passage_words``; with
        ``terms``, then moved toward the question's terms (:meth:`follow_terms`).
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

        core = (first, last)
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
                if terms is not None:
                    first, last = self.follow_terms(
                        doc, starts, ends, (first, last), core, (low, high), budget, terms, fits
                    )
                return int(starts[first]), int(ends[last])
            _, side = max(options)
            first, last = (first - 1, last) if side < 0 else (first, last + 1)

    @staticmethod
    def follow_terms(
        doc: int,
        starts: np.ndarray,
        ends: np.ndarray,
        units: tuple[int, int],
        core: tuple[int, int],
        bounds: tuple[int, int],
        budget: int,
        terms: TermWords,
        fits: Callable[[int, int], bool],
    ) -> tuple[int, int]:
        """Sentences ``units`` (first, last) moved toward the question's terms: the sentence just
        past an edge that holds a question term is taken when dropping sentences that hold none
        from the other edge (never those of ``core``, the peak's) makes it fit the ``budget``.
        Each move adds a term and drops none, so the passage never moves back."""
        first, last = units
        low, high = bounds
        region = [int(starts[max(first - 1, 0)]), int(ends[min(last + 1, len(starts) - 1)])]
        weights = [terms(doc, *region)]  # the passage and its neighbours, read in one go

        def held(unit: int) -> float:
            a, b = int(starts[unit]), int(ends[unit])
            if a < region[0] or b > region[1]:  # past the words read: read the larger span
                region[:] = min(a, region[0]), max(b, region[1])
                weights[0] = terms(doc, *region)
            return float(weights[0][a - region[0] : b - region[0]].sum())

        while True:
            moves = []
            if last + 1 < len(starts) and ends[last + 1] <= high and held(last + 1) > 0:
                drop = first
                while ends[last + 1] - starts[drop] > budget and drop < core[0] and held(drop) == 0:
                    drop += 1
                if fits(last + 1, ends[last + 1] - starts[drop]):
                    moves.append((held(last + 1), drop, last + 1))
            if first > 0 and starts[first - 1] >= low and held(first - 1) > 0:
                drop = last
                while ends[drop] - starts[first - 1] > budget and drop > core[1] and held(drop) == 0:
                    drop -= 1
                if fits(first - 1, ends[drop] - starts[first - 1]):
                    moves.append((held(first - 1), first - 1, drop))
            if not moves:
                return first, last
            _, first, last = max(moves)

    def grow(self, doc: int, peak_start: int, peak_end: int, low: int, high: int) -> tuple[int, int]:
        """Word span of about ``passage_words`` centred on ``[peak_start, peak_end)``, inside
        ``[low, high)``."""
        size = self.settings.passage_words
        if peak_end - peak_start >= size:
            middle = (peak_start + peak_end) // 2
            peak_start, peak_end = middle - size // 2, middle - size // 2 + size
        extra = size - (peak_end - peak_start)
        start = max(low, peak_start - extra // 2)
        end = min(high, start + size)
        start = max(low, end - size)
        if self.sentence_starts[doc] is not None:  # the text has sentences or blocks
            words = self.index.word_maps[doc]
            slack = size // 4
            snapped = words.snap_start(start, slack=slack, floor=low)
            start = snapped if snapped <= peak_start else start
            snapped = words.snap_end(start, end, slack=max(min(slack, end - peak_end), 0))
            end = snapped if snapped >= peak_end else end
        return start, min(end, start + size)


class _WordScores:
    """The candidate windows that feed the word scores (the best :data:`WINDOWS_PER_SIZE` of each
    size), each document's word scores on demand, and a bound on each document's best word."""

    def __init__(self, index: Index, candidates: Candidates, sizes: np.ndarray) -> None:
        self.index = index
        self.sizes = sizes
        windows = index.windows
        scales = windows.scale[candidates.ids]
        by_size = np.argsort(scales, kind="stable")  # each size's candidates in ascending order
        bounds = np.searchsorted(scales[by_size], sizes, side="right").tolist()
        self._by_size: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.rank: dict[int, int] = {}
        """Documents in the order met (size by size, then by document): who wins a tie."""
        met: list[list[int]] = []
        for first, last in zip([0, *bounds[:-1]], bounds):
            mine = by_size[first:last]
            if len(mine) > WINDOWS_PER_SIZE:
                mine = mine[np.argpartition(-candidates.fused[mine], WINDOWS_PER_SIZE - 1)[:WINDOWS_PER_SIZE]]
            window_ids, fused = candidates.ids[mine], candidates.fused[mine]
            docs = windows.doc[window_ids]
            self._by_size.append((window_ids, fused, docs))
            met.append(docs.tolist())
            for doc in sorted(set(met[-1])):
                self.rank.setdefault(doc, len(self.rank))
        self.docs = list(self.rank)
        most = np.zeros((len(self.docs), len(sizes)), np.float64)  # word scores start at 0
        for size_no, ((_, fused, _), docs) in enumerate(zip(self._by_size, met)):
            rows = np.asarray([self.rank[d] for d in docs], dtype=np.int64)
            np.maximum.at(most[:, size_no], rows, fused.astype(np.float64))
        bounds = most.mean(axis=1) + 1e-6  # a margin for the float32 sums of the word scores
        self.bound = dict(zip(self.docs, bounds.tolist()))
        """No word of the document scores more (the mean over sizes of its best window's score)."""

    def of(self, doc: int) -> np.ndarray:
        """Each word's score in ``doc``: per size the best window covering it, averaged over sizes."""
        windows = self.index.windows
        by_size = np.zeros((len(self.sizes), int(self.index.word_counts[doc])), np.float32)
        for size_no, (window_ids, fused, docs) in enumerate(self._by_size):
            chosen = docs == doc
            if not chosen.any():
                continue
            scores = fused[chosen]
            order = np.argsort(scores, kind="stable")  # the best window written last wins each word
            order = order[scores[order] > 0]  # words start at 0: the best of 0 and the windows covering them
            starts = windows.word_start[window_ids[chosen]][order].tolist()
            ends = windows.word_end[window_ids[chosen]][order].tolist()
            row = by_size[size_no]
            # Python floats: a float32 made a float and back is itself, and a slice takes one
            # faster than a NumPy scalar
            for start, end, score in zip(starts, ends, scores[order].tolist()):
                row[start:end] = score
        return by_size.mean(axis=0)


_SENTENCE_END = (".", "!", "?", ":", ";", ",")
_LIST_ITEM = ("-", "*", "+", "\u2022")


def _bare_line(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a line of at most :data:`BARE_LINE_WORDS` words with a
    blank line (or the text's edge) on each side, not ending like a sentence, no list item."""
    line = text[start:end].strip()
    if not line or len(line.split()) > BARE_LINE_WORDS or line.endswith(_SENTENCE_END):
        return False
    if line.startswith(_LIST_ITEM):
        return False
    before = start == 0 or text.endswith("\n\n", 0, start)
    return before and (text.startswith("\n\n", end) or not text[end:].strip())


def _mean(values: np.ndarray, start: int, end: int) -> float:
    return float(values[start:end].mean()) if end > start else 0.0


def _first(mask: np.ndarray, *, otherwise: int) -> int:
    """Position of the first True of ``mask`` (``otherwise`` when none): ``argmax`` stops at it."""
    if not len(mask):
        return otherwise
    at = int(mask.argmax())
    return at if mask[at] else otherwise


_BACK_STEP = 512
"""Words read first looking back from a peak for the nearest taken word, or on from it for the
end of its run or the next taken word; each further read takes twice as many."""


def _first_from(left: np.ndarray, at: int, marks: Callable[[np.ndarray], np.ndarray]) -> int:
    """Position of the first word of ``left`` from ``at`` on that ``marks`` (``len(left)``: none),
    read in growing steps: what is looked for is usually near, documents long."""
    start, step = at, _BACK_STEP
    while start < len(left):
        end = min(start + step, len(left))
        found = _first(marks(left[start:end]), otherwise=-1)
        if found >= 0:
            return start + found
        start, step = end, 2 * step
    return len(left)


def _last_taken(left: np.ndarray, before: int) -> int:
    """Position of the last taken word (score below 0) of ``left`` before ``before`` (-1: none),
    read back from ``before`` in growing steps: taken words are usually near, documents long."""
    end, step = before, _BACK_STEP
    while end > 0:
        start = max(end - step, 0)
        found = np.flatnonzero(left[start:end] < 0)
        if len(found):
            return start + int(found[-1])
        end, step = start, 2 * step
    return -1
