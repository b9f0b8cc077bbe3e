"""Cold start: one question from the command line in a fresh process, index already built.

    python benchmarks/cold_start.py [--runs 3] [--open-runs 7]

The naive script imports sentence-transformers (and torch), loads the model and a saved FAISS
flat index, encodes the question and searches. The project runs ``qa ask`` (ONNX query path,
lazy imports). Both are timed as wall-clock subprocesses, alternating, in the same run.
Then the time a fresh process takes to open the seed index until BM25 can score (imports
included, model excluded): BM25 is loaded with the index, not rebuilt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, median, table

QUESTION = "What is debt bondage?"

NAIVE_SCRIPT = """
import json, sys
import faiss
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(sys.argv[1], device="cpu")
index = faiss.read_index(sys.argv[2])
texts = json.load(open(sys.argv[3]))
scores, ids = index.search(model.encode([sys.argv[4]], normalize_embeddings=True), 5)
for s, i in zip(scores[0], ids[0]):
    print(round(float(s), 3), texts[i][:80])
"""


OPEN_SCRIPT = """
import sys, time
start = time.perf_counter()
from qa.config import Settings
from qa.index.build import open_index
index = open_index(Settings.load(root=sys.argv[1]))
index.lexical.scores(["trafficking"])
print((time.perf_counter() - start) * 1000)
"""


def open_times(runs: int, env: dict[str, str]) -> list[float]:
    """Milliseconds to open the index and score with BM25, each in a fresh process."""
    out = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", OPEN_SCRIPT, str(REPO)],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        out.append(float(done.stdout.split()[-1]))
    return out


def prepare_naive(folder: Path) -> list[str]:
    import faiss
    from naive import NaivePipeline

    pipeline = NaivePipeline()
    faiss.write_index(pipeline.index, str(folder / "naive.faiss"))
    (folder / "texts.json").write_text(json.dumps(pipeline.texts))
    (folder / "naive.py").write_text(NAIVE_SCRIPT)
    from qa.embedders.paths import resolve_model_path

    model = resolve_model_path("all-MiniLM-L6-v2")
    return [
        sys.executable,
        str(folder / "naive.py"),
        model,
        str(folder / "naive.faiss"),
        str(folder / "texts.json"),
        QUESTION,
    ]


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--open-runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run(
        [sys.executable, "-m", "qa.cli", "index"], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL
    )
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "naive script (sentence-transformers + faiss)": prepare_naive(Path(tmp)),
            "qa ask": [sys.executable, "-m", "qa.cli", "ask", QUESTION, "-k", "5"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for cmd in commands.values():  # one untimed run each: page cache warm for both
            wall(cmd, env)
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(wall(cmd, env))
    base = median(times["naive script (sentence-transformers + faiss)"])
    rows = [[name, median(t), min(t), median(t) / base] for name, t in times.items()]
    print(f"wall time of one question in a fresh process, median of {args.runs}")
    print(table(["command", "median s", "best s", "ratio to naive"], rows))
    opened = open_times(args.open_runs, env)
    print(f"\nopening the index until BM25 scores, fresh process, {args.open_runs} runs")
    print(table(["step", "median ms", "best ms"], [["open_index + BM25", median(opened), min(opened)]]))


if __name__ == "__main__":
    main()
