"""A restart with a chat page open: its event streams end as the server begins to shut down,
instead of holding uvicorn's graceful shutdown to its timeout and a traceback."""

from __future__ import annotations

import asyncio

from starlette.responses import PlainTextResponse, StreamingResponse

from qa.web.shutdown import StreamCloser
from tests.conftest import run_coroutine


async def _forever():
    yield "data: hello\n\n"
    while True:
        await asyncio.sleep(3600)
        yield "data: still here\n\n"


def _app(scope, receive, send):
    if scope["path"] == "/stream":
        return StreamingResponse(_forever(), media_type="text/event-stream")(scope, receive, send)
    return PlainTextResponse("ok")(scope, receive, send)


def _request(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path, "headers": [], "asgi": {"spec_version": "2.3"}}


def test_an_open_event_stream_ends_properly_when_the_server_closes():
    async def run():
        closer = StreamCloser(_app)
        sent, never = [], asyncio.Event()

        async def receive():
            await never.wait()  # the client stays: only the server ends the stream

        async def send(message):
            sent.append(message)

        stream = asyncio.ensure_future(closer(_request("/stream"), receive, send))
        await asyncio.sleep(0.05)
        assert not stream.done() and sent[1]["body"] == b"data: hello\n\n"
        closer.close()
        await asyncio.wait_for(stream, 2)
        return sent

    sent = run_coroutine(run())
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}  # a complete response
    assert sum(not m.get("more_body", False) for m in sent if m["type"] == "http.response.body") == 1


def test_other_requests_are_not_cut_short():
    async def run():
        closer = StreamCloser(_app)
        closer.close()
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await asyncio.wait_for(closer(_request("/page"), receive, send), 2)
        return sent

    sent = run_coroutine(run())
    assert sent[0]["status"] == 200 and sent[-1]["body"] == b"ok"
