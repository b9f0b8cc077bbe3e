"""The index with its vectors in Milvus (a Lite file, or `milvus-lite server` by URL): built,
updated and reopened like the FAISS one, answering alike, and never mixing two builds."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import IndexStaleError, StoreUnavailableError

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")
pytest.importorskip("qa.store.base", reason="needs the vector-store seam (qa/store/base.py)")

from milvus_servers import free_port

from qa.index.build import ensure_index, open_index
from qa.index.files import load_index
from qa.retrieval.retriever import Retriever

pytestmark = pytest.mark.slow

QUESTIONS = ["alpha7 common", "what about beta3", "gamma words and delta", "nothing here at all"]


def _words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i % 50} common" for i in range(n))


def _write(settings: Settings, name: str, text: str) -> None:
    (settings.seeds_dir / name).write_text(text, encoding="utf-8")


def _answers(retriever: Retriever) -> list[list[tuple[str, int, int]]]:
    return [
        [(p.citation.source, p.citation.start, p.citation.end) for p in retriever.ask(q, k=3).passages]
        for q in QUESTIONS
    ]


@pytest.mark.parametrize("where", ["lite-file", "lite-server"])
def test_milvus_index_answers_like_faiss(project, fake_embedder, lite_server, where):
    _write(project, "a.txt", _words(300, "alpha"))
    _write(project, "b.txt", _words(200, "beta") + " gamma delta")
    faiss = ensure_index(project, fake_embedder).index
    store = str(project.root / "v.db") if where == "lite-file" else lite_server
    milvus_settings = project.replace(
        index_dir=project.root / "milvus-index", vector_store=store, vector_store_bm25="engine"
    )
    report = ensure_index(milvus_settings, fake_embedder)
    assert report.status == "built" and report.index.manifest.store == "milvus"
    reopened = open_index(milvus_settings)
    assert reopened.store.kind == "milvus" and len(reopened) == len(faiss)
    np.testing.assert_allclose(
        reopened.store.vectors(np.arange(len(faiss))), faiss.store.vectors(), atol=1e-6
    )
    assert reopened.store.lexical_in_engine  # Milvus Lite 3 does BM25: candidates from the engine
    want = _answers(Retriever(faiss, fake_embedder, project))
    assert _answers(Retriever(reopened, fake_embedder, milvus_settings)) == want
    local = milvus_settings.replace(vector_store_bm25="local")  # and with the index's own BM25
    assert _answers(Retriever(open_index(local), fake_embedder, local)) == want


def test_only_changed_documents_are_embedded_again_on_milvus(project, fake_embedder, lite_server):
    settings = project.replace(vector_store=lite_server, vector_store_collection="incremental")
    _write(settings, "a.txt", _words(200, "alpha"))
    _write(settings, "b.txt", _words(200, "beta"))
    first = ensure_index(settings, fake_embedder)
    assert ensure_index(settings, fake_embedder).status == "up to date"
    _write(settings, "b.txt", _words(150, "beta"))
    second = ensure_index(settings, fake_embedder)
    assert second.status == "updated" and second.reused > 0
    assert second.embedded == len(second.index) - second.reused < len(first.index)
    assert second.index.store.collection != first.index.store.collection


def test_a_rebuild_while_answering_never_shows_a_mixed_index(project, fake_embedder, lite_server):
    settings = project.replace(vector_store=lite_server, vector_store_collection="rebuild")
    _write(settings, "a.txt", _words(300, "alpha"))
    ensure_index(settings, fake_embedder)
    reader = Retriever(open_index(settings), fake_embedder, settings)
    before = _answers(reader)
    own = reader.index.store.vectors(np.arange(len(reader.index)))  # the reader's build
    query = fake_embedder.encode(["alpha7 common"])
    stop_flag, seen, errors = threading.Event(), [], []

    def keep_asking() -> None:
        while not stop_flag.is_set():
            try:
                seen.append(_answers(reader))
                scores, ids = reader.index.search(query, 10)  # the store itself, not a cached copy
                np.testing.assert_allclose(scores[0], own[ids[0]] @ query[0], atol=1e-5)
                np.testing.assert_array_equal(reader.index.store.vectors(ids[0]), own[ids[0]])
            except Exception as exc:  # any failure is a finding
                errors.append(exc)

    thread = threading.Thread(target=keep_asking)
    thread.start()
    try:
        _write(settings, "a.txt", _words(250, "omega"))  # other documents, rebuilt while answering
        ensure_index(settings, fake_embedder, rebuild=True)
        asked = len(seen)
        while len(seen) < asked + 3 and not errors:  # and answers after the new build is live
            time.sleep(0.05)
    finally:
        stop_flag.set()
        thread.join(timeout=120)
    assert not errors, [str(e) for e in errors[:3]]
    assert seen and all(answers == before for answers in seen)
    fresh = Retriever(open_index(settings), fake_embedder, settings)
    assert _answers(fresh) != before  # a new reader sees the new build whole
    for passage in fresh.ask("omega3 common", k=3).passages:
        c = passage.citation
        assert passage.text == fresh.index.document(c.source).text[c.start : c.end]

    _write(settings, "a.txt", _words(200, "omega"))  # a second rebuild drops the first build's
    ensure_index(settings, fake_embedder, rebuild=True)  # collection: its reader is told so
    with pytest.raises(IndexStaleError, match="open the index again"):
        reader.index.search(query, 10)
    assert _answers(fresh)  # the previous build still answers


def test_a_wrong_address_stops_qa_ask_with_one_line(project, fake_embedder):
    _write(project, "a.txt", _words(100, "alpha"))
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailableError):
        ensure_index(project.replace(vector_store=url), fake_embedder)
    run = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", "--root", str(project.root)],
        env={"QA_VECTOR_STORE": url, "QA_MODEL": "fake-model", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "QA_VECTOR_STORE" in lines[0] and url in lines[0]


def test_an_index_built_on_milvus_needs_the_store_setting(project, fake_embedder, lite_server):
    settings = project.replace(vector_store=lite_server, vector_store_collection="needs")
    _write(settings, "a.txt", _words(100, "alpha"))
    ensure_index(settings, fake_embedder)
    with pytest.raises(StoreUnavailableError, match="QA_VECTOR_STORE"):
        load_index(settings.index_dir)


DEV = next(
    (
        p
        for p in (Path(__file__).resolve().parents[n] / "shared" / "eval" / "dev.jsonl" for n in (2, 3))
        if p.exists()
    ),
    None,
)
SEED_QUESTIONS = [
    "What is debt bondage?",
    "Which protocol defines trafficking in persons?",
    "How many people are victims of forced labour?",
    "and what about children?",
]


def _dev_questions(n: int = 8) -> list[str]:
    if DEV is None:
        return SEED_QUESTIONS
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows[:n]]


def _spans(answer: dict | object) -> list[tuple[str, int, int]]:
    if isinstance(answer, dict):
        return [
            (p["citation"]["source"], p["citation"]["start"], p["citation"]["end"])
            for p in answer["passages"]
        ]
    return [(p.citation.source, p.citation.start, p.citation.end) for p in answer.passages]


def test_seed_on_a_lite_file_answers_dev_questions_like_faiss(retriever, tmp_path):
    settings = retriever.settings.replace(index_dir=tmp_path / "index", vector_store=str(tmp_path / "v.db"))
    index = ensure_index(settings, retriever.embedder).index
    milvus = Retriever(index, retriever.embedder, settings)
    for question in _dev_questions():
        assert _spans(milvus.ask(question)) == _spans(retriever.ask(question)), question


def test_two_app_processes_sharing_one_milvus_server_answer_alike_and_like_faiss(
    retriever, seed_settings, lite_server, tmp_path
):
    import httpx
    from conftest import start_server, stop_server

    env = {"QA_VECTOR_STORE": lite_server, "QA_VECTOR_STORE_COLLECTION": "shared", "QA_RATE_LIMIT": "100000"}
    shared = seed_settings.replace(index_dir=tmp_path / "index")
    servers = []
    try:
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            servers.append(start_server(shared, tmp_path / name, **env))
        for question in _dev_questions():
            answers = [
                httpx.post(url + "/api/v1/ask", json={"question": question, "k": 5}, timeout=60).json()
                for _, url in servers
            ]
            assert _spans(answers[0]) == _spans(answers[1]) == _spans(retriever.ask(question, k=5)), question
    finally:
        for proc, _ in servers:
            stop_server(proc, timeout=20)
