"""A question's candidates from Milvus in two rounds of concurrent calls.

Round one: the dense search over every window, and (when the collection has the BM25 field) one
BM25 search per window size, each in that size's partition. Round two fills in what fusion needs
for the union: the cosines of windows that only BM25 found (their stored vectors) and the BM25
scores of windows that only the dense search found (a BM25 search restricted to their ids).
The calls of a round run at the same time on the store's thread pool, so a question costs two
round trips' latency, not seven.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from qa.store.base import Found
from qa.store.milvus_schema import partition, window_terms

__all__ = ["BM25_SEARCH", "find_candidates"]

BM25_SEARCH = {"metric_type": "BM25", "params": {}}


def _hits(found) -> tuple[np.ndarray, np.ndarray]:
    """Ids and distances of one query's hits."""
    ids = np.fromiter((h["id"] for h in found), dtype=np.int64, count=len(found))
    distances = np.fromiter((h["distance"] for h in found), dtype=np.float32, count=len(found))
    return ids, distances


def _bm25(distances: np.ndarray) -> np.ndarray:
    """BM25 scores from search distances (Milvus reports the score; Milvus Lite its negative)."""
    return np.abs(distances)


def _dense(store, vector: np.ndarray, n: int) -> Future:
    return store.submit(
        store.call,
        "search",
        store.collection,
        data=[vector.tolist()],
        anns_field="vector",
        limit=min(n, max(len(store), 1), 16384),
        search_params=store.search_params,
        output_fields=[],
    )


def _lexical(store, text: str, n: int, scale: int) -> Future:
    return store.submit(
        store.call,
        "search",
        store.collection,
        data=[text],
        anns_field="bm25",
        limit=n,
        search_params=BM25_SEARCH,
        partition_names=[partition(scale)],
        output_fields=[],
    )


def _lexical_of(store, text: str, ids: np.ndarray) -> Future:
    """BM25 scores of ``ids`` (those holding a query term come back)."""
    return store.submit(
        store.call,
        "search",
        store.collection,
        data=[text],
        anns_field="bm25",
        limit=len(ids),
        search_params=BM25_SEARCH,
        filter=f"id in {ids.tolist()}",
        output_fields=[],
    )


def find_candidates(
    store,
    vector: np.ndarray | None,
    query_terms: Sequence[str],
    *,
    dense_n: int,
    lexical_n: int,
    extra_ids: np.ndarray | None = None,
) -> Found:
    """See :meth:`qa.store.base.CandidateSearch.candidates`."""
    text = window_terms(query_terms) if store.lexical_in_engine else ""
    dense_call = _dense(store, vector, dense_n) if vector is not None else None
    lexical_calls = [_lexical(store, text, lexical_n, s) for s in store.scales] if text else []

    dense_ids, cosines = _hits(dense_call.result()[0]) if dense_call else (np.zeros(0, np.int64), None)
    lexical_ids, lexical_scores = np.zeros(0, np.int64), np.zeros(0, np.float32)
    for call in lexical_calls:
        ids, distances = _hits(call.result()[0])
        lexical_ids = np.concatenate([lexical_ids, ids])
        lexical_scores = np.concatenate([lexical_scores, _bm25(distances)])
    parts = [dense_ids, lexical_ids] + ([np.asarray(extra_ids, np.int64)] if extra_ids is not None else [])
    ids = np.unique(np.concatenate(parts))

    dense = None
    if vector is not None:
        known = dense_ids if store.exact else np.zeros(0, np.int64)
        missing = np.setdiff1d(ids, known)
        vectors_call = store.submit(store.vectors, missing) if len(missing) else None
    lexical = None
    if text:
        unscored = np.setdiff1d(ids, lexical_ids)
        fill_call = _lexical_of(store, text, unscored) if len(unscored) else None
        lexical = np.zeros(len(ids), np.float32)
        lexical[np.searchsorted(ids, lexical_ids)] = lexical_scores
        if fill_call is not None:
            got, distances = _hits(fill_call.result()[0])
            lexical[np.searchsorted(ids, got)] = _bm25(distances)
    if vector is not None:
        dense = np.zeros(len(ids), np.float32)
        if len(known):
            dense[np.searchsorted(ids, known)] = cosines
        if vectors_call is not None:
            dense[np.searchsorted(ids, missing)] = vectors_call.result() @ vector.astype(np.float32)
    return Found(ids, dense, lexical)
