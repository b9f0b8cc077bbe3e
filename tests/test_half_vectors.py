"""Window vectors kept as float16 from :data:`qa.store.faiss.HALF_FROM` windows on: half the bytes
on disk and in memory, read back as float32; smaller stores stay float32, bit for bit."""

from __future__ import annotations

import json

import numpy as np

import qa.store.faiss as faiss_store
from qa.index import ensure_index
from qa.index.files import MANIFEST, live_folder
from qa.store import load_store
from qa.store.faiss import VECTORS, FaissStore


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_large_store_keeps_float16_and_rescores_in_float32(tmp_path):
    vectors = _unit(3000)
    FaissStore.from_factory(vectors, "IVF8,SQ8", dtype="float16").save(tmp_path)
    store = load_store("faiss", tmp_path, "IVF8,SQ8")
    assert store.stored_dtype == "float16"
    assert np.load(tmp_path / VECTORS, mmap_mode="r").dtype == np.float16
    assert (tmp_path / VECTORS).stat().st_size < vectors.nbytes // 2 + 1024
    half = vectors.astype(np.float16).astype(np.float32)
    picked = np.array([7, 2, 2999])
    got = store.vectors(picked)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, half[picked])
    scores, ids = store.search(vectors[:5], 10)
    for query, row_ids, row_scores in zip(vectors[:5], ids, scores):
        np.testing.assert_allclose(row_scores, half[row_ids] @ query, rtol=1e-6)  # from the stored rows
    assert list(ids[:, 0]) == [0, 1, 2, 3, 4]


def test_a_small_store_stays_float32_bit_for_bit(tmp_path):
    vectors = _unit(300)
    FaissStore.from_factory(vectors, "Flat").save(tmp_path)
    store = load_store("faiss", tmp_path, "Flat")
    assert store.stored_dtype == "float32"
    np.testing.assert_array_equal(store.vectors(np.arange(300)), vectors)


def test_float16_from_half_from_windows_on(monkeypatch, project, fake_embedder):
    for d in range(6):
        words = " ".join(f"topic{d} word{(d * 7 + i) % 41} thing{i % 13}" for i in range(80))
        (project.seeds_dir / f"doc{d}.txt").write_text(words, encoding="utf-8")
    small = ensure_index(project, fake_embedder).index
    assert small.manifest.stored_vectors == "float32" == small.store.stored_dtype
    monkeypatch.setattr(faiss_store, "HALF_FROM", 1)
    report = ensure_index(project, fake_embedder)
    assert any("stored as float32" in reason for reason in report.reasons), report.reasons
    assert report.embedded == 0 and report.reused == len(small)  # the vectors are reused, rounded
    assert report.index.manifest.stored_vectors == "float16" == report.index.store.stored_dtype
    np.testing.assert_array_equal(
        report.index.store.vectors(np.arange(len(small))),
        small.store.vectors(np.arange(len(small))).astype(np.float16).astype(np.float32),
    )
    assert ensure_index(project, fake_embedder).status == "up to date"  # once, not at every start


def test_a_manifest_written_before_stored_vectors_reads_as_float32(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text("alpha beta gamma " * 50, encoding="utf-8")
    ensure_index(project, fake_embedder)
    path = live_folder(project.index_dir) / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["stored_vectors"]
    from qa.index.model import Manifest

    assert Manifest.from_json(data).stored_vectors == "float32"


def test_float16_changes_the_rescoring_not_the_candidates():
    """FAISS learns from the vectors as given, whichever way the store keeps them."""
    vectors = _unit(2000, seed=3)
    full = FaissStore.from_factory(vectors, "IVF8,SQ8")
    half = FaissStore.from_factory(vectors, "IVF8,SQ8", dtype="float16")
    for a, b in zip(full.faiss_index.search(vectors[:20], 128), half.faiss_index.search(vectors[:20], 128)):
        np.testing.assert_array_equal(a, b)


def test_float16_reads_back_as_numpy_casts_it_bit_for_bit():
    every = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    finite = every[np.isfinite(every)].reshape(-1, 2)  # zeros, subnormals, normals of both signs
    expected = finite.astype(np.float32)
    got = faiss_store.half_to_float(finite)
    assert got.dtype == np.float32 and got.shape == finite.shape
    np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
