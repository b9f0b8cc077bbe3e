"""The query path's faster forms give what the plain forms they replaced give, bit for bit: the
lower quartile, a document's word scores, passages scored as wholes, the highlight's term cover,
the IDF and the peak's free words (fast, fake embedder; no timings)."""

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.lexical.terms import terms
from qa.retrieval.fusion import Candidates, quantile
from qa.retrieval.highlight import HIGHLIGHT_WORDS, TERM_COVER_WEIGHT, Highlighter
from qa.retrieval.shaping import Shaper, _first, _last_taken, _WordScores

WORDS = "river stone market bridge lantern harbour garden signal meadow copper".split()


@pytest.fixture
def corpus(project, fake_embedder):
    rng = np.random.default_rng(3)
    for d in range(6):
        sentences = [
            " ".join(rng.choice(WORDS, int(rng.integers(3, 50)))).capitalize() + "." for _ in range(40)
        ]
        (project.seeds_dir / f"doc{d:02d}.txt").write_text(" ".join(sentences), encoding="utf-8")
    (project.seeds_dir / "plain.txt").write_text(" ".join(rng.choice(WORDS, 700)), encoding="utf-8")
    return ensure_index(project, fake_embedder).index, project


def _candidates(index, rng) -> Candidates:
    ids = np.sort(rng.choice(len(index), size=int(rng.integers(5, 300)), replace=False))
    fused = rng.random(len(ids)).astype(np.float32)
    fused = np.where(rng.random(len(ids)) < 0.3, np.round(fused * 3) / 3, fused).astype(np.float32)
    return Candidates(ids, fused - np.float32(0.1) * (rng.random(len(ids)) < 0.1), None)


def test_quantile_is_numpys():
    rng = np.random.default_rng(0)
    for i in range(3000):
        values = rng.random(int(rng.integers(1, 700))).astype(np.float32 if i % 2 else np.float64)
        if i % 3 == 0:  # ties
            values = np.round(values, 2)
        if i % 97 == 0:
            values[rng.integers(len(values))] = np.nan
        q = float(rng.choice([0.25, 0.5, 0.9, rng.random()]))
        want, got = float(np.quantile(values, q)), quantile(values, q)
        assert want == got or (np.isnan(want) and np.isnan(got))


def test_word_scores_are_the_best_window_over_each_word(corpus):
    index, settings = corpus
    shaper = Shaper(index, settings)
    rng = np.random.default_rng(7)
    for _ in range(20):
        candidates = _candidates(index, rng)
        words = _WordScores(index, candidates, shaper.sizes)
        for doc in words.docs:
            want = np.zeros((len(shaper.sizes), int(index.word_counts[doc])), np.float32)
            for size_no, (ids, fused, docs) in enumerate(words._by_size):
                for window, score in zip(ids[docs == doc], fused[docs == doc]):
                    if score > 0:
                        start, end = index.windows.word_start[window], index.windows.word_end[window]
                        want[size_no, start:end] = np.maximum(want[size_no, start:end], score)
            assert np.array_equal(words.of(doc), want.mean(axis=0))


def test_passages_scored_together_as_one_by_one(corpus):
    index, settings = corpus
    shaper = Shaper(index, settings)
    rng = np.random.default_rng(8)
    table = index.table
    for _ in range(20):
        candidates = _candidates(index, rng)
        shapes = shaper.grown(candidates, 8)
        ids = candidates.ids
        starts, ends = table["word_start"][ids], table["word_end"][ids]
        for shape, got in zip(shapes, shaper.passage_scores(shapes, candidates)):
            overlap = np.minimum(ends, shape.word_end) - np.maximum(starts, shape.word_start)
            inside = (table["doc"][ids] == shape.doc) & (2 * overlap >= ends - starts)
            best = [candidates.fused[inside & (table["scale"][ids] == size)] for size in shaper.sizes]
            assert got == float(np.mean([float(b.max()) if len(b) else 0.0 for b in best]))


def _fixed_span(highlighter, doc, start, end, word_scores, query_terms):
    """The highlight of unpunctuated text as a convolution per term computed it."""
    size = min(HIGHLIGHT_WORDS, end - start)
    weights = highlighter.weights(query_terms)
    total = sum(weights.values()) or 1.0
    cover = np.zeros(end - start - size + 1)
    for term, hits in highlighter.term_hits(doc, start, end, query_terms).items():
        if hits.any():
            cover += weights[term] * (
                np.convolve(hits.astype(np.int32), np.ones(size, np.int32), "valid") > 0
            )
    cumulative = np.concatenate([[0.0], np.cumsum(word_scores[start:end], dtype=np.float64)])
    best = int(np.argmax((cumulative[size:] - cumulative[:-size]) / size + TERM_COVER_WEIGHT * cover / total))
    return start + best, start + best + size


def test_highlights_are_those_of_the_plain_forms(corpus):
    index, _ = corpus
    highlighter = Highlighter(index, index.lexical)
    rng = np.random.default_rng(9)
    for _ in range(200):
        doc = int(rng.integers(len(index.documents)))
        count = int(index.word_counts[doc])
        start = int(rng.integers(0, count - 1))
        end = int(rng.integers(start + 1, min(start + 120, count) + 1))
        word_scores = np.round(rng.random(count), 1).astype(np.float32)
        query_terms = terms(" ".join(rng.choice([*WORDS, "absent"], int(rng.integers(1, 6)))))
        want = _fixed_span(highlighter, doc, start, end, word_scores, query_terms)
        assert highlighter.fixed_span(doc, start, end, word_scores, query_terms) == want
        if not index.word_maps[doc].has_boundaries:
            continue
        units = highlighter._units(doc, start, end)
        weights = highlighter.weights(query_terms)
        total = sum(weights.values()) or 1.0
        hits = highlighter.term_hits(doc, start, end, query_terms)
        best, best_value = units[0], -1.0
        for a, b in units:
            cover = sum(weights[t] for t, h in hits.items() if h[a - start : b - start].any())
            value = float(word_scores[a:b].mean()) + TERM_COVER_WEIGHT * cover / total
            if value > best_value:
                best, best_value = (a, b), value
        assert highlighter.span(doc, start, end, word_scores, query_terms) == highlighter._trimmed(doc, *best)


def test_idf_is_the_formula(corpus):
    index, _ = corpus
    lexical = index.lexical
    n = int(np.sum(index.windows.scale == lexical.scales[0]))
    for term in [*terms(" ".join(WORDS)), "absent", "absent"]:
        df = sum(term in terms(t) for t, s in zip(index.texts, index.windows.scale) if s == lexical.scales[0])
        assert lexical.idf(term) == float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))


def test_free_words_around_a_peak_as_full_scans_find_them():
    rng = np.random.default_rng(4)
    for _ in range(500):
        left = rng.random(int(rng.integers(1, 3000))).astype(np.float32)
        left[rng.random(len(left)) < rng.choice([0.0, 0.001, 0.3])] = -1.0
        at = int(rng.integers(0, len(left) + 1))
        before = np.flatnonzero(left[:at] < 0)
        assert _last_taken(left, at) == (int(before[-1]) if len(before) else -1)
        after = np.flatnonzero(left[at:] < 0)
        assert _first(left[at:] < 0, otherwise=-7) == (int(after[0]) if len(after) else -7)
