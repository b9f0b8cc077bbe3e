"""Milvus servers for tests: ``milvus-lite server`` in its own process (reached by URL, the gRPC
path a Milvus cluster uses) and an in-thread Milvus Lite server that demands a token, since
``milvus-lite server`` itself accepts any token."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc

SERVER_START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(
    port: int, process: subprocess.Popen | None = None, timeout: float = SERVER_START_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited with status {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def start_lite_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """``milvus-lite server`` on a free loopback port; returns the process and its URL."""
    port = free_port()
    cli = Path(sys.executable).with_name("milvus-lite")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "milvus_lite"]
    process = subprocess.Popen(
        [*command, "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
    except BaseException:
        process.kill()
        raise
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class _TokenCheck(grpc.ServerInterceptor):
    """Refuses every call whose ``authorization`` metadata is not the expected token, as Milvus
    with authentication enabled does."""

    def __init__(self, token: str) -> None:
        self._expected = base64.b64encode(token.encode()).decode()

        def deny(request, context):
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "auth check failure, please check username/password"
            )

        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, handler_call_details):
        metadata = dict(handler_call_details.invocation_metadata or ())
        if metadata.get("authorization") == self._expected:
            return continuation(handler_call_details)
        return self._deny


def start_token_server(data_dir: Path, token: str):
    """An in-thread Milvus Lite gRPC server that accepts only ``token``; returns (server, db, url)."""
    from concurrent import futures

    from milvus_lite.adapter.grpc.servicer import MilvusServicer
    from milvus_lite.db import MilvusLite
    from pymilvus.grpc_gen import milvus_pb2_grpc

    db = MilvusLite(str(data_dir))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[_TokenCheck(token)])
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(db), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, db, f"http://127.0.0.1:{port}"
