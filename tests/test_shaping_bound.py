"""Passages grown from the few documents that can hold them: the same passages as computing every
document's word scores, on many documents with random candidate scores (fast, fake embedder)."""

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.retrieval.fusion import Candidates
from qa.retrieval.shaping import Shaper


def _every_document(shaper: Shaper, candidates: Candidates, k: int) -> list[tuple[int, int, int, float]]:
    """The greedy choice over every document's word scores, computed for all of them at once."""
    scores = shaper.word_scores(candidates)
    remaining = {doc: s.copy() for doc, s in scores.items()}
    best = {doc: float(s.max()) for doc, s in remaining.items()}
    out = []
    while len(out) < k and best and max(best.values()) >= 0:
        doc = max(best, key=best.__getitem__)
        start, end, score = shaper.take_best(doc, remaining[doc], scores[doc])
        out.append((doc, start, end, score))
        best[doc] = float(remaining[doc].max())
    return out


@pytest.fixture
def many_documents(project, fake_embedder):
    rng = np.random.default_rng(3)
    words = "river stone market bridge lantern harbour garden signal meadow copper".split()
    for d in range(12):
        sentences = [" ".join(rng.choice(words, 9)).capitalize() + "." for _ in range(40)]
        (project.seeds_dir / f"doc{d:02d}.txt").write_text(" ".join(sentences), encoding="utf-8")
    plain = " ".join(rng.choice(words, 500))  # no sentences: passages grow by words
    (project.seeds_dir / "plain.txt").write_text(plain, encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    return Shaper(index, project), index


@pytest.mark.parametrize("ties", [False, True])
def test_grown_passages_are_those_of_every_documents_word_scores(many_documents, ties):
    shaper, index = many_documents
    rng = np.random.default_rng(11)
    for _ in range(40):
        ids = np.sort(rng.choice(len(index), size=int(rng.integers(5, 400)), replace=False))
        fused = rng.random(len(ids)).astype(np.float32)
        if ties:  # a few distinct values: equal peaks in different documents
            fused = np.round(fused * 3) / 3
        fused -= 0.1 * (rng.random(len(ids)) < 0.1)  # the debris penalty can make a score negative
        candidates = Candidates(ids, fused.astype(np.float32), None)
        for k in (1, 5, 8):
            grown = [(s.doc, s.word_start, s.word_end, s.score) for s in shaper.grown(candidates, k)]
            assert grown == _every_document(shaper, candidates, k)


def test_word_scores_stay_below_each_documents_bound(many_documents):
    from qa.retrieval.shaping import _WordScores

    shaper, index = many_documents
    rng = np.random.default_rng(5)
    ids = np.sort(rng.choice(len(index), size=300, replace=False))
    candidates = Candidates(ids, rng.random(len(ids)).astype(np.float32), None)
    words = _WordScores(index, candidates, shaper.sizes)
    assert len(words.docs) > 5
    for doc in words.docs:
        assert float(words.of(doc).max()) <= words.bound[doc]


def test_word_scores_are_the_best_window_covering_each_word(many_documents):
    from qa.retrieval.shaping import _WordScores

    shaper, index = many_documents
    rng = np.random.default_rng(8)
    ids = np.sort(rng.choice(len(index), size=300, replace=False))
    fused = (np.round(rng.random(len(ids)) * 5) / 5 - 0.2).astype(np.float32)  # ties and negatives
    words = _WordScores(index, Candidates(ids, fused, None), shaper.sizes)
    windows = index.windows
    for doc in words.docs:
        expected = np.zeros((len(shaper.sizes), int(index.word_counts[doc])), np.float32)
        for size_no, (window_ids, scores, docs) in enumerate(words._by_size):
            for window, score in zip(window_ids[docs == doc], scores[docs == doc]):
                span = slice(int(windows.word_start[window]), int(windows.word_end[window]))
                expected[size_no, span] = np.maximum(expected[size_no, span], score)
        np.testing.assert_array_equal(words.of(doc), expected.mean(axis=0))
