"""Several server processes on one port (``qa serve --workers N``), each client kept on one.

The parent process binds one listening socket per worker to the same address
(``SO_REUSEPORT``), builds or updates the index once (in a child, so the parent never loads the
model or starts threads before forking), then forks the workers. Each opens the index itself:
its vectors and BM25 arrays are memory-mapped, so the workers share one copy in the page cache.

**Sessions stay with their worker.** The chat page keeps a conversation in its worker's memory
(Gradio session state and its event stream), so every connection of one client must reach the
same worker. A classic BPF program on the socket group picks the worker from the client's IPv4
address (``address mod N``), in the kernel, as a proxy's ``ip_hash`` would; the JSON API is
stateless (the client sends the history), so any worker may answer it. Behind a reverse proxy
every connection comes from the proxy's address, so there run one worker per replica and let the
proxy keep sessions sticky (see ``deploy/``).

**Each worker gets its share of the cores.** ONNX Runtime, OpenBLAS, FAISS (OpenMP), torch and
the tokenizer each start one thread per core by default; N workers doing so on the same cores
run N times as many busy threads as there are cores, and contend (ONNX Runtime's threads even
spin while they wait). Each worker is limited to ``cores // N`` threads (at least 1) before it
loads anything: environment variables for the libraries that read them at start-up, and the
runtime calls for those already loaded in the parent.

A worker that dies is started again on the same socket; connections wait in its backlog meanwhile.
SIGINT or SIGTERM stops the workers and then the parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable

from qa.config import Settings

__all__ = [
    "THREAD_VARIABLES",
    "WorkerHeader",
    "limit_threads",
    "listening_sockets",
    "serve_workers",
    "steer_by_client_address",
    "worker_threads",
]

log = logging.getLogger(__name__)

SO_ATTACH_REUSEPORT_CBPF = 51
SKF_NET_OFF = -0x100000
"""Classic BPF offsets from this base read the network (IP) header."""
_BPF_LD_W_ABS, _BPF_ALU_MOD_K, _BPF_RET_A = 0x20, 0x94, 0x16
RESTART_PAUSE = 1.0
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",  # OpenMP: FAISS, torch; ONNX Runtime's session options read it too
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",  # the tokenizers library's thread pool
)


def worker_threads(workers: int) -> int:
    """Threads each of ``workers`` processes may run: its share of the cores it may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(workers, 1))


def limit_threads(threads: int) -> None:
    """Keep this process's numeric libraries to ``threads`` threads each: the environment for
    those not loaded yet, the runtimes' own calls for those already imported."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false" if threads == 1 else "true"
    if "faiss" in sys.modules:
        sys.modules["faiss"].omp_set_num_threads(threads)
    if "torch" in sys.modules:
        with contextlib.suppress(RuntimeError):  # set once per process: a later call may refuse
            sys.modules["torch"].set_num_threads(threads)
    with contextlib.suppress(ImportError):  # BLAS already loaded with NumPy
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)


def steer_by_client_address(sock: socket.socket, workers: int) -> bool:
    """Attach to ``sock``'s reuse-port group a program sending each connection to the socket
    ``source IPv4 address mod workers`` (in listen order). False where the kernel refuses it."""
    program = [
        (_BPF_LD_W_ABS, 0, 0, (SKF_NET_OFF + 12) & 0xFFFFFFFF),  # A = IPv4 source address
        (_BPF_ALU_MOD_K, 0, 0, workers),  # A = A mod workers
        (_BPF_RET_A, 0, 0, 0),  # the socket with index A takes the connection
    ]
    code = b"".join(struct.pack("HBBI", *op) for op in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
    except OSError as exc:
        log.warning("cannot keep clients on one worker (%s); chat sessions may break", exc)
        return False
    return True


def listening_sockets(host: str, port: int, workers: int) -> list[socket.socket]:
    """``workers`` IPv4 sockets listening on ``host:port`` as one reuse-port group, steered by
    client address."""
    sockets = []
    for _ in range(workers):
        # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
        # sockets it knows are TCP, and accepted sockets inherit this one's protocol number
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
        sockets.append(sock)
    steer_by_client_address(sockets[0], workers)
    return sockets


class WorkerHeader:
    """ASGI wrapper adding ``X-QA-Worker: <number>`` to every HTTP response, so an operator (and
    the tests) can see which worker answered."""

    def __init__(self, app, number: int) -> None:
        self.app = app
        self._header = (b"x-qa-worker", str(number).encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def tagged(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self._header]}
            await send(message)

        return await self.app(scope, receive, tagged)


def _in_child(task: Callable[[], None]) -> int:
    """Run ``task`` in a forked child and return its pid; the child exits when it returns."""
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        task()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _wait_status(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class _Workers:
    """The forked workers, one per socket: started, restarted when they die, stopped on a signal."""

    def __init__(self, sockets: list[socket.socket], run_worker: Callable[[socket.socket, int], None]):
        self.sockets = sockets
        self.run_worker = run_worker
        self.threads = worker_threads(len(sockets))
        self.pids: dict[int, int] = {}
        self.stopping = False

    def start(self, number: int) -> None:
        def task() -> None:
            for j, other in enumerate(self.sockets):
                if j != number:
                    other.close()
            limit_threads(self.threads)
            self.run_worker(self.sockets[number], number)

        self.pids[_in_child(task)] = number

    def stop(self, signum=None, frame=None) -> None:
        self.stopping = True
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def supervise(self) -> None:
        """Wait for the workers; start again any that dies, until :meth:`stop`."""
        while self.pids:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                return
            number = self.pids.pop(pid, None)
            if number is not None and not self.stopping:
                code = os.waitstatus_to_exitcode(status)
                log.warning("worker %d exited (%s); starting it again", number, code)
                time.sleep(RESTART_PAUSE)
                self.start(number)


def serve_workers(
    settings: Settings,
    *,
    prepare_index: Callable[[], None],
    run_worker: Callable[[socket.socket, int], None],
) -> int:
    """Build the index once, then run ``settings.workers`` workers until SIGINT/SIGTERM.

    ``prepare_index`` builds or updates the index; ``run_worker(sock, number)`` opens it and
    serves on ``sock`` until told to stop. Returns an exit status.
    """
    if _wait_status(_in_child(prepare_index)) != 0:
        return 1
    sockets = listening_sockets(settings.host, settings.port, settings.workers)
    workers = _Workers(sockets, run_worker)
    previous = {s: signal.signal(s, workers.stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for number in range(settings.workers):
            workers.start(number)
        where = f"http://{settings.host}:{settings.port}"
        print(f"serving on {where} with {settings.workers} workers", file=sys.stderr, flush=True)
        workers.supervise()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for sock in sockets:
            sock.close()
    return 0
