"""The query path's faster forms give what the plain forms they replaced give, bit for bit: the
lower quartile, the sizes fused at once, BM25 kept term by term, a document's word scores,
passages scored as wholes, the highlight's term cover, a passage's stems once its document's row
is read, the word vectors taken as rows, the IDF and the peak's free words, BM25 read from kept
term rows, the candidates' distinct ids (fast, fake embedder; no timings)."""

from types import SimpleNamespace

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.lexical import bm25
from qa.lexical.bm25 import LexicalIndex
from qa.lexical.terms import terms
from qa.retrieval import soft_coverage
from qa.retrieval.fusion import DENSE_FLOOR_QUANTILE, Candidates, Fusion, quantile, sorted_distinct
from qa.retrieval.highlight import HIGHLIGHT_WORDS, TERM_COVER_WEIGHT, Highlighter
from qa.retrieval.shaping import Shaper, _first, _first_from, _last_taken, _WordScores
from qa.retrieval.soft_coverage import WordVectors

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
        sentences = [u for u in units if not highlighter._heading_like(doc, *highlighter._trimmed(doc, *u))]
        best, best_value = None, -1.0
        for a, b in sentences if len(units) > 1 and sentences else units:  # headings: only if all are
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
        if rng.random() < 0.5:  # long runs of one score
            left = np.repeat(left[: len(left) // 700 + 1], 700)[: len(left)]
        left[rng.random(len(left)) < rng.choice([0.0, 0.001, 0.3])] = -1.0
        at = int(rng.integers(0, len(left) + 1))
        before = np.flatnonzero(left[:at] < 0)
        assert _last_taken(left, at) == (int(before[-1]) if len(before) else -1)
        after = np.flatnonzero(left[at:] < 0)
        assert _first(left[at:] < 0, otherwise=-7) == (int(after[0]) if len(after) else -7)
        # as take_best read them before: the next taken word and the end of the peak's run
        want = at + _first(left[at:] < 0, otherwise=len(left) - at)
        assert _first_from(left, at, lambda part: part < 0) == want
        if at < len(left):
            value = left[at]
            want = at + _first(left[at:] != value, otherwise=len(left) - at)
            assert _first_from(left, at, lambda part, v=value: part != v) == want


def _fuse_size_by_size(scale_of_window, mode, weight, ids, dense, lexical):
    """Fusion as a loop over the window sizes computed it."""
    fused = np.zeros(len(ids), np.float32)
    scales = scale_of_window[ids]
    for size in np.unique(scales):
        mine = scales == size
        if dense is not None:
            part = dense[mine]
            low, high = quantile(part, DENSE_FLOOR_QUANTILE), float(part.max())
            rescaled = np.clip((part - low) / max(high - low, 1e-6), 0, None)
            fused[mine] += (weight if mode == "hybrid" else 1.0) * rescaled
        if mode != "dense":
            part = lexical[mine]
            top = float(part.max())
            fused[mine] += (1.0 - weight if mode == "hybrid" else 1.0) * (part / top if top > 0 else part)
    return fused


def test_sizes_fused_at_once_as_one_by_one():
    rng = np.random.default_rng(5)
    scale_of_window = rng.choice([20, 40, 60, 100], size=2000)
    for i in range(3000):
        ids = np.sort(rng.choice(2000, size=int(rng.integers(1, 400)), replace=False))
        dense = (rng.random(len(ids)) * 2 - 1).astype(np.float32)
        if i % 3 == 0:  # ties
            dense = np.round(dense, 2).astype(np.float32)
        if i % 7 == 0:
            dense[:] = dense[0]
        if i % 101 == 0:
            dense[rng.integers(len(ids))] = np.nan
        lexical = (rng.random(len(ids)) * 10).astype(np.float32)
        lexical[rng.random(len(ids)) < (1.0 if i % 5 == 0 else 0.4)] = 0
        mode = ("hybrid", "dense", "lexical")[i % 3]
        weight = float(rng.choice([0.5, 0.7, rng.random()]))
        fusion = Fusion(SimpleNamespace(windows=SimpleNamespace(scale=scale_of_window)), None)
        fusion.settings = SimpleNamespace(mode=mode, dense_weight=weight)
        cosines = None if mode == "lexical" else dense
        with np.errstate(invalid="ignore"):
            want = _fuse_size_by_size(scale_of_window, mode, weight, ids, cosines, lexical)
            got = fusion._fuse(ids, cosines, lexical)
        assert np.array_equal(got.view(np.int32), want.view(np.int32))


def _exact_scores(model, query_terms, local):
    """A size's BM25 at its rows ``local`` (ascending) as the sum was written before it was
    kept term by term."""
    out = np.zeros(len(local), dtype=np.float32)
    spans = [(int(model.indptr[t]), int(model.indptr[t + 1])) for t in model.tokens(query_terms)]
    spans = [(start, end) for start, end in spans if end > start]
    if not spans or not len(local):
        return out
    probe = np.asarray(local, dtype=model.indices.dtype)
    at = np.empty((len(spans), len(local)), dtype=np.int64)
    for row, (start, end) in enumerate(spans):
        at[row] = model.indices[start:end].searchsorted(probe)
    at += np.array([start for start, _ in spans], dtype=np.int64)[:, None]
    np.minimum(at, np.array([end - 1 for _, end in spans], dtype=np.int64)[:, None], out=at)
    for term_scores in np.where(model.indices[at] == probe, model.data[at], np.float32(0)):
        out += term_scores
    return out


def _scores_size_by_size(lexical, query_terms, window_ids):
    out = np.zeros(len(window_ids), dtype=np.float32)
    known = np.clip(window_ids, 0, lexical.n - 1)
    size_of = np.where(known == window_ids, lexical._size_of[known], -1)
    local_of = lexical._local_of[known]
    for position, model in enumerate(lexical._models.values()):
        mine = np.flatnonzero(size_of == position)
        if len(mine):
            order = np.argsort(local_of[mine], kind="stable")
            out[mine[order]] = _exact_scores(model, query_terms, local_of[mine][order])
    return out


def test_bm25_kept_term_by_term_sums_as_before_and_gives_each_terms_scores():
    rng = np.random.default_rng(6)
    vocab = [f"w{i}" for i in range(40)]
    p = 1.0 / np.arange(1, 41)
    texts = [" ".join(rng.choice(vocab, size=int(rng.integers(0, 20)), p=p / p.sum())) for _ in range(700)]
    lexical = LexicalIndex(texts, rng.choice([20, 40, 60], size=700))
    fusion = Fusion(SimpleNamespace(lexical=lexical), None)
    for _ in range(300):
        query = [f"w{i}" for i in rng.integers(0, 45, size=int(rng.integers(1, 7)))]  # w40..: unknown
        ids = rng.permutation(np.arange(-3, 710))[: int(rng.integers(0, 400))]  # some out of range
        want = _scores_size_by_size(lexical, query, ids)
        by_term = lexical.term_scores(query, ids)
        assert np.array_equal(lexical.scores_for(query, ids).view(np.int32), want.view(np.int32))
        assert np.array_equal(by_term.total(query).view(np.int32), want.view(np.int32))
        candidates = Candidates(ids, np.zeros(len(ids), np.float32), None, want, terms=by_term)
        mask = rng.random(len(ids)) < 0.5
        for term in dict.fromkeys(query):
            times = query.count(term)
            expected = _scores_size_by_size(lexical, [term] * times, ids[mask])
            for kept in (candidates, Candidates(ids, candidates.fused, None, want)):  # kept or looked up
                got = fusion._term_bm25(kept, term, times, mask)
                assert np.array_equal(got.view(np.int32), expected.view(np.int32))
            only = candidates.only(mask)
            assert np.array_equal(only.terms.row(term), by_term.row(term)[mask])


def test_passage_stems_after_the_documents_row_are_those_read_from_the_passage(corpus):
    index, _ = corpus
    fresh, whole = Highlighter(index, index.lexical), Highlighter(index, index.lexical)
    rng = np.random.default_rng(10)
    for doc in range(len(index.documents)):
        count = int(index.word_counts[doc])
        row = whole.passage_stems(doc, 0, count)  # as document coverage reads it
        assert row.tolist() == fresh.passage_stems(doc, 0, count).tolist()
        for _ in range(30):
            start = int(rng.integers(0, count))
            end = int(rng.integers(start, min(start + 150, count) + 1))
            assert (
                whole.passage_stems(doc, start, end).tolist() == fresh.passage_stems(doc, start, end).tolist()
            )
        query_terms = terms(" ".join(rng.choice(WORDS, 4)))
        assert list(whole.weights(query_terms).items()) == list(fresh.weights(query_terms).items())
        assert whole.weights(query_terms) is not whole.weights(query_terms)  # a caller's own dict


class _StackedWordVectors:
    """Word vectors as they were kept before: one array per word, stacked for each call."""

    def __init__(self, encode) -> None:
        self.encode = encode
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, words):
        missing = [w for w in dict.fromkeys(words) if w not in self._vectors]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            fresh = dict(zip(missing, np.asarray(self.encode(missing), dtype=np.float32)))
            room = soft_coverage.CACHED_WORDS - len(self._vectors)
            if room > 0:
                self._vectors.update(list(fresh.items())[:room])
        kept = self._vectors
        return np.stack([fresh[w] if w in fresh else kept[w] for w in words]) if words else np.zeros((0, 0))


def _encode(words):
    """A word's vector depends on the batch it is encoded in, as padding makes a model's do."""
    batch = sum(len(w) for w in words)
    return np.array([[len(w), sum(map(ord, w)) % 97, batch, i] for i, w in enumerate(words)], np.float32) / 7


def test_word_vectors_taken_as_rows_are_the_stacked_ones(monkeypatch):
    monkeypatch.setattr(soft_coverage, "CACHED_WORDS", 50)
    rng = np.random.default_rng(11)
    rows, stacked = WordVectors(_encode), _StackedWordVectors(_encode)
    rows.prepare([f"w{i}" for i in range(20)], batch=7)
    for start in range(0, 20, 7):
        stacked([f"w{i}" for i in range(start, min(start + 7, 20))])
    for _ in range(60):  # more words than are kept: the others encoded each time they are asked
        words = [f"w{i}" for i in rng.integers(0, 80, size=int(rng.integers(0, 30)))]
        got, want = rows(words), stacked(words)
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
        assert np.array_equal(got, want)
    assert len(rows._rows) == 50


def test_distinct_ids_are_numpys_unique():
    rng = np.random.default_rng(12)
    for i in range(2000):
        values = rng.integers(-5, int(rng.integers(1, 900)), size=int(rng.integers(0, 800)))
        values = values.astype(np.int64 if i % 2 else np.int32)
        want, got = np.unique(values), sorted_distinct(values)
        assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("limit", [bm25.POSTINGS_LIMIT, 40])
def test_bm25_from_term_rows_is_bm25_from_the_postings(monkeypatch, limit):
    """Scores at candidates and each size's best windows read from the terms' kept rows are those
    read from the postings, bit for bit; with a small postings limit (terms then have more windows
    than their best postings hold), the best windows are those of the postings alone."""
    monkeypatch.setattr(bm25, "POSTINGS_LIMIT", limit)
    monkeypatch.setattr(bm25, "TERM_ROWS_BYTES", 4 * 700 * 5)  # five rows kept: most are read again
    rng = np.random.default_rng(13)
    vocab = [f"w{i}" for i in range(40)]
    p = 1.0 / np.arange(1, 41)
    texts = [" ".join(rng.choice(vocab, size=int(rng.integers(0, 20)), p=p / p.sum())) for _ in range(700)]
    lexical = LexicalIndex(texts, rng.choice([20, 40, 60], size=700))
    for _ in range(300):
        query = [f"w{i}" for i in rng.integers(0, 45, size=int(rng.integers(1, 9)))]  # w40..: unknown
        ids = rng.permutation(700)[: int(rng.integers(1, 500))]
        n = int(rng.integers(1, 80))
        monkeypatch.setattr(bm25, "TERM_ROWS_WINDOWS", 0)  # the postings, as before
        want_scores = lexical.term_scores(query, ids)
        want_top = [lexical.top(query, n, scale=size)[0] for size in lexical.scales]
        assert all(np.array_equal(a, b) for a, b in zip(lexical.top_each(query, n), want_top))
        monkeypatch.setattr(bm25, "TERM_ROWS_WINDOWS", 65_536)
        got_scores = lexical.term_scores(query, ids)
        assert got_scores.terms == want_scores.terms
        assert np.array_equal(got_scores.rows.view(np.int32), want_scores.rows.view(np.int32))
        got_top = lexical.top_each(query, n)
        assert len(got_top) == len(want_top)
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(got_top, want_top))
    assert len(lexical._rows) <= 5
