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
from qa.retrieval.registry import Registry
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
    _prepare_collections(settings, embedder, say)
    return retriever


def _prepare_collections(settings: Settings, embedder, say: Callable[[str], None]) -> None:
    """Bring every other collection's index up to date too (one with no documents stays empty)."""
    from qa.errors import NoSourcesError, QAError
    from qa.index.collections import DEFAULT, collection_names, collection_settings
    from qa.index.core import ensure_index

    for name in collection_names(settings):
        if name == DEFAULT:
            continue
        try:
            report = ensure_index(collection_settings(settings, name), embedder)
            say(f"collection {name}: index {report.status}, {len(report.index.documents)} documents")
        except NoSourcesError:
            say(f"collection {name}: no documents yet")
        except QAError as exc:
            say(f"warning: collection {name}: {exc}")


def create_app(settings: Settings, retriever: Retriever, registry: Registry | None = None):
    """The FastAPI application: ``/api/v1/...``, ``/embed``, ``/widget.js`` and the chat UI at ``/``;
    with an admin key, ``/admin`` and ``/api/v1/admin/...``. ``retriever`` answers for the default
    collection, ``registry`` (made from it when not given) for every collection."""
    import gradio as gr
    from fastapi import FastAPI, Query
    from fastapi import Path as FastAPIPath
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
    registry = registry or Registry(settings, retriever.embedder, default=retriever)
    app.state.registry = registry
    app.include_router(api_router(settings, retriever, registry))
    app.include_router(originals_router(settings, retriever, registry))
    static = resources.files("qa.web") / "static"
    if settings.admin_key:
        from qa.web.admin import admin_router

        app.include_router(admin_router(settings, registry))

        @app.get("/admin", include_in_schema=False, response_class=HTMLResponse)
        def admin_page() -> HTMLResponse:
            return HTMLResponse((static / "admin.html").read_text(encoding="utf-8"))

        @app.get("/admin.{kind}", include_in_schema=False)
        def admin_asset(kind: str = FastAPIPath(pattern="^(js|css)$")) -> Response:
            media = "application/javascript" if kind == "js" else "text/css"
            return Response((static / f"admin.{kind}").read_text(encoding="utf-8"), media_type=media)

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return Response(
            (static / "widget.js").read_text(encoding="utf-8"),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    @app.get("/embed", include_in_schema=False, response_class=HTMLResponse)
    def embed(
        theme: str = Query("light", pattern="^(light|dark)$"),
        collection: str = Query("", pattern="^[a-z0-9-]{0,64}$"),
    ) -> HTMLResponse:
        page = (static / "embed.html").read_text(encoding="utf-8").replace("{{THEME}}", theme)
        page = page.replace("{{COLLECTION}}", collection)
        return HTMLResponse(page)

    ui = build_ui(retriever, settings, registry)
    app = gr.mount_gradio_app(app, ui, path="", css=CSS, footer_links=["api"])
    from qa.index.collections import collection_origins

    return SecurityMiddleware(app, settings, collection_origins=lambda: collection_origins(settings))


def serve(settings: Settings) -> None:
    """Prepare the index and model, then serve until interrupted."""
    import uvicorn

    retriever = prepare(settings)
    app = create_app(settings, retriever)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)
