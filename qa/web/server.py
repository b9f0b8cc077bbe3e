"""One server process: the JSON API and the Gradio chat UI on one FastAPI app.

``prepare`` makes sure the index is built and fresh (building it on first start) and returns a
warmed-up retriever; ``create_app`` wires the pieces; ``serve`` runs it with uvicorn.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from importlib import resources

from qa.config import Settings
from qa.retrieval.retriever import Retriever

__all__ = ["create_app", "prepare", "serve"]

log = logging.getLogger(__name__)


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
    say(f"index {report.status}: {len(report.index.documents)} documents, {len(report.index)} windows")
    retriever = Retriever(report.index, embedder, settings)
    say("loading the model ...")
    retriever.warm_up()
    return retriever


def create_app(settings: Settings, retriever: Retriever):
    """The FastAPI application: ``/api/v1/...``, ``/embed``, ``/widget.js`` and the chat UI at ``/``."""
    import gradio as gr
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, Response

    from qa.web.api import api_router
    from qa.web.originals import originals_router
    from qa.web.security import SecurityMiddleware, install_error_handlers
    from qa.web.ui import CSS, build_ui

    app = FastAPI(
        title="qa",
        version="1",
        description="Questions answered with passages of the course documents and exact citations.",
    )
    install_error_handlers(app)
    app.include_router(api_router(settings, retriever))
    app.include_router(originals_router(settings, retriever))
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

    app = gr.mount_gradio_app(app, build_ui(retriever, settings), path="", css=CSS, footer_links=["api"])
    return SecurityMiddleware(app, settings)


def serve(settings: Settings) -> None:
    """Prepare the index and model, then serve until interrupted (``settings.workers`` processes)."""
    import uvicorn

    if settings.workers > 1:
        from qa.web.workers import WorkerHeader, serve_workers

        def run_worker(sock, number: int) -> None:
            retriever = Retriever.open(settings)
            retriever.warm_up()
            app = WorkerHeader(create_app(settings, retriever), number)
            config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
            uvicorn.Server(config).run(sockets=[sock])

        status = serve_workers(settings, prepare_index=lambda: prepare(settings), run_worker=run_worker)
        raise SystemExit(status)
    retriever = prepare(settings)
    app = create_app(settings, retriever)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)
