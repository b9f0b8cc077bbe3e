"""The vector store and BM25 behind the index, tested on small arrays (no model)."""

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import ConfigError
from qa.lexical.bm25 import LexicalIndex
from qa.store import VectorStore, load_store, make_store
from qa.store.faiss import FaissStore


def _unit(n, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _exact(vectors, queries, k):
    scores = queries @ vectors.T
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, ids, axis=1), ids


@pytest.mark.parametrize("factory", ["Flat", "IVF8,SQ8", "HNSW16"])
def test_store_search_is_exact_and_survives_save_and_load(tmp_path, factory):
    vectors, queries = _unit(2000), _unit(7, seed=1)
    store = make_store(Settings(root=tmp_path, faiss_index=factory), vectors)
    assert isinstance(store, VectorStore) and store.kind == "faiss" and store.description == factory
    assert (store.faiss_index is None) == (factory == "Flat")  # flat: no FAISS index built at all
    want_scores, want_ids = _exact(vectors, queries, 10)
    scores, ids = store.search(queries, 10)
    assert ids.shape == scores.shape == (7, 10)
    assert np.array_equal(ids, want_ids) and np.allclose(scores, want_scores, atol=1e-5)
    written = store.save(tmp_path)
    assert ("index.faiss" in written) == (factory != "Flat")
    loaded = load_store("faiss", tmp_path, store.description)
    assert isinstance(loaded.vectors(), np.memmap)
    assert np.array_equal(loaded.search(queries, 10)[1], ids)
    assert np.allclose(loaded.vectors(np.array([5, 1])), vectors[[5, 1]])


def test_search_pads_with_minus_one_beyond_the_store():
    store = FaissStore.from_factory(_unit(3), "Flat")
    scores, ids = store.search(_unit(2, seed=3), 5)
    assert ids.shape == (2, 5) and (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    assert sorted(ids[0, :3]) == [0, 1, 2]


def test_unknown_store_or_factory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="store 'qdrant' is unknown"):
        make_store(Settings(root=tmp_path, store="qdrant"), _unit(10))
    with pytest.raises(ConfigError, match="vector_store"):  # milvus is known, but needs its address
        Settings(root=tmp_path, store="milvus")
    with pytest.raises(ConfigError, match="FAISS"):
        make_store(Settings(root=tmp_path, faiss_index="NotAnIndex"), _unit(10))


TEXTS = [
    "forced labour in fishing",
    "debt bondage of workers",
    "children forced into begging",
    "",
    "forced marriage and debt",
    "the protocol on trafficking",
]
SCALES = [20, 20, 20, 40, 40, 40]


def test_bm25_top_and_scores_for_agree_with_scores():
    lexical = LexicalIndex(TEXTS, SCALES)
    query = ["forc", "debt"]
    full = lexical.scores(query)
    assert full.shape == (6,) and full[3] == 0 and full[5] == 0
    ids, scores = lexical.top(query, 5, scale=20)
    assert set(ids) <= {0, 1, 2} and list(scores) == sorted(scores, reverse=True)
    assert np.allclose(scores, full[ids])
    assert lexical.top(query, 1, scale=40)[0].tolist() == [4]  # the best window of size 40 only
    some = np.array([5, 0, 4])
    assert np.allclose(lexical.scores_for(query, some), full[some])
    assert lexical.top(["absent"], 3, scale=20)[0].size == 0
    with pytest.raises(ValueError, match="sizes are"):
        lexical.top(query, 3, scale=60)


def test_bm25_idf_known_and_round_trip(tmp_path):
    lexical = LexicalIndex(TEXTS, SCALES)
    assert lexical.known("debt") and not lexical.known("absent")
    assert lexical.idf("absent") > lexical.idf("forc", scale=20) > 0
    written = lexical.save(tmp_path / "lexical")
    assert "rows.npz" in written and "20/params.index.json" in written
    loaded = LexicalIndex.load(tmp_path / "lexical")
    for query in (["forc"], ["debt", "protocol"], ["absent"]):
        assert np.allclose(loaded.scores(query), lexical.scores(query))
    assert loaded.idf("debt", scale=40) == lexical.idf("debt", scale=40)


def test_loaded_bm25_scores_exactly_as_bm25s(tmp_path):
    import bm25s

    from qa.lexical.terms import terms

    texts = [f"forced labour case {i} debt bondage {'fishing ' * (i % 4)}" for i in range(40)]
    reference = bm25s.BM25()
    reference.index([terms(t) for t in texts], show_progress=False)
    LexicalIndex(texts).save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    for query in (["forc", "debt"], ["fish"], ["labour", "fish", "case"]):
        assert np.array_equal(loaded.scores(query), reference.get_scores(query))
