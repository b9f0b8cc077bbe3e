"""BM25 in the Milvus engine: the project's own stemmed terms in a BM25 field, candidates found per
window size as the local BM25 finds them, scored alike, and the local BM25 kept for a Milvus older
than 2.5."""

from __future__ import annotations

import secrets

import numpy as np
import pytest

from qa.lexical.bm25 import EMPTY, LexicalIndex
from qa.lexical.terms import terms
from qa.store.milvus_schema import supports_bm25, text_terms, window_terms


@pytest.mark.parametrize(
    ("version", "bm25"),
    [
        ("milvus_lite-3.2.2", True),
        ("milvus_lite-2.4.11", False),
        ("v2.5.4", True),
        ("2.6.0", True),
        ("v2.4.15", False),
        ("2.3.5", False),
        ("", False),
        ("unknown", False),
    ],
)
def test_bm25_in_the_engine_from_milvus_2_5_and_milvus_lite_3(version, bm25):
    assert supports_bm25(version) is bm25


class _Reports:
    def __init__(self, version: str) -> None:
        self.version = version

    def get_server_version(self) -> str:
        return self.version


@pytest.mark.parametrize(
    ("setting", "version", "engine"),
    [
        ("auto", "v2.5.14", True),  # a Milvus server scores BM25 in C++
        ("auto", "milvus_lite-3.2.2", False),  # Milvus Lite in Python: the index's own is quicker
        ("engine", "milvus_lite-3.2.2", True),
        ("local", "v2.5.14", False),
    ],
)
def test_where_bm25_candidates_come_from(setting, version, engine):
    from qa.store.milvus_connect import bm25_in_engine

    assert bm25_in_engine(_Reports(version), setting) is engine


def test_window_terms_are_the_local_bm25_terms_as_whole_tokens():
    text = "Traffickers recruited children, promising jobs; the U.S. State Department's report"
    assert text_terms(text) == terms(text)
    assert text_terms("the of and") == [EMPTY]  # a window without words, as the local BM25 holds it
    tokens = window_terms([*terms(text), "naïve", "x-y", EMPTY]).split(" ")
    assert tokens[: len(terms(text))] == terms(text)
    assert all(t.isascii() and t.isalnum() and t == t.lower() for t in tokens)  # no analyzer splits them
    assert len(set(tokens[-3:])) == 3 and window_terms(["x-y"]) == tokens[-2]  # stable, distinct


pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")


from qa.config import Settings  # noqa: E402
from qa.errors import ConfigError  # noqa: E402
from qa.store.milvus import MilvusStore  # noqa: E402

WORDS = "traffick victim labour debt bondag children organ forc migrant border smuggl".split()


def _corpus(n_per_size: int, sizes=(6, 12), seed: int = 0):
    rng = np.random.default_rng(seed)
    texts, scales = [], []
    for size in sizes:
        for _ in range(n_per_size):
            texts.append(" ".join(rng.choice(WORDS, size, p=np.linspace(2, 1, len(WORDS)) / 16.5)))
            scales.append(size)
    texts.append("the of and")  # no terms at all
    scales.append(sizes[0])
    vectors = rng.normal(size=(len(texts), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, np.asarray(scales), vectors


@pytest.fixture(params=["lite-file", "lite-server"])
def settings(request, tmp_path, lite_server) -> Settings:
    where = str(tmp_path / "vectors.db") if request.param == "lite-file" else lite_server
    prefix = f"h{secrets.token_hex(4)}"
    return Settings(
        root=tmp_path, vector_store=where, vector_store_collection=prefix, vector_store_bm25="engine"
    )


def _columns(scales: np.ndarray) -> dict[str, np.ndarray]:
    zeros = np.zeros(len(scales), np.int64)
    return {"doc": zeros, "scale": scales, "start": zeros, "end": zeros}


@pytest.mark.slow
@pytest.mark.parametrize("spread", [2, 0.5, 100])  # the shared BM25 search: cut short, very short, whole
def test_engine_bm25_finds_and_scores_the_windows_the_local_bm25_does(
    settings, tmp_path, spread, monkeypatch
):
    import qa.store.milvus_hybrid

    monkeypatch.setattr(qa.store.milvus_hybrid, "SPREAD", spread)
    texts, scales, vectors = _corpus(60)
    local = LexicalIndex(texts, scales)
    store = MilvusStore.build(vectors, settings, columns=_columns(scales), texts=texts)
    try:
        assert store.lexical_in_engine and store.scales == [6, 12]
        store.save(tmp_path)
        store = MilvusStore.load(tmp_path, "FLAT", settings)  # what a replica opens
        assert store.lexical_in_engine
        query = terms("debt bondage of migrant children")
        lexical_only = store.candidates(None, query, dense_n=20, lexical_n=10)
        assert lexical_only.dense is None and len(lexical_only.ids) == 20
        for size in (6, 12):  # the best 10 of each size (ties may be broken otherwise)
            ids, scores = local.top(query, 10, scale=size)
            mine = scales[lexical_only.ids] == size
            # Milvus scores Okapi BM25 with the (k1 + 1) factor Lucene drops: the same up to scale
            np.testing.assert_allclose(np.sort(lexical_only.lexical[mine]), np.sort(scores) * 2.5, rtol=1e-4)
            assert set(ids[scores > scores.min()]) <= set(lexical_only.ids[mine])

        found = store.candidates(vectors[3], query, dense_n=20, lexical_n=10)
        dense_ids = np.argsort(-(vectors @ vectors[3]), kind="stable")[:20]
        assert set(found.ids) == set(lexical_only.ids) | set(dense_ids)
        np.testing.assert_allclose(found.dense, vectors[found.ids] @ vectors[3], atol=1e-5)
        expected = local.scores_for(query, found.ids)  # dense-only windows are scored too
        assert (found.lexical > 0).sum() == (expected > 0).sum()
        np.testing.assert_allclose(found.lexical, expected * 2.5, rtol=1e-4)
        dense_only = store.candidates(vectors[3], [], dense_n=20, lexical_n=10, extra_ids=np.array([7]))
        assert set(dense_only.ids) == set(dense_ids) | {7} and dense_only.lexical is None
    finally:
        store.drop()


@pytest.mark.slow
def test_a_milvus_older_than_2_5_keeps_bm25_local(settings, monkeypatch, tmp_path):
    from pymilvus import MilvusClient

    monkeypatch.setattr(MilvusClient, "get_server_version", lambda self, **kw: "v2.4.15")
    texts, scales, vectors = _corpus(20)
    store = MilvusStore.build(vectors, settings, columns=_columns(scales), texts=texts)
    try:
        assert not store.lexical_in_engine
        store.save(tmp_path)
        assert not MilvusStore.load(tmp_path, "FLAT", settings).lexical_in_engine
        found = store.candidates(vectors[0], terms("debt"), dense_n=5, lexical_n=10, extra_ids=np.array([30]))
        assert found.lexical is None and 30 in found.ids
        np.testing.assert_allclose(found.dense, vectors[found.ids] @ vectors[0], atol=1e-5)
    finally:
        store.drop()


@pytest.mark.slow
def test_bm25_can_be_kept_local_on_an_engine_that_has_it(settings, tmp_path):
    texts, scales, vectors = _corpus(20)
    local_settings = settings.replace(vector_store_bm25="local")
    store = MilvusStore.build(vectors, local_settings, columns=_columns(scales), texts=texts)
    try:
        assert store.bm25 and not store.lexical_in_engine
        store.save(tmp_path)
        assert MilvusStore.load(tmp_path, "FLAT", settings).lexical_in_engine  # the field is there
        assert not MilvusStore.load(tmp_path, "FLAT", local_settings).lexical_in_engine
        # auto: Milvus Lite scores BM25 in Python, slower than the index's own; a server's engine
        assert not MilvusStore.load(
            tmp_path, "FLAT", settings.replace(vector_store_bm25="auto")
        ).lexical_in_engine
        assert Settings.load({"QA_VECTOR_STORE_BM25": "local"}).vector_store_bm25 == "local"
        with pytest.raises(ConfigError, match="vector_store_bm25"):
            Settings(vector_store_bm25="off")
    finally:
        store.drop()
