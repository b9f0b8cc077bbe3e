"""Faults: a build killed at random moments, sources changing under a running server."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from fastapi.testclient import TestClient

from qa.index.build import ensure_index
from qa.index.files import load_index
from tests.conftest import REPO, FakeEmbedder

BUILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from tests.conftest import FakeEmbedder
    from qa.config import Settings
    from qa.index.build import ensure_index

    class Slow(FakeEmbedder):
        def encode(self, texts):
            time.sleep(0.002 * len(texts))
            return super().encode(texts)

    settings = Settings(root={root!r}, model="fake-model")
    print("start", flush=True)
    ensure_index(settings, Slow())
    print("done", flush=True)
    """
)


def _words(n, tag):
    return " ".join(f"{tag}{i % 97} word{i % 13}" for i in range(n))


def test_build_killed_at_random_points_leaves_the_previous_index(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text(_words(3000, "alpha"), encoding="utf-8")
    previous = ensure_index(project, fake_embedder).index
    script = project.root / "build.py"
    script.write_text(BUILD.format(repo=str(REPO), root=str(project.root)), encoding="utf-8")
    rng = random.Random(7)
    for round_ in range(4):
        (project.seeds_dir / "a.txt").write_text(_words(3000, f"v{round_}x"), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "start"
        time.sleep(rng.uniform(0.05, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        loaded = load_index(project.index_dir)  # verifies every file's hash
        # either the old index or a complete new one, never a mix
        assert loaded.manifest.sources == previous.manifest.sources or proc.returncode == -signal.SIGKILL
        assert len(loaded) == len(loaded.store) == loaded.lexical.n == loaded.manifest.chunks
        assert loaded.documents[0].sha256 == loaded.manifest.sources["seeds/a.txt"]
        previous = loaded
    # after the crashes a normal build completes and cleans up the leftovers
    report = ensure_index(project, fake_embedder)
    assert report.index.manifest.sources["seeds/a.txt"] == report.index.documents[0].sha256
    assert not [p for p in project.index_dir.iterdir() if p.name.startswith(".tmp-build-")]


def test_health_notices_changed_and_removed_sources(project, fake_embedder):
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    (project.seeds_dir / "a.txt").write_text(_words(300, "a"), encoding="utf-8")
    (project.seeds_dir / "b.txt").write_text(_words(300, "b"), encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    app = create_app(project, Retriever(index, FakeEmbedder(), project))
    (project.seeds_dir / "a.txt").write_text(_words(300, "changed"), encoding="utf-8")
    (project.seeds_dir / "b.txt").unlink()
    health = TestClient(app).get("/api/v1/health").json()
    assert health["status"] == "stale"
    assert "source changed: seeds/a.txt" in health["sources_changed"]
    assert "source removed: seeds/b.txt" in health["sources_changed"]
    # answers keep coming from the indexed snapshot, with exact citations
    res = TestClient(app).post("/api/v1/ask", json={"question": "a5 word5"})
    assert res.status_code == 200
    p = res.json()["passages"][0]
    assert (
        index.document(p["citation"]["source"]).text[p["citation"]["start"] : p["citation"]["end"]]
        == p["text"]
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [("truncate", "damaged"), ("garbage", "damaged"), ("delete", "unreadable")],
)
@pytest.mark.parametrize(
    "victim", ["store/vectors.npy", "store/index.faiss", "lexical/40/indptr.csc.index.npy"]
)
def test_damaged_index_files_are_clear_errors_then_rebuilt(project, fake_embedder, damage, expected, victim):
    from qa.errors import IndexCorruptError

    if victim.endswith(".faiss"):
        project = project.replace(faiss_index="IVF4,SQ8")
    (project.seeds_dir / "a.txt").write_text(_words(300, "a"), encoding="utf-8")
    ensure_index(project, fake_embedder)
    folder = project.index_dir / (project.index_dir / "CURRENT").read_text().strip()
    target = folder / victim
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "garbage":
        target.write_bytes(os.urandom(target.stat().st_size))
    else:
        target.unlink()
    with pytest.raises(IndexCorruptError, match=expected):
        load_index(project.index_dir)
    report = ensure_index(project, fake_embedder)  # what `qa serve` / `qa index` do on start
    assert report.status == "built" and len(load_index(project.index_dir).store) > 0


def test_answers_stay_exact_while_a_rebuilt_index_is_swapped_in(project, fake_embedder):
    """Questions asked while `qa index` publishes a new build and the server swaps it in all
    get 200, and every quote is exactly the text of the index that answered it."""
    import threading

    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    a = project.seeds_dir / "a.txt"
    old_text = _words(600, "old")
    a.write_text(old_text, encoding="utf-8")
    ensure_index(project, fake_embedder)
    settings = project.replace(rate_limit=100_000)
    app = create_app(settings, Retriever.open(settings, FakeEmbedder()))
    live = app.app.state.live
    live.every = 0.0
    client = TestClient(app)
    new_text = "fresh start. " + _words(600, "new")
    failures: list[str] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            res = client.post("/api/v1/ask", json={"question": "old5 new5 word5", "k": 3})
            if res.status_code != 200:
                failures.append(f"{res.status_code} {res.text[:100]}")
                continue
            for p in res.json()["passages"]:
                c = p["citation"]
                if p["text"] not in (old_text[c["start"] : c["end"]], new_text[c["start"] : c["end"]]):
                    failures.append(f"inexact quote {c}")

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    a.write_text(new_text, encoding="utf-8")
    ensure_index(project, FakeEmbedder())
    live.refresh(wait=True)
    stop.set()
    for t in threads:
        t.join(30)
    assert not failures, failures[:3]
    body = client.post("/api/v1/ask", json={"question": "new5 word5", "k": 3}).json()
    assert body["stale"] is False
    assert all(new_text[p["citation"]["start"] : p["citation"]["end"]] == p["text"] for p in body["passages"])
