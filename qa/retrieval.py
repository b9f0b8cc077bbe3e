"""From a question to ranked, non-overlapping passages with a highlighted span and a verdict.

Pipeline: clean the question and resolve a follow-up against earlier turns; score every window
densely (cosine to the question's embedding) and lexically (BM25 on normalised, stemmed words);
fuse the two; grow the best windows into passages of about ``passage_words`` words that do not
overlap; mark the best short span in each; abstain when the evidence is weak.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from .answer import Answer, Citation, Passage, Span
from .config import Settings
from .embedding import Embedder, SentenceTransformerEmbedder
from .errors import QuestionError
from .index import FLAT_LIMIT, Index, open_index
from .lexical import LexicalIndex, terms
from .normalize import STOP_WORDS, normalize, stem

__all__ = ["Retriever", "clean_question", "resolve_followup", "MAX_K"]

log = logging.getLogger(__name__)

MAX_K = 50
HIGHLIGHT_WORDS = 20
DENSE_CANDIDATES = 512
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FOLLOWUP_OPENERS = ("and ", "also ", "what about", "how about", "but ", "so ", "then ", "why ", "how ")
_PRONOUNS = frozenset("it its they them their theirs this that these those he she his her there such".split())


def clean_question(question: object, *, max_chars: int) -> str:
    """The question with control characters removed; raises QuestionError if it is unusable."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = " ".join(_CONTROL.sub(" ", question).split())
    if not text:
        raise QuestionError("the question is empty; type a question about the documents")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text):,} characters long; the limit is {max_chars:,}, shorten it"
        )
    if not normalize(text):
        raise QuestionError("the question has no words to search for")
    return text


def _is_followup(question: str) -> bool:
    words = normalize(question).split()
    lowered = question.lower().lstrip()
    return (
        len(terms(question)) <= 2
        or lowered.startswith(_FOLLOWUP_OPENERS[:6])
        or any(w in _PRONOUNS for w in words)
    )


def resolve_followup(question: str, history: Sequence[str], *, turns: int = 3) -> str:
    """The question to search for: a follow-up ("and children?") gets the earlier topic prefixed.

    ``history`` holds the user's earlier questions, oldest first. Only the last ``turns`` count.
    """
    context = ""
    for earlier in [h for h in history if isinstance(h, str) and h.strip()][-turns:]:
        earlier = " ".join(_CONTROL.sub(" ", earlier).split())[:1000]
        context = f"{context} {earlier}".strip() if context and _is_followup(earlier) else earlier
    if context and _is_followup(question):
        return f"{context} {question}"
    return question


class Retriever:
    """Answers questions from one :class:`~qa.index.Index`; safe to share between threads."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._doc = index.table["doc"]
        self._ws = index.table["word_start"]
        self._we = index.table["word_end"]

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Retriever:
        """The retriever over the built index; the model loads on the first question."""
        index = open_index(settings)
        return cls(index, embedder or SentenceTransformerEmbedder(settings.model), settings)

    @cached_property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(self.index.texts)

    @cached_property
    def _matrix(self) -> np.ndarray | None:
        if len(self.index) > FLAT_LIMIT:
            return None
        return np.ascontiguousarray(self.index.vectors, dtype=np.float32)

    @cached_property
    def _stems(self) -> list[list[str]]:
        """Stem of every word of every document (empty for stop words), for highlighting."""
        out = []
        for doc, words in zip(self.index.documents, self.index.word_maps):
            row = []
            for s, e in zip(words.starts, words.ends):
                w = normalize(doc.text[s:e])
                row.append(stem(w) if w and w not in STOP_WORDS else "")
            out.append(row)
        return out

    def warm_up(self) -> None:
        """Load the model and build the lexical index now rather than on the first question."""
        self.embedder.encode(["warm up"])
        _ = self.lexical, self._matrix, self._stems

    def ask(self, question: str, *, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        """The best ``k`` passages for ``question``, resolving follow-ups against ``history``."""
        return self.ask_many([question], k=k, histories=[history])[0]

    def ask_many(
        self,
        questions: Sequence[str],
        *,
        k: int | None = None,
        histories: Sequence[Sequence[str]] | None = None,
    ) -> list[Answer]:
        """Answers for many questions, their embeddings computed in one batch."""
        k = self._check_k(k)
        histories = histories or [()] * len(questions)
        cleaned = [clean_question(q, max_chars=self.settings.max_question_chars) for q in questions]
        queries = [
            resolve_followup(q, h, turns=self.settings.history_turns) for q, h in zip(cleaned, histories)
        ]
        vectors = self.embedder.encode(queries) if self.settings.mode != "lexical" else None
        return [
            self._answer(q, query, None if vectors is None else vectors[i], k)
            for i, (q, query) in enumerate(zip(cleaned, queries))
        ]

    def _check_k(self, k: object) -> int:
        if k is None:
            return self.settings.k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise QuestionError(f"k must be a whole number from 1 to {MAX_K}")
        return k

    # scoring -----------------------------------------------------------------------------

    def _dense_scores(self, vector: np.ndarray) -> np.ndarray:
        if self._matrix is not None:
            return self._matrix @ vector
        scores, ids = self.index.search(vector[None, :], DENSE_CANDIDATES)
        out = np.full(len(self.index), float(scores[0].min()) if len(scores[0]) else 0.0, np.float32)
        keep = ids[0] >= 0
        out[ids[0][keep]] = scores[0][keep]
        return out

    def _fused(self, dense: np.ndarray | None, lexical: np.ndarray | None) -> np.ndarray:
        parts = []
        if dense is not None:
            lo, hi = float(np.median(dense)), float(dense.max())
            parts.append((self.settings.dense_weight, np.clip((dense - lo) / max(hi - lo, 1e-6), 0, None)))
        if lexical is not None:
            hi = float(lexical.max())
            parts.append((1.0 - self.settings.dense_weight, lexical / hi if hi > 0 else lexical))
        if len(parts) == 1:
            return parts[0][1]
        return sum(w * p for w, p in parts)

    def _answer(self, question: str, query: str, vector: np.ndarray | None, k: int) -> Answer:
        mode = self.settings.mode
        query_terms = terms(query)
        dense = self._dense_scores(vector) if mode != "lexical" else None
        lexical = self.lexical.scores(query_terms) if mode != "dense" else None
        fused = self._fused(dense, lexical)
        passages = self._shape(fused, query_terms, k)
        evidence = float(dense.max()) if dense is not None else 0.0
        abstained = evidence < self.settings.abstain_threshold
        return Answer(question, tuple(passages), abstained, evidence, query)

    # passage shaping ---------------------------------------------------------------------

    def _shape(self, fused: np.ndarray, query_terms: list[str], k: int) -> list[Passage]:
        taken: dict[int, list[tuple[int, int]]] = {}
        out: list[Passage] = []
        for i in np.argsort(-fused, kind="stable"):
            if len(out) == k:
                break
            doc, ws, we = int(self._doc[i]), int(self._ws[i]), int(self._we[i])
            spans = taken.setdefault(doc, [])
            if any(ws < e and s < we for s, e in spans):
                continue
            lo = max([e for s, e in spans if e <= ws], default=0)
            hi = min([s for s, e in spans if s >= we], default=len(self.index.word_maps[doc]))
            ps, pe = self._grow(doc, ws, we, lo, hi)
            spans.append((ps, pe))
            out.append(self._passage(doc, ps, pe, ws, we, float(fused[i]), query_terms))
        return out

    def _grow(self, doc: int, ws: int, we: int, lo: int, hi: int) -> tuple[int, int]:
        """Word span of about ``passage_words`` around window ``[ws, we)`` inside ``[lo, hi)``."""
        words = self.index.word_maps[doc]
        size = self.settings.passage_words
        extra = max(size - (we - ws), 0)
        start = max(lo, ws - extra // 2)
        end = min(hi, start + max(size, we - ws))
        start = max(lo, min(start, end - size))
        if words.has_boundaries:
            slack = extra // 2
            snapped = words.snap_start(start, slack=min(slack, ws - start))
            start = snapped if snapped <= ws else start
            snapped = words.snap_end(start, end, slack=min(slack, end - we))
            end = snapped if snapped >= we else end
        return start, min(end, start + 120)

    def _passage(
        self, doc: int, ps: int, pe: int, ws: int, we: int, score: float, query_terms: list[str]
    ) -> Passage:
        document = self.index.documents[doc]
        words = self.index.word_maps[doc]
        start, end = words.char_span(ps, pe)
        hs, he = self._highlight(doc, ps, pe, ws, we, set(query_terms))
        citation = Citation(
            source=document.source, title=document.title, url=document.url,
            start=start, end=end, word_start=ps, word_end=pe, total_words=len(words),
        )
        return Passage(document.text[start:end], citation, score, Span(*words.char_span(hs, he)))

    def _highlight(
        self, doc: int, ps: int, pe: int, ws: int, we: int, query_terms: set[str]
    ) -> tuple[int, int]:
        """The ``HIGHLIGHT_WORDS``-word span with the most distinct query terms (by IDF)."""
        size = min(HIGHLIGHT_WORDS, pe - ps)
        stems = self._stems[doc]
        best, best_score = (max(ps, (ws + we - size) // 2), 0.0), -1.0
        best = (best[0], best[0] + size)
        for s in range(ps, pe - size + 1):
            found = {t for t in stems[s : s + size] if t in query_terms}
            score = sum(self.lexical.idf(t) for t in found)
            score += 1e-3 * (min(s + size, we) - max(s, ws))
            if score > best_score:
                best, best_score = (s, s + size), score
        return best

