"""A server follows a build another process publishes while it is idle: the first question
after the build is answered from it (two replicas on one index folder, an upload through one)."""

from __future__ import annotations

import time

import httpx
import pytest

from qa.config import Settings
from qa.errors import EmptyCollectionError
from qa.index.build import ensure_index
from qa.index.files import POINTER
from qa.retrieval.retriever import Retriever
from qa.web.live import LiveRetriever
from tests.conftest import start_server, stop_server
from tests.test_collections import ROME, VOLCANO

ADMIN = "replica-admin-key-0123456789"
REBUILT = "now answering from the rebuilt index"


def test_a_watching_retriever_loads_a_published_build_without_a_question(project, fake_embedder):
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    live = LiveRetriever(
        Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project),
        project,
        every=0.1,
        watch=True,
    )
    (project.seeds_dir / "volcano.md").write_text(VOLCANO, encoding="utf-8")
    ensure_index(project, fake_embedder)  # `qa index`, or another replica's upload
    deadline = time.monotonic() + 60
    while live.reloads == 0 and time.monotonic() < deadline:  # nothing here asks a question
        time.sleep(0.05)
    assert live.reloads == 1
    assert "seeds/volcano.md" in {d.source for d in live._current.index.documents}


def test_a_retriever_that_does_not_watch_waits_for_a_question(project, fake_embedder):
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    live = LiveRetriever(
        Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project), project, every=0.1
    )
    (project.seeds_dir / "volcano.md").write_text(VOLCANO, encoding="utf-8")
    ensure_index(project, fake_embedder)
    time.sleep(0.5)
    assert live.reloads == 0


def test_a_retriever_stops_answering_when_its_index_is_unpublished(project, fake_embedder):
    """The last document of a collection removed (here or by another replica) unpublishes its
    index; a replica still holding the old one must not answer from it and cite removed files."""
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    live = LiveRetriever(
        Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project), project, every=0.0
    )
    assert live.ask("Who crossed the Rubicon?").passages
    (project.index_dir / POINTER).unlink()  # what the registry does when no document is left
    with pytest.raises(EmptyCollectionError, match="no indexed documents"):
        live.ask("Who crossed the Rubicon?")
    with pytest.raises(EmptyCollectionError):
        live.index  # noqa: B018 - a document page or a listing reads the index
    (project.seeds_dir / "rome.md").unlink()
    (project.seeds_dir / "volcano.md").write_text(VOLCANO, encoding="utf-8")
    ensure_index(project, fake_embedder)  # an upload publishes a build again
    live.refresh(wait=True)
    assert {d.source for d in live.current.index.documents} == {"seeds/volcano.md"}


def _wait_for_log(log, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text().count(REBUILT) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"no {count}. {REBUILT!r} in {log}:\n{log.read_text()[-2000:]}")


def _wait_until_built(url: str) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = httpx.get(url + "/api/v1/admin/collections/default/status", headers=headers).json()["state"]
        if state not in ("queued", "indexing"):
            assert state == "done"
            return
        time.sleep(0.3)
    raise AssertionError("the build did not finish")


def _top_source(url: str, question: str) -> str | None:
    body = httpx.post(url + "/api/v1/ask", json={"question": question}, timeout=60).json()
    return None if body["abstained"] else body["passages"][0]["citation"]["source"]


@pytest.mark.slow
def test_an_upload_through_one_replica_is_answered_by_the_other_at_its_first_question(tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "rome.md").write_text(ROME, encoding="utf-8")
    settings = Settings(root=tmp_path)
    env = {"QA_ROOT": str(tmp_path), "QA_ADMIN_KEY": ADMIN}
    a, url_a = start_server(settings, tmp_path, **env)
    b, url_b = start_server(settings, tmp_path, **env)
    log_b = tmp_path / f"server-{url_b.rsplit(':', 1)[1]}.log"
    headers = {"Authorization": f"Bearer {ADMIN}"}
    try:
        assert _top_source(url_b, "Who crossed the Rubicon?") == "seeds/rome.md"
        put = httpx.put(
            url_a + "/api/v1/admin/collections/default/documents/volcano.md",
            content=VOLCANO.encode(),
            headers=headers,
            timeout=60,
        )
        assert put.status_code == 202
        _wait_until_built(url_a)
        _wait_for_log(log_b, 1)  # B loaded A's build by itself, asked nothing meanwhile
        assert _top_source(url_b, "What forms when lava cools quickly?") == "seeds/volcano.md"

        gone = httpx.delete(url_a + "/api/v1/admin/collections/default/documents/volcano.md", headers=headers)
        assert gone.status_code == 202
        _wait_until_built(url_a)
        _wait_for_log(log_b, 2)
        assert _top_source(url_b, "What forms when lava cools quickly?") != "seeds/volcano.md"
    finally:
        for proc in (a, b):
            stop_server(proc)
