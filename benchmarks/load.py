"""Load test on loopback: concurrent JSON API clients plus chat sessions that ask and rate,
and the server's memory before and after.

    python benchmarks/load.py [--clients 20] [--requests 80] [--chats 4] [--chat-turns 50]
                              [--url URL] [--questions DEV.jsonl]
    python benchmarks/load.py --workers 2 [--clients 8] [--requests 40]

Without --url it starts the app (``app.py``) on a free loopback port with the per-client limits
raised for the test (every client here is 127.0.0.1), and stops it afterwards. First one client
asks alone (the baseline); then the server's RSS is read, all clients run at once (by default
20 × 80 API questions plus 4 chat sessions × 50 turns, each turn a question and a thumbs up:
2,000 requests), and the RSS is read again. The chat sessions speak Gradio's queue protocol the
way the page does (``queue/join`` then ``queue/data``), so the rating goes through the same
route as a click. Any non-200 answer or exception is an error; the exit status is 1 on errors
or when the RSS grew by more than ``--max-growth`` MiB.

With ``--workers N`` it measures API throughput of ``qa serve --workers N`` against one worker
instead: the app is started once per worker count, and ``--clients`` clients ask ``--requests``
questions each at once. Each client has its own loopback source address (127.0.0.2, ...): the
workers keep a client address on one worker (a chat session's state lives there), so clients on
one address would all reach the same worker.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import DEV, REPO, percentile, table


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(log: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "QA_WORKERS": str(workers),
        "QA_PORT": str(port),
        "QA_HOST": "127.0.0.1",
        "QA_RATE_LIMIT": "1000000",
        "QA_FEEDBACK_RATE_LIMIT": "1000000",
    }
    env.setdefault("QA_FEEDBACK_PATH", str(log.with_suffix(".feedback.jsonl")))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600 * workers):
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the app did not start; see {log}")


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def api_client(
    url: str,
    questions: list[str],
    n: int,
    offset: int,
    *,
    address: str | None = None,
    workers_seen: set[str] | None = None,
) -> tuple[list[float], list[str]]:
    """``n`` questions one after another, from the loopback ``address`` if given; the workers
    that answered (``X-QA-Worker``) are added to ``workers_seen``."""
    import httpx

    times, errors = [], []
    transport = httpx.HTTPTransport(local_address=address) if address else None
    with httpx.Client(base_url=url, timeout=60 if address is None else 120, transport=transport) as client:
        for i in range(n):
            q = questions[(offset + i) % len(questions)]
            start = time.perf_counter()
            try:
                res = client.post("/api/v1/ask", json={"question": q, "k": 5})
                if workers_seen is not None:
                    workers_seen.add(res.headers.get("x-qa-worker", "-"))
                if res.status_code != 200:
                    errors.append(f"{res.status_code} {res.text[:100]}")
            except Exception as exc:  # a load test counts every failure
                errors.append(type(exc).__name__)
            times.append(time.perf_counter() - start)
    return times, errors


class ChatPage:
    """One browser tab's conversation, spoken in Gradio's queue protocol like the page does."""

    def __init__(self, client, fn_ask: int, fn_rate: int) -> None:
        self.client, self.fn_ask, self.fn_rate = client, fn_ask, fn_rate
        self.session = uuid.uuid4().hex[:11]

    def call(self, fn_index: int, data: list, event_data=None) -> list:
        body = {
            "data": data,
            "fn_index": fn_index,
            "session_hash": self.session,
            "event_data": event_data,
            "trigger_id": None,
        }
        res = self.client.post("/gradio_api/queue/join", json=body)
        if res.status_code != 200:
            raise RuntimeError(f"join {res.status_code} {res.text[:100]}")
        event_id = res.json()["event_id"]
        with self.client.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session}) as s:
            for line in s.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") == event_id and msg.get("msg") == "process_completed":
                    if not msg.get("success"):
                        raise RuntimeError(f"failed: {str(msg.get('output'))[:100]}")
                    return msg["output"]["data"]
        raise RuntimeError("the event stream ended without an answer")


def chat_session(url: str, questions: list[str], n: int, offset: int) -> tuple[list[float], list[str]]:
    """``n`` turns: a question, then a thumbs up on its answer (two requests per turn)."""
    import httpx

    times, errors = [], []
    with httpx.Client(base_url=url, timeout=120) as client:
        deps = client.get("/config").json()["dependencies"]
        ids = {d.get("api_name"): d["id"] for d in deps}
        page = ChatPage(client, ids["ask"], ids["rate"])
        for i in range(n):
            q = questions[(offset + i) % len(questions)]
            start = time.perf_counter()
            try:
                chat = page.call(page.fn_ask, [q, None, 3])[0]  # chat, turns, question box, notice
                if "qa-answer" not in json.dumps(chat[-1]):
                    errors.append("no answer in the chat")
                page.call(page.fn_rate, [None], {"index": len(chat) - 1, "value": None, "liked": True})
            except Exception as exc:  # a load test counts every failure
                errors.append(f"{type(exc).__name__}: {exc}"[:120])
            times.append(time.perf_counter() - start)
    return times, errors


def row(label: str, n: int, times: list[float], errors: list[str], wall: float, base: float | None):
    p50 = percentile(times, 50) * 1000
    return [label, n, len(errors), p50, percentile(times, 99) * 1000, n / wall, p50 / base if base else 1.0]


def measure_workers(url: str, clients: int, requests: int, questions: list[str]) -> list:
    """Throughput, p50, p99, errors and workers seen of ``clients`` clients, each from its own
    loopback address, asking ``requests`` questions at once."""
    addresses = [f"127.0.0.{2 + i}" for i in range(clients)]
    api_client(url, questions, 3, 0, address=addresses[0])  # warm
    seen: set[str] = set()
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        jobs = [
            pool.submit(api_client, url, questions, requests, 0, address=a, workers_seen=seen)
            for a in addresses
        ]
        results = [job.result() for job in jobs]
    wall = time.perf_counter() - start
    times = [t for r in results for t in r[0]]
    errors = sum(len(r[1]) for r in results)
    return [len(times) / wall, percentile(times, 50) * 1000, percentile(times, 99) * 1000, errors, len(seen)]


def compare_workers(args, questions: list[str]) -> None:
    """API throughput of ``--workers N`` against one worker; see the module docstring."""
    rows, base = [], None
    for workers in (1, args.workers):
        proc, url = start_app(Path("/tmp") / f"qa-load-{os.getpid()}-{workers}w.log", workers)
        try:
            throughput, p50, p99, errors, seen = measure_workers(url, args.clients, args.requests, questions)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        base = base or throughput
        rows.append(
            [
                workers,
                seen,
                f"{throughput:.1f}",
                f"{throughput / base:.2f}x",
                f"{p50:.0f}",
                f"{p99:.0f}",
                errors,
            ]
        )
    print(
        f"{args.clients} API clients x {args.requests} questions, each from its own loopback address, "
        f"{os.cpu_count()} cores"
    )
    print(table(["workers", "workers seen", "questions/s", "vs 1", "p50 ms", "p99 ms", "errors"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="compare this many workers with one")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=80)
    parser.add_argument("--chats", type=int, default=4, help="concurrent chat sessions (Gradio queue)")
    parser.add_argument("--chat-turns", type=int, default=50, help="each: a question and a thumbs up")
    parser.add_argument("--max-growth", type=float, default=50.0, help="MiB the server's RSS may grow")
    parser.add_argument("--url", help="an app that is already running (loopback only; no RSS figures)")
    parser.add_argument("--questions", type=Path, default=DEV, help="JSONL with a question per line")
    args = parser.parse_args()
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit("load tests run against loopback only")
    with open(args.questions, encoding="utf-8") as f:
        questions = [json.loads(line)["question"] for line in f if line.strip()]
    if args.workers > 1:
        compare_workers(args, questions)
        return
    proc = None
    url = args.url
    if url is None:
        proc, url = start_app(Path("/tmp") / f"qa-load-{os.getpid()}.log")
    try:
        api_client(url, questions, 5, 0)  # warm up the API and the chat
        chat_session(url, questions, 2, 0)
        start = time.perf_counter()
        alone, alone_err = api_client(url, questions, args.requests, 0)
        alone_wall = time.perf_counter() - start
        base = percentile(alone, 50) * 1000
        rss_before = rss_mib(proc.pid) if proc else float("nan")

        results: dict[str, tuple[list[float], list[str]]] = {"api": ([], []), "chat": ([], [])}
        lock = threading.Lock()

        def run(kind: str, fn, i: int, n: int) -> None:
            times, errors = fn(url, questions, n, i * 7)
            with lock:
                results[kind][0].extend(times)
                results[kind][1].extend(errors)

        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients + args.chats) as pool:
            jobs = [pool.submit(run, "api", api_client, i, args.requests) for i in range(args.clients)]
            jobs += [pool.submit(run, "chat", chat_session, i, args.chat_turns) for i in range(args.chats)]
            for job in jobs:
                job.result()
        wall = time.perf_counter() - start
        rss_after = rss_mib(proc.pid) if proc else float("nan")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)

    n_api, n_chat = len(results["api"][0]), 2 * len(results["chat"][0])
    headers = ["load", "requests", "errors", "p50 ms", "p99 ms", "requests/s", "p50 / alone"]
    rows = [
        row("API, 1 client alone (baseline)", len(alone), alone, alone_err, alone_wall, None),
        row(f"API, {args.clients} clients at once", n_api, *results["api"], wall, base),
        row(f"chat turns (ask + rate), {args.chats} sessions at once", n_chat, *results["chat"], wall, base),
    ]
    print(f"{url}, {os.cpu_count()} CPUs")
    print(table(headers, rows))
    growth = rss_after - rss_before
    print(
        f"server RSS: {rss_before:.1f} MiB before, {rss_after:.1f} MiB after {n_api + n_chat:,} "
        f"mixed requests (API, chat, feedback): {growth:+.1f} MiB (limit {args.max_growth:.0f} MiB)"
    )
    errors = alone_err + results["api"][1] + results["chat"][1]
    if errors:
        print(f"{len(errors)} errors, first: {errors[:3]}")
    if errors or growth > args.max_growth:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
