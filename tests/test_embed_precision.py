"""``embed_precision``: windows embedded by the model's int8 form while questions stay fp32,
recorded in the manifest so that a change rebuilds with a reason. (The real int8 export:
tests/test_embedding_int8.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FakeEmbedder, ShiftedFake

from qa.config import Settings
from qa.embedders.base import window_embedder
from qa.errors import ConfigError
from qa.index.build import ensure_index, stale_reasons
from qa.index.files import read_manifest
from qa.index.model import Manifest


class QuantizableFake(FakeEmbedder):
    """A fake with an int8 form: another fake whose vectors differ slightly."""

    def __init__(self) -> None:
        super().__init__()
        self.int8 = ShiftedFake(axis=1)
        self.quantized_calls = 0

    def quantized(self) -> FakeEmbedder:
        self.quantized_calls += 1
        return self.int8


def _write(settings: Settings, name: str, words: int) -> None:
    text = " ".join(f"{name}{i}" for i in range(words))
    (settings.seeds_dir / f"{name}.txt").write_text(text, encoding="utf-8")


def test_the_setting_is_read_checked_and_auto_by_default(tmp_path):
    assert Settings(root=tmp_path).embed_precision == "auto"
    assert Settings.load({"QA_EMBED_PRECISION": "int8"}, root=tmp_path).embed_precision == "int8"
    with pytest.raises(ConfigError, match='embed_precision must be "fp32", "int8", "bf16" or "auto"'):
        Settings(root=tmp_path, embed_precision="int4")
    with pytest.raises(ConfigError, match="QA_BACKEND=onnx or QA_EMBED_PRECISION=fp32"):
        Settings(root=tmp_path, embed_precision="int8", backend="torch")


def test_window_embedder_is_the_embedder_itself_in_fp32_and_its_int8_form_otherwise(project):
    embedder = QuantizableFake()
    assert window_embedder(embedder, project) is embedder
    assert window_embedder(embedder, project.replace(embed_precision="int8")) is embedder.int8
    with pytest.raises(ConfigError, match="has no int8 form"):
        window_embedder(FakeEmbedder(), project.replace(embed_precision="int8"))


def test_an_int8_build_embeds_windows_with_the_int8_form_and_records_it(project):
    settings = project.replace(embed_precision="int8")
    _write(settings, "alpha", 300)
    embedder = QuantizableFake()
    report = ensure_index(settings, embedder)
    index = report.index
    assert embedder.encoded == 0  # the fp32 form embedded nothing: it is the questions'
    assert report.embedded == embedder.int8.encoded == len(index)
    texts = [index.chunk(i).text for i in range(len(index))]
    assert np.allclose(index.store.vectors(), embedder.int8.encode(texts), atol=1e-6)
    assert index.manifest.embed_precision == "int8"
    assert read_manifest(settings.index_dir).embed_precision == "int8"


def test_an_up_to_date_int8_index_does_not_load_the_int8_form(project):
    settings = project.replace(embed_precision="int8")
    _write(settings, "alpha", 200)
    ensure_index(settings, QuantizableFake())
    again = QuantizableFake()
    assert ensure_index(settings, again).status == "up to date"
    assert again.quantized_calls == 0


def test_changing_the_precision_rebuilds_every_vector_and_says_why(project):
    _write(project, "alpha", 200)
    _write(project, "beta", 150)
    embedder = QuantizableFake()
    fp32 = ensure_index(project, embedder).index
    assert fp32.manifest.embed_precision == "fp32"
    int8 = project.replace(embed_precision="int8")
    reasons = stale_reasons(fp32.manifest, fp32.documents, int8)
    assert reasons == ["windows embedded in fp32, settings ask for int8 (QA_EMBED_PRECISION)"]
    report = ensure_index(int8, embedder)
    assert report.status == "updated" and report.reused == 0
    assert report.embedded == len(report.index) == embedder.int8.encoded
    assert any("QA_EMBED_PRECISION" in r for r in report.reasons)
    back = ensure_index(project, embedder)
    assert back.reused == 0 and back.index.manifest.embed_precision == "fp32"


def test_an_incremental_int8_build_reuses_int8_vectors(project):
    settings = project.replace(embed_precision="int8")
    _write(settings, "alpha", 200)
    embedder = QuantizableFake()
    first = ensure_index(settings, embedder)
    _write(settings, "beta", 120)
    second = ensure_index(settings, embedder)
    assert second.status == "updated" and second.reused == first.embedded
    assert second.embedded == len(second.index) - first.embedded


def test_a_manifest_written_before_the_setting_reads_as_fp32(project, fake_embedder):
    _write(project, "alpha", 100)
    manifest = ensure_index(project, fake_embedder).index.manifest
    data = json.loads(json.dumps(manifest.__dict__))
    del data["embed_precision"]
    assert Manifest.from_json(data).embed_precision == "fp32"


def test_int8_vectors_of_another_recipe_are_not_reused(project, monkeypatch):
    import qa.index.build as build

    settings = project.replace(embed_precision="int8")
    _write(settings, "a", 300)
    embedder = QuantizableFake()
    ensure_index(settings, embedder)
    monkeypatch.setattr(build, "recipe_id", lambda: "2-other")
    index = read_manifest(settings.index_dir)
    report = ensure_index(settings, embedder)
    assert report.reasons == ("int8 window vectors made by another recipe than this version's",)
    assert report.reused == 0 and report.embedded == len(report.index)
    assert index.versions["int8-recipe"] != read_manifest(settings.index_dir).versions["int8-recipe"]
