"""Warm query latency and batch throughput: the project's ``Retriever.ask`` (hybrid search,
passage shaping, highlight) against the naive pipeline's encode + flat search, same run.

    python benchmarks/latency.py [QUESTIONS.jsonl] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time

from _common import DEV, REPO, percentile, table, timed
from naive import NaivePipeline
from retrieval import find_eval_dir

PAUSE = 0.1
"""Seconds between one system's pass and the other's: longer than torch's threads spin after a call."""


def questions_to_time(description: str) -> tuple[list[str], argparse.Namespace]:
    """The timing scripts' command line: a questions file (the seed's dev set by default) and
    how many passes over it."""
    parser = argparse.ArgumentParser(description=description)
    default = DEV if DEV.exists() else find_eval_dir() / "dev.jsonl"
    parser.add_argument("questions", nargs="?", default=str(default))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with open(args.questions, encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()], args


def warm_retriever():
    """The project's retriever over the seed's index, its files read in first (warm questions
    are timed)."""
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    settings = Settings.load(root=REPO)
    embedder = make_embedder(settings)
    retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
    retriever.warm_up(background=False)
    return retriever


def main() -> None:
    questions, args = questions_to_time(__doc__.splitlines()[0])
    retriever = warm_retriever()
    naive = NaivePipeline()

    systems = {
        "naive: ST encode + flat search": naive,
        f"qa Retriever.ask ({retriever.settings.backend})": retriever,
    }
    for system in systems.values():  # warm caches
        for q in questions[:5]:
            system.ask(q)
    samples: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.repeat):
        # whole passes in turn, so machine noise hits both alike; not question by question: after
        # each of its calls torch's OpenMP threads spin-wait (some 9 ms of CPU), and on two cores
        # that slowed the next system's question by a median 4.5 ms
        for name, system in systems.items():
            time.sleep(PAUSE)  # the other system's threads done spinning
            for q in questions:
                start = time.perf_counter()
                system.ask(q)
                samples[name].append((time.perf_counter() - start) * 1000)
    batch = {}
    for name, system in systems.items():
        time.sleep(PAUSE)
        batch[name] = len(questions) * 4 / timed(lambda s=system: s.ask_many(questions * 4))

    base = percentile(samples["naive: ST encode + flat search"], 50)
    rows = [
        [name, percentile(v, 50), percentile(v, 99), percentile(v, 50) / base, batch[name]]
        for name, v in samples.items()
    ]
    passes = "one at a time, whole passes in turn"
    print(f"{len(questions)} questions x {args.repeat}, {passes}; batch: all questions x 4")
    print(table(["system", "p50 ms", "p99 ms", "p50 / naive", "batch q/s"], rows))


if __name__ == "__main__":
    main()
