"""Time from uploading a document through the admin API to the first answer citing it, on a
running server in a fresh temp project, and what a learner asking meanwhile gets.

    python benchmarks/upload_to_answer.py ../shared/eval/docs-pdf/ninja-manual.pdf "What is a build edge?"
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_64fa240758fee0c1.txt"


def start(root: Path, key: str) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "QA_ROOT": str(root),
        "QA_PORT": str(port),
        "QA_ADMIN_KEY": key,
        "QA_RATE_LIMIT": "100000",
    }
    log = open(root / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py")], cwd=root, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not start; see " + str(root / "server.log"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", type=Path)
    parser.add_argument("question")
    args = parser.parse_args()
    key = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "seeds").mkdir()
        (root / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
        proc, url = start(root, key)
        try:
            admin = {"Authorization": f"Bearer {key}"}
            client = httpx.Client(base_url=url, timeout=600)
            client.post(
                "/api/v1/admin/collections", json={"name": "course", "title": "Course"}, headers=admin
            )
            t0 = time.perf_counter()
            res = client.put(
                f"/api/v1/admin/collections/course/documents/{args.document.name}",
                content=args.document.read_bytes(),
                headers=admin,
            )
            stored = time.perf_counter() - t0
            print(f"upload answered {res.status_code} in {stored:.2f} s: {res.json()}")
            seen: dict[str, str] = {}
            while True:
                status = client.get("/api/v1/admin/collections/course/status", headers=admin).json()
                learner = client.post("/api/v1/ask", json={"question": args.question, "collection": "course"})
                body = learner.json()
                seen.setdefault(f"{status['state']} -> {learner.status_code}", body.get("error", "answer"))
                if status["state"] not in ("queued", "indexing"):
                    break
                time.sleep(0.25)
            res = client.post("/api/v1/ask", json={"question": args.question, "collection": "course"})
            took = time.perf_counter() - t0
            print(f"status: {status}")
            print("while indexing, a learner got:")
            for state, what in seen.items():
                print(f"  {state}: {what}")
            first = res.json()["passages"][0]
            print(f"upload to first answer: {took:.1f} s")
            print(f"first passage: {first['citation']['source']} {first['citation']['words']['label']}")
            print(f"  {first['text'][:200]}")
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
