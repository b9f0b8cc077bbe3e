"""One server process: the JSON API and the Gradio chat UI on one FastAPI app.

``prepare`` makes sure the index is built and fresh (building it on first start) and returns a
warmed-up retriever; ``create_app`` wires the pieces; ``serve`` runs it with uvicorn.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from .config import Settings
from .retrieval import Retriever

__all__ = ["create_app", "prepare", "serve"]

log = logging.getLogger(__name__)


def prepare(settings: Settings, *, say: Callable[[str], None] | None = None) -> Retriever:
    """Build or update the index if needed, then open a retriever with the model loaded."""
    from .embedding import SentenceTransformerEmbedder
    from .index import ensure_index

    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    embedder = SentenceTransformerEmbedder(settings.model)
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
    """The FastAPI application: ``/api/v1/...`` and the chat UI at ``/``."""
    import gradio as gr
    from fastapi import FastAPI

    from .api import api_router
    from .ui import build_ui

    app = FastAPI(title="qa", version="1", description="Questions answered with cited passages.")
    app.include_router(api_router(settings, retriever))
    return gr.mount_gradio_app(app, build_ui(retriever, settings), path="")


def serve(settings: Settings) -> None:
    """Prepare the index and model, then serve until interrupted."""
    import uvicorn

    retriever = prepare(settings)
    app = create_app(settings, retriever)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
