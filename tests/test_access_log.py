"""The server's log has one line per request (method, path, status, time, client) and never a
secret: no query string (``?key=``, signed links' ``sig=``), no headers, no LTI session token."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from qa.web.access_log import AccessLog, logged_path
from tests.test_collections import ROME

KEY = "learner-key-0123456789-secret"


def test_each_request_is_one_line_without_secrets(project, fake_embedder, caplog):
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    settings = project.replace(api_key=KEY, rate_limit=10_000)
    retriever = Retriever(ensure_index(settings, fake_embedder).index, fake_embedder, settings)
    client = TestClient(AccessLog(create_app(settings, retriever)), raise_server_exceptions=False)
    caplog.set_level(logging.INFO, logger="qa.web.access_log")
    client.get(f"/session?key={KEY}", follow_redirects=False)
    client.post(
        "/api/v1/ask",
        json={"question": "what is rubicon crossing"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    client.post(
        "/api/v1/ask",
        json={"question": "what is rubicon crossing"},
        headers={"Authorization": "Bearer not-the-key-xyz"},
    )
    client.get("/widget.js")  # a static file served: no line
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.web.access_log"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("GET /session 30")
    assert lines[1].startswith("POST /api/v1/ask 200 ") and lines[1].split()[-2] == "ms"
    assert lines[2].startswith("POST /api/v1/ask 401 ")
    assert all(r.levelname == "INFO" for r in caplog.records if r.name == "qa.web.access_log")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert KEY not in text and "rubicon crossing" not in text and "not-the-key-xyz" not in text


def test_an_lti_session_token_in_the_path_is_not_logged():
    assert logged_path("/lti/chat/eyJhbGciOi.abc.def/api/v1/ask") == "/lti/chat/…/api/v1/ask"
    assert logged_path("/lti/admin/tok3n/admin.js") == "/lti/admin/…/admin.js"
    assert logged_path("/lti/launch") == "/lti/launch"
    assert logged_path("/context/seeds/a.md") == "/context/seeds/a.md"


def test_a_chat_session_id_in_the_heartbeat_path_is_not_logged():
    """With a session's id, Gradio's queue/data streams that conversation's answers; its query
    string is never logged, and neither is the heartbeat's path that holds the same id."""
    assert logged_path("/gradio_api/heartbeat/mzic7j2ncoo") == "/gradio_api/heartbeat/…"
    assert logged_path("/gradio_api/queue/join") == "/gradio_api/queue/join"


def test_an_event_stream_says_how_long_it_was_open_not_a_response_time(caplog, monkeypatch):
    """Gradio's heartbeat stays open as long as the chat page: its line is not a slow request."""
    import qa.web.access_log as access_log
    from tests.conftest import run_coroutine

    times = [100.0, 412.4]  # when it was asked for, then ever after

    async def stream(scope, receive, send):
        headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"event: heartbeat\n\n"})

    async def nothing(message):
        return None

    caplog.set_level(logging.INFO, logger="qa.web.access_log")
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/gradio_api/heartbeat/s3ss10n",
        "client": ("10.0.0.7", 1),
    }
    monkeypatch.setattr(access_log.time, "perf_counter", lambda: times.pop(0) if len(times) > 1 else times[0])
    run_coroutine(AccessLog(stream)(scope, None, nothing))
    line = [r.getMessage() for r in caplog.records if r.name == "qa.web.access_log"][-1]
    assert line == "GET /gradio_api/heartbeat/… 200 event stream, open 312 s 10.0.0.7"
