"""End to end at scale: ``Retriever.ask`` over 100k and 1M windows of synthetic text, per store.

    python benchmarks/scale_e2e.py [--sizes 100000 1000000] [--milvus-sizes 100000] [--questions 200]
                                   [--keep DIR] [--repeat N] [--warm N] [--stages] [--cold]

The corpus is made of the seed's own words: each document draws from one topic's share of the
vocabulary (Zipf-distributed), so documents cluster by topic as real ones do. The embedder
hashes words into 384 dimensions (bag of words, normalised): encoding costs microseconds, so the
figures are the retriever's and the store's, not the model's (the issue's "encode aside"), and
the vectors cluster with the text. Questions are 8-word runs of random documents.

Each (store, size) is built in one subprocess and queried in a fresh one, so the open time and
resident memory are those of a process that starts with nothing but the settings and the index:
open = ``open_index`` + ``Retriever`` + ``warm_up`` (until the first question can be answered: the
index's files are then mapped in on a thread of its own); first = that first question; warm = from
the start until the files are all mapped in; p50/p99 per question, one at a time, of the first
questions (the "warming" column: how many of them were asked before the files were all in, and
their p50 / p99) and, after warm-up, of as many other questions ("warm p50", "warm p99"); beside
each, the CPU time the process spent (the warm-up thread's included while it runs), which other
work on a shared machine does not inflate as it does the wall clock, and the load average while
the phase ran. Milvus runs as ``milvus-lite server`` on loopback, reached by URL (the gRPC path a
cluster uses), and is asked twice over the same build: as configured by default (BM25 from the
index's own files on Milvus Lite), and with BM25 in the engine (``QA_VECTOR_STORE_BM25=engine``).

``--keep DIR`` writes the corpora and their indexes under ``DIR`` (one folder per store and size)
and reuses a corpus already built there, so the query phase can be measured again and again
without the 1M build (most of an hour on a shared machine); its build column then says "kept".
``--repeat N`` asks each corpus N times, each in a fresh process, one row each: on a shared
machine the wall clock varies from run to run, the CPU time much less.

``--stages`` also times the main stages of each question (CPU time, each including what it
calls: dense candidates, BM25 candidates, cosines, BM25 scores, fusion, structure, passage
shapes, passages) and prints them per process in a second table: where the cost grows with the
corpus.

``--cold`` asks the kernel to drop the index's files from the page cache before each FAISS query
phase (``posix_fadvise(DONTNEED)`` on each file, so nothing else on the machine loses its cache):
the vectors, codes and postings are then read from disk while the first questions are answered,
as after a reboot or when other work has pushed them out.

``--warm N`` has each process ask N other questions (not timed) before the timed ones: what a
question costs a server that has been answering for a while. A fresh process derives per
document and per window what retrieval reads (word offsets, sentences, debris shares) on first
use, and at a million windows most of the first few hundred questions read documents and windows
no question read before; the default (0) times those first questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import REPO, percentile, table

DIM = 384
DOC_WORDS = 2000
TOPICS = 40
MODEL = "synthetic-hash"


class HashEmbedder:
    """Bag-of-words vectors from word hashes: deterministic and nearly free."""

    name = MODEL
    dimension = DIM

    def __init__(self) -> None:
        self._cache: dict[str, int] = {}

    def _slot(self, word: str) -> int:
        slot = self._cache.get(word)
        if slot is None:
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            slot = self._cache[word] = int.from_bytes(digest, "little") % DIM
        return slot

    def encode(self, texts, **_):
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            slots = [self._slot(w) for w in text.lower().split()]
            np.add.at(out[i], slots, 1.0)
            out[i, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def vocabulary() -> list[str]:
    words = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        words += path.read_text(encoding="utf-8").split()
    return sorted(set(words))


def write_corpus(seeds: Path, windows: int, sizes: tuple[int, ...], seed: int = 0) -> int:
    """Documents of DOC_WORDS words until about ``windows`` windows; returns the documents made."""
    per_doc = sum(max(1, (DOC_WORDS - s) // max(s // 2, 1) + 1) for s in sizes)
    docs = max(1, round(windows / per_doc))
    vocab = np.array(vocabulary())
    rng = np.random.default_rng(seed)
    ranks = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    seeds.mkdir(parents=True, exist_ok=True)
    for d in range(docs):
        topic = np.random.default_rng(d % TOPICS).permutation(len(vocab))
        words = vocab[topic[rng.choice(len(vocab), DOC_WORDS, p=ranks / ranks.sum())]]
        (seeds / f"doc{d:05d}.txt").write_text(" ".join(words), encoding="utf-8")
    return docs


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_build(root: Path, store: str) -> dict:
    from qa.config import Settings
    from qa.index.build import ensure_index

    settings = Settings(root=root, model=MODEL, vector_store=store, vector_store_collection="scale")
    t = time.perf_counter()
    report = ensure_index(settings, HashEmbedder())
    return {"build_s": time.perf_counter() - t, "windows": len(report.index), "build_rss_mb": rss_mb()}


def _questions(documents, count: int, seed: int) -> list[str]:
    """``count`` 8-word runs of random documents."""
    rng = np.random.default_rng(seed)
    asks = []
    for _ in range(count):
        words = documents[int(rng.integers(len(documents)))].text.split()
        start = int(rng.integers(len(words) - 8))
        asks.append(" ".join(words[start : start + 8]))
    return asks


STAGES = (
    ("dense", "qa.retrieval.fusion", "Fusion", "dense_top"),
    ("bm25 top", "qa.retrieval.fusion", "Fusion", "lexical_top"),
    ("cosines", "qa.retrieval.fusion", "Fusion", "dense_scores"),
    ("bm25 scores", "qa.lexical.bm25", "LexicalIndex", "scores_for"),
    ("fuse", "qa.retrieval.fusion", "Fusion", "_fuse"),
    ("structure", "qa.retrieval.structure", "Structure", "bonus"),
    ("shapes", "qa.retrieval.shaping", "Shaper", "shapes"),
    ("passages", "qa.retrieval.retriever", "Retriever", "_passage"),
    ("ask", "qa.retrieval.retriever", "Retriever", "ask"),
)
"""Stages timed by ``--stages`` (CPU time, each including what it calls): label, module, class, method."""


def time_stages() -> dict[str, float]:
    """Wrap the :data:`STAGES` methods (those that exist) with CPU timers; returns the totals in
    seconds by label, filled in as questions are asked."""
    import functools
    import importlib

    totals: dict[str, float] = {}
    for label, module, cls_name, name in STAGES:
        cls = getattr(importlib.import_module(module), cls_name, None)
        method = getattr(cls, name, None)
        if method is None:  # renamed by later work: left out of the table
            continue

        def timed(*args, _method=method, _label=label, **kwargs):
            start = time.process_time()
            try:
                return _method(*args, **kwargs)
            finally:
                totals[_label] += time.process_time() - start

        totals[label] = 0.0
        setattr(cls, name, functools.wraps(method)(timed))
    return totals


def phase_query(
    root: Path, store: str, questions: int, bm25: str = "auto", warm: int = 0, stages: bool = False
) -> dict:
    from qa.config import Settings
    from qa.index.build import open_index
    from qa.retrieval.retriever import Retriever

    settings = Settings(
        root=root,
        model=MODEL,
        vector_store=store,
        vector_store_collection="scale",
        vector_store_bm25=bm25,
    )
    load = os.getloadavg()[0]
    started, t, cpu = time.monotonic(), time.perf_counter(), time.process_time()
    retriever = Retriever(open_index(settings), HashEmbedder(), settings)
    retriever.warm_up()
    opened, opened_cpu = time.perf_counter() - t, time.process_time() - cpu
    asks = _questions(retriever.index.documents, questions, seed=1)
    for question in _questions(retriever.index.documents, warm, seed=2):
        retriever.ask(question)
    t = time.perf_counter()
    retriever.ask(asks[0])
    first = (time.perf_counter() - t) * 1000
    totals = time_stages() if stages else {}
    times, cpu_times, warming = ask_timed(retriever, asks)
    while_warming = [ms for ms, cold in zip(times, warming) if cold]
    background = getattr(retriever, "warming", None)  # None: the code before background warm-up
    if background is not None:
        background.wait()
    warm_s = opened if background is None else background.started + background.seconds - started
    later, later_cpu, _ = ask_timed(retriever, _questions(retriever.index.documents, questions, seed=3))
    return {
        "open_s": opened,
        "open_cpu_s": opened_cpu,
        "first_ms": first,
        "warm_s": warm_s,
        "while_warming": len(while_warming),
        "warming_p50_ms": percentile(while_warming, 50),
        "warming_p99_ms": percentile(while_warming, 99),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "p50_cpu_ms": percentile(cpu_times, 50),
        "p99_cpu_ms": percentile(cpu_times, 99),
        "warm_p50_ms": percentile(later, 50),
        "warm_p99_ms": percentile(later, 99),
        "warm_p50_cpu_ms": percentile(later_cpu, 50),
        "warm_p99_cpu_ms": percentile(later_cpu, 99),
        "rss_mb": rss_mb(),
        "load": (load + os.getloadavg()[0]) / 2,
        "warm": warm,
        "stages_ms": {label: total / len(asks) * 1000 for label, total in totals.items()},
    }


def ask_timed(retriever, asks: list[str]) -> tuple[list[float], list[float], list[bool]]:
    """Wall and CPU milliseconds of each question, asked one at a time, and whether the index
    was still being warmed up in the background when it was asked."""
    times, cpu_times, warming = [], [], []
    for q in asks:
        warming.append(not getattr(retriever, "warm", True))
        t, cpu = time.perf_counter(), time.process_time()
        retriever.ask(q)
        times.append((time.perf_counter() - t) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
    return times, cpu_times, warming


def drop_cached(root: Path) -> int:
    """Ask the kernel to drop every file under ``root`` from the page cache (pages no process
    maps); returns the bytes of the files advised."""
    advised = 0
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            advised += path.stat().st_size
    return advised


def run_phase(*args: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {args[1]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def built_corpus(root: Path, n: int, store: str, *, keep: bool) -> tuple[int, dict]:
    """Documents made and the build's figures for a corpus of about ``n`` windows in ``root``;
    with ``keep``, a corpus built there before is reused (its figures saved beside it)."""
    from qa.config import Settings

    record = root / "built.json"
    if keep and record.is_file():
        saved = json.loads(record.read_text(encoding="utf-8"))
        return saved["documents"], {**saved["build"], "kept": True}
    docs = write_corpus(root / "seeds", n, Settings().window_sizes)
    made = run_phase("--phase", "build", "--root", str(root), "--store", store)
    if keep:
        record.write_text(json.dumps({"documents": docs, "build": made}), encoding="utf-8")
    return docs, made


def row_of(name: str, docs: int, built: dict, asked: dict) -> list[str]:
    return [
        name,
        f"{built['windows']:,}",
        f"{docs:,}",
        "kept" if built.get("kept") else f"{built['build_s']:.1f}",
        f"{asked['open_s']:.2f} ({asked['open_cpu_s']:.2f})",
        f"{asked['first_ms']:.1f}",
        f"{asked['warm_s']:.2f}",
        f"{asked['p50_ms']:.1f} ({asked['p50_cpu_ms']:.1f})",
        f"{asked['p99_ms']:.1f} ({asked['p99_cpu_ms']:.1f})",
        warming_column(asked),
        f"{asked['warm_p50_ms']:.1f} ({asked['warm_p50_cpu_ms']:.1f})",
        f"{asked['warm_p99_ms']:.1f} ({asked['warm_p99_cpu_ms']:.1f})",
        f"{asked['rss_mb']:.0f}",
        f"{asked['load']:.1f}",
        f"{asked.get('warm', 0):,}",
    ]


def warming_column(asked: dict) -> str:
    """How many timed questions were asked while warming, and their p50 / p99 (wall, ms)."""
    n = asked["while_warming"]
    return f"{n}: {asked['warming_p50_ms']:.0f} / {asked['warming_p99_ms']:.0f}" if n else "0"


HEADERS = [
    "store", "windows", "documents", "build s", "open s", "first ms", "warm s", "p50 ms", "p99 ms",
    "warming", "warm p50 ms", "warm p99 ms", "RSS MB", "load", "asked before",
]  # fmt: skip


def measure(
    args: argparse.Namespace, tmp: Path, url: str, stage_rows: list[list[str]], stage_names: list[str]
) -> list[list[str]]:
    """One row per (store, size) and repeat: build (or reuse) the corpus, ask in a fresh process
    (with ``--stages``, a row of stage times per process into ``stage_rows``)."""
    plan = [("faiss", n, "", []) for n in args.sizes] + [
        (name, n, url, flags)
        for n in args.milvus_sizes
        for name, flags in (
            ("milvus-lite server", []),
            ("milvus-lite server, BM25 in engine", ["--bm25", "engine"]),
        )
    ]
    rows = []
    built_at: dict[Path, tuple[int, dict]] = {}
    for name, n, store, flags in plan:
        keep = args.keep is not None and not store  # a Milvus collection lives in the server's folder
        root = (args.keep if keep else tmp) / f"{name.split()[0]}-{n}"
        if root not in built_at:  # the engine-BM25 row asks the build of the row before it
            built_at[root] = built_corpus(root, n, store, keep=keep)
        docs, built = built_at[root]
        for _ in range(args.repeat):
            if args.cold and not store:
                drop_cached(root)
            asked = run_phase(
                *flags, "--phase", "query", "--root", str(root), "--store", store,
                "--questions", str(args.questions), "--warm", str(args.warm),
                *(["--stages"] if args.stages else []),
            )  # fmt: skip
            rows.append(row_of(name, docs, built, asked))
            if asked.get("stages_ms"):
                stage_rows.append(
                    [name, f"{built['windows']:,}"] + [f"{v:.2f}" for v in asked["stages_ms"].values()]
                )
                stage_names[:] = list(asked["stages_ms"])
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--milvus-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build the FAISS corpora here and reuse them")
    parser.add_argument("--repeat", type=int, default=1, help="query phases per corpus")
    parser.add_argument("--warm", type=int, default=0, help="untimed questions each process asks first")
    parser.add_argument("--stages", action="store_true", help="also time the stages of a question (CPU)")
    parser.add_argument("--cold", action="store_true", help="drop the index files from the page cache first")
    parser.add_argument("--phase", choices=["build", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", default="", help=argparse.SUPPRESS)
    parser.add_argument("--bm25", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "build":
        print(json.dumps(phase_build(args.root, args.store)))
        return
    if args.phase == "query":
        print(
            json.dumps(phase_query(args.root, args.store, args.questions, args.bm25, args.warm, args.stages))
        )
        return

    sys.path.insert(0, str(REPO / "tests"))
    from milvus_servers import start_lite_server, stop

    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        server, url = None, ""
        if args.milvus_sizes:
            server, url = start_lite_server(Path(tmp) / "milvus")
        try:
            stage_rows, stage_names = [], []
            rows = measure(args, Path(tmp), url, stage_rows, stage_names)
        finally:
            if server is not None:
                stop(server)
    print(f"Retriever.ask end to end, {args.questions} questions one at a time, {os.cpu_count()} cores")
    print(
        "open: until the first question can be answered; first: that question; warm: until the index's"
        " files are mapped in (from the start); p50, p99: the first questions, 'warming' of them asked"
        " while the files were still being mapped in (and their p50 / p99 ms); warm p50, p99: as many"
        " other questions after;"
        " wall clock (CPU time of the process in brackets); load: 1-minute load average;"
        " asked before: questions the process asked before the timed ones"
    )
    print(table(HEADERS, rows))
    if stage_rows:
        print("\nCPU ms per question by stage (each including what it calls; ask = the whole question)")
        print(table(["store", "windows", *stage_names], stage_rows))


if __name__ == "__main__":
    main()
