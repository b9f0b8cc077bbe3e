"""The span of a passage to show first: the words with the best evidence for the question.

On punctuated text it is the whole sentence (or, in a long sentence, the run of clauses) of at
most ``SENTENCE_WORDS`` words with the best mean word score plus the IDF share of the question's
terms it contains, with decoration (list bullets, heading marks, rules, box borders) trimmed.
On text without punctuation (like the seed) it is the ``HIGHLIGHT_WORDS``-word run scored alike.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from functools import cached_property
from typing import Protocol

import numpy as np

from qa.index.lazy import PerDocument
from qa.index.model import Index
from qa.ingest.normalize import STOP_WORDS, normalize, stem

__all__ = ["Highlighter", "HIGHLIGHT_WORDS", "QuestionTerms", "TermWeights"]

HIGHLIGHT_WORDS = 20
SENTENCE_WORDS = 40
_CLAUSE_END = re.compile(r"[,;:\u2014][\"'\u201d\u2019)\]]*$")
_DECORATION = re.compile(r"^[\W_]+$")
TERM_COVER_WEIGHT = 0.5
HEADING_WORDS = 8
"""A line of at most this many words not ending like a sentence is taken for a heading (as
:data:`qa.retrieval.shaping.BARE_LINE_WORDS`): the highlight prefers any sentence to it."""
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?;:,\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")
"""Weight of the query terms' IDF share against the mean word score."""
RECENT_QUESTIONS = 16
"""Questions whose terms' weights are kept (those being answered: a handful at once)."""


class TermWeights(Protocol):
    """What weighs a query term: its inverse document frequency among the windows."""

    def idf(self, term: str) -> float: ...


class Highlighter:
    """Finds the highlight of a passage; holds stem ids of every word of every document."""

    def __init__(self, index: Index, lexicon: TermWeights) -> None:
        self.index = index
        self.lexicon = lexicon

    @cached_property
    def _stems(self) -> tuple[dict[str, int], dict[str, int], threading.Lock]:
        """The stem vocabulary (stem -> id; "" is 0) and each word as written -> its stem id, both
        growing as words are read, and the lock under which new words are added."""
        return {"": 0}, {}, threading.Lock()

    def _ids(self, written: list[str]) -> np.ndarray:
        """Stem ids of the words ``written`` (0 for stop words)."""
        vocabulary, word_ids, lock = self._stems
        new = set(written).difference(word_ids)
        if new:
            with lock:
                for each in new:
                    word = normalize(each)
                    found = 0
                    if word and word not in STOP_WORDS:
                        found = vocabulary.setdefault(stem(word), len(vocabulary))
                    word_ids[each] = found
        return np.fromiter(map(word_ids.__getitem__, written), dtype=np.int32, count=len(written))

    @cached_property
    def stem_ids(self) -> tuple[dict[str, int], PerDocument[np.ndarray]]:
        """Stem ids of every word of each document (0 for stop words), a document's computed when
        first asked for; the stem vocabulary grows as words are read."""

        def row(doc: int) -> np.ndarray:
            return self._ids(self.index.word_maps[doc].words())

        return self._stems[0], PerDocument(row, len(self.index.documents))

    def passage_stems(self, doc: int, start: int, end: int) -> np.ndarray:
        """Stem ids of words ``[start, end)`` of ``doc``, read from those words alone: a question
        costs what its passages hold, not what their documents hold. Once the whole document has
        been asked for (its coverage, :mod:`qa.retrieval.document_coverage`), its row is kept and
        a passage of it is a slice of the row (the same ids; not to be written to)."""
        if end <= start:
            return np.zeros(0, np.int32)
        whole = self._whole.get(doc)
        if whole is not None:
            return whole[start:end]
        words = self.index.word_maps[doc]
        ids = self._ids(words.words(start, end))
        if start == 0 and end == len(words):
            self._whole[doc] = ids
        return ids

    @cached_property
    def _whole(self) -> dict[int, np.ndarray]:
        """The stem ids of every word of each document asked for whole so far."""
        return {}

    def term_hits(self, doc: int, start: int, end: int, query_terms: list[str]) -> dict[str, np.ndarray]:
        """For each distinct query term among the stems read so far: which words of
        ``[start, end)`` are it (a term left out is one no word of the passage is)."""
        ids = self.passage_stems(doc, start, end)
        vocabulary = self._stems[0]
        return {t: ids == vocabulary[t] for t in set(query_terms) if t in vocabulary}

    def weights(self, query_terms: list[str]) -> dict[str, float]:
        """The IDF of each distinct query term (in the order of a set of them: sums over it add
        in that order)."""
        return dict(self._recent_weights(tuple(query_terms)))

    @cached_property
    def _recent_weights(self) -> Callable[[tuple[str, ...]], dict[str, float]]:
        """:meth:`weights` of the last few questions' terms: a question weighs its terms for
        each passage it marks and for each signal it reads."""

        @functools.lru_cache(maxsize=RECENT_QUESTIONS)
        def find(query_terms: tuple[str, ...]) -> dict[str, float]:
            return {t: self.lexicon.idf(t) for t in set(query_terms)}

        return find

    def term_words(self, query_terms: list[str]) -> QuestionTerms:
        """Where the question's terms are, word by word (what a passage follows in
        :mod:`shaping`); the terms' weights are read when a passage first asks."""
        return QuestionTerms(self, query_terms)

    def coverage(self, doc: int, start: int, end: int, query_terms: list[str]) -> float:
        """IDF share of the distinct ``query_terms`` found in words ``[start, end)`` of ``doc``."""
        weights = self.weights(query_terms)
        total = sum(weights.values())
        if not total:
            return 0.0
        hits = self.term_hits(doc, start, end, query_terms)
        return sum(weights[t] for t, found in hits.items() if found.any()) / total

    def _term_counts(
        self, doc: int, start: int, end: int, query_terms: list[str]
    ) -> tuple[list[str], np.ndarray]:
        """The distinct query terms among the stems read so far, in :meth:`term_hits`'s order,
        and per term the running count of its words in ``[start, end)``: column ``i`` counts
        words ``start`` to ``start + i - 1``, so any span's hits are one subtraction."""
        ids = self.passage_stems(doc, start, end)  # may add stems to the vocabulary: read first
        vocabulary = self._stems[0]
        held = [t for t in set(query_terms) if t in vocabulary]
        counts = np.zeros((len(held), end - start + 1), np.int32)
        found = ids == np.array([vocabulary[t] for t in held], np.int32)[:, None]
        np.cumsum(found, axis=1, out=counts[:, 1:])
        return held, counts

    def fixed_span(
        self, doc: int, start: int, end: int, word_scores: np.ndarray, query_terms: list[str]
    ) -> tuple[int, int]:
        """The ``HIGHLIGHT_WORDS``-word run with the best mean word score plus query-term cover."""
        size = min(HIGHLIGHT_WORDS, end - start)
        weights = self.weights(query_terms)
        total = sum(weights.values()) or 1.0
        held, counts = self._term_counts(doc, start, end, query_terms)
        in_run = counts[:, size:] > counts[:, :-size]  # row t, run j: words j..j+size-1 hold term t
        # the IDF of each term a run holds, summed term by term in that order (0 for the others)
        cover = (in_run * np.array([weights[t] for t in held], np.float64)[:, None]).sum(axis=0)
        cumulative = np.zeros(end - start + 1, np.float64)
        np.cumsum(word_scores[start:end], dtype=np.float64, out=cumulative[1:])
        mean_score = (cumulative[size:] - cumulative[:-size]) / size
        best = int(np.argmax(mean_score + TERM_COVER_WEIGHT * cover / total))
        return start + best, start + best + size

    def span(
        self, doc: int, start: int, end: int, word_scores: np.ndarray, query_terms: list[str]
    ) -> tuple[int, int]:
        """The highlight of passage words ``[start, end)``: a whole sentence or clause run on
        punctuated text (a heading or decoration line only in a passage of nothing else), the
        fixed-size run otherwise."""
        words = self.index.word_maps[doc]
        if not words.has_boundaries:
            return self.fixed_span(doc, start, end, word_scores, query_terms)
        units = self._units(doc, start, end)
        weights = self.weights(query_terms)
        total = sum(weights.values()) or 1.0
        held, counts = self._term_counts(doc, start, end, query_terms)
        bounds = np.array(units, np.int64) - start
        holds = (counts[:, bounds[:, 1]] > counts[:, bounds[:, 0]]).T.tolist()  # unit u holds term t
        values = [
            float(word_scores[a:b].mean())
            + TERM_COVER_WEIGHT * sum(weights[t] for t, found in zip(held, flags) if found) / total
            for (a, b), flags in zip(units, holds)
        ]
        ranked = sorted(range(len(units)), key=lambda u: -values[u])  # stable: the first of equals
        trimmed = (self._trimmed(doc, *units[u]) for u in ranked)
        if len(units) == 1:
            return next(trimmed)
        return next(
            (t for t in trimmed if not self._heading_like(doc, *t)), self._trimmed(doc, *units[ranked[0]])
        )

    def _heading_like(self, doc: int, start: int, end: int) -> bool:
        """Whether words ``[start, end)`` (trimmed) are a heading or a line of decoration rather
        than a sentence: only decoration ("* * *", "----"), or one short line (at most
        :data:`HEADING_WORDS` words) that does not end like a sentence or clause ("TRIGGERS",
        "Overall control structure"). A highlight shows what answers; a heading only names it."""
        words = self.index.word_maps[doc]
        text = self.index.documents[doc].text
        shown = text[words.starts[start] : words.ends[end - 1]]
        if all(_DECORATION.match(text[words.starts[i] : words.ends[i]]) for i in range(start, end)):
            return True
        return end - start <= HEADING_WORDS and "\n" not in shown and not _ENDS_LIKE_SENTENCE.search(shown)

    def _units(self, doc: int, start: int, end: int) -> list[tuple[int, int]]:
        """Sentences of ``[start, end)``; a sentence over ``SENTENCE_WORDS`` words becomes runs
        of its clauses, and a clause still too long its first ``SENTENCE_WORDS`` words."""
        words = self.index.word_maps[doc]
        ends = [*(np.flatnonzero(words.boundary_after[start : end - 1]) + start + 1).tolist(), end]
        units, unit_start = [], start
        for unit_end in ends:
            if unit_end - unit_start <= SENTENCE_WORDS:
                units.append((unit_start, unit_end))
            else:
                units += self._clause_runs(doc, unit_start, unit_end)
            unit_start = unit_end
        return units

    def _clause_runs(self, doc: int, start: int, end: int) -> list[tuple[int, int]]:
        words = self.index.word_maps[doc]
        text = self.index.documents[doc].text
        cuts = [
            i + 1 for i in range(start, end - 1) if _CLAUSE_END.search(text[words.starts[i] : words.ends[i]])
        ]
        bounds = [start, *cuts, end]
        runs = []
        for i in range(len(bounds) - 1):
            run_end = i + 1
            while run_end + 1 < len(bounds) and bounds[run_end + 1] - bounds[i] <= SENTENCE_WORDS:
                run_end += 1
            runs.append((bounds[i], min(bounds[run_end], bounds[i] + SENTENCE_WORDS)))
        return runs

    def _trimmed(self, doc: int, start: int, end: int) -> tuple[int, int]:
        """Without leading or trailing words that are only decoration ("*", "##", "---", "|")."""
        words = self.index.word_maps[doc]
        text = self.index.documents[doc].text

        def decoration(i: int) -> bool:
            return bool(_DECORATION.match(text[words.starts[i] : words.ends[i]]))

        while end - start > 1 and decoration(start):
            start += 1
        while end - start > 1 and decoration(end - 1):
            end -= 1
        return start, end


class QuestionTerms:
    """``terms(doc, start, end)``: for each word of ``[start, end)`` of ``doc``, the IDF share of
    the question term it is (0 for a word that is none)."""

    def __init__(self, highlighter: Highlighter, query_terms: list[str]) -> None:
        self.highlighter = highlighter
        self.query_terms = query_terms
        self._shares: dict[str, float] | None = None
        """Each term's IDF share, read when a passage first asks."""
        self._table: tuple[int, np.ndarray, np.ndarray] = (-1, np.zeros(0, np.int32), np.zeros(0, np.float32))
        """The stem vocabulary's size when read, the terms' stem ids (sorted), their shares."""

    def __call__(self, doc: int, start: int, end: int) -> np.ndarray:
        ids = self.highlighter.passage_stems(doc, start, end)  # may add stems to the vocabulary
        keys, shares = self._lookup()
        if not len(keys):
            return np.zeros(len(ids), np.float32)
        at = np.minimum(np.searchsorted(keys, ids), len(keys) - 1)
        return np.where(keys[at] == ids, shares[at], np.float32(0)).astype(np.float32)

    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """The terms' stem ids and shares, read again only when words read since added stems
        (a term the vocabulary lacked may be among them)."""
        vocabulary = self.highlighter.stem_ids[0]
        if self._table[0] != len(vocabulary):
            if self._shares is None:
                weights = self.highlighter.weights(self.query_terms)
                total = sum(weights.values())
                self._shares = {t: w / total for t, w in weights.items()} if total else {}
            known = sorted((vocabulary[t], share) for t, share in self._shares.items() if t in vocabulary)
            keys = np.array([k for k, _ in known], np.int32)
            self._table = (len(vocabulary), keys, np.array([w for _, w in known], np.float32))
        return self._table[1], self._table[2]
