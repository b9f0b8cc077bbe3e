"""One server process: the JSON API and the Gradio chat UI on one FastAPI app, behind one guard.

``prepare`` makes sure the index is built and fresh (building it on first start, and saying
why) and returns a warmed-up retriever; ``create_app`` wires the pieces; ``serve`` runs it with
uvicorn, trusting forwarded headers only from ``trusted_proxies``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from importlib import resources
from typing import Any

from qa.config import Settings
from qa.retrieval.retriever import Retriever
from qa.web.live import LiveRetriever

__all__ = ["create_app", "prepare", "serve", "uvicorn_options"]

log = logging.getLogger(__name__)

FEEDBACK_FUNCTIONS = ("rate",)
FREE_FUNCTIONS = ("clear", "<lambda>")


def prepare(settings: Settings, *, say: Callable[[str], None] | None = None) -> Retriever:
    """Build or update the index if needed, then open a retriever with the model loaded."""
    from qa.embedders.base import make_embedder
    from qa.index.core import ensure_index

    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    embedder = make_embedder(settings)
    say(f"checking the index in {settings.index_dir} ...")
    report = ensure_index(
        settings, embedder, progress=lambda done, total: say(f"  embedded {done}/{total} windows")
    )
    for message in report.skipped:
        say(f"warning: skipped {message}")
    for reason in report.reasons:
        say(f"  rebuilt because: {reason}")
    say(f"index {report.status}: {len(report.index.documents)} documents, {len(report.index)} windows")
    retriever = Retriever(report.index, embedder, settings)
    say("loading the model ...")
    retriever.warm_up()
    return retriever


def call_kinds(demo) -> dict[int, str]:
    """Each Gradio function's limit: ``feedback`` for the rating, ``free`` for clearing, and
    ``question`` for everything else (asking, examples, and anything added later)."""
    kinds = {}
    for fn_id, block_fn in getattr(demo, "fns", {}).items():
        fn = getattr(block_fn, "fn", None)
        name = getattr(fn, "__name__", "")
        if fn is None or name in FREE_FUNCTIONS:  # no server code (JavaScript only), or clearing
            kinds[int(fn_id)] = "free"
        else:
            kinds[int(fn_id)] = "feedback" if name in FEEDBACK_FUNCTIONS else "question"
    return kinds


def create_app(settings: Settings, retriever: Retriever | LiveRetriever):
    """The application: ``/api/v1/...``, ``/embed``, ``/widget.js``, ``/session`` and the chat UI
    at ``/``, all behind :class:`~qa.web.security.SecurityMiddleware`. The FastAPI app is
    ``.app`` of the result and the live retriever ``.app.state.live``."""
    import gradio as gr
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, Response

    from qa.web.api import api_router
    from qa.web.errors import install_error_handlers
    from qa.web.originals import originals_router
    from qa.web.security import SecurityMiddleware, api_routes
    from qa.web.ui import CSS, build_ui

    live = retriever if isinstance(retriever, LiveRetriever) else LiveRetriever(retriever, settings)
    app = FastAPI(
        title="qa",
        version="1",
        description="Questions answered with passages of the course documents and exact citations.",
    )
    app.state.live = live
    install_error_handlers(app)
    app.include_router(api_router(settings, live))
    app.include_router(originals_router(settings, live))
    static = resources.files("qa.web") / "static"

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return Response(
            (static / "widget.js").read_text(encoding="utf-8"),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    @app.get("/embed", include_in_schema=False, response_class=HTMLResponse)
    def embed(theme: str = Query("light", pattern="^(light|dark)$")) -> HTMLResponse:
        page = (static / "embed.html").read_text(encoding="utf-8").replace("{{THEME}}", theme)
        return HTMLResponse(page)

    routes = api_routes(app)
    demo = build_ui(live, settings)
    demo.state_session_capacity = settings.max_sessions
    app = gr.mount_gradio_app(
        app,
        demo,
        path="",
        css=CSS,
        footer_links=["api"],
        max_file_size=1,  # no feature uploads files; the guard closes the upload route as well
        enable_monitoring=False,
        pwa=False,
    )
    demo.state_holder.capacity = settings.max_sessions
    return SecurityMiddleware(app, settings, call_kinds=call_kinds(demo), routes=routes)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's settings: forwarded headers count only from ``trusted_proxies`` (uvicorn alone
    would trust 127.0.0.1, letting anything on the host pick its own client address)."""
    trusted = ",".join(settings.trusted_proxies)
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "timeout_graceful_shutdown": 5,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or "",
        "server_header": False,
    }


def serve(settings: Settings) -> None:
    """Prepare the index and model, then serve until interrupted (``settings.workers`` processes)."""
    import uvicorn

    if settings.workers > 1:
        from qa.web.workers import WorkerHeader, serve_workers

        def run_worker(sock, number: int) -> None:
            retriever = Retriever.open(settings)
            retriever.warm_up()
            app = WorkerHeader(create_app(settings, retriever), number)
            config = uvicorn.Config(app, **uvicorn_options(settings))  # host/port: the socket's
            uvicorn.Server(config).run(sockets=[sock])

        status = serve_workers(settings, prepare_index=lambda: prepare(settings), run_worker=run_worker)
        raise SystemExit(status)
    retriever = prepare(settings)
    app = create_app(settings, retriever)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, **uvicorn_options(settings))
