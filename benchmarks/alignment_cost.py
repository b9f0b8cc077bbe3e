"""What token alignment costs a question: how often the abstainer asks for it, what a call
takes, and ``Retriever.ask`` with the settings' eight signals against the seven before, turn
about per question in one process (the machine's load falls on both alike).

    python benchmarks/alignment_cost.py [--sets seed,devdocs] [--cache DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from _common import REPO, percentile, table
from retrieval import SETS, find_eval_dir, index_name

SEVEN = {
    "abstain_weights": (-1.16, -5.04, -2.31, -0.08, -1.78, -2.16, -5.28),
    "abstain_bias": 10.30,
    "abstain_chance": 0.81,
}
"""The settings before token alignment."""


def main() -> None:
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="seed,devdocs")
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    eval_dir = (args.eval_dir or find_eval_dir()).resolve()
    lines = []
    embedder = None
    for name in args.sets.split(","):
        questions_file, corpus_name = SETS[name]
        if corpus_name is None:
            settings = Settings.load(root=REPO)
        else:
            corpus = eval_dir / corpus_name
            index_dir = args.cache / f"index-{index_name(corpus_name)}"
            settings = Settings.load(root=corpus, seeds_dir=corpus, index_dir=index_dir)
        embedder = embedder or make_embedder(settings)
        index = ensure_index(settings, embedder).index
        items = [json.loads(line) for line in (eval_dir / questions_file).read_text().splitlines() if line]
        asks = [(i["question"], i.get("history") or []) for i in items]
        eight = Retriever(index, embedder, settings)
        seven = Retriever(index, embedder, dataclasses.replace(settings, **SEVEN))
        for retriever in (eight, seven):
            retriever.warm_up(background=False)
        calls: list[float] = []
        alignment = eight.alignment
        original = alignment.matches

        def timed_matches(question: str, passage: str, original=original, calls=calls) -> dict[str, float]:
            start = time.perf_counter()
            try:
                return original(question, passage)
            finally:
                calls.append(time.perf_counter() - start)

        alignment.matches = timed_matches
        for retriever in (eight, seven):  # the first pass fills caches (word vectors, documents)
            for question, history in asks:
                retriever.ask(question, history=history)
        calls.clear()
        times: dict[str, list[float]] = {"eight": [], "seven": []}
        for _ in range(args.repeat):
            for question, history in asks:
                for label, retriever in (("eight", eight), ("seven", seven)):
                    start = time.perf_counter()
                    retriever.ask(question, history=history)
                    times[label].append(time.perf_counter() - start)
        made = len(calls) / args.repeat
        for label in ("seven", "eight"):
            ms = np.array(times[label]) * 1000
            lines.append(
                [
                    name,
                    label,
                    f"{percentile(ms, 50):.1f}",
                    f"{percentile(ms, 90):.1f}",
                    f"{percentile(ms, 99):.1f}",
                    f"{made:.0f} of {len(asks)}" if label == "eight" else "",
                    f"{percentile(np.array(calls) * 1000, 50):.1f}" if label == "eight" and calls else "",
                ]
            )
    print(
        table(
            ["set", "signals", "ask p50 ms", "p90", "p99", "questions aligned", "alignment call p50 ms"],
            lines,
        )
    )


if __name__ == "__main__":
    main()
