"""``qa serve``: the chat UI and JSON API, after checking the port is free and the model exists."""

from __future__ import annotations

import argparse
import socket

from qa.cli.common import project, settings_args, settings_from
from qa.errors import QAError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="start the chat UI and JSON API (builds the index if needed)",
        description="Serve the chat page at /, the JSON API at /api/v1/ (schema: /openapi.json), "
        "/embed and /widget.js, building or updating the index first.",
        epilog="Set only in the environment: QA_ADMIN_KEY (16+ characters) opens the authors' page at "
        "/admin; QA_LOG_QUESTIONS=1 records what learners ask for it; QA_PUBLIC_URL and QA_LTI_DIR "
        "for the LTI tool (qa lti); QA_TRUSTED_PROXIES behind a reverse proxy. Every setting and its "
        "QA_* variable: README.md, 'Settings'. The log has a line per request and per author's change.",
    )
    settings_args(p)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--allowed-origins", help="comma-separated origins allowed to embed and call the API")
    p.add_argument(
        "--api-key",
        help="access key the API and the chat page require (Bearer header, or signing in); prefer QA_API_KEY",
    )
    p.add_argument(
        "--rate-limit",
        type=int,
        help="questions per minute per client, API and chat page together (default 60)",
    )
    p.add_argument("--workers", type=int, help="server processes sharing the port (default 1)")
    p.set_defaults(func=cmd_serve, parser=p)


CHANGES_LOGGED = ("qa.index.collections", "qa.retrieval.registry", "qa.web.live")
"""What authors change while the server runs (uploads, deletions, collections, the builds they
start, the rebuilt index each process then answers from) is logged at INFO, so an operator can
tell what changed when, and what it built; WARNING is left for what needs a look."""


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from qa.embedders.base import resolve_model_path
    from qa.web.server import serve

    for name in (*CHANGES_LOGGED, "qa.web.access_log"):  # and one line per request
        if logging.getLogger(name).getEffectiveLevel() > logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)

    origins = None
    if args.allowed_origins:
        origins = tuple(o.strip() for o in args.allowed_origins.split(",") if o.strip())
    settings = settings_from(
        args,
        host=args.host,
        port=args.port,
        allowed_origins=origins,
        api_key=args.api_key,
        rate_limit=args.rate_limit,
        workers=args.workers,
    )
    check_port(settings.host, settings.port)
    resolve_model_path(settings.model)
    with project(settings):
        serve(settings)
    return 0


def check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on, before loading anything or claiming to serve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise QAError(f"cannot listen on {host}: {exc.strerror}; pass another --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            raise QAError(
                f"cannot serve on http://{host}:{port}: {exc.strerror.lower()}; "
                "stop the other server or pick another port with --port or QA_PORT"
            ) from None
