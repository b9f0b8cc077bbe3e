import json
import multiprocessing
import time

import numpy as np
import pytest

from qa.errors import IndexCorruptError, IndexMissingError, IndexStaleError, NoSourcesError
from qa.index.core import (
    POINTER,
    build_lock,
    ensure_index,
    load_index,
    open_index,
    stale_reasons,
)
from qa.ingest.sources import scan_sources


def _write(settings, name, text):
    (settings.seeds_dir / name).write_text(text, encoding="utf-8")


def _words(n, tag):
    return " ".join(f"{tag}{i % 50} common" for i in range(n))


def test_round_trip_keeps_everything(project, fake_embedder):
    _write(project, "a.txt", _words(300, "alpha"))
    _write(project, "b.md", "# B doc\n\nA sentence here. Another one there.\n")
    built = ensure_index(project, fake_embedder).index
    loaded = load_index(project.index_dir)
    assert loaded.manifest == load_index(project.index_dir).manifest
    assert [d.source for d in loaded.documents] == ["seeds/a.txt", "seeds/b.md"]
    assert np.allclose(np.asarray(loaded.vectors), built.vectors)
    assert loaded.faiss_index.ntotal == len(built) == len(loaded)
    for i in range(len(loaded)):
        c = loaded.chunk(i)
        assert c.text == loaded.document(c.source).text[c.start : c.end]
    m = loaded.manifest
    assert m.model == "fake-model" and m.dimension == 64
    assert set(m.sources) == {"seeds/a.txt", "seeds/b.md"} and m.built_at and m.versions["numpy"]


def test_second_run_is_up_to_date_and_embeds_nothing(project, fake_embedder):
    _write(project, "a.txt", _words(200, "alpha"))
    ensure_index(project, fake_embedder)
    calls = fake_embedder.calls
    report = ensure_index(project, fake_embedder)
    assert report.status == "up to date" and fake_embedder.calls == calls


def test_only_changed_documents_are_embedded_again(project, fake_embedder):
    _write(project, "a.txt", _words(200, "alpha"))
    _write(project, "b.txt", _words(200, "beta"))
    first = ensure_index(project, fake_embedder)
    fake_embedder.encoded = 0
    _write(project, "b.txt", _words(220, "gamma"))
    report = ensure_index(project, fake_embedder)
    a_windows = int((report.index.table["doc"] == 0).sum())
    assert report.status == "updated" and report.reused == a_windows
    assert fake_embedder.encoded == report.embedded == len(report.index) - a_windows
    assert "source changed: seeds/b.txt" in report.reasons
    assert len(first.index) != len(report.index)


def test_changed_source_model_or_windows_make_the_index_stale(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    manifest = ensure_index(project, fake_embedder).index.manifest
    docs, _ = scan_sources(project.seeds_dir, project.root)
    assert stale_reasons(manifest, docs, project) == []
    assert stale_reasons(manifest, docs, project.replace(model="other"))
    assert stale_reasons(manifest, docs, project.replace(window_sizes=(30,)))
    _write(project, "a.txt", _words(100, "beta"))
    docs, _ = scan_sources(project.seeds_dir, project.root)
    assert stale_reasons(manifest, docs, project) == ["source changed: seeds/a.txt"]


def test_index_built_with_another_model_is_refused(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    ensure_index(project, fake_embedder)
    with pytest.raises(IndexStaleError, match="built with model 'fake-model'"):
        open_index(project.replace(model="another-model"))


def test_missing_index_says_how_to_build_it(project):
    with pytest.raises(IndexMissingError, match="run `qa index`"):
        load_index(project.index_dir)


def test_empty_seeds_is_a_clear_error(project, fake_embedder):
    with pytest.raises(NoSourcesError, match="no readable"):
        ensure_index(project, fake_embedder)


@pytest.mark.parametrize("victim", ["index.faiss", "vectors.npy", "chunks.npz", "documents.jsonl"])
def test_damaged_file_is_detected_and_rebuilt(project, fake_embedder, victim):
    _write(project, "a.txt", _words(100, "alpha"))
    ensure_index(project, fake_embedder)
    folder = project.index_dir / (project.index_dir / POINTER).read_text().strip()
    path = folder / victim
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(IndexCorruptError, match="qa index --rebuild"):
        load_index(project.index_dir)
    report = ensure_index(project, fake_embedder)
    assert report.status == "built"
    assert load_index(project.index_dir).manifest.chunks == len(report.index)


def test_garbage_manifest_is_corrupt(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    ensure_index(project, fake_embedder)
    folder = project.index_dir / (project.index_dir / POINTER).read_text().strip()
    (folder / "manifest.json").write_text("{]")
    with pytest.raises(IndexCorruptError):
        load_index(project.index_dir)


def test_crash_mid_save_keeps_the_previous_index(project, fake_embedder, monkeypatch):
    _write(project, "a.txt", _words(100, "alpha"))
    before = ensure_index(project, fake_embedder).index.manifest
    _write(project, "a.txt", _words(100, "beta"))

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", boom)
    with pytest.raises(OSError):
        ensure_index(project, fake_embedder)
    monkeypatch.undo()
    assert load_index(project.index_dir).manifest == before
    assert not [p for p in project.index_dir.iterdir() if p.name.startswith(".tmp-build-")]


def _hold_lock(index_dir, seconds):
    with build_lock(index_dir):
        time.sleep(seconds)


def test_builds_are_serialised_by_a_lock(project):
    proc = multiprocessing.get_context("spawn").Process(target=_hold_lock, args=(project.index_dir, 1.5))
    proc.start()
    time.sleep(0.8)
    t0 = time.monotonic()
    with build_lock(project.index_dir):
        waited = time.monotonic() - t0
    proc.join()
    assert waited > 0.2


def test_manifest_is_plain_json(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    ensure_index(project, fake_embedder)
    folder = project.index_dir / (project.index_dir / POINTER).read_text().strip()
    data = json.loads((folder / "manifest.json").read_text())
    assert data["window_sizes"] == list(project.window_sizes)
    assert set(data["files"]) == {"documents.jsonl", "chunks.npz", "vectors.npy", "index.faiss"}


def test_faiss_index_type_follows_size_or_setting(project, fake_embedder):
    from qa.errors import ConfigError
    from qa.index.core import FLAT_LIMIT, faiss_factory

    assert faiss_factory(10, 384) == "Flat" and faiss_factory(FLAT_LIMIT, 384).startswith("IVF")
    assert faiss_factory(1_000_000, 384) == "IVF3840,SQ8"
    _write(project, "a.txt", _words(300, "a"))
    assert ensure_index(project, fake_embedder).index.manifest.faiss_index == "Flat"
    hnsw = project.replace(faiss_index="HNSW16")
    report = ensure_index(hnsw, fake_embedder)
    assert report.status != "up to date" and report.index.manifest.faiss_index == "HNSW16"
    loaded = load_index(hnsw.index_dir)
    query = loaded.vectors[3][None, :]
    assert loaded.search(np.ascontiguousarray(query), 1)[1][0][0] == 3
    with pytest.raises(ConfigError):
        ensure_index(project.replace(faiss_index="NotAnIndex"), fake_embedder)
