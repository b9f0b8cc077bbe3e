"""The Milvus vector store on a Milvus Lite file and on `milvus-lite server` reached by URL: the
same top windows and scores as exact search, vectors by id, save/load, the alias, and one-line
errors for a wrong address or token."""

from __future__ import annotations

import secrets

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import IndexCorruptError, StoreAuthError, StoreUnavailableError

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from milvus_servers import free_port, start_token_server

from qa.store.milvus import MilvusStore, connect

pytestmark = pytest.mark.slow


def _vectors(n: int, dimension: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dimension)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ vectors.T
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, ids, 1), ids


@pytest.fixture(params=["lite-file", "lite-server"])
def milvus_settings(request, tmp_path, lite_server) -> Settings:
    where = str(tmp_path / "vectors.db") if request.param == "lite-file" else lite_server
    prefix = f"t{secrets.token_hex(4)}"
    return Settings(root=tmp_path, vector_store=where, vector_store_collection=prefix)


def test_search_and_vectors_match_exact_search(milvus_settings, tmp_path):
    vectors = _vectors(700)
    queries = vectors[:4] + 0.05 * _vectors(4, seed=1)
    store = MilvusStore.build(vectors, milvus_settings)
    try:
        scores, ids = store.search(queries, 10)
        want_scores, want_ids = _exact(vectors, queries, 10)
        assert (ids == want_ids).all()
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)
        picked = np.array([5, 699, 5, 0])
        np.testing.assert_array_equal(store.vectors(picked), vectors[picked])
        np.testing.assert_array_equal(np.asarray(store.vectors()[np.array([3, 1])]), vectors[[3, 1]])
        scores, ids = store.search(queries[:1], 1000)  # more than there are: -1 padded
        assert (ids[0, :700] >= 0).all() and (ids[0, 700:] == -1).all() and np.isinf(scores[0, 700:]).all()

        store.save(tmp_path)
        again = MilvusStore.load(tmp_path, "FLAT", milvus_settings)
        assert len(again) == 700 and again.dimension == 32
        assert (again.search(queries, 10)[1] == want_ids).all()
    finally:
        store.drop()


def test_a_new_build_moves_the_alias_and_keeps_the_live_collection(milvus_settings, tmp_path):
    prefix = milvus_settings.vector_store_collection
    first = MilvusStore.build(_vectors(50), milvus_settings)
    first.save(tmp_path)
    second = MilvusStore.build(_vectors(60, seed=2), milvus_settings)
    second.save(tmp_path)
    client = second.client
    assert client.describe_alias(prefix)["collection_name"] == second.collection
    assert client.has_collection(first.collection)  # readers of the previous build still answer
    third = MilvusStore.build(_vectors(70, seed=3), milvus_settings)
    mine = [c for c in client.list_collections() if c.startswith(prefix + "_")]
    assert sorted(mine) == sorted([second.collection, third.collection])
    assert len(MilvusStore.load(tmp_path, "FLAT", milvus_settings)) == 60
    second.drop()
    with pytest.raises(IndexCorruptError, match="rebuild"):
        MilvusStore.load(tmp_path, "FLAT", milvus_settings)
    third.drop()


def test_a_wrong_address_is_one_line_at_start_up(tmp_path):
    settings = Settings(root=tmp_path, vector_store=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreUnavailableError) as caught:
        connect(settings)
    message = str(caught.value)
    assert "\n" not in message and "QA_VECTOR_STORE" in message and settings.vector_store in message


def test_a_wrong_token_is_one_line_at_start_up(tmp_path):
    server, db, url = start_token_server(tmp_path / "data", "root:Milvus")
    try:
        connect(Settings(root=tmp_path, vector_store=url, vector_store_token="root:Milvus"))
        for token in ("root:wrong", ""):
            with pytest.raises(StoreAuthError) as caught:
                connect(Settings(root=tmp_path, vector_store=url, vector_store_token=token))
            message = str(caught.value)
            assert "\n" not in message and "QA_VECTOR_STORE_TOKEN" in message
            assert "root:wrong" not in message  # the token is never shown
    finally:
        server.stop(grace=0)
        db.close()


def test_a_lite_file_open_in_another_process_says_what_to_do(tmp_path):
    from milvus_lite.db import MilvusLite

    path = tmp_path / "held.db"
    held = MilvusLite(str(path))  # holds the data folder's lock, as another process would
    try:
        with pytest.raises(StoreUnavailableError, match="milvus-lite server"):
            connect(Settings(root=tmp_path, vector_store=str(path)))
    finally:
        held.close()
