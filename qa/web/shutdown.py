"""A clean stop: open event streams end when the server begins to shut down.

A chat page keeps Gradio event streams (``text/event-stream``) open for as long as it is open.
uvicorn's graceful shutdown waits for every response to finish, so with a page open a restart
waited out ``timeout_graceful_shutdown`` (5 s) and then cancelled the streams, logging "Cancel 1
running task(s), timeout graceful shutdown exceeded" and a traceback. :class:`StreamCloser`
tells each open stream's response that its client left (``http.disconnect``, as when a tab
closes) once :func:`run_server`'s server starts shutting down, and ends the response properly;
the page notices the restart as it does a dropped connection.

A build an author started (an upload, a deletion) ends with the process: it publishes nothing,
as a build is published at once at its end, and the index built before it keeps answering once
the server is back, whose start builds the collection again. :func:`log_unfinished_builds` says
so in the log, as ``qa index`` says it on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.retrieval.registry import Registry

__all__ = ["StreamCloser", "log_unfinished_builds", "run_server"]

log = logging.getLogger(__name__)

Message = dict[str, Any]


class StreamCloser:
    """ASGI middleware ending open event streams when :meth:`close` is called (the server stops)."""

    def __init__(self, app) -> None:
        self.app = app
        self._closing = asyncio.Event()

    def close(self) -> None:
        """End every open event stream now (call in the server's event loop)."""
        self._closing.set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":  # streams are GETs
            await self.app(scope, receive, send)
            return
        response = {"stream": False, "complete": False, "ended": False}

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or ())
                response["stream"] = headers.get(b"content-type", b"").startswith(b"text/event-stream")
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                response["complete"] = True
            await send(message)

        async def receive_or_close() -> Message:
            pending = asyncio.ensure_future(receive())
            closing = asyncio.ensure_future(self._closing.wait())
            try:
                done, _ = await asyncio.wait({pending, closing}, return_when=asyncio.FIRST_COMPLETED)
            except BaseException:
                pending.cancel()
                raise
            finally:
                closing.cancel()
            if pending in done:
                return pending.result()
            if response["stream"] and not response["complete"]:
                pending.cancel()
                response["ended"] = True
                return {"type": "http.disconnect"}
            return await pending  # not a stream: it finishes as usual

        await self.app(scope, receive_or_close, watched_send)
        if response["ended"] and not response["complete"]:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def run_server(app: StreamCloser, sockets: list | None = None, **options: Any) -> bool:
    """Serve ``app`` with uvicorn (``options``: :class:`uvicorn.Config`'s) until told to stop,
    closing its event streams as the shutdown begins; whether the server started."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            app.close()
            await super().shutdown(sockets=sockets)

    server = Server(uvicorn.Config(app, **options))
    try:
        server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    return server.started


def log_unfinished_builds(settings: Settings, registry: Registry) -> list[str]:
    """Log, for each build of ``registry`` (this process's) running or queued as the server
    stops, that the shutdown stopped it and which index stays; the collections so logged."""
    from qa.errors import QAError
    from qa.index.collections import collection_names, collection_settings
    from qa.index.files import read_manifest

    logged = []
    for name in collection_names(settings):
        status = registry.status(name)
        if not status.busy:
            continue
        try:
            built_at = read_manifest(collection_settings(settings, name).index_dir).built_at
        except QAError:
            built_at = ""
        what = "build" if status.state == "indexing" else "queued build"
        kept = f"the index built {built_at} stays and answers" if built_at else "there is still no index"
        log.warning(
            "collection %s: the %s was stopped by the server's shutdown; nothing of it was written, "
            "%s (the next start builds it again)",
            name,
            what,
            kept,
        )
        logged.append(name)
    return logged
