"""The ONNX query path must give the same vectors as sentence-transformers."""

import json

import numpy as np
import pytest

from qa.embedders.base import make_embedder
from qa.embedders.onnx import OnnxEmbedder, onnx_folder, read_onnx_meta
from qa.embedders.torch import SentenceTransformerEmbedder
from qa.errors import ModelError

pytestmark = pytest.mark.slow

TEXTS = [
    "What is debt bondage?",
    "and what about children?",
    "human trafficking trade humans purpose forced labour sexual slavery commercial sexual exploitation",
    "# Module 3\n\nVictims are often recruited with false job offers. (See section 2.)",
    "Qu'est-ce que la traite des êtres humains ? 人口贩卖 🙂",
    "word " * 400,  # longer than the model's 256 tokens: truncated the same way
]


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory, seed_settings):
    return OnnxEmbedder(seed_settings.model, tmp_path_factory.mktemp("cache"))


def test_onnx_vectors_match_sentence_transformers(onnx_embedder, seed_settings):
    want = SentenceTransformerEmbedder(seed_settings.model).encode(TEXTS)
    got = onnx_embedder.encode(TEXTS)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.min(np.sum(got * want, axis=1)) >= 0.999


def test_batches_and_order_do_not_change_vectors(onnx_embedder):
    together = onnx_embedder.encode(TEXTS)
    alone = np.vstack([onnx_embedder.encode([t]) for t in TEXTS])
    assert np.allclose(together, alone, atol=1e-5)


def test_export_is_reused_and_a_damaged_one_is_a_clear_error(onnx_embedder, seed_settings, tmp_path):
    folder = onnx_embedder.folder
    assert folder == onnx_folder(onnx_embedder._cache_dir, seed_settings.model)
    meta = read_onnx_meta(folder, seed_settings.model)
    assert meta and meta["min_cosine"] >= 0.999
    assert read_onnx_meta(folder, "another/model") is None

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    (broken / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="ONNX"):
        OnnxEmbedder.from_folder(broken, seed_settings.model).encode(["x"])


def test_backend_setting_picks_the_embedder(seed_settings):
    assert isinstance(make_embedder(seed_settings.replace(backend="onnx")), OnnxEmbedder)
    assert isinstance(make_embedder(seed_settings.replace(backend="torch")), SentenceTransformerEmbedder)
