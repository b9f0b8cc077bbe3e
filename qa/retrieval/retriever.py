"""From a question to ranked, non-overlapping passages with a highlighted span and a verdict.

Pipeline: clean the question and read it in its conversation (:mod:`followup`, :mod:`conversation`);
find dense and BM25 candidates and fuse them (:mod:`fusion`); add what the documents' names and
headings say and demote debris (:mod:`structure`); grow the best into passages of whole sentences
(:mod:`shaping`); mark the best sentence in each (:mod:`highlight`); abstain when the evidence is
weak (:mod:`abstain`); rank a follow-up's passages by what it asks, or one with no words of its
own by the previous answer (:mod:`scope`); with
``section_order_weight``, reorder the first passages by their sections (:mod:`section_order`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.answer import Answer, Citation, Passage, Span
from qa.config import Settings
from qa.embedders.base import Embedder, make_embedder
from qa.embedders.tokens import TokenEmbedder
from qa.errors import QuestionError
from qa.index.build import open_index
from qa.index.model import Index
from qa.index.warming import Warming
from qa.index.warming import warm_up as warm_index
from qa.ingest.normalize import normalize
from qa.retrieval.abstain import Abstainer, Signals
from qa.retrieval.agreement import nearest_in_passage
from qa.retrieval.alignment import TokenAlignment
from qa.retrieval.answer_type import type_missing
from qa.retrieval.conversation import TopicReader
from qa.retrieval.document_coverage import DocumentCoverage
from qa.retrieval.followup import CONTROL_CHARACTERS, readings, resolve_followup
from qa.retrieval.fusion import Candidates, Fusion
from qa.retrieval.highlight import Highlighter
from qa.retrieval.name_free import NameFree
from qa.retrieval.rerank import PassageEvidence, Reranker, passage_evidence
from qa.retrieval.scope import Scope, on_previous_answer, within
from qa.retrieval.section_order import SectionOrder
from qa.retrieval.shaping import RANKED_PASSAGES, Shape, Shaper, TermWords
from qa.retrieval.soft_coverage import SoftCoverage
from qa.retrieval.structure import Structure

__all__ = ["Retriever", "RankingRows", "clean_question", "resolve_followup", "MAX_K"]

log = logging.getLogger(__name__)

MAX_K = 50


def clean_question(question: object, *, max_chars: int) -> str:
    """The question with control characters removed; raises QuestionError if it is unusable."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = " ".join(CONTROL_CHARACTERS.sub(" ", question).split())
    if not text:
        raise QuestionError("the question is empty; type a question about the documents")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text):,} characters long; the limit is {max_chars:,}, shorten it"
        )
    if not normalize(text):
        raise QuestionError("the question has no words to search for")
    return text


@dataclass(frozen=True)
class Search:
    """One question as it will be searched."""

    question: str
    """The question, cleaned."""
    query: str
    """The question as searched (with its conversation's topic when it follows one)."""
    vector: np.ndarray | None = None
    """The query's vector (None: lexical mode)."""
    own_vector: np.ndarray | None = None
    """The question's own vector, without its topic."""
    ranking: np.ndarray | None = None
    """The vector that ranks the windows when it is not ``vector`` (the query without the name of
    the document it names: :mod:`qa.retrieval.name_free`)."""
    topic: str = ""
    """The conversation's topic the question is searched with ("": searched alone)."""

    @property
    def follows(self) -> bool:
        """Whether the question is searched with its conversation's topic."""
        return self.query != self.question


@dataclass(frozen=True)
class RankingRows:
    """A question's candidate passages as today's ranking orders them, each with its text and
    its row of :data:`qa.retrieval.rerank.FEATURE_NAMES` (what ``benchmarks/fit_ranker.py`` fits on)."""

    query: str
    texts: list[str]
    sources: list[str]
    features: np.ndarray


class Retriever:
    """Answers questions from one :class:`~qa.index.Index`; safe to share between threads."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.fusion = Fusion(index, settings)
        self.shaper = Shaper(index, settings, debris=lambda doc: self.structure.link_words[doc])
        self.warming: Warming | None = None
        """The index's files being mapped in, from :meth:`warm_up` on."""

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Retriever:
        """The retriever over the built index; the model loads on the first question."""
        index = open_index(settings)
        return cls(index, embedder or make_embedder(settings), settings)

    @cached_property
    def highlighter(self) -> Highlighter:
        return Highlighter(self.index, self.fusion.lexicon)

    @cached_property
    def reranker(self) -> Reranker:
        return Reranker(self.settings.rank_weights, sizes=self.shaper.sizes, index=self.index)

    @cached_property
    def section_order(self) -> SectionOrder:
        return SectionOrder(self.embedder, weight=self.settings.section_order_weight)

    @cached_property
    def topic_reader(self) -> TopicReader:
        return TopicReader(
            self.fusion,
            encode=self.embedder.encode,
            top_shape=self._top_shape,
            known_terms=self.abstainer.known_terms,
            coverage=self.highlighter.coverage,
            answered=self._answered_alone,
        )

    @cached_property
    def structure(self) -> Structure:
        return Structure(self.index, self.fusion.lexicon)

    @cached_property
    def name_free(self) -> NameFree:
        return NameFree(self.index, self.structure, self.fusion.lexical, share=self.settings.name_free_share)

    @cached_property
    def document_coverage(self) -> DocumentCoverage:
        words = self.index.word_maps
        return DocumentCoverage(self.highlighter, lambda doc: len(words[doc]), len(self.index.documents))

    @cached_property
    def soft_coverage(self) -> SoftCoverage:
        return SoftCoverage(
            self.embedder.encode, self.highlighter.weights, lambda: self.index.phrasebook.vocabulary
        )

    @cached_property
    def alignment(self) -> TokenAlignment | None:
        """Token alignment of a question with its top passage (None: in lexical mode, or with
        an embedder that gives no token states)."""
        if self.settings.mode == "lexical" or not isinstance(self.embedder, TokenEmbedder):
            return None
        return TokenAlignment(self.embedder.encode_tokens)

    @cached_property
    def abstainer(self) -> Abstainer:
        texts = [d.text for d in self.index.documents]
        return Abstainer(
            texts,
            self.settings,
            document_names=self.structure.name_terms(),
            lexicon=self.fusion.lexicon,
            phrasebook=self.index.phrasebook,
        )

    def warm_up(self, *, background: bool = True) -> None:
        """Load the model and what every question reads now rather than on the first question.
        What is derived per document (words, stems, sentences, headings, debris) is computed when
        a question first reads the document, so start-up does not grow with the corpus. The
        index's files are mapped in on a daemon thread (:attr:`warming`; with ``background=False``
        before this returns): questions are answered meanwhile, slower until it is done."""
        self.embedder.encode(["warm up"])
        self.warming = warm_index(self.index, background=background)
        if self.settings.mode != "lexical":  # soft coverage's word vectors, the corpus's words first
            self.soft_coverage.prepare(background=background)
        _ = self.fusion.lexical, self.abstainer.phrasebook, self.structure.name_owner, self.shaper.sizes
        _ = self.reranker  # wrong rank_weights fail here, not on the first question

    @property
    def warm(self) -> bool:
        """Whether the index's files are mapped in (False while :meth:`warm_up`'s thread runs)."""
        return self.warming is None or self.warming.done

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
        return [answer for answer, _ in self.explain_many(questions, k=k, histories=histories)]

    def explain_many(
        self,
        questions: Sequence[str],
        *,
        k: int | None = None,
        histories: Sequence[Sequence[str]] | None = None,
        every_signal: bool = False,
    ) -> list[tuple[Answer, Signals]]:
        """Answers with the signals their abstention was decided on (for calibration); with
        ``every_signal``, the token alignment too when it could not change the decision."""
        k = self._check_k(k)
        return [self._answer(search, k, every_signal) for search in self._searches(questions, histories)]

    def ranking_rows(
        self,
        questions: Sequence[str],
        *,
        histories: Sequence[Sequence[str]] | None = None,
        grown: int = RANKED_PASSAGES,
    ) -> list[RankingRows]:
        """Per question, the ``grown`` passages grown for it in today's order with their features
        (for fitting the ranker; the settings' weights are not applied)."""
        out = []
        for search in self._searches(questions, histories):
            query_terms = self.fusion.query_terms(search.query)
            candidates = self._candidates(search.vector, query_terms, search.ranking)
            pool = self.shaper.pool(candidates, grown, grown=grown, terms=self._term_words(query_terms))
            features = self.reranker.features(pool, candidates, self._passage_evidence(query_terms))
            passages = [self._passage(shape, query_terms) for shape in pool]
            out.append(
                RankingRows(search.query, [p.text for p in passages], [p.source for p in passages], features)
            )
        return out

    def _searches(self, questions: Sequence[str], histories: Sequence[Sequence[str]] | None) -> list[Search]:
        """Each question as it will be searched (:class:`Search`)."""
        histories = histories or [()] * len(questions)
        cleaned = [clean_question(q, max_chars=self.settings.max_question_chars) for q in questions]
        turns = self.settings.history_turns
        read = [readings(q, h, turns=turns) for q, h in zip(cleaned, histories)]
        if self.settings.mode == "lexical":
            # no embeddings to weigh: the form of the question decides
            queries = [resolve_followup(q, h, turns=turns) for q, h in zip(cleaned, histories)]
            return [Search(q, query) for q, query in zip(cleaned, queries)]
        texts = sorted({text for r in read for text in (r.question, r.combined)})
        vectors = dict(zip(texts, self.embedder.encode(texts)))
        queries = [self.topic_reader.query(r, vectors) for r in read]
        ranking = self._name_free_vectors(queries)
        topics = [r.topic if query != q else "" for q, query, r in zip(cleaned, queries, read)]
        return [
            Search(q, query, vectors[query], vectors[r.question], ranking.get(query), topic)
            for q, query, r, topic in zip(cleaned, queries, read, topics)
        ]

    def _name_free_vectors(self, queries: Sequence[str]) -> dict[str, np.ndarray]:
        """For each query that names its document, the vector of the query without the name's
        words the document's body hardly uses (:mod:`qa.retrieval.name_free`); one batch, and
        no encode at all when no query names a document."""
        if not self.settings.shaping or not self.name_free.active:
            return {}
        texts = {q: self.name_free.text(q, self.fusion.query_terms(q)) for q in dict.fromkeys(queries)}
        texts = {q: t for q, t in texts.items() if t}
        if not texts:
            return {}
        unique = sorted(set(texts.values()))
        vectors = dict(zip(unique, self.embedder.encode(unique)))
        return {q: vectors[t] for q, t in texts.items()}

    def _answered_alone(self, question: str, vector: np.ndarray) -> bool:
        """Whether ``question``, searched alone, gets an answer: abstention's verdict on the first
        passage found, as :meth:`_answer` decides it for a question without history."""
        search = Search(question, question, vector, vector, self._name_free_vectors([question]).get(question))
        query_terms = self.fusion.query_terms(question)
        candidates = self._candidates(search.vector, query_terms, search.ranking)
        shapes = self._shapes(candidates, query_terms, 1)  # abstention reads the first passage only
        top = shapes[0] if shapes else None
        signals = self._completed(search, self._signals(search, candidates, top), top)
        return not self.abstainer.decide(signals).abstains

    def _top_shape(self, query: str, vector: np.ndarray) -> Shape | None:
        """The first passage found for ``query``."""
        query_terms = self.fusion.query_terms(query)
        shapes = self._shapes(self._candidates(vector, query_terms), query_terms, 1)
        return shapes[0] if shapes else None

    def _check_k(self, k: object) -> int:
        if k is None:
            return self.settings.k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise QuestionError(f"k must be a whole number from 1 to {MAX_K}")
        return k

    def _answer(self, search: Search, k: int, every_signal: bool = False) -> tuple[Answer, Signals]:
        query_terms = self.fusion.query_terms(search.query)
        scope = self._scope(search, query_terms)
        previous = self._previous_answer(search) if scope is None else None
        found = self.fusion.candidates(search.vector, query_terms, ranking=search.ranking)
        candidates = self._structured(found, query_terms)
        ranked_again = scope is not None or previous is not None
        shapes = self._shapes(candidates, query_terms, max(k, RANKED_PASSAGES) if ranked_again else k)
        top = shapes[0] if shapes else None
        signals = self._completed(search, self._signals(search, candidates, top), top, every_signal)
        verdict = self.abstainer.decide(signals)
        marked_by = query_terms
        if scope is not None:  # decided on the topic's ranking; ranked and marked on the question's own
            shapes = self._scoped(shapes, self._structured(found, query_terms, scope), query_terms, k)
            marked_by = list(scope.own_terms)
        elif previous is not None:  # no words of its own: it asks about the previous answer
            shapes = self.shaper.ranked(shapes, on_previous_answer(self.fusion, candidates, previous))
        passages = [self._passage(shape, marked_by) for shape in shapes[:k]]
        # decided on today's first passage: then the first ones reordered by their sections
        ranked_by = search.vector if scope is None else scope.vector
        passages = list(self.section_order.reorder(ranked_by, passages))
        answer = Answer(
            search.question,
            tuple(passages),
            verdict.abstains,
            signals.evidence,
            search.query,
            reason=verdict.reason,
            unknown=verdict.unknown,
        )
        return answer, signals

    def _signals(self, search: Search, candidates: Candidates, top: Shape | None) -> Signals:
        """What abstention reads of the candidates and the first passage (:class:`Signals`)."""
        question, own_vector = search.question, search.own_vector
        own_terms = self.fusion.query_terms(question)
        # a follow-up with no terms of its own ("Why not?") asks about its topic: the passage must
        # hold the topic's words, not "none of its own" (it has none to lack)
        asked = own_terms if own_terms or not search.follows else self.fusion.query_terms(search.query)
        known = self.abstainer.known_terms(asked)
        coverage = self.highlighter.coverage(top.doc, top.word_start, top.word_end, known) if top else 0.0
        alone = own_vector is not None and search.follows and candidates.dense is not None
        text = self._text(top) if top else ""
        return Signals(
            evidence=self._evidence(candidates),
            coverage=coverage,
            query=search.query,
            own_evidence=self.fusion.best_dense(own_vector) if alone else None,
            unknown_share=self.abstainer.unknown_share(own_terms),
            agreement=self._agreement(candidates, top),
            document_coverage=self.document_coverage(top.doc, known) if top else 0.0,
            soft_coverage=self.soft_coverage(text, question, known)
            if top and candidates.dense is not None
            else None,
            missing_type=type_missing(question, text) if top else "",
        )

    def _completed(
        self, search: Search, signals: Signals, top: Shape | None, always: bool = False
    ) -> Signals:
        """``signals`` with the token alignment of the question's own words with the top
        passage, when it can change the decision (:meth:`Abstainer.complete`) or ``always``."""
        if top is None or self.alignment is None:
            return signals
        alignment = self.alignment

        def aligned() -> float:
            terms = list(dict.fromkeys(self.fusion.query_terms(search.question)))
            hits = self.highlighter.term_hits(top.doc, top.word_start, top.word_end, terms)
            held = {term for term, found in hits.items() if found.any()}
            weights = {term: self.fusion.lexicon.idf(term) for term in terms}
            return alignment(search.question, self._text(top), weights, held)

        return self.abstainer.complete(signals, aligned, always=always)

    def _candidates(
        self, vector: np.ndarray | None, query_terms: list[str], ranking: np.ndarray | None = None
    ) -> Candidates:
        """The candidates of a query, fused, with what structure adds."""
        return self._structured(self.fusion.candidates(vector, query_terms, ranking=ranking), query_terms)

    def _structured(
        self, candidates: Candidates, query_terms: list[str], scope: Scope | None = None
    ) -> Candidates:
        """``candidates`` with what the documents' names and headings add; with a ``scope`` (a
        follow-up), ranked first on the question's own evidence (:mod:`qa.retrieval.scope`), the
        names' BM25 then being part of the topic's."""
        if scope is not None:
            candidates = scope.rank(self.fusion, candidates)
        if self.settings.shaping:
            if scope is None:
                names = self.structure.own_names(candidates.ids, query_terms)
                candidates = self.fusion.names_everywhere(candidates, query_terms, names)
            candidates = candidates.boosted(self.structure.bonus(candidates.ids, query_terms))
        return candidates

    def _scope(self, search: Search, query_terms: list[str]) -> Scope | None:
        """How a question searched with its topic is ranked (:mod:`qa.retrieval.scope`; None:
        searched alone, or in lexical mode)."""
        if not search.follows or search.own_vector is None or search.vector is None:
            return None
        with_topic = search.vector if search.ranking is None else search.ranking
        return Scope.of(with_topic, search.own_vector, query_terms, self.fusion.query_terms(search.question))

    def _scoped(self, shapes: list[Shape], scoped: Candidates, query_terms: list[str], k: int) -> list[Shape]:
        """A follow-up's passages ranked on its ``scoped`` candidates: in the document its topic
        leads to (that of ``shapes[0]``, the first passage found with the topic), as many as
        ``shapes`` has there, grown again from them, cut around what the question asks; elsewhere
        ``shapes``, grown with the topic."""
        if not shapes:
            return shapes
        doc = shapes[0].doc
        elsewhere = [s for s in shapes if s.doc != doc]
        grown = self._shapes(within(self.fusion, scoped, doc), query_terms, len(shapes) - len(elsewhere))
        return self.shaper.ranked(grown + elsewhere, scoped)

    def _previous_answer(self, search: Search) -> Shape | None:
        """For a question searched with its topic that has no terms of its own ("Why not?"), the
        first passage its topic alone finds: the answer it asks about (None: any other question,
        or lexical mode)."""
        if not search.follows or search.vector is None or self.fusion.query_terms(search.question):
            return None
        return self.topic_reader.previous_answer(search.topic)

    def _shapes(self, candidates: Candidates, query_terms: list[str], k: int) -> list[Shape]:
        """The ``k`` passages shown: today's ranking, or with ``rank_weights`` the learned one (each
        passage then scores its learned score)."""
        terms = self._term_words(query_terms)
        if not self.settings.shaping or not self.reranker.active:
            return self.shaper.shapes(candidates, k, terms=terms)
        pool = self.shaper.pool(candidates, k, terms=terms)
        features = self.reranker.features(pool, candidates, self._passage_evidence(query_terms))
        learned = self.reranker.scores(features)
        return [
            dataclasses.replace(pool[i], score=float(learned[i])) for i in self.reranker.order(features)[:k]
        ]

    def _term_words(self, query_terms: list[str]) -> TermWords:
        """Where the question's terms are, word by word: what a passage follows (:mod:`shaping`)."""
        return self.highlighter.term_words(query_terms)

    def _passage_evidence(self, query_terms: list[str]) -> PassageEvidence:
        return passage_evidence(
            self.index,
            self.structure,
            self.highlighter,
            query_terms,
            passage_words=self.settings.passage_words,
        )

    def _agreement(self, candidates: Candidates, top: Shape | None) -> float:
        if top is None:
            return 0.0
        return nearest_in_passage(
            candidates.ids,
            candidates.dense,
            self.index.table,
            doc=top.doc,
            word_start=top.word_start,
            word_end=top.word_end,
        )

    @staticmethod
    def _evidence(candidates: Candidates) -> float:
        if candidates.dense is not None:
            return candidates.best_dense
        return float(candidates.fused.max() > 0) if len(candidates.fused) else 0.0

    def _text(self, shape: Shape) -> str:
        """The text of the passage ``shape`` is grown into."""
        start, end = self.index.word_maps[shape.doc].char_span(shape.word_start, shape.word_end)
        return self.index.documents[shape.doc].text[start:end]

    def _passage(self, shape: Shape, query_terms: list[str]) -> Passage:
        document = self.index.documents[shape.doc]
        words = self.index.word_maps[shape.doc]
        start, end = words.char_span(shape.word_start, shape.word_end)
        highlight = Span(
            *words.char_span(
                *self.highlighter.span(
                    shape.doc, shape.word_start, shape.word_end, shape.word_scores, query_terms
                )
            )
        )
        citation = Citation(
            source=document.source,
            title=document.title,
            url=document.url,
            start=start,
            end=end,
            word_start=shape.word_start,
            word_end=shape.word_end,
            total_words=len(words),
            # the page and section of the highlighted sentence, where the evidence is
            page=document.page_at(highlight.start),
            section=self.structure.section_path(shape.doc, highlight.start),
            anchor=document.anchor_at(highlight.start),
        )
        return Passage(document.text[start:end], citation, shape.score, highlight)
