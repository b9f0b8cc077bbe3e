"""How much of the question the top passage holds, counting words close in meaning.

The coverage signal (:mod:`qa.retrieval.abstain`) counts a question's term only when the passage
holds the same stem. A learner's words are often not the document's: "fee" where a licence says
"royalty", "sue" where it says "litigation". Here a term the passage lacks still counts in part
when the passage holds a word close to it in meaning: the cosine of the two words, each embedded
alone by the retrieval model, mapped from :data:`SOFT_FLOOR` (no credit) to :data:`SOFT_FULL`
(full credit). A term the passage holds counts in full, as in coverage; the shares are IDF-weighted
like coverage's, so the signal means the same on any corpus. It is one input of the abstention
model.

A term is embedded as the question writes it. Each word is embedded once and kept
(:class:`WordVectors`); a warmed-up retriever embeds the corpus's vocabulary in the background
(:meth:`SoftCoverage.prepare`: 2,094 words on the seed, a few seconds), after which a question
costs a model call only for a word of its own that the corpus never writes so (one short call),
and before which it also embeds the words of its top passage not met yet (tens of milliseconds).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from qa.ingest.chunking import has_unspaced_script
from qa.ingest.normalize import content_words, stem

__all__ = ["SOFT_FLOOR", "SOFT_FULL", "SoftCoverage", "WordVectors"]

log = logging.getLogger(__name__)

SOFT_FLOOR = 0.4
"""Cosine of two single-word embeddings at or below which a word is no match for a term (unrelated
words of all-MiniLM-L6-v2 reach 0.2–0.4: "cat" and "license" 0.30)."""
SOFT_FULL = 0.8
"""Cosine at or above which a word counts as the term itself ("licence" and "license" 0.92)."""
CACHED_WORDS = 200_000
"""Word vectors kept; past this a new word is embedded each time it is needed (a corpus's
vocabulary is far smaller)."""
PREPARED_WORDS = 20_000
"""Words of the corpus embedded at warm-up, the commonest first (the dev corpora have 2,094 to
3,749; a larger corpus's rarer words are embedded when a question's passage first holds them)."""
PREPARE_BATCH = 256
"""Words embedded per model call when the vocabulary is prepared: questions asked meanwhile wait
for one batch at most."""


class WordVectors:
    """Vectors of single words from ``encode``, each word encoded once; safe between threads.

    The kept vectors are rows of one matrix, so a passage's words are one take of its rows
    rather than a stack of a hundred arrays (a fifth of the time). Rows are written, and the
    matrix grown, before a word's row number is published, so a reader that found a word's row
    number finds its row in the matrix it reads next."""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.encode = encode
        self._rows: dict[str, int] = {}
        """Each kept word's row in :attr:`_matrix`."""
        self._matrix = np.zeros((0, 0), np.float32)
        """The kept vectors, then rows not yet used (written before they are published)."""
        self._lock = threading.Lock()

    def __call__(self, words: Sequence[str]) -> np.ndarray:
        """``(len(words), dimension)`` unit vectors of ``words``, in order."""
        if not words:
            return np.zeros((0, 0))
        rows = self._rows
        missing = [w for w in dict.fromkeys(words) if w not in rows]
        if missing:
            fresh = dict(zip(missing, np.asarray(self.encode(missing), dtype=np.float32)))
            self._keep(fresh)
            if any(w not in rows for w in missing):  # no room left to keep them
                matrix = self._matrix
                return np.stack([fresh[w] if w in fresh else matrix[rows[w]] for w in words])
        at = [rows[w] for w in words]
        return self._matrix[at]

    def _keep(self, fresh: dict[str, np.ndarray]) -> None:
        """Keep the vectors of ``fresh``'s words not kept yet, while there is room."""
        with self._lock:  # the kept vectors only grow: a word once kept stays
            new = [w for w in fresh if w not in self._rows][: max(0, CACHED_WORDS - len(self._rows))]
            if not new:
                return
            count = len(self._rows)
            matrix = self._matrix
            if count + len(new) > len(matrix):  # a larger matrix, published before its new rows are
                rows = min(max(2 * len(matrix), count + len(new)), CACHED_WORDS)
                grown = np.zeros((rows, len(fresh[new[0]])), np.float32)
                if count:
                    grown[:count] = matrix[:count]
                matrix = grown
            for row, word in enumerate(new, start=count):
                matrix[row] = fresh[word]
            self._matrix = matrix
            for row, word in enumerate(new, start=count):
                self._rows[word] = row

    def prepare(self, words: Iterable[str], *, batch: int = PREPARE_BATCH) -> int:
        """Embed ``words`` not yet kept, ``batch`` at a time, up to :data:`CACHED_WORDS` in all;
        how many were embedded."""
        missing = [w for w in dict.fromkeys(words) if w not in self._rows]
        missing = missing[: max(0, CACHED_WORDS - len(self._rows))]
        for start in range(0, len(missing), batch):
            self(missing[start : start + batch])
        return len(missing)


class SoftCoverage:
    """IDF share of a question's terms that a passage holds, or holds a word close in meaning to."""

    def __init__(
        self,
        encode: Callable[[Sequence[str]], np.ndarray],
        weights: Callable[[list[str]], dict[str, float]],
        vocabulary: Callable[[], Iterable[str]],
    ) -> None:
        self.words = WordVectors(encode)
        self.weights = weights
        """``weights(terms)``: the IDF of each term (the lexicon's, as coverage weighs them)."""
        self.vocabulary = vocabulary
        """``vocabulary()``: the corpus's distinct content words, read when first needed."""

    def prepare(self, *, background: bool = True) -> None:
        """Embed the corpus's vocabulary (its :data:`PREPARED_WORDS` commonest words) now, on a
        daemon thread with ``background``; questions asked meanwhile embed what they need."""

        def run() -> None:
            try:
                words = sorted(self.vocabulary())
                stems = {word: stem(word) for word in words}
                rarity = self.weights(list(set(stems.values())))
                words.sort(key=lambda w: rarity.get(stems[w], 0.0))  # stable: ties stay alphabetical
                self.words.prepare(words[:PREPARED_WORDS])
            except Exception:  # an optimisation: a failure costs speed, never answers
                log.exception("embedding the corpus's words failed; questions will embed theirs")

        if background:
            threading.Thread(target=run, name="qa-word-vectors", daemon=True).start()
        else:
            run()

    def __call__(self, passage: str, question: str, terms: list[str]) -> float:
        """Soft coverage of the stemmed ``terms`` of ``question`` by the text ``passage``."""
        weights = self.weights(terms)
        total = sum(weights.values())
        if not total:
            return 0.0
        held = content_words(passage)
        stems = {stem(w) for w in held}
        missing = [t for t in weights if t not in stems]
        found = total - sum(weights[t] for t in missing)
        # a Chinese or Japanese letter alone means little to the model (most are one unknown
        # token, alike to it): no credit for closeness
        lacking = [t for t in missing if not has_unspaced_script(t)]
        if lacking and held:
            written = _written(question)
            asked = [written.get(t, t) for t in lacking]  # a term no word of it is (an acronym): itself
            distinct = list(dict.fromkeys(held))
            vectors = self.words([*asked, *distinct])
            closest = (vectors[: len(asked)] @ vectors[len(asked) :].T).max(axis=1)
            credit = np.clip((closest - SOFT_FLOOR) / (SOFT_FULL - SOFT_FLOOR), 0.0, 1.0)
            found += float(sum(weights[t] * c for t, c in zip(lacking, credit)))
        return found / total


def _written(question: str) -> dict[str, str]:
    """Each stem of the question's content words -> the first word of the question with it: a
    term is embedded as the learner wrote it."""
    written: dict[str, str] = {}
    for word in content_words(question):
        written.setdefault(stem(word), word)
    return written
