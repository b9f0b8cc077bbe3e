"""Reaching Milvus: a checked client for ``vector_store`` and one-line typed errors for failures.

``vector_store`` says where: a path ending in ``.db`` opens Milvus Lite in this process (one
process per file); ``http(s)://host:port`` (with ``vector_store_token``) reaches a Milvus server
or cluster, or ``milvus-lite server``, over the same gRPC client (``pymilvus.MilvusClient``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from qa.config import Settings
from qa.errors import QAError, StoreAuthError, StoreUnavailableError
from qa.store.milvus_schema import supports_bm25

__all__ = ["bm25_in_engine", "connect", "engine_bm25", "engine_version", "messages", "translate"]

log = logging.getLogger(__name__)

_GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": 0}
"""No keep-alive pings on an idle connection: gRPC servers with default settings (Milvus Lite's)
answer them with GOAWAY "too many pings" while a long build embeds, and the client's recovery
can then fail; a connection is checked again when it is next used."""
_AUTH_WORDS = ("auth", "credential", "password", "token", "unauthenticated", "permission denied")


def messages(exc: BaseException) -> str:
    """The messages of ``exc`` and its causes (pymilvus wraps the gRPC error that says why)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        details = getattr(exc, "details", None)
        code = getattr(exc, "code", None)
        if callable(details) and callable(code):  # a grpc.RpcError
            parts.append(f"{code()} {details()}")
        else:
            parts.append(str(getattr(exc, "message", "") or exc))
        exc = exc.__cause__ or exc.__context__
    return " ".join(" ".join(parts).split())


def translate(exc: BaseException, where: str) -> QAError:
    """A one-line typed error for a failure to reach or use the Milvus at ``where``."""
    text = messages(exc)
    lowered = text.lower()
    if any(word in lowered for word in _AUTH_WORDS):
        return StoreAuthError(
            f"Milvus at {where} refused the token; check QA_VECTOR_STORE_TOKEN (user:password or API key)"
        )
    if where.endswith(".db"):
        return StoreUnavailableError(
            f"cannot open Milvus Lite file {where} ({text[:100]}); Milvus Lite serves one process per "
            "file, so if another process has it open, run `milvus-lite server --data-dir FOLDER` and "
            "set QA_VECTOR_STORE to its URL"
        )
    return StoreUnavailableError(
        f"cannot reach Milvus at {where} ({text[:160]}); check QA_VECTOR_STORE and that the server runs"
    )


def connect(settings: Settings, *, timeout: float = 10.0):
    """A ``MilvusClient`` for ``settings.vector_store``, checked by a round trip; typed errors for a
    wrong address or token, so a bad setting fails at start-up in one line."""
    if not settings.milvus:
        raise StoreUnavailableError("vector_store names no Milvus; set QA_VECTOR_STORE to a .db path or URL")
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise StoreUnavailableError(
            "vector_store names Milvus but pymilvus is not installed; pip install 'qa[milvus]'"
        ) from None
    uri = settings.vector_store
    if uri.endswith(".db"):
        Path(uri).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        # the in-process Lite server logs a traceback for every RPC it lacks (pymilvus asks for
        # AllocTimestamp and goes on without it); keep them out of the command's output
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    try:
        client = MilvusClient(
            uri=uri, token=settings.vector_store_token, timeout=timeout, grpc_options=_GRPC_OPTIONS
        )
        client.list_collections(timeout=timeout)
    except Exception as exc:  # pymilvus raises MilvusException, grpc errors and more
        raise translate(exc, settings.vector_store) from None
    return client


def engine_version(client) -> str:
    """The version this Milvus reports (``"v2.5.14"``, ``"milvus_lite-3.2.2"``; empty if none)."""
    try:
        return str(client.get_server_version())
    except Exception as exc:  # an old server may lack the call: then it lacks BM25 too
        log.info("Milvus did not say its version (%s)", exc)
        return ""


def engine_bm25(client) -> bool:
    """Whether this Milvus does BM25 (2.5 and later; Milvus Lite 3 and later)."""
    version = engine_version(client)
    if not supports_bm25(version):
        log.info("Milvus %s has no BM25 function (2.5 and later do); BM25 stays local", version)
        return False
    return True


def bm25_in_engine(client, setting: str) -> bool:
    """Whether BM25 candidates should come from this engine, by the ``vector_store_bm25`` setting:
    ``auto`` takes them from a Milvus server and leaves them local on Milvus Lite."""
    if setting == "auto":
        return "lite" not in engine_version(client).lower()
    return setting == "engine"
