"""FAISS at 100k and 1M passages: exact flat search (the naive baseline) against the index
types the project chooses by size, on synthetic clustered 384-d vectors.

    python benchmarks/scale.py [--sizes 100000 1000000] [--queries 500]

Embedding a real 1M-passage corpus would take hours on this machine, so the vectors are
random points around random cluster centres on the unit sphere (like sentence embeddings,
they are normalised and clustered by topic). Queries are perturbed corpus points. Recall@10
is measured against the exact flat search; latency is one query at a time, as users ask.
"Rescored" is what the retriever does on an approximate index: the top candidates' exact
inner products from the stored float vectors decide the order, so 8-bit quantisation error
does not reorder results.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import percentile, table

DIM = 384


def clustered(n: int, *, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for i in range(0, n, step):
        m = min(step, n - i)
        noise = rng.standard_normal((m, DIM), dtype=np.float32) * 0.025
        out[i : i + m] = centres[rng.integers(0, clusters, m)] + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def search_settings(index):
    """Yield (knob, value) after setting each search-time value worth measuring."""
    import faiss

    inner = faiss.downcast_index(index)
    if hasattr(inner, "hnsw"):
        for ef in (64, 128, 256):
            inner.hnsw.efSearch = ef
            yield "efSearch", ef
    elif hasattr(inner, "nprobe"):
        for nprobe in (16, 32, 64):
            inner.nprobe = nprobe
            yield "nprobe", nprobe
    else:
        yield "", ""


def disk_bytes(index) -> int:
    import faiss

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "i.faiss"
        faiss.write_index(index, str(path))
        return path.stat().st_size


def run(n: int, n_queries: int, factories: list[str]) -> list[list[object]]:

    from qa.index.core import FLAT_LIMIT, faiss_factory, make_faiss

    vectors = clustered(n, clusters=max(n // 500, 50), seed=1)
    rng = np.random.default_rng(2)
    queries = (
        vectors[rng.integers(0, n, n_queries)]
        + rng.standard_normal((n_queries, DIM)).astype(np.float32) * 0.02
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    chosen = faiss_factory(n, DIM)
    rows = []
    truth = None
    base_p50 = None
    for factory in ["Flat", *[f for f in factories if f != "Flat"]]:
        if factory == "IVF,SQ8":  # lists scaled with the corpus, as the project chooses
            factory = faiss_factory(max(n, FLAT_LIMIT), DIM)
        start = time.perf_counter()
        index = make_faiss(vectors, factory)
        build = time.perf_counter() - start
        size = disk_bytes(index) / 2**20
        for knob, value in search_settings(index):
            _, ids = index.search(queries, RESCORE)
            if truth is None:
                truth = ids[:, :10]
            raw = recall_at_10(ids[:, :10], truth)
            rescored = recall_at_10(rescore(vectors, queries, ids), truth)
            lat, lat_rescored = [], []
            for q in queries[: min(n_queries, 300)]:
                t = time.perf_counter()
                index.search(q[None, :], 10)
                lat.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                _, found = index.search(q[None, :], RESCORE)
                rescore(vectors, q[None, :], found)
                lat_rescored.append((time.perf_counter() - t) * 1000)
            p50, p99 = percentile(lat, 50), percentile(lat, 99)
            base_p50 = base_p50 or p50
            label = factory + (" (chosen by size)" if factory == chosen else "")
            label += " (naive)" if factory == "Flat" else f" {knob}={value}"
            r50 = percentile(lat_rescored, 50)
            rows.append([f"{n:,}", label, build, size, p50, p99, raw, r50, rescored, base_p50 / r50])
            print(table(HEADERS, rows[-1:]).splitlines()[-1], flush=True)
        del index
    return rows


RESCORE = 100
HEADERS = [
    "passages",
    "index",
    "build s",
    "MiB",
    "p50 ms",
    "p99 ms",
    "recall@10",
    f"p50 ms, top {RESCORE} rescored",
    "recall@10 rescored",
    "speed-up vs flat",
]


def recall_at_10(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a[:10]) & set(b)) / 10 for a, b in zip(ids, truth)]))


def rescore(vectors: np.ndarray, queries: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Exact inner products of each query's candidates, as the retriever does: best 10 ids."""
    out = []
    for q, cand in zip(queries, ids):
        cand = cand[cand >= 0]
        exact = vectors[cand] @ q
        out.append(cand[np.argsort(-exact)[:10]])
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--factories", nargs="+", default=["HNSW32,SQ8", "IVF,SQ8"])
    args = parser.parse_args()
    import faiss

    print(f"faiss {faiss.__version__}, {os.cpu_count()} CPUs, dimension {DIM}", flush=True)
    print(table(HEADERS, []), flush=True)
    rows = []
    for n in args.sizes:
        rows += run(n, args.queries, args.factories)
    print()
    print(table(HEADERS, rows))


if __name__ == "__main__":
    main()
