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

from qa.answer import Answer, Citation, Passage, Span
from qa.config import Settings
from qa.embedders.base import Embedder, make_embedder
from qa.errors import QuestionError
from qa.index.core import FLAT_LIMIT, Index, open_index
from qa.ingest.normalize import STOP_WORDS, normalize, stem
from qa.lexical.bm25 import LexicalIndex
from qa.lexical.terms import Phrasebook, acronyms, terms

__all__ = ["Retriever", "clean_question", "resolve_followup", "MAX_K"]

log = logging.getLogger(__name__)

MAX_K = 50
HIGHLIGHT_WORDS = 20
DENSE_CANDIDATES = 512
CANDIDATES = 64
OVERLAP = 10
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FOLLOWUP_OPENERS = ("and ", "also ", "what about", "how about", "but ", "so ", "then ")
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
    """A question that leans on an earlier one: "and children?", "how common is it?"."""
    words = normalize(question).split()
    n_terms = len(terms(question))
    return (
        question.lower().lstrip().startswith(_FOLLOWUP_OPENERS)
        or n_terms <= 1
        or (n_terms <= 3 and any(w in _PRONOUNS for w in words))
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
        return cls(index, embedder or make_embedder(settings), settings)

    @cached_property
    def _scale_rows(self) -> dict[int, np.ndarray]:
        scale = self.index.table["scale"]
        return {int(v): np.flatnonzero(scale == v) for v in np.unique(scale)}

    @cached_property
    def lexical(self) -> dict[int, LexicalIndex]:
        """One BM25 index per window size (document frequencies differ by size)."""
        texts = self.index.texts
        return {size: LexicalIndex([texts[i] for i in rows]) for size, rows in self._scale_rows.items()}

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return Phrasebook([d.text for d in self.index.documents])

    @cached_property
    def _matrix(self) -> np.ndarray | None:
        if len(self.index) > FLAT_LIMIT:
            return None
        return np.ascontiguousarray(self.index.vectors, dtype=np.float32)

    @cached_property
    def _stems(self) -> tuple[dict[str, int], list[np.ndarray]]:
        """Stem ids of every word of every document (0 for stop words), for highlighting."""
        vocab: dict[str, int] = {"": 0}
        out = []
        for doc, words in zip(self.index.documents, self.index.word_maps):
            row = np.zeros(len(words), dtype=np.int32)
            for j, (s, e) in enumerate(zip(words.starts, words.ends)):
                w = normalize(doc.text[s:e])
                if w and w not in STOP_WORDS:
                    row[j] = vocab.setdefault(stem(w), len(vocab))
            out.append(row)
        return vocab, out

    def warm_up(self) -> None:
        """Load the model and build the lexical index now rather than on the first question."""
        self.embedder.encode(["warm up"])
        _ = self.lexical, self._matrix, self._stems, self._scale_rows, self.phrasebook

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
        vectors = self._encode(queries) if self.settings.mode != "lexical" else None
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

    def _query_terms(self, query: str) -> list[str]:
        """BM25 terms of the query, plus acronyms of its multi-word names that the corpus uses."""
        found = terms(query)
        lexicon = next(iter(self.lexical.values()))
        found += [a for a in acronyms(query) if lexicon.known(a) and a not in found]
        return found

    def _encode(self, queries: Sequence[str]) -> np.ndarray:
        """One normalised vector per query, from the question as asked."""
        return self.embedder.encode(list(queries))

    def _dense_scores(self, vector: np.ndarray) -> np.ndarray:
        if self._matrix is not None:
            return self._matrix @ vector
        # approximate index: its candidates are rescored exactly from the stored float vectors,
        # so quantisation error never reorders the passages
        _, ids = self.index.search(vector[None, :], DENSE_CANDIDATES)
        found = np.sort(ids[0][ids[0] >= 0])
        exact = np.asarray(self.index.vectors[found], dtype=np.float32) @ vector
        out = np.full(len(self.index), float(exact.min()) if len(exact) else 0.0, np.float32)
        out[found] = exact
        return out

    def _window_scores(self, dense: np.ndarray | None, query_terms: list[str]) -> np.ndarray:
        """Fused score of every window in 0..1, normalised within each window size.

        Dense cosines are rescaled from the size's median (0) to its best (1); BM25 scores are
        divided by the size's best. The hybrid score is their weighted sum.
        """
        mode, w = self.settings.mode, self.settings.dense_weight
        out = np.zeros(len(self.index), dtype=np.float32)
        for size, rows in self._scale_rows.items():
            parts = []
            if mode != "lexical" and dense is not None:
                d = dense[rows]
                lo, hi = float(np.median(d)), float(d.max())
                rescaled = np.clip((d - lo) / max(hi - lo, 1e-6), 0, None)
                parts.append((w if mode == "hybrid" else 1.0, rescaled))
            if mode != "dense":
                b = self.lexical[size].scores(query_terms)
                top = float(b.max())
                parts.append((1.0 - w if mode == "hybrid" else 1.0, b / top if top > 0 else b))
            out[rows] = sum(weight * p for weight, p in parts)
        return out

    def _answer(self, question: str, query: str, vector: np.ndarray | None, k: int) -> Answer:
        query_terms = self._query_terms(query)
        dense = self._dense_scores(vector) if vector is not None else None
        scores = self._window_scores(dense, query_terms)
        passages = self._shape(scores, query_terms, k)
        evidence = float(dense.max()) if dense is not None else float(scores.max() > 0)
        return Answer(question, tuple(passages), self._abstains(query, evidence), evidence, query)

    def _abstains(self, query: str, evidence: float) -> bool:
        """Abstain on weak evidence, or on middling evidence for a question that names something
        (a country, an organisation, a programme) the documents never mention."""
        if evidence < self.settings.abstain_threshold:
            return True
        return evidence < self.settings.unknown_name_threshold and bool(self.phrasebook.missing(query))

    # passage shaping ---------------------------------------------------------------------

    def _word_scores(self, scores: np.ndarray) -> dict[int, np.ndarray]:
        """Per document with a candidate window: each word's score, averaged over window sizes.

        Within one size a word scores as the best candidate window covering it. Only the best
        ``CANDIDATES`` windows of each size count, which bounds the work on large corpora.
        """
        table = self.index.table
        n_sizes = len(self._scale_rows)
        per_doc: dict[int, np.ndarray] = {}
        for si, rows in enumerate(self._scale_rows.values()):
            part = scores[rows]
            if len(rows) > CANDIDATES:
                part_top = np.argpartition(-part, CANDIDATES - 1)[:CANDIDATES]
                top = rows[part_top]
            else:
                top = rows
            docs = table["doc"][top]
            for doc in np.unique(docs):
                doc = int(doc)
                mine = top[docs == doc]
                if doc not in per_doc:
                    per_doc[doc] = np.zeros((n_sizes, len(self.index.word_maps[doc])), np.float32)
                starts, ends = table["word_start"][mine], table["word_end"][mine]
                lengths = ends - starts
                # every word index covered by each window, with that window's score
                covered = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
                np.maximum.at(per_doc[doc][si], covered, np.repeat(scores[mine], lengths))
        return {doc: g.mean(axis=0) for doc, g in per_doc.items()}

    def _shape(self, scores: np.ndarray, query_terms: list[str], k: int) -> list[Passage]:
        """The ``k`` best non-overlapping passages, each centred on a peak of the word scores."""
        if not self.settings.shaping:
            return self._plain(scores, query_terms, k)
        words = self._word_scores(scores)
        masked = {doc: g.copy() for doc, g in words.items()}
        best = {doc: float(m.max()) for doc, m in masked.items()}
        out: list[Passage] = []
        while len(out) < k and best and max(best.values()) >= 0:
            doc = max(best, key=best.__getitem__)
            g, m = words[doc], masked[doc]
            peak = int(np.argmax(m))
            after = np.flatnonzero(m[peak:] != m[peak])
            end = peak + (int(after[0]) if len(after) else len(m) - peak)
            taken = m < 0
            before = np.flatnonzero(taken[:peak])
            lo = int(before[-1]) + 1 if len(before) else 0
            beyond = np.flatnonzero(taken[end:])
            hi = end + int(beyond[0]) if len(beyond) else len(m)
            # a passage may reach a few words into its neighbours, so a cut never splits a phrase
            lo, hi = max(lo - OVERLAP, 0), min(hi + OVERLAP, len(m))
            ps, pe = self._grow(doc, peak, end, lo, hi)
            out.append(self._passage(doc, ps, pe, g, float(m[peak]), query_terms))
            m[ps:pe] = -1.0
            best[doc] = float(m.max())
        return out

    def _plain(self, scores: np.ndarray, query_terms: list[str], k: int) -> list[Passage]:
        """Without shaping: the best windows themselves, skipping ones that overlap a better one."""
        taken: dict[int, list[tuple[int, int]]] = {}
        out: list[Passage] = []
        table = self.index.table
        for i in np.argsort(-scores, kind="stable"):
            if len(out) == k:
                break
            doc, ws, we = int(table["doc"][i]), int(table["word_start"][i]), int(table["word_end"][i])
            spans = taken.setdefault(doc, [])
            if any(ws < e and s < we for s, e in spans):
                continue
            spans.append((ws, we))
            g = np.zeros(len(self.index.word_maps[doc]), np.float32)
            g[ws:we] = scores[i]
            out.append(self._passage(doc, ws, we, g, float(scores[i]), query_terms))
        return out

    def _grow(self, doc: int, ws: int, we: int, lo: int, hi: int) -> tuple[int, int]:
        """Word span of about ``passage_words`` centred on ``[ws, we)``, inside ``[lo, hi)``."""
        words = self.index.word_maps[doc]
        size = self.settings.passage_words
        if we - ws >= size:
            mid = (ws + we) // 2
            ws, we = mid - size // 2, mid - size // 2 + size
        extra = size - (we - ws)
        start = max(lo, ws - extra // 2)
        end = min(hi, start + size)
        start = max(lo, end - size)
        if words.has_boundaries:
            slack = size // 4
            snapped = words.snap_start(start, slack=slack, floor=lo)
            start = snapped if snapped <= ws else start
            snapped = words.snap_end(start, end, slack=max(min(slack, end - we), 0))
            end = snapped if snapped >= we else end
        return start, min(end, start + size)

    def _passage(
        self, doc: int, ps: int, pe: int, g: np.ndarray, score: float, query_terms: list[str]
    ) -> Passage:
        document = self.index.documents[doc]
        words = self.index.word_maps[doc]
        start, end = words.char_span(ps, pe)
        hs, he = self._highlight(doc, ps, pe, g, query_terms)
        citation = Citation(
            source=document.source,
            title=document.title,
            url=document.url,
            start=start,
            end=end,
            word_start=ps,
            word_end=pe,
            total_words=len(words),
            page=document.page_at(start),
            section=document.section_at(start),
            anchor=document.anchor_at(start),
        )
        return Passage(document.text[start:end], citation, score, Span(*words.char_span(hs, he)))

    def _highlight(
        self, doc: int, ps: int, pe: int, g: np.ndarray, query_terms: list[str]
    ) -> tuple[int, int]:
        """The ``HIGHLIGHT_WORDS``-word span with the best mean word score plus query-term cover.

        Cover is the IDF share of the distinct query terms that occur in the span.
        """
        size = min(HIGHLIGHT_WORDS, pe - ps)
        n = pe - ps - size + 1
        lexicon = next(iter(self.lexical.values()))
        weights = {t: lexicon.idf(t) for t in set(query_terms)}
        total = sum(weights.values()) or 1.0
        vocab, stem_ids = self._stems
        ids = stem_ids[doc][ps:pe]
        cover = np.zeros(n)
        box = np.ones(size, dtype=np.int32)
        for term, weight in weights.items():
            hits = ids == vocab.get(term, -1)
            if hits.any():
                cover += weight * (np.convolve(hits.astype(np.int32), box, mode="valid") > 0)
        cumulative = np.concatenate([[0.0], np.cumsum(g[ps:pe], dtype=np.float64)])
        dense = (cumulative[size:] - cumulative[:-size]) / size
        best = int(np.argmax(dense + 0.5 * cover / total))
        return ps + best, ps + best + size
