"""Window vectors: every window embedded, or only the smallest windows through the model and the
larger ones composed from them; incremental builds and "when indexed" per document. (Contextual
window vectors: tests/test_contextual.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.build import ensure_index, stale_reasons
from qa.index.contextual import WindowSpans
from qa.index.vectors import compose_vectors, document_vectors, tiles


def _words(n: int, stem: str) -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


def _write(settings, name: str, text: str) -> None:
    (settings.seeds_dir / name).write_text(text, encoding="utf-8")


def test_tiles_cover_a_span_left_to_right_without_overlap_then_fill_the_tail():
    starts = np.arange(0, 100, 10)  # 20-word windows every 10 words
    ends = np.minimum(starts + 20, 100)
    assert tiles(starts, ends, 0, 40) == [0, 2]
    assert tiles(starts, ends, 0, 100) == [0, 2, 4, 6, 8]
    assert tiles(starts, ends, 30, 80) == [3, 5, 6]  # 30-50, 50-70, then 60-80 up to the end
    assert tiles(starts[:1], np.array([20]), 5, 15) == [0]  # nothing inside: the one overlapping


def test_a_composed_vector_is_the_word_weighted_normalised_mean():
    small = np.eye(3, dtype=np.float32)
    got = compose_vectors(small, np.array([0, 20, 40]), np.array([20, 40, 50]), [(0, 50)])
    want = np.array([20, 20, 10], dtype=np.float32)
    assert np.allclose(got[0], want / np.linalg.norm(want))
    assert np.isclose(np.linalg.norm(got[0]), 1.0)


def test_only_the_smallest_windows_are_encoded_and_kept_exact(fake_embedder):
    texts = ["a b", "c d", "e f", "a b c d", "c d e f"]
    scales = np.array([2, 2, 2, 4, 4])
    starts, ends = np.array([0, 2, 4, 0, 2]), np.array([2, 4, 6, 4, 6])
    spans = WindowSpans(scales, starts, ends, starts * 2, ends * 2 - 1)
    got = document_vectors(texts, spans, encode=fake_embedder.encode, window_vectors="composed")
    assert fake_embedder.encoded == 3
    assert np.allclose(got[:3], fake_embedder.encode(texts[:3]))
    first = fake_embedder.encode(["a b"])[0] + fake_embedder.encode(["c d"])[0]
    assert np.allclose(got[3], first / np.linalg.norm(first))
    everything = document_vectors(texts, spans, encode=fake_embedder.encode, window_vectors="embedded")
    assert np.allclose(everything, fake_embedder.encode(texts))


def test_a_composed_build_embeds_only_the_smallest_windows(project, fake_embedder):
    project = project.replace(window_vectors="composed")
    _write(project, "a.txt", _words(300, "alpha"))
    report = ensure_index(project, fake_embedder)
    index = report.index
    smallest = index.windows.of_scale(min(project.window_sizes))
    assert index.manifest.window_vectors == "composed"
    assert report.embedded == fake_embedder.encoded == len(smallest) < len(index)
    assert np.allclose(np.linalg.norm(index.store.vectors(), axis=1), 1.0, atol=1e-5)
    exact = fake_embedder.encode([index.chunk(int(i)).text for i in smallest])
    assert np.allclose(index.store.vectors(smallest), exact, atol=1e-6)


def test_switching_composition_rebuilds_every_vector(project, fake_embedder):
    project = project.replace(window_vectors="composed")
    _write(project, "a.txt", _words(200, "alpha"))
    ensure_index(project, fake_embedder)
    embedded = project.replace(window_vectors="embedded")
    reasons = stale_reasons(ensure_index(project, fake_embedder).index.manifest, [], embedded)
    assert any("composed" in r for r in reasons)
    report = ensure_index(embedded, fake_embedder)
    assert report.status == "updated" and report.reused == 0
    assert report.embedded == len(report.index) and report.index.manifest.window_vectors == "embedded"


def test_when_indexed_is_kept_for_documents_a_rebuild_does_not_touch(project, fake_embedder, monkeypatch):
    import qa.index.build as build

    _write(project, "a.txt", _words(200, "alpha"))
    _write(project, "b.txt", _words(200, "beta"))
    first = ensure_index(project, fake_embedder).index
    stamp = first.indexed_at("seeds/a.txt")
    assert stamp and stamp == first.indexed_at("seeds/b.txt")

    class Later:
        @staticmethod
        def now(tz):
            return build.datetime(2099, 1, 2, 3, 4, 5, tzinfo=tz)

    monkeypatch.setattr(build, "datetime", type("D", (Later, build.datetime), {}))
    _write(project, "b.txt", _words(150, "gamma"))
    _write(project, "c.txt", _words(120, "delta"))
    second = ensure_index(project, fake_embedder).index
    assert second.indexed_at("seeds/a.txt") == stamp
    assert second.indexed_at("seeds/b.txt") == second.indexed_at("seeds/c.txt") == "2099-01-02T03:04:05+00:00"
    assert {d.source: d.indexed_at for d in second.info().documents}["seeds/a.txt"] == stamp
    with pytest.raises(KeyError):
        second.indexed_at("seeds/gone.txt")
