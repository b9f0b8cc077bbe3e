"""What keeps start-up and a question's cost from growing with the corpus: per-document tables
computed on first use, BM25 over the query terms' postings only, sampled checks of large files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import regex_word_spans, resident_bytes

from qa.index import ensure_index, load_index
from qa.lexical.bm25 import LexicalIndex
from qa.retrieval.retriever import Retriever


def _corpus(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(60)]
    p = 1.0 / np.arange(1, 61)
    return [" ".join(rng.choice(vocab, size=12, p=p / p.sum())) for _ in range(n)]


def _write_docs(project, count: int) -> None:
    for d in range(count):
        words = " ".join(f"topic{d} word{(d * 7 + i) % 41} thing{i % 13}" for i in range(80))
        (project.seeds_dir / f"doc{d}.txt").write_text(words, encoding="utf-8")


def test_opening_reads_no_document_and_a_question_only_those_it_cites(project, fake_embedder):
    _write_docs(project, 12)
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    retriever.warm_up()
    tables = (
        retriever.index.word_maps,
        retriever.highlighter.stem_ids[1],
        retriever.shaper.sentence_starts,
        retriever.structure.debris_words,
        retriever.structure.debris_sums,
    )
    assert [t.computed for t in tables] == [0, 0, 0, 0, 0]
    answer = retriever.ask("topic3 word21", k=2)
    assert answer.passages[0].citation.source.endswith("doc3.txt")
    assert 0 < retriever.index.word_maps.computed < 12


def test_answers_are_the_same_whether_tables_are_found_on_first_use_or_all_at_once(project, fake_embedder):
    _write_docs(project, 8)
    ensure_index(project, fake_embedder)
    lazy, eager = Retriever.open(project, fake_embedder), Retriever.open(project, fake_embedder)
    _ = list(eager.index.word_maps), list(eager.highlighter.stem_ids[1]), list(eager.shaper.sentence_starts)
    eager.structure.debris_of(np.arange(len(eager.index)))
    eager.structure.section_ids(np.arange(len(eager.index)))
    for question in ("topic2 word5", "thing4 word30", "topic7"):
        assert lazy.ask(question, k=3) == eager.ask(question, k=3)


@pytest.mark.parametrize("limit", [10_000, 7])
def test_bm25_top_windows_and_scores_are_exact_with_or_without_pruned_postings(limit):
    texts = _corpus(400)
    lexical = LexicalIndex(texts)
    model = lexical._model(0)
    model.impact = model.best_postings(limit)  # 7: every common term keeps only 7 postings
    rng = np.random.default_rng(1)
    for _ in range(20):
        query = [f"w{i}" for i in rng.integers(0, 60, size=4)]
        full = lexical.scores(query)
        ids, scores = lexical.top(query, 10, scale=0)
        np.testing.assert_array_equal(scores, full[ids])  # exact scores, not partial sums
        assert list(scores) == sorted(scores, reverse=True)
        window_ids = rng.integers(0, 400, size=50)
        np.testing.assert_array_equal(lexical.scores_for(query, window_ids), full[window_ids])
        if limit > 400:  # nothing pruned: exactly bm25s's best windows
            best = np.lexsort((np.arange(400), -full))[: min(10, int((full > 0).sum()))]
            np.testing.assert_array_equal(ids, best)


def test_best_postings_survive_save_and_load(tmp_path):
    texts = _corpus(200)
    lexical = LexicalIndex(texts, [20 if i % 2 else 40 for i in range(200)])
    written = lexical.save(tmp_path)
    assert "20/impact.indices.npy" in written
    loaded = LexicalIndex.load(tmp_path)
    for query in (["w1", "w2"], ["w5", "w5", "w40"], ["nothing"]):
        for scale in (20, 40):
            a, b = lexical.top(query, 5, scale=scale), loaded.top(query, 5, scale=scale)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "one block"])
def test_large_files_are_checked_by_sampled_blocks(project, fake_embedder, monkeypatch, damage):
    from qa.errors import IndexCorruptError
    from qa.index import files

    monkeypatch.setattr(files, "SAMPLED_ABOVE", 1000)  # every file but the smallest is sampled
    _write_docs(project, 6)
    ensure_index(project, fake_embedder)
    folder = files.live_folder(project.index_dir)
    manifest = files.read_manifest(project.index_dir)
    assert manifest.files["store/vectors.npy"].startswith("sampled-sha256:")
    load_index(project.index_dir)
    target = folder / "store" / "vectors.npy"
    data = bytearray(target.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 10]
    elif damage == "garbage":
        data = bytearray(np.random.default_rng(0).bytes(len(data)))
    else:
        data[len(data) // 2 : len(data) // 2 + 4096] = bytes(4096)
    target.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="damaged"):
        load_index(project.index_dir)


def test_word_offsets_found_with_numpy_are_the_regex_ones():
    import random

    from qa.ingest.chunking import _word_spans

    rng = random.Random(0)
    alphabet = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u2028\u202f\u3000\u200b\ufeffaé中🙂.,ガ。「"
    texts = ["", "  ", "one", " two  words ", "ab\ud800cd ef", "人口贩卖。使用Python编程！"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    for text in texts:
        starts, ends = _word_spans(text)
        assert list(zip(starts.tolist(), ends.tolist())) == regex_word_spans(text), repr(text)


def test_the_phrasebook_is_saved_with_the_index_and_knows_the_same_names(project, fake_embedder):
    from qa.lexical.terms import Phrasebook

    (project.seeds_dir / "a.txt").write_text(
        "The International Labour Organization met in Geneva in 1999. Debt bondage persists.",
        encoding="utf-8",
    )
    ensure_index(project, fake_embedder)
    loaded = load_index(project.index_dir)
    assert loaded._phrasebook is not None  # read from the index, not rebuilt from the documents
    fresh = Phrasebook([d.text for d in loaded.documents])
    for question in (
        "What did the ILO do in Geneva?",
        "Was Paris named in 2001 or 1999?",
        "Debt Bondage in Lyon",
    ):
        assert loaded.phrasebook.missing(question) == fresh.missing(question)
    assert loaded.phrasebook.missing("Was Paris named in 2001?") == ["2001", "Paris"]


def test_stem_ids_of_a_document_are_those_of_its_words(project, fake_embedder):
    from qa.ingest.normalize import STOP_WORDS, normalize, stem

    (project.seeds_dir / "a.md").write_text(
        "# Debt bondage\n\nWorkers\u00a0owe   debts; the U.S. and Café owners — running, ran.\n",
        encoding="utf-8",
    )
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    vocabulary, rows = retriever.highlighter.stem_ids
    row = rows[0]  # reading a document adds its stems to the vocabulary
    text, words = retriever.index.documents[0].text, retriever.index.word_maps[0]
    expected = []
    for start, end in zip(words.starts, words.ends):
        word = normalize(text[start:end])
        expected.append(vocabulary[stem(word)] if word and word not in STOP_WORDS else 0)
    assert row.tolist() == expected and len(expected) == len(words)


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc")
def test_warm_up_maps_the_stored_vectors_and_the_codes_in_and_answers_the_same(tmp_path):
    from qa.store import load_store
    from qa.store.faiss import FAISS_FILE, VECTORS, FaissStore

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((20_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    FaissStore.from_factory(vectors, "IVF16,SQ8").save(tmp_path)
    before = load_store("faiss", tmp_path, "IVF16,SQ8").search(vectors[:5], 10)
    store = load_store("faiss", tmp_path, "IVF16,SQ8")
    stored, codes = tmp_path / VECTORS, tmp_path / FAISS_FILE
    assert resident_bytes(stored) < stored.stat().st_size // 2
    assert resident_bytes(codes) < codes.stat().st_size // 2
    store.warm_up()
    assert resident_bytes(stored) >= stored.stat().st_size - 4096
    assert resident_bytes(codes) >= codes.stat().st_size * 0.9  # FAISS maps the codes, not the header
    after = store.search(vectors[:5], 10)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])
    FaissStore.from_factory(vectors[:100], "Flat").warm_up()  # built in memory: nothing to map


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc")
def test_warm_up_maps_the_saved_postings_in_and_answers_the_same(tmp_path):
    texts = [" ".join(f"w{(i * 7 + j) % 500}" for j in range(60)) for i in range(3000)]
    LexicalIndex(texts, [20 if i % 2 else 40 for i in range(3000)]).save(tmp_path)
    query = ["w1", "w2", "w3", "w7"]
    in_memory = LexicalIndex.load(tmp_path, mmap=False)
    before = [in_memory.top(query, 5, scale=s) for s in (20, 40)]
    lexical = LexicalIndex.load(tmp_path)
    arrays = [tmp_path / "20" / "data.csc.index.npy", tmp_path / "40" / "impact.indices.npy"]
    assert all(resident_bytes(p) < p.stat().st_size // 2 for p in arrays)
    lexical.warm_up()
    assert all(resident_bytes(p) >= p.stat().st_size - 4096 for p in arrays)
    for (ids, scores), scale in zip(before, (20, 40)):
        again = lexical.top(query, 5, scale=scale)
        np.testing.assert_array_equal(ids, again[0])
        np.testing.assert_array_equal(scores, again[1])
    LexicalIndex(texts[:50]).warm_up()  # built in memory: nothing to map


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc")
def test_a_retriever_warming_up_maps_bm25_in(project, fake_embedder):
    from qa.index.files import live_folder

    _write_docs(project, 6)
    ensure_index(project, fake_embedder)
    postings = live_folder(project.index_dir) / "lexical" / "20" / "impact.indices.npy"
    retriever = Retriever.open(project, fake_embedder)
    assert resident_bytes(postings) == 0
    retriever.warm_up()
    assert retriever.warming.wait(60)  # the pages are mapped in on a thread of its own
    assert resident_bytes(postings) >= postings.stat().st_size - 4096
