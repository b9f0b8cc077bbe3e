"""API throughput of `qa serve --workers N` against one worker, on loopback, in one run.

    python benchmarks/workers.py [--workers 2] [--clients 8] [--requests 40]

Starts the app (``app.py``) once per worker count on a free port, the rate limit raised for the
test. Each client is a thread with its own loopback source address (127.0.0.2, 127.0.0.3, ...),
since the workers keep every client address on one worker, as a browser's chat session needs;
clients on one address would all reach the same worker. Any non-200 answer is an error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import DEV, REPO, percentile, table


def start_app(workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    sys.path.insert(0, str(REPO / "tests"))
    from milvus_servers import free_port

    port = free_port()
    env = {**os.environ, "QA_PORT": str(port), "QA_HOST": "127.0.0.1", "QA_RATE_LIMIT": "1000000"}
    env["QA_WORKERS"] = str(workers)
    env.setdefault("QA_FEEDBACK_PATH", str(log.with_suffix(".feedback.jsonl")))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the app did not start; see {log}")


def client(url: str, address: str, questions: list[str], n: int) -> tuple[list[float], int, set[str]]:
    import httpx

    times, errors, workers = [], 0, set()
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=120) as http:
        for i in range(n):
            t = time.perf_counter()
            try:
                r = http.post(url + "/api/v1/ask", json={"question": questions[i % len(questions)], "k": 5})
                errors += r.status_code != 200
                workers.add(r.headers.get("x-qa-worker", "-"))
            except Exception:
                errors += 1
            times.append(time.perf_counter() - t)
    return times, errors, workers


def measure(url: str, clients: int, requests: int, questions: list[str]) -> dict:
    addresses = [f"127.0.0.{2 + i}" for i in range(clients)]
    client(url, addresses[0], questions, 3)  # warm
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda a: client(url, a, questions, requests), addresses))
    wall = time.perf_counter() - start
    times = [t for r in results for t in r[0]]
    return {
        "throughput": len(times) / wall,
        "p50": percentile(times, 50) * 1000,
        "p99": percentile(times, 99) * 1000,
        "errors": sum(r[1] for r in results),
        "workers": len(set().union(*(r[2] for r in results))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--questions", type=Path, default=DEV, help="a JSONL question file (default: dev)")
    args = parser.parse_args()
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    rows, base = [], None
    for workers in (1, args.workers):
        proc, url = start_app(workers, Path(f"/tmp/qa-workers-{workers}.log"))
        try:
            m = measure(url, args.clients, args.requests, questions)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        base = base or m["throughput"]
        rows.append(
            [
                workers,
                m["workers"],
                f"{m['throughput']:.1f}",
                f"{m['throughput'] / base:.2f}x",
                f"{m['p50']:.0f}",
                f"{m['p99']:.0f}",
                m["errors"],
            ]
        )
    print(
        f"{args.clients} API clients x {args.requests} questions, each from its own loopback address, "
        f"{os.cpu_count()} cores"
    )
    print(table(["workers", "workers seen", "questions/s", "vs 1", "p50 ms", "p99 ms", "errors"], rows))


if __name__ == "__main__":
    main()
