"""Stopping a running build: from the admin API (cooperatively, between embedding batches) and by
Ctrl-C in ``qa index``. The previous index keeps answering untouched, nothing of the stopped
build stays on disk, the lock is free, the uploads stay (not yet indexed), and the status says
what happened until the next build."""

from __future__ import annotations

import os
import signal
import threading

import pytest

import qa.embedders.base
from qa.cli import main
from qa.index.build import ensure_index
from qa.index.collections import collection_settings
from qa.index.files import live_folder
from qa.index.lock import build_lock, build_running
from qa.index.stopping import STOP, stopped
from tests.test_admin import admin, courses, make_app  # noqa: F401  (courses is a fixture)
from tests.test_collections import ROME, VOLCANO, GatedEmbedder


def _leftovers(index_dir) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith((".tmp-build-", "build-")))


def test_an_author_stops_a_build_and_the_previous_index_keeps_answering(courses, fake_embedder):  # noqa: F811
    gated = GatedEmbedder(fake_embedder, "basalt")
    client, registry = make_app(courses, gated)
    index_dir = collection_settings(courses, "biology").index_dir
    live, folders = live_folder(index_dir), _leftovers(index_dir)
    base = "/api/v1/admin/collections/biology"
    assert client.post(f"{base}/stop", headers=admin()).status_code == 409  # nothing runs
    assert (
        client.put(f"{base}/documents/volcano.md", content=VOLCANO.encode(), headers=admin()).status_code
        == 202
    )
    assert gated.entered.wait(30)
    asked = client.post(f"{base}/stop", headers=admin())
    assert asked.status_code == 202 and asked.json()["message"].startswith("stopping")
    gated.open.set()
    assert registry.wait("biology").state == "stopped"  # a stop on request, not a failure
    status = client.get(f"{base}/status", headers=admin()).json()
    assert status["state"] == "stopped", status
    assert status["message"].startswith("Build stopped; the course still answers from the documents of ")
    assert status["message"].endswith(" UTC") and status["documents"] == 1
    assert live_folder(index_dir) == live and _leftovers(index_dir) == folders  # untouched, nothing partial
    assert build_running(index_dir) is None and not (index_dir / STOP).exists()  # the lock is free
    docs = {d["name"]: d for d in client.get(base, headers=admin()).json()["documents"]}
    assert docs["volcano.md"]["indexed_at"] == "" and docs["volcano.md"]["windows"] == 0  # kept, not indexed
    answer = client.post(
        "/api/v1/ask", json={"question": "lava cools quickly basalt", "collection": "biology"}
    )
    assert {p["citation"]["source"] for p in answer.json()["passages"]} == {"seeds/biology/cells.md"}
    # the next build is not stopped by the old request, and the stop is forgotten once it runs
    client.put(f"{base}/documents/volcano.md", content=VOLCANO.encode(), headers=admin())
    assert registry.wait("biology").state == "done"
    assert client.get(f"{base}/status", headers=admin()).json()["state"] == "done"
    assert stopped(index_dir) is None and live_folder(index_dir) != live


def _built_then_changed(project, fake_embedder):
    """An index built of one document, then a second added: its build time and live folder."""
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    built = ensure_index(project, fake_embedder).index.manifest.built_at
    live = live_folder(project.index_dir)
    (project.seeds_dir / "b.txt").write_text("lava cools quickly into basalt", encoding="utf-8")
    return built, live


def test_ctrl_c_in_qa_index_writes_nothing_and_says_so(project, fake_embedder, monkeypatch, capsys):
    built, live = _built_then_changed(project, fake_embedder)

    class Interrupted:
        name, dimension = fake_embedder.name, fake_embedder.dimension

        def encode(self, texts):
            raise KeyboardInterrupt

    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: Interrupted())
    assert main(["index", "--root", str(project.root), "--model", "fake-model"]) == 130
    err = capsys.readouterr().err
    assert "index build stopped; nothing of it was written" in err and "Traceback" not in err
    assert stopped(project.index_dir).answers_from == built
    assert live_folder(project.index_dir) == live and _leftovers(project.index_dir) == [live.name]
    assert build_running(project.index_dir) is None
    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: fake_embedder)
    assert main(["index", "--root", str(project.root), "--model", "fake-model"]) == 0
    assert stopped(project.index_dir) is None


def test_sigterm_in_qa_index_stops_the_build_as_ctrl_c_does(project, fake_embedder, monkeypatch, capsys):
    """SIGTERM (a service stopping, `timeout`, a cancelled CI job) ended qa index where it stood:
    no line said what happened, and the build's progress note stayed beside the lock."""
    built, live = _built_then_changed(project, fake_embedder)

    class Terminated:
        name, dimension = fake_embedder.name, fake_embedder.dimension

        def encode(self, texts):
            os.kill(os.getpid(), signal.SIGTERM)
            return fake_embedder.encode(texts)

    class Killed(Exception):
        pass

    def killed(signum, frame):  # what the default action would do, without ending pytest
        raise Killed

    before = signal.signal(signal.SIGTERM, killed)
    try:
        monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: Terminated())
        assert main(["index", "--root", str(project.root), "--model", "fake-model"]) == 128 + signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) is killed  # given back once qa index is done
    except Killed:
        pytest.fail("SIGTERM ended qa index where it stood")
    finally:
        signal.signal(signal.SIGTERM, before)
    err = capsys.readouterr().err
    assert "index build stopped; nothing of it was written" in err and "Traceback" not in err
    assert stopped(project.index_dir).answers_from == built
    assert live_folder(project.index_dir) == live and _leftovers(project.index_dir) == [live.name]
    assert build_running(project.index_dir) is None
    assert not (project.index_dir / ".building").exists()


def test_a_collection_deleted_while_it_builds_never_answers_from_its_documents_again(courses, fake_embedder):  # noqa: F811
    """Deleting a collection whose build ran left the build running: once done it published the
    deleted documents' index into the collection's folder, and a collection made again under
    the name (empty, listing no documents) answered learners from them. The delete stops the
    build and waits for it; the new collection is empty and says so."""
    gated = GatedEmbedder(fake_embedder, "basalt")
    client, registry = make_app(courses, gated)
    base = "/api/v1/admin/collections/biology"
    index_dir = collection_settings(courses, "biology").index_dir
    assert (
        client.put(f"{base}/documents/volcano.md", content=VOLCANO.encode(), headers=admin()).status_code
        == 202
    )
    assert gated.entered.wait(30)
    deleted = []
    deleting = threading.Thread(target=lambda: deleted.append(client.delete(base, headers=admin())))
    deleting.start()
    for _ in range(300):  # the delete asks the build to stop, then waits for it
        if (index_dir / STOP).exists():
            break
        threading.Event().wait(0.01)
    gated.open.set()
    deleting.join(60)
    assert deleted and deleted[0].status_code == 204
    assert registry.wait("default").state in ("ready", "done")
    made = client.post(
        "/api/v1/admin/collections", json={"name": "biology", "title": "Biology again"}, headers=admin()
    )
    assert made.status_code == 201, made.text
    registry.wait("biology", timeout=5)
    assert not index_dir.exists() or not any(p.name.startswith("build-") for p in index_dir.iterdir())
    view = client.get(base, headers=admin()).json()
    assert view["documents"] == [] and view["status"]["state"] == "empty", view["status"]
    answer = client.post(
        "/api/v1/ask", json={"question": "lava cools quickly basalt", "collection": "biology"}
    )
    assert answer.status_code == 409, answer.text  # no documents yet, none of the deleted ones


def _indexed(client, base) -> dict[str, int]:
    return {d["name"]: d["windows"] for d in client.get(base, headers=admin()).json()["documents"]}


def test_a_stop_also_cancels_the_build_queued_after_the_running_one(courses, fake_embedder):  # noqa: F811
    gated = GatedEmbedder(fake_embedder, "basalt")
    client, registry = make_app(courses, gated)
    base = "/api/v1/admin/collections/biology"
    client.put(f"{base}/documents/volcano.md", content=VOLCANO.encode(), headers=admin())
    assert gated.entered.wait(30)
    # a second upload while the first build runs: a build queued after it
    client.put(f"{base}/documents/rome.md", content=ROME.encode(), headers=admin())
    asked = client.post(f"{base}/stop", headers=admin())
    assert asked.status_code == 202 and "queued after it is cancelled" in asked.json()["message"]
    gated.open.set()
    assert registry.wait("biology").state == "stopped"
    status = client.get(f"{base}/status", headers=admin()).json()
    assert status["state"] == "stopped", status
    assert status["message"].startswith(
        "Build stopped, and the build queued after it cancelled; the course still answers from "
    )
    indexed = _indexed(client, base)
    assert indexed["rome.md"] == indexed["volcano.md"] == 0 and indexed["cells.md"] > 0
    # the next change asks for a new build: the stop is past, the upload kept is indexed
    client.delete(f"{base}/documents/rome.md", headers=admin())
    assert registry.wait("biology").state == "done"
    index_dir = collection_settings(courses, "biology").index_dir
    assert _indexed(client, base)["volcano.md"] > 0 and stopped(index_dir) is None


def test_a_stop_cancels_a_build_waiting_for_another_process_and_says_so(courses, fake_embedder, monkeypatch):  # noqa: F811
    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: fake_embedder)
    client, registry = make_app(courses, fake_embedder)
    index_dir = collection_settings(courses, "biology").index_dir
    base = "/api/v1/admin/collections/biology"
    with build_lock(index_dir):  # another process (a replica, qa index) is building
        client.put(f"{base}/documents/volcano.md", content=VOLCANO.encode(), headers=admin())
        assert client.post(f"{base}/stop", headers=admin()).status_code == 202
        # cancelled while it waits, within about a second, not once the other build ends
        assert registry.wait("biology", timeout=10).state == "stopped"
    status = client.get(f"{base}/status", headers=admin()).json()
    assert status["message"].startswith("Queued build cancelled before it began; the course still answers")
    assert _indexed(client, base)["volcano.md"] == 0 and build_running(index_dir) is None
    # qa index is a new request: it builds, and the stop no longer stands
    args = ["index", "--root", str(courses.root), "--model", "fake-model", "--collection", "biology"]
    assert main(args) == 0
    assert stopped(index_dir) is None and not (index_dir / STOP).exists()


def test_a_stopped_build_gives_its_bm25_up_at_the_next_window_size(project, fake_embedder, monkeypatch):
    """BM25 is built on a thread beside the embedding; a build that stops no longer lets it run
    to its end for nothing, and the thread is a daemon (a stopped qa index exits at once)."""
    import threading

    import qa.index.build as build
    from qa.errors import BuildStoppedError
    from qa.index.progress import LOADING
    from qa.lexical.bm25 import LexicalIndex

    # the real BM25 build reads its texts size by size: given up after the first size, it ends
    read, given_up = [], threading.Event()

    class Counted(build._Abandonable):
        def __getitem__(self, i):
            read.append(i)
            text = super().__getitem__(i)
            if len(read) == 3:  # the three windows of the first size (20 words) are read
                given_up.set()
            return text

    texts = ["alpha beta"] * 3 + ["gamma delta"] * 2
    with pytest.raises(BuildStoppedError):
        LexicalIndex(Counted(texts, given_up), [20, 20, 20, 40, 40])
    assert len(read) == 4  # the second size's first text raised

    # a build stopped while its BM25 runs: the BM25 thread ends at its next read
    entered, go, ended = threading.Event(), threading.Event(), []

    class Slow:
        def __init__(self, texts, scales, *, check=None):
            texts[0]
            entered.set()
            go.wait(30)
            try:
                texts[1]
            except BuildStoppedError:
                ended.append(threading.current_thread())
                raise

    def stop_at_loading(p):
        if p.stage == LOADING:
            assert entered.wait(30)
            raise BuildStoppedError("the build was stopped on request")

    monkeypatch.setattr(build, "LexicalIndex", Slow)
    (project.seeds_dir / "a.txt").write_text("lava cools quickly into basalt " * 20, encoding="utf-8")
    documents = build.scan_sources(project.seeds_dir, project.root, max_file_mb=10)[0]
    with pytest.raises(BuildStoppedError):
        build.build_index(documents, settings=project, embedder=fake_embedder, stages=stop_at_loading)
    go.set()
    for thread in threading.enumerate():
        if thread.name == "qa-bm25":
            assert thread.daemon
            thread.join(10)
    assert ended and ended[0].daemon


def test_a_server_stopped_during_an_authors_build_logs_that_the_shutdown_stopped_it(
    courses,  # noqa: F811
    fake_embedder,
    monkeypatch,
    caplog,
):
    """SIGTERM to ``qa serve`` (uvicorn stops, ``serve`` returns) while an upload's build runs:
    the build ends with the process, and the log says so and which index stays."""
    from fastapi.testclient import TestClient

    import qa.web.server
    import qa.web.shutdown
    from qa.index.files import read_manifest
    from qa.retrieval.retriever import Retriever
    from tests.test_admin import ADMIN

    gated = GatedEmbedder(fake_embedder, "basalt")
    settings = courses.replace(admin_key=ADMIN, rate_limit=10_000)
    monkeypatch.setattr(qa.web.server, "prepare", lambda s: Retriever(ensure_index(s, gated).index, gated, s))

    def run_server(app, **options):  # an upload, then the server told to stop while it builds
        client = TestClient(app)
        res = client.put(
            "/api/v1/admin/collections/biology/documents/volcano.md",
            content=VOLCANO.encode(),
            headers=admin(),
        )
        assert res.status_code == 202 and gated.entered.wait(30)
        return True

    monkeypatch.setattr(qa.web.shutdown, "run_server", run_server)
    built = read_manifest(collection_settings(courses, "biology").index_dir).built_at
    try:
        with caplog.at_level("WARNING", logger="qa.web.shutdown"):
            qa.web.server.serve(settings)
    finally:
        gated.open.set()
    said = [r.getMessage() for r in caplog.records if r.name == "qa.web.shutdown"]
    assert said == [
        "collection biology: the build was stopped by the server's shutdown; nothing of it was written, "
        f"the index built {built} stays and answers (the next start builds it again)"
    ]


def test_the_bm25_build_checks_for_a_stop_while_it_reads_the_windows_terms(monkeypatch):
    """The BM25 pass (alone at work when every vector is reused) was checked for a stop only
    before and after each window size: now every CHECK_EVERY windows while their terms are read."""
    import qa.lexical.bm25 as bm25
    from qa.errors import BuildStoppedError

    read = []
    monkeypatch.setattr(bm25, "terms", lambda text: read.append(text) or text.split())
    checks = []

    def check():
        checks.append(len(read))
        if len(checks) == 3:
            raise BuildStoppedError("the build was stopped on request")

    texts = [f"window {i} about basalt" for i in range(5 * bm25.CHECK_EVERY)]
    with pytest.raises(BuildStoppedError):
        bm25.LexicalIndex(texts, check=check)
    assert checks == [0, bm25.CHECK_EVERY, 2 * bm25.CHECK_EVERY]  # stopped two fifths of the way
    read.clear()
    assert bm25.LexicalIndex(texts[:10], check=lambda: None).n == 10 and len(read) == 10
