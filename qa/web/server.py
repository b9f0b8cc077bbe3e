"""One server process: the JSON API and the Gradio chat UI on one FastAPI app, behind one guard.

``prepare`` makes sure the index is built and fresh (building it on first start, and saying
why) and returns a warmed-up retriever; ``create_app`` wires the pieces; ``serve`` runs it with
uvicorn, trusting forwarded headers only from ``trusted_proxies``.
"""

from __future__ import annotations

import functools
import html
import logging
import sys
from collections.abc import Callable
from importlib import resources
from typing import Any

from qa.config import Settings
from qa.retrieval.registry import Registry
from qa.retrieval.retriever import Retriever
from qa.web.live import LiveRetriever

__all__ = ["create_app", "prepare", "serve", "uvicorn_options"]

log = logging.getLogger(__name__)

FEEDBACK_FUNCTIONS = ("rate",)
FREE_FUNCTIONS = ("clear", "<lambda>", "on_load", "show_collection", "pick_collection")
EMBED_TITLE = "Ask the course documents"
"""As the chat page, the sign-in page and an LTI launch's page head a course without a title
(qa.web.sessions.DEFAULT_TITLE); /embed said "Ask the course"."""


def prepare(settings: Settings, *, say: Callable[[str], None] | None = None) -> Retriever:
    """Build or update the index if needed, then open a retriever with the model loaded."""
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.index.stopping import withdraw_stop

    stages = _stage_printer(say)
    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    embedder = make_embedder(settings)
    say(f"checking the index in {settings.index_dir} ...")

    def why(said: tuple[str, ...]) -> None:
        for line in said:
            say(f"  {line}")

    withdraw_stop(settings.index_dir)  # a server start asks for a fresh index: an earlier stop is past
    report = ensure_index(settings, embedder, stages=stages, why=why)
    for message in report.skipped:
        say(f"warning: skipped {message}")
    n_docs, n_windows = len(report.index.documents), len(report.index)
    say(f"index {report.status}: {n_docs:,} document{'' if n_docs == 1 else 's'}, {n_windows:,} windows")
    retriever = Retriever(report.index, embedder, settings)
    say("loading the model ...")
    retriever.warm_up()
    _prepare_collections(settings, embedder, say)
    return retriever


def _stage_printer(say: Callable[[str], None] | None) -> Callable:
    """The build's stages as ``qa index`` shows them (a bar on a terminal, else plain lines), or,
    when the caller collects the messages, one line per finished stage."""
    from qa.index.progress import ProgressPrinter, format_progress

    if say is None:
        return ProgressPrinter(sys.stderr)

    def finished_stages(p) -> None:
        if p.finished:
            say(f"  {format_progress(p)}")

    return finished_stages


def _prepare_collections(settings: Settings, embedder, say: Callable[[str], None]) -> None:
    """Bring every other collection's index up to date too (one with no documents stays empty)."""
    from qa.errors import NoSourcesError, QAError
    from qa.index.build import ensure_index
    from qa.index.collections import DEFAULT, collection_names, collection_settings
    from qa.index.stopping import withdraw_stop

    for name in collection_names(settings):
        if name == DEFAULT:
            continue
        try:
            collection = collection_settings(settings, name)
            withdraw_stop(collection.index_dir)
            report = ensure_index(collection, embedder)
            n_docs = len(report.index.documents)
            say(f"collection {name}: index {report.status}, {n_docs:,} document{'' if n_docs == 1 else 's'}")
        except NoSourcesError:
            say(f"collection {name}: no documents yet")
        except QAError as exc:
            say(f"warning: collection {name}: {exc}")


def _embed_title(settings: Settings, collection: str) -> str:
    """The embed page's heading: the collection's title when its settings give one."""
    return _course_title(settings, collection) or EMBED_TITLE


def _course_title(settings: Settings, collection: str) -> str:
    """The title the settings of ``collection`` ('' or None: the default one) give, '' if none."""
    from qa.errors import QAError
    from qa.index.collections import get_collection

    try:
        return get_collection(settings, collection or None).config.title
    except QAError:  # an unknown collection: the page asking for it says so
        return ""


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


SPOKEN = {"common.complete": "Done"}
"""Words Gradio's status tracker says to screen readers (its ``role=status`` region) that its
own English texts lack: after an answer, a cleared chat or a checked question it announced the
raw key "common.complete"."""


def create_app(settings: Settings, retriever: Retriever | LiveRetriever, registry: Registry | None = None):
    """The application: ``/api/v1/...``, ``/embed``, ``/widget.js``, ``/session`` and the chat UI
    at ``/``, all behind :class:`~qa.web.security.SecurityMiddleware`. The FastAPI app is
    ``.app`` of the result and the live retriever ``.app.state.live``. ``registry`` (made from
    the live retriever when not given) answers for the other collections; with an admin key,
    ``/admin`` and ``/api/v1/admin/...`` manage them."""
    import gradio as gr
    from fastapi import FastAPI, Query
    from fastapi import Path as FastAPIPath
    from fastapi.responses import HTMLResponse, Response

    from qa.web.api import api_router
    from qa.web.assets import static_file
    from qa.web.document_page import document_router
    from qa.web.errors import install_error_handlers
    from qa.web.originals import originals_router
    from qa.web.routes import api_routes
    from qa.web.security import SecurityMiddleware
    from qa.web.ui import CSS, build_ui

    live = retriever if isinstance(retriever, LiveRetriever) else LiveRetriever(retriever, settings)
    app = FastAPI(
        title="qa",
        version="1",
        description="Questions answered with passages of the course documents and exact citations.",
    )
    app.state.live = live
    install_error_handlers(app)
    # each collection's retriever follows its published build as the default one does
    follow = functools.partial(LiveRetriever, every=live.every, watch=live.watching)
    registry = registry or Registry(settings, live.current.embedder, default=live, live=follow)
    app.state.registry = registry
    app.include_router(api_router(settings, live, registry))
    app.include_router(originals_router(settings, live, registry))
    app.include_router(document_router(settings, live, registry))
    static = resources.files("qa.web") / "static"
    if settings.admin_key:
        from qa.web.admin import admin_router

        app.include_router(admin_router(settings, registry))

        @app.get("/admin", include_in_schema=False, response_class=HTMLResponse)
        def admin_page() -> HTMLResponse:
            return HTMLResponse((static / "admin.html").read_text(encoding="utf-8"))

        @app.get("/admin.{kind}", include_in_schema=False)
        def admin_asset(kind: str = FastAPIPath(pattern="^(js|css)$")) -> Response:
            return static_file("admin", kind)

    lti = _mount_lti(app, settings, live, registry)

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return static_file(
            "widget", "js", {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
        )

    @app.get("/embed", include_in_schema=False, response_class=HTMLResponse)
    def embed(
        theme: str = Query("light", pattern="^(light|dark)$"),
        # any name: a malformed one (a typo such as 'Bio-101') is told to the learner in the
        # frame as an unknown course is, instead of a bare JSON 422 (hence escaped below)
        collection: str = Query("", max_length=64),
    ) -> HTMLResponse:
        page = (static / "embed.html").read_text(encoding="utf-8").replace("{{THEME}}", theme)
        page = page.replace("{{TITLE}}", html.escape(_embed_title(settings, collection)))
        return HTMLResponse(page.replace("{{COLLECTION}}", html.escape(collection, quote=True)))

    routes = api_routes(app)
    demo = build_ui(live, settings, registry)
    demo.state_session_capacity = settings.max_sessions
    app = gr.mount_gradio_app(
        app,
        demo,
        path="",
        css=CSS,
        footer_links=["api"],
        i18n=gr.I18n(en=SPOKEN),
        max_file_size=1,  # no feature uploads files; the guard closes the upload route as well
        enable_monitoring=False,
        pwa=False,
    )
    demo.state_holder.capacity = settings.max_sessions
    from qa.index.collections import collection_origins, own_origins
    from qa.web.routes import ADMIN_UPLOADS, LTI_ADMIN_UPLOADS
    from qa.web.security import MAX_UPLOAD_BODY_BYTES

    return SecurityMiddleware(
        app,
        settings,
        call_kinds=call_kinds(demo),
        routes=routes,
        body_limits={
            **({ADMIN_UPLOADS: MAX_UPLOAD_BODY_BYTES} if settings.admin_key else {}),
            **({LTI_ADMIN_UPLOADS: MAX_UPLOAD_BODY_BYTES} if lti else {}),
        },
        collection_origins=lambda: collection_origins(settings),
        own_origins=lambda name: own_origins(settings, name),
        title_of=lambda name: _course_title(settings, name),
    )


def _mount_lti(app, settings: Settings, live: LiveRetriever, registry: Registry) -> bool:
    """The LTI 1.3 tool's routes under ``/lti`` when its platforms file exists (``qa lti``)."""
    from qa.web.lti import lti_enabled

    if not lti_enabled(settings):
        _lti_not_set_up(app)
        return False
    from qa.web.lti.routes import lti_router

    app.include_router(lti_router(settings, live, registry))
    return True


def _lti_not_set_up(app) -> None:
    """Without the LTI tool, ``/lti/...`` says how to set it up instead of a bare 404."""
    from fastapi.responses import HTMLResponse

    from qa.web.lti.pages import refused

    def not_set_up(rest: str) -> HTMLResponse:
        return refused(
            404,
            "The LTI tool is not set up on this server",
            'On the server, run "qa lti --url https://THIS-SERVER", register the LMS in '
            "lti/platforms.json, then restart the server (README: 'Add the assistant to an LMS').",
            (),
        )

    app.api_route("/lti/{rest:path}", methods=["GET", "POST"], include_in_schema=False)(not_set_up)


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
    from qa.web.access_log import AccessLog
    from qa.web.shutdown import StreamCloser, run_server

    if settings.workers > 1:
        from qa.web.workers import WorkerHeader, serve_workers

        def run_worker(sock, number: int) -> None:
            retriever = Retriever.open(settings)
            retriever.warm_up()
            app = WorkerHeader(
                AccessLog(create_app(settings, LiveRetriever(retriever, settings, watch=True))), number
            )
            run_server(
                StreamCloser(app), sockets=[sock], **uvicorn_options(settings)
            )  # the socket's host/port

        status = serve_workers(settings, prepare_index=lambda: prepare(settings), run_worker=run_worker)
        raise SystemExit(status)
    retriever = prepare(settings)
    app = AccessLog(create_app(settings, LiveRetriever(retriever, settings, watch=True)))
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    if not run_server(StreamCloser(app), **uvicorn_options(settings)):
        raise SystemExit(3)  # uvicorn's status when it cannot start (the port is taken, ...)
