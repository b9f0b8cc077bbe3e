"""`qa serve --workers N`: one port, several processes, each client kept on one worker."""

from __future__ import annotations

import asyncio
import select
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import start_server, stop_server

from qa.config import Settings
from qa.errors import ConfigError
from qa.web.workers import listening_sockets, worker_threads


def _connect_from(address: str, port: int) -> socket.socket:
    client = socket.socket()
    client.bind((address, 0))
    client.connect(("127.0.0.1", port))
    return client


def test_connections_from_one_address_always_reach_the_same_socket():
    sockets = listening_sockets("127.0.0.1", 0, 1)  # a free port for the group
    port = sockets[0].getsockname()[1]
    sockets[0].close()
    sockets = listening_sockets("127.0.0.1", port, 3)
    try:
        seen: dict[str, set[int]] = {}
        for address in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"):
            for _ in range(6):
                client = _connect_from(address, port)
                ready, _, _ = select.select(sockets, [], [], 5)
                assert len(ready) == 1
                conn, _ = ready[0].accept()
                conn.close()
                client.close()
                seen.setdefault(address, set()).add(sockets.index(ready[0]))
        assert all(len(workers) == 1 for workers in seen.values())
        assert len(set().union(*seen.values())) == 3  # the addresses are spread over the workers
    finally:
        for s in sockets:
            s.close()


def test_connections_on_the_workers_sockets_send_small_writes_at_once():
    """asyncio turns Nagle's algorithm off only on sockets it knows to be TCP; with it on, a
    response written in two parts (head, then body) waited for the client's delayed ACK."""
    sockets = listening_sockets("127.0.0.1", 0, 1)

    async def accepted_nodelay() -> int:
        accepted = asyncio.get_running_loop().create_future()

        async def handle(reader, writer) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sockets[0])
        async with server:
            _, writer = await asyncio.open_connection(*sockets[0].getsockname())
            value = await asyncio.wait_for(accepted, 5)
            writer.close()
        return value

    try:  # in a thread of its own: a browser test's Playwright may keep a loop running in this one
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(asyncio.run, accepted_nodelay()).result(timeout=30) == 1
    finally:
        sockets[0].close()


def test_workers_setting():
    assert Settings.load({"QA_WORKERS": "3"}).workers == 3
    with pytest.raises(ConfigError, match="workers"):
        Settings(workers=0)


@pytest.mark.slow
def test_two_workers_answer_alike_and_keep_each_client_and_its_chat(seed_settings, tmp_path):
    import httpx
    from gradio_client import Client

    proc, url = start_server(seed_settings, tmp_path, QA_WORKERS="2", QA_RATE_LIMIT="100000")
    try:
        answers, workers = {}, {}
        for address in ("127.0.0.2", "127.0.0.3"):
            transport = httpx.HTTPTransport(local_address=address)
            with httpx.Client(transport=transport, timeout=60) as client:
                for _ in range(4):
                    r = client.post(url + "/api/v1/ask", json={"question": "What is debt bondage?", "k": 3})
                    assert r.status_code == 200
                    answers.setdefault(address, []).append(r.json()["passages"])
                    workers.setdefault(address, set()).add(r.headers["x-qa-worker"])
        assert all(len(w) == 1 for w in workers.values())  # each client stays with its worker
        assert workers["127.0.0.2"] != workers["127.0.0.3"]  # and both workers answer
        first = answers["127.0.0.2"][0]
        assert all(a == first for runs in answers.values() for a in runs)

        session = Client(url + "/", verbose=False)  # a chat session: state kept by its worker
        chat, _box, _notice = session.predict("What is debt bondage?", 2, api_name="/ask")
        assert [m["role"] for m in chat] == ["user", "assistant"]
        chat, _box, _notice = session.predict("and what about children?", 2, api_name="/ask")
        assert [m["role"] for m in chat] == ["user", "assistant"] * 2  # the same session went on
    finally:
        stop_server(proc, timeout=20)
    assert proc.returncode == 0


def test_each_worker_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert [worker_threads(n) for n in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]


def test_a_worker_limits_its_numeric_libraries_before_it_loads_the_model():
    script = (
        "import numpy, faiss\n"
        "from qa.web.workers import limit_threads\n"
        "limit_threads(1)\n"
        "import os\n"
        "from threadpoolctl import threadpool_info\n"
        "from qa.embedders.onnx import _thread_limit\n"
        "print(faiss.omp_get_max_threads(), {p['num_threads'] for p in threadpool_info()},"
        " os.environ['OMP_NUM_THREADS'], _thread_limit())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "{1}", "1", "1"]
