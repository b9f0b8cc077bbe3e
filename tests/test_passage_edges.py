"""Passages of whole sentences placed around their evidence: a passage follows the question's
terms one sentence past the edge where word scores alone stop it, never drops the peak's
sentences, and never cuts the sentence its highlight is (fast, fake embedder)."""

import dataclasses

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever

SENTENCES = [
    ("Alpha beta gamma delta epsilon zeta eta theta.", 0.9),  # scores high, holds no question term
    ("Reading a tape is slow for two reasons.", 1.0),  # the peak
    ("First, the head must wind to the start.", 0.8),
    ("Second, every block waits for the one before.", 0.7),
    ("However, a tape holds only one stream of data.", 0.6),  # the answer, one sentence past the edge
    ("Omega psi chi phi upsilon tau sigma rho.", 0.1),
]
QUESTION = "Why is reading a tape slow?"


@pytest.fixture
def retriever(project, fake_embedder):
    settings = dataclasses.replace(project, passage_words=34)
    (settings.seeds_dir / "tape.txt").write_text(" ".join(s for s, _ in SENTENCES), encoding="utf-8")
    ensure_index(settings, fake_embedder)
    return Retriever.open(settings, fake_embedder)


def _scores() -> tuple[np.ndarray, list[tuple[int, int]]]:
    scores, spans = [], []
    for sentence, score in SENTENCES:
        n = len(sentence.split())
        spans.append((len(scores), len(scores) + n))
        scores += [score] * n
    return np.asarray(scores, np.float32), spans


def _text(retriever, start: int, end: int) -> str:
    a, b = retriever.index.word_maps[0].char_span(start, end)
    return retriever.index.documents[0].text[a:b]


def _grow(retriever, *, follow: bool, question: str = QUESTION) -> tuple[int, int]:
    scores, spans = _scores()
    terms = retriever.fusion.query_terms(question)
    words = retriever.highlighter.term_words(terms) if follow else None
    peak = spans[1]
    found = retriever.shaper.grow_sentences(0, *peak, 0, len(scores), scores, terms=words)
    assert found is not None
    return found


def test_the_answer_one_sentence_past_the_old_edge_is_now_shown(retriever):
    before = _text(retriever, *_grow(retriever, follow=False))
    assert before.startswith("Alpha") and before.endswith("one before.")  # stops one sentence short
    after = _text(retriever, *_grow(retriever, follow=True))
    assert after == " ".join(s for s, _ in SENTENCES[1:5])  # the sentence without a term made room
    assert len(after.split()) <= retriever.settings.passage_words


def test_the_peaks_sentences_are_never_dropped(retriever):
    # terms only the last two sentences hold: the second fits only if the peak's sentence goes
    start, end = _grow(retriever, follow=True, question="Which stream holds omega?")
    _, spans = _scores()
    assert (start, end) == (spans[1][0], spans[4][1])


def test_a_passage_never_cuts_its_highlights_sentence(retriever):
    scores, spans = _scores()
    starts = {a for a, _ in spans}
    ends = {b for _, b in spans}
    start, end = _grow(retriever, follow=True)
    assert start in starts and end in ends
    terms = retriever.fusion.query_terms(QUESTION)
    hs, he = retriever.highlighter.span(0, start, end, scores, terms)
    assert (hs, he) in spans and start <= hs and he <= end
