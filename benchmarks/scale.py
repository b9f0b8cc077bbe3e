"""FAISS at 100k and 1M passages: exact flat search (the naive baseline) against the index
types the project chooses by size, on synthetic clustered 384-d vectors.

    python benchmarks/scale.py [--sizes 100000 1000000] [--queries 500] [--quick]

Embedding a real 1M-passage corpus would take hours on this machine, so the vectors are
random points around random cluster centres on the unit sphere (like sentence embeddings,
they are normalised and clustered by topic). Queries are perturbed corpus points. Recall@10
is measured against the exact flat search; latency is one query at a time, as users ask.
"qa store" is ``qa.store.faiss.FaissStore.search``: exact NumPy search when flat; on an
approximate index the top candidates' exact inner products from the stored float vectors decide
the order, so 8-bit quantisation error does not reorder results. "MiB" is the index file; the
store also keeps the float vectors on disk, memory-mapped, for rescoring (the flat row's size; half
of it from ``HALF_FROM`` windows on, where they are kept as float16, as the rows' labels say).
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


def latencies(search, queries: np.ndarray) -> list[float]:
    """Milliseconds of ``search`` for each query, one at a time, as users ask."""
    out = []
    for q in queries:
        t = time.perf_counter()
        search(q[None, :])
        out.append((time.perf_counter() - t) * 1000)
    return out


def run(n: int, n_queries: int, factories: list[str]) -> list[list[object]]:
    """Rows for ``n`` vectors: FAISS flat (the naive baseline, and the truth), the project's
    exact flat store, then each approximate factory, raw and through the store's rescoring."""
    import faiss

    from qa.store.faiss import FLAT_LIMIT, FaissStore, faiss_factory, stored_dtype

    vectors = clustered(n, clusters=max(n // 500, 50), seed=1)
    rng = np.random.default_rng(2)
    queries = (
        vectors[rng.integers(0, n, n_queries)]
        + rng.standard_normal((n_queries, DIM)).astype(np.float32) * 0.02
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    chosen = faiss_factory(n, DIM)
    timed = queries[: min(n_queries, 300)]

    start = time.perf_counter()
    naive = faiss.IndexFlatIP(DIM)
    naive.add(vectors)
    build = time.perf_counter() - start
    truth = naive.search(queries, 10)[1]
    lat = latencies(lambda q: naive.search(q, 10), timed)
    base = percentile(lat, 50)
    rows = [[f"{n:,}", "Flat (naive: FAISS flat)", build, disk_bytes(naive) / 2**20]]
    rows[-1] += [base, percentile(lat, 99), 1.0, "", "", 1.0]

    def store_row(label: str, store, build: float, size: float, raw: float | str) -> list[object]:
        found = store.search(queries, 10)[1]
        lat_raw = latencies(lambda q: store.faiss_index.search(q, 10), timed) if store.faiss_index else []
        lat_store = latencies(lambda q: store.search(q, 10), timed)
        p50 = percentile(lat_raw, 50) if lat_raw else ""
        p99 = percentile(lat_raw, 99) if lat_raw else ""
        r50 = percentile(lat_store, 50)
        return [f"{n:,}", label, build, size, p50, p99, raw, r50, recall_at_10(found, truth), base / r50]

    start = time.perf_counter()
    flat = FaissStore.from_factory(vectors, "Flat")
    label = "Flat (qa store: exact NumPy)" + (" (chosen by size)" if chosen == "Flat" else "")
    rows.append(store_row(label, flat, time.perf_counter() - start, vectors.nbytes / 2**20, ""))
    print(table(HEADERS, rows), flush=True)
    for factory in factories:
        if factory == "IVF,SQ8":  # lists scaled with the corpus, as the project chooses
            factory = faiss_factory(max(n, FLAT_LIMIT), DIM)
        start = time.perf_counter()
        store = FaissStore.from_factory(vectors, factory, dtype=stored_dtype(n))  # as the project keeps them
        build = time.perf_counter() - start
        size = disk_bytes(store.faiss_index) / 2**20
        kept = f", {store.stored_dtype} vectors" if store.stored_dtype != "float32" else ""
        for knob, value in search_settings(store.faiss_index):
            label = factory + (" (chosen by size)" if factory == chosen else "") + f" {knob}={value}{kept}"
            raw = recall_at_10(store.faiss_index.search(queries, 10)[1], truth)
            rows.append(store_row(label, store, build, size, raw))
            print(table(HEADERS, rows[-1:]).splitlines()[-1], flush=True)
        del store
    return rows


HEADERS = [
    "passages",
    "index",
    "build s",
    "MiB",
    "p50 ms",
    "p99 ms",
    "recall@10",
    "p50 ms, qa store (rescored)",
    "recall@10, qa store",
    "speed-up vs flat",
]


def recall_at_10(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a[:10]) & set(b)) / 10 for a, b in zip(ids, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--factories", nargs="+", default=["HNSW32,SQ8", "IVF,SQ8"])
    parser.add_argument("--quick", action="store_true", help="20k passages, 100 queries: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.queries = [20_000], 100
    import faiss

    print(f"faiss {faiss.__version__}, {os.cpu_count()} CPUs, dimension {DIM}", flush=True)
    rows = []
    for n in args.sizes:
        rows += run(n, args.queries, args.factories)
    print()
    print(table(HEADERS, rows))


if __name__ == "__main__":
    main()
