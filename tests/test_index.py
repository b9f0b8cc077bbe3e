import json
import multiprocessing

import numpy as np
import pytest

from qa.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    IndexStaleError,
    IndexWriteError,
    NoSourcesError,
)
from qa.index.build import build_lock, check_sources, ensure_index, open_index, stale_reasons
from qa.index.files import POINTER, load_index
from qa.index.lock import BUILDING, WAITING
from qa.index.model import Windows
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
    assert np.allclose(loaded.store.vectors(), built.store.vectors())
    assert isinstance(loaded.store.vectors(), np.memmap)
    assert len(loaded.store) == len(built) == len(loaded) == len(loaded.windows)
    assert isinstance(loaded.windows, Windows)
    for name in Windows.columns():
        assert np.array_equal(getattr(loaded.windows, name), getattr(built.windows, name))
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
    project = project.replace(window_vectors="embedded")  # every window through the model
    _write(project, "a.txt", _words(200, "alpha"))
    _write(project, "b.txt", _words(200, "beta"))
    first = ensure_index(project, fake_embedder)
    fake_embedder.encoded = 0
    _write(project, "b.txt", _words(220, "gamma"))
    report = ensure_index(project, fake_embedder)
    a_windows = len(report.index.windows.of_document(0))
    assert report.status == "updated" and report.reused == a_windows
    assert report.embedded == len(report.index) - a_windows
    b_texts = {report.index.chunk(i).text for i in report.index.windows.of_document(1)}
    assert fake_embedder.encoded == len(b_texts)  # each different window text once
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


@pytest.mark.parametrize(
    "victim",
    [
        "store/vectors.npy",
        "windows.npz",
        "documents.jsonl",
        "lexical/rows.npz",
        "lexical/20/vocab.index.json",
    ],
)
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
    with pytest.raises(IndexWriteError, match=r"cannot write the index in .*: disk full"):
        ensure_index(project, fake_embedder)
    monkeypatch.undo()
    assert load_index(project.index_dir).manifest == before
    assert not [p for p in project.index_dir.iterdir() if p.name.startswith(".tmp-build-")]


def _hold_lock(index_dir, held, release):
    with build_lock(index_dir):
        held.set()
        release.wait(60)


def test_builds_are_serialised_by_a_lock(project):
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(project.index_dir, held, release))
    proc.start()
    try:
        assert held.wait(60)
        with pytest.raises(IndexLockedError, match=r"another process \(a replica, or qa index\) has held"):
            with build_lock(project.index_dir, timeout=0.2):
                pass
        # a process that must wait says so first (a second replica's start was silent for minutes)
        (project.index_dir / BUILDING).write_text("embedding: 256/1,085 windows", encoding="utf-8")
        said = []
        with pytest.raises(IndexLockedError):
            with build_lock(project.index_dir, timeout=0.2, waiting=said.append):
                pass
        assert said == [f"{WAITING}: embedding: 256/1,085 windows"]
    finally:
        release.set()
        proc.join(60)
    with build_lock(project.index_dir, timeout=5):
        pass


def test_manifest_is_plain_json(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    ensure_index(project, fake_embedder)
    folder = project.index_dir / (project.index_dir / POINTER).read_text().strip()
    data = json.loads((folder / "manifest.json").read_text())
    assert data["window_sizes"] == list(project.window_sizes)
    files = set(data["files"])
    assert {"documents.jsonl", "windows.npz", "store/vectors.npy", "lexical/rows.npz"} <= files
    assert "store/index.faiss" not in files  # a flat store is searched exactly; nothing unused saved
    for size in project.window_sizes:
        assert f"lexical/{size}/data.csc.index.npy" in files
    assert all((folder / name).is_file() for name in files)


def test_faiss_index_type_follows_size_or_setting(project, fake_embedder):
    from qa.errors import ConfigError
    from qa.store.faiss import FLAT_LIMIT, faiss_factory

    assert faiss_factory(10, 384) == "Flat" and faiss_factory(FLAT_LIMIT, 384).startswith("IVF")
    assert faiss_factory(1_000_000, 384) == "IVF3840,SQ8"
    _write(project, "a.txt", _words(300, "a"))
    assert ensure_index(project, fake_embedder).index.manifest.faiss_index == "Flat"
    hnsw = project.replace(faiss_index="HNSW16")
    report = ensure_index(hnsw, fake_embedder)
    assert report.status != "up to date" and report.index.manifest.faiss_index == "HNSW16"
    loaded = load_index(hnsw.index_dir)
    assert loaded.store.faiss_index is not None and loaded.info().store_index == "HNSW16"
    query = loaded.store.vectors(np.array([3]))
    assert loaded.store.search(query, 1)[1][0][0] == 3
    with pytest.raises(ConfigError):
        ensure_index(project.replace(faiss_index="NotAnIndex"), fake_embedder)


def test_a_lock_that_is_a_folder_is_a_clear_error(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    (project.index_dir / ".lock").mkdir(parents=True)
    with pytest.raises(IndexLockedError, match=r"\.lock is a folder.*remove it"):
        ensure_index(project, fake_embedder)


def test_leftovers_of_a_killed_build_go_at_the_start_of_the_next_build(project, fake_embedder):
    leftover = project.index_dir / ".tmp-build-killed"
    (leftover / "store").mkdir(parents=True)
    (leftover / "store" / "vectors.npy").write_bytes(b"half")
    with pytest.raises(NoSourcesError):  # even a build that fails cleans up first
        ensure_index(project, fake_embedder)
    assert not leftover.exists()


def test_bm25_is_loaded_with_the_index_not_rebuilt(project, fake_embedder, monkeypatch):
    from qa.lexical.bm25 import LexicalIndex

    _write(project, "a.txt", _words(300, "alpha"))
    _write(project, "b.txt", _words(200, "beta"))
    built = ensure_index(project, fake_embedder).index

    def no_build(*args, **kwargs):
        raise AssertionError("BM25 rebuilt on load")

    monkeypatch.setattr(LexicalIndex, "__init__", no_build)
    loaded = load_index(project.index_dir)
    for query in (["alpha3"], ["beta7", "common"], ["absent"]):
        assert np.allclose(loaded.lexical.scores(query), built.lexical.scores(query))
    assert loaded.lexical.scales == list(project.window_sizes)
    assert loaded.lexical.known("alpha3") and not loaded.lexical.known("absent")


def test_info_and_document_are_the_public_view(project, fake_embedder):
    _write(project, "a.txt", _words(300, "alpha"))
    _write(project, "b.md", "# B doc\n\nA sentence here.\n")
    index = ensure_index(project, fake_embedder).index
    info = index.info()
    assert [d.source for d in info.documents] == ["seeds/a.txt", "seeds/b.md"]
    assert sum(d.windows for d in info.documents) == info.windows == len(index)
    assert info.model == "fake-model" and info.store == "faiss" and info.store_index == "Flat"
    assert info.built_at and info.window_sizes == project.window_sizes
    assert index.document("seeds/b.md").title == "B doc"
    with pytest.raises(KeyError):
        index.document("seeds/none.txt")


def test_check_sources_reads_the_live_manifest(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    ensure_index(project, fake_embedder)
    assert check_sources(project) == []
    _write(project, "a.txt", _words(100, "beta"))
    assert check_sources(project) == ["source changed: seeds/a.txt"]


def test_old_format_is_stale_not_corrupt(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    ensure_index(project, fake_embedder)
    folder = project.index_dir / (project.index_dir / POINTER).read_text().strip()
    data = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**data, "format_version": 2}))
    with pytest.raises(IndexStaleError, match="another version"):
        load_index(project.index_dir)
    assert ensure_index(project, fake_embedder).status == "built"


def test_compatibility_aliases_keep_old_callers_working(project, fake_embedder):
    from qa.index.model import Index
    from qa.store.faiss import FLAT_LIMIT, make_faiss

    _write(project, "a.txt", _words(300, "alpha"))
    index = ensure_index(project, fake_embedder).index
    assert FLAT_LIMIT == 50_000 and np.array_equal(index.table["doc"], index.windows.doc)
    assert index.vectors.shape == (len(index), 64)
    old_style = Index(
        manifest=index.manifest,
        documents=index.documents,
        table=index.table,
        vectors=index.vectors,
        faiss_index=make_faiss(np.ascontiguousarray(index.vectors), "HNSW16"),
    )
    assert old_style.search(index.vectors[5][None, :], 3)[1][0][0] == 5
    assert np.allclose(old_style.lexical.scores(["alpha3"]), index.lexical.scores(["alpha3"]))


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path, monkeypatch):
    import os

    from qa.atomic import atomic_write

    target = tmp_path / "deep" / "CURRENT"
    atomic_write(target, "one\n")
    atomic_write(target, b"two\n")
    assert target.read_text() == "two\n"

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(target, "three\n")
    assert target.read_text() == "two\n" and sorted(p.name for p in target.parent.iterdir()) == ["CURRENT"]


def test_per_document_tables_are_computed_on_first_use_and_once():
    from qa.index.lazy import PerDocument

    calls = []
    table = PerDocument(lambda doc: calls.append(doc) or (None if doc == 1 else doc * 10), 3)
    assert calls == [] and len(table) == 3
    assert table[2] == 20 and table[-1] == 20 and table[1] is None and table[1] is None
    assert calls == [2, 1]  # each once, None kept too
    assert list(table) == [0, None, 20] and table.computed == 3
    with pytest.raises(IndexError):
        table[3]


def test_word_counts_come_from_the_windows_and_match_the_texts(project, fake_embedder):
    _write(project, "a.txt", _words(333, "alpha"))
    _write(project, "b.txt", _words(41, "beta"))
    index = ensure_index(project, fake_embedder).index
    assert list(index.word_counts) == [len(index.word_maps[d]) for d in range(len(index.documents))]
