"""bf16 window vectors with the real model: the torch model with bf16 weights gives vectors at
cosine ≥ 0.999 to the fp32 ONNX export's (the bar the query path is held to), and a build with
``embed_precision="bf16"`` records it and never imports torch where nothing is embedded."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, share_onnx_export

from qa.config import Settings
from qa.embedders.onnx import OnnxEmbedder
from qa.index.build import _window_texts, ensure_index
from qa.ingest.sources import scan_sources

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def onnx(tmp_path_factory) -> OnnxEmbedder:
    """Over the session's ONNX export (tests/test_embedding.py tests exporting)."""
    cache, model = tmp_path_factory.mktemp("cache"), Settings(root=REPO).model
    share_onnx_export(cache, model)
    return OnnxEmbedder(model, cache)


@pytest.fixture(scope="module")
def seed_windows() -> list[str]:
    settings = Settings(root=REPO)
    documents, _ = scan_sources(settings.seeds_dir, settings.root)
    _, texts = _window_texts(documents, settings.window_sizes)
    every = [t for doc in texts for t in doc]
    return every[:: max(len(every) // 300, 1)]  # ~300 windows of every size


def test_bf16_window_vectors_are_the_fp32_ones(onnx, seed_windows):
    bf16 = onnx.bf16()
    assert bf16.precision == "bf16" and bf16.name == onnx.name and onnx.bf16() is bf16
    got, want = bf16.encode(seed_windows), onnx.encode(seed_windows)
    assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(got * want, axis=1)
    assert cosine.min() >= 0.999
    assert not np.array_equal(got, want)  # computed in bf16, not the fp32 model again


def test_a_bf16_build_records_bf16_and_an_up_to_date_check_imports_no_torch(tmp_path, onnx):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text(" ".join(f"word{i}" for i in range(300)), encoding="utf-8")
    settings = Settings(root=tmp_path, embed_precision="bf16", index_dir=tmp_path / "embeddings")
    report = ensure_index(settings, onnx)
    assert report.status == "built" and report.index.manifest.embed_precision == "bf16"
    assert report.index.manifest.versions["bf16-recipe"]
    script = (
        "import sys; from pathlib import Path; from qa.config import Settings;"
        "from qa.embedders.base import make_embedder; from qa.index.build import ensure_index;"
        f"s = Settings(root=Path({str(tmp_path)!r}), embed_precision='bf16',"
        f" index_dir=Path({str(tmp_path / 'embeddings')!r}));"
        "r = ensure_index(s, make_embedder(s)); print(r.status, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["up", "to", "date", "False"]
