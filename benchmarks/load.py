"""Load test on loopback: concurrent JSON API clients plus chat sessions that ask and rate,
and the server's memory before and after.

    python benchmarks/load.py [--clients 20] [--requests 80] [--chats 4] [--chat-turns 50]
                              [--url URL] [--questions DEV.jsonl]
    python benchmarks/load.py --workers 2 [--clients 8] [--requests 40] [--repeat 3]

Without --url it starts the app (``app.py``) on a free loopback port with the per-client limits
raised for the test (every client here is 127.0.0.1), and stops it afterwards. First one client
asks alone (the baseline); then the server's RSS is read, all clients run at once (by default
20 × 80 API questions plus 4 chat sessions × 50 turns, each turn a question and a thumbs up:
2,000 requests), and the RSS is read again. The chat sessions speak Gradio's queue protocol the
way the page does (``queue/join`` then ``queue/data``), so the rating goes through the same
route as a click. Any non-200 answer or exception is an error; the exit status is 1 on errors
or when the RSS grew by more than ``--max-growth`` MiB.

With ``--workers N`` it measures API throughput of ``qa serve --workers N`` against one worker
instead, in one run: both apps are started side by side and take turns, ``--repeat`` times
(order alternating), each turn ``--clients`` keep-alive connections asking ``--requests``
questions each at once. Each connection comes from its own loopback address (127.0.0.2, ...):
the workers keep a client address on one worker (a chat session's state lives there), so
connections from one address would all reach the same worker. The client is asyncio with a
bare HTTP/1.1 writer (``_http.py``), so it leaves the cores to the server; its CPU use and the
machine's load average are printed beside each turn, and the CPU time the server (all its processes)
spent per request, which other work on the machine does not change as it changes throughput, with
the cores that makes busy (CPU seconds per second: at most the machine's cores).
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
from _http import post_json, run_connections


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


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and all its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += used.get(current, 0.0)
        todo += parents.get(current, [])
    return total


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


def api_turn(url: str, questions: list[str], clients: int, requests: int, offset: int, pid: int) -> list:
    """One turn of ``clients`` connections x ``requests`` questions; a row of the workers table
    without the worker count and ratio."""
    host = url.split("//", 1)[1]
    plans = [
        (
            f"127.0.0.{2 + c}",
            [
                post_json(
                    "/api/v1/ask",
                    host,
                    {"question": questions[(offset + c * 7 + i) % len(questions)], "k": 5},
                )
                for i in range(requests)
            ],
        )
        for c in range(clients)
    ]
    load = os.getloadavg()[0]
    cpu, server_cpu = time.process_time(), tree_cpu_seconds(pid)
    start = time.perf_counter()
    tally = run_connections(url, plans)
    wall = time.perf_counter() - start
    n = max(len(tally.times), 1)
    client_ms = 1000 * (time.process_time() - cpu) / n
    server_s = tree_cpu_seconds(pid) - server_cpu
    p50, p99 = percentile(tally.times, 50) * 1000, percentile(tally.times, 99) * 1000
    cells = [len(tally.workers), len(tally.times), len(tally.errors), n / wall, p50, p99]
    cells += [1000 * server_s / n, server_s / wall, client_ms, 100 * client_ms * n / 1000 / wall, load]
    return [*cells, tally.errors[:3]]


def compare_workers(args, questions: list[str]) -> None:
    """API throughput of ``--workers N`` against one worker, turn about; see the module docstring."""
    counts = (1, args.workers)
    apps = {}
    try:
        for workers in counts:
            apps[workers] = start_app(Path("/tmp") / f"qa-load-{os.getpid()}-{workers}w.log", workers)
        for proc, url in apps.values():  # every worker has answered before the clock runs
            api_turn(url, questions, args.clients, 3, 0, proc.pid)
        rows, ratios, errors = [], [], []
        for rep in range(args.repeat):
            turn = {}
            for workers in counts if rep % 2 == 0 else counts[::-1]:
                proc, url = apps[workers]
                turn[workers] = api_turn(url, questions, args.clients, args.requests, rep, proc.pid)
            ratios.append(turn[args.workers][3] / turn[1][3])
            for workers in counts:
                *cells, first_errors = turn[workers]
                errors += first_errors
                rows.append([rep + 1, workers, *cells[:4], f"{cells[3] / turn[1][3]:.2f}x", *cells[4:]])
    finally:
        for proc, _ in apps.values():
            proc.terminate()
            proc.wait(timeout=30)
    headers = ["turn", "workers", "workers seen", "requests", "errors", "requests/s", "vs 1", "p50 ms"]
    headers += ["p99 ms", "server CPU ms/request", "server cores busy", "client CPU ms/request"]
    headers += ["client CPU %", "load avg 1m"]
    print(
        f"{args.clients} API connections x {args.requests} questions, each from its own loopback "
        f"address, {os.cpu_count()} CPUs"
    )
    print(table(headers, rows))
    ordered = sorted(ratios)
    print(
        f"throughput {args.workers} workers / 1 worker: median {ordered[len(ordered) // 2]:.2f}x "
        f"(turns: {', '.join(f'{r:.2f}x' for r in ratios)}); {sum(r[4] for r in rows)} errors"
    )
    if errors:
        print(f"first errors: {errors[:3]}")
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="compare this many workers with one")
    parser.add_argument("--repeat", type=int, default=3, help="turns of each app (with --workers)")
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
