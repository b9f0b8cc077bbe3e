"""Load test on loopback: concurrent JSON API clients plus chat sessions through Gradio's API.

    python benchmarks/load.py [--clients 20] [--requests 50] [--chats 4] [--url URL]

Without --url it starts the app (``app.py``) on a free loopback port with the rate limit
raised for the test, and stops it afterwards. First one client asks alone (the baseline),
then all clients at once; the table prints both and their ratio. Any non-200 answer or
exception is an error.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import DEV, REPO, percentile, table


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(log: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    env = {**os.environ, "QA_PORT": str(port), "QA_HOST": "127.0.0.1", "QA_RATE_LIMIT": "1000000"}
    env.setdefault("QA_FEEDBACK_PATH", str(log.with_suffix(".feedback.jsonl")))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the app did not start; see {log}")


def api_client(url: str, questions: list[str], n: int, offset: int) -> tuple[list[float], list[str]]:
    import httpx

    times, errors = [], []
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(n):
            q = questions[(offset + i) % len(questions)]
            start = time.perf_counter()
            try:
                res = client.post("/api/v1/ask", json={"question": q, "k": 5})
                if res.status_code != 200:
                    errors.append(f"{res.status_code} {res.text[:100]}")
            except Exception as exc:  # a load test counts every failure
                errors.append(type(exc).__name__)
            times.append(time.perf_counter() - start)
    return times, errors


def chat_session(url: str, questions: list[str], n: int, offset: int) -> tuple[list[float], list[str]]:
    from gradio_client import Client

    times, errors = [], []
    client = Client(url + "/", verbose=False)
    messages: list = []
    for i in range(n):
        q = questions[(offset + i) % len(questions)]
        start = time.perf_counter()
        try:
            messages, _ = client.predict(q, messages, 3, api_name="/ask")
            if "qa-answer" not in json.dumps(messages[-1]):
                errors.append("no answer in the chat")
        except Exception as exc:  # a load test counts every failure
            errors.append(type(exc).__name__)
        times.append(time.perf_counter() - start)
    return times, errors


def row(label: str, times: list[float], errors: list[str], wall: float, base: float | None) -> list[object]:
    p50 = percentile(times, 50) * 1000
    return [
        label,
        len(times),
        len(errors),
        p50,
        percentile(times, 99) * 1000,
        len(times) / wall,
        p50 / base if base else 1.0,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--chats", type=int, default=4, help="concurrent chat sessions (Gradio API)")
    parser.add_argument("--chat-turns", type=int, default=10)
    parser.add_argument("--url", help="an app that is already running (loopback only)")
    args = parser.parse_args()
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit("load tests run against loopback only")
    with open(DEV, encoding="utf-8") as f:
        questions = [json.loads(line)["question"] for line in f if line.strip()]
    proc = None
    url = args.url
    if url is None:
        proc, url = start_app(Path("/tmp") / f"qa-load-{os.getpid()}.log")
    try:
        api_client(url, questions, 5, 0)  # warm up
        start = time.perf_counter()
        alone, alone_err = api_client(url, questions, args.requests, 0)
        alone_wall = time.perf_counter() - start
        base = percentile(alone, 50) * 1000

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
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)

    headers = ["load", "requests", "errors", "p50 ms", "p99 ms", "requests/s", "p50 / alone"]
    rows = [
        row("API, 1 client alone (baseline)", alone, alone_err, alone_wall, None),
        row(f"API, {args.clients} clients at once", *results["api"], wall, base),
        row(f"chat (Gradio API), {args.chats} sessions at once", *results["chat"], wall, base),
    ]
    print(f"{url}, {os.cpu_count()} CPUs")
    print(table(headers, rows))
    errors = alone_err + results["api"][1] + results["chat"][1]
    if errors:
        print(f"{len(errors)} errors, first: {errors[:3]}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
