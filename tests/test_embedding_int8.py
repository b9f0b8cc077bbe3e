"""The int8 form of the ONNX export: made once beside the fp32 export, checked at load, and its
window vectors close to fp32's (the build's ``embed_precision="int8"``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO, share_onnx_export

from qa.atomic import file_sha256
from qa.config import Settings
from qa.embedders.onnx import OnnxEmbedder, onnx_folder, read_onnx_meta
from qa.embedders.quantize import int8_folder, read_int8_meta
from qa.index.build import _window_texts
from qa.ingest.sources import scan_sources

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seed_settings() -> Settings:
    return Settings(root=REPO)


@pytest.fixture(scope="module")
def embedders(tmp_path_factory, seed_settings):
    cache = tmp_path_factory.mktemp("cache")
    share_onnx_export(cache, seed_settings.model)  # the fp32 export (tests/test_embedding.py makes one)
    fp32 = OnnxEmbedder(seed_settings.model, cache)
    return fp32, fp32.quantized()


@pytest.fixture(scope="module")
def seed_windows(seed_settings) -> list[str]:
    documents, _ = scan_sources(seed_settings.seeds_dir, seed_settings.root)
    _, texts = _window_texts(documents, seed_settings.window_sizes)
    every = [t for doc in texts for t in doc]
    return every[:: max(len(every) // 300, 1)]  # ~300 windows of every size


def test_int8_window_vectors_stay_close_to_fp32(embedders, seed_windows):
    fp32, int8 = embedders
    assert int8.precision == "int8" and int8.name == fp32.name and fp32.quantized() is int8
    got, want = int8.encode(seed_windows), fp32.encode(seed_windows)
    assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(got * want, axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.97
    assert not np.allclose(got, want, atol=1e-4)  # it is another model, not the fp32 one again


def test_the_int8_export_lives_beside_fp32_and_names_its_source(embedders, seed_settings):
    fp32, int8 = embedders
    int8.encode(["load it"])
    assert int8.folder == int8_folder(fp32.folder) == fp32.folder.with_name(fp32.folder.name + "-int8")
    assert fp32.folder == onnx_folder(fp32._cache_dir, seed_settings.model)
    fp32_meta = read_onnx_meta(fp32.folder, seed_settings.model)
    meta = read_int8_meta(int8.folder, fp32.folder, fp32_meta)
    assert meta and meta["precision"] == "int8" and meta["min_cosine_to_fp32"] >= 0.98
    assert meta["source_sha256"] == file_sha256(fp32.folder / "model.onnx")
    assert (int8.folder / "model.onnx").stat().st_size < (fp32.folder / "model.onnx").stat().st_size / 2


def test_the_int8_export_is_reused_and_made_again_for_another_fp32_export(embedders, tmp_path):
    fp32, int8 = embedders
    int8.encode(["load it"])
    made = (int8.folder / "model.onnx").stat().st_mtime_ns
    again = OnnxEmbedder(fp32.name, fp32._cache_dir).quantized()
    again.encode(["reuse it"])
    assert (int8.folder / "model.onnx").stat().st_mtime_ns == made

    copy = tmp_path / "onnx" / fp32.folder.name
    copy.mkdir(parents=True)
    for name in ("model.onnx", "tokenizer.json", "meta.json"):
        (copy / name).write_bytes((fp32.folder / name).read_bytes())
    (int8_folder(copy)).mkdir()
    for name in ("model.onnx", "tokenizer.json", "meta.json"):
        (int8_folder(copy) / name).write_bytes((int8.folder / name).read_bytes())
    fp32_meta = json.loads((copy / "meta.json").read_text())
    assert read_int8_meta(int8_folder(copy), copy, fp32_meta) is not None
    with open(copy / "model.onnx", "ab") as handle:  # another fp32 export: a different file
        handle.write(b"\0")
    assert read_int8_meta(int8_folder(copy), copy, fp32_meta) is None
