"""Warming up in the background: questions are answered while the index's files are mapped in,
exactly as after, and health says ``warming`` until it is done."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import resident_bytes
from fastapi.testclient import TestClient

from qa.index import ensure_index
from qa.lexical.bm25 import LexicalIndex
from qa.retrieval.retriever import Retriever

QUESTIONS = ("topic3 word21", "thing4 word30", "topic7", "word5 thing9 topic1", "topic0 word12 thing2")


def _write_docs(project, count: int) -> None:
    for d in range(count):
        words = " ".join(f"topic{d} word{(d * 7 + i) % 41} thing{i % 13}" for i in range(80))
        (project.seeds_dir / f"doc{d}.txt").write_text(words, encoding="utf-8")


@pytest.fixture
def held(monkeypatch):
    """Holds every background warm-up inside BM25's ``map_in`` until the event is set."""
    release = threading.Event()
    original = LexicalIndex.map_in

    def held_map_in(self):
        assert release.wait(60), "the test never released the warm-up"
        return original(self)

    monkeypatch.setattr(LexicalIndex, "map_in", held_map_in)
    yield release
    release.set()


def test_questions_asked_while_warming_answer_exactly_as_after(project, fake_embedder, held):
    _write_docs(project, 12)
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    retriever.warm_up()
    assert not retriever.warm and not retriever.warming.done
    asks = [q for q in QUESTIONS for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:  # several at once: they share BM25's scratch arrays
        during = list(pool.map(lambda q: retriever.ask(q, k=3), asks))
    assert not retriever.warm  # all of them were answered while warming
    held.set()
    assert retriever.warming.wait(60) and retriever.warm
    after = [retriever.ask(q, k=3) for q in asks]
    assert during == after
    synchronous = Retriever.open(project, fake_embedder)
    synchronous.warm_up(background=False)
    assert synchronous.warm
    assert [synchronous.ask(q, k=3) for q in asks] == after


def test_health_says_warming_until_the_files_are_mapped_in(project, fake_embedder, held):
    from qa.web.server import create_app

    _write_docs(project, 4)
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    retriever.warm_up()
    client = TestClient(create_app(project, retriever))
    res = client.get("/api/v1/health")
    assert res.status_code == 200
    assert res.json()["status"] == "ok" and res.json()["warm_up"] == "warming"
    assert client.post("/api/v1/ask", json={"question": "topic2 word5"}).status_code == 200
    held.set()
    assert retriever.warming.wait(60)
    assert client.get("/api/v1/health").json()["warm_up"] == "ready"


def test_a_warm_up_that_fails_costs_speed_not_answers(project, fake_embedder, monkeypatch):
    _write_docs(project, 6)
    ensure_index(project, fake_embedder)
    expected = Retriever.open(project, fake_embedder).ask("topic2 word5", k=3)

    def broken(self):
        raise OSError("the disk went away")

    monkeypatch.setattr(LexicalIndex, "map_in", broken)
    retriever = Retriever.open(project, fake_embedder)
    retriever.warm_up()
    assert retriever.warming.wait(60) and retriever.warm
    assert retriever.ask("topic2 word5", k=3) == expected


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc")
def test_populating_in_chunks_maps_every_page_and_keeps_the_advice(tmp_path, monkeypatch):
    import mmap

    import qa.pages
    from qa.pages import populate, populate_map, randomly_read

    monkeypatch.setattr(qa.pages, "CHUNK", 3 * 4096)
    path = tmp_path / "codes.bin"
    path.write_bytes(bytes(range(256)) * 4096 + b"tail")  # not a whole number of chunks
    with open(path, "rb") as f:
        random = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    random.madvise(mmap.MADV_RANDOM)
    assert populate(path) >= path.stat().st_size
    assert resident_bytes(path) >= path.stat().st_size - 4096
    assert len(randomly_read(path)) == 1  # advised random again, one mapping again
    random.close()
    other = tmp_path / "postings.bin"
    other.write_bytes(bytes(range(256)) * 4096)
    with open(other, "rb") as f:
        normal = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    assert resident_bytes(other) < other.stat().st_size // 2
    assert populate_map(normal) == other.stat().st_size
    assert resident_bytes(other) >= other.stat().st_size - 4096
    assert not randomly_read(other)
    normal.close()
