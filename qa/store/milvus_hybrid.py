"""A question's candidates from Milvus in two rounds of concurrent calls.

Round one, at the same time: the dense search over every window, and one BM25 search over every
window size with room for ``SPREAD`` times the candidates all sizes need. Each size's best BM25
windows are read off that one list; a size with fewer than its share in a list that was cut short
is searched again in its own partition, so the candidates are exactly each size's best, as the
local BM25 finds them, at the cost of one search in the usual case instead of one per size.

Round two fills in what fusion needs for the union: the cosines of windows that only BM25 found
(their stored vectors, by primary key) and the BM25 scores of windows that only the dense search
found (a BM25 search restricted to their ids; not needed when the first list held every window
with a query term). Each call to Milvus Lite costs time in proportion to the collection, so the
number of searches per question, not their size, decides its latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from qa.store.base import Found
from qa.store.milvus_schema import partition, window_terms

__all__ = ["BM25_SEARCH", "SPREAD", "find_candidates", "hit_columns"]

BM25_SEARCH = {"metric_type": "BM25", "params": {}}
SPREAD = 2
"""The shared BM25 search asks for this many times the windows all sizes need together."""
SEARCH_LIMIT = 16_384
"""Most hits Milvus returns for one search."""


def hit_columns(found) -> tuple[np.ndarray, np.ndarray]:
    """Ids and distances of one query's hits (read as columns when pymilvus offers them, without
    making a dict per hit)."""
    if hasattr(found, "ids") and hasattr(found, "distances"):
        return np.asarray(found.ids, dtype=np.int64), np.asarray(found.distances, dtype=np.float32)
    ids = np.fromiter((h["id"] for h in found), dtype=np.int64, count=len(found))
    distances = np.fromiter((h["distance"] for h in found), dtype=np.float32, count=len(found))
    return ids, distances


def _bm25(distances: np.ndarray) -> np.ndarray:
    """BM25 scores from search distances (Milvus reports the score; Milvus Lite its negative)."""
    return np.abs(distances)


def _search(store, data, limit: int, **kwargs) -> Future:
    return store.submit(
        store.call, "search", store.collection, data=[data], limit=min(limit, SEARCH_LIMIT), **kwargs
    )


def _dense(store, vector: np.ndarray, n: int) -> Future:
    limit = min(n, max(len(store), 1))
    return _search(
        store,
        vector.tolist(),
        limit,
        anns_field="vector",
        search_params=store.search_params,
        output_fields=[],
    )


def _lexical(store, text: str, n: int, *, scale: int | None = None, ids: np.ndarray | None = None) -> Future:
    """BM25 search: over every size (with each hit's size), one size's partition, or ``ids``."""
    options: dict = {"output_fields": ["scale"] if scale is None and ids is None else []}
    if scale is not None:
        options["partition_names"] = [partition(scale)]
    if ids is not None:
        options["filter"] = f"id in {ids.tolist()}"
    return _search(store, text, n, anns_field="bm25", search_params=BM25_SEARCH, **options)


class _Lexical:
    """The BM25 hits of one question: the shared search's, then each short size's own."""

    def __init__(self, store, text: str, n: int) -> None:
        self.store, self.text, self.n = store, text, n
        self.limit = min(max(int(n * len(store.scales) * SPREAD), 1), SEARCH_LIMIT)
        self.call = _lexical(store, text, self.limit)

    def top(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Ids and scores of each size's best ``n`` windows, and whether the shared search found
        every window holding a query term (then any other window scores 0)."""
        found = self.call.result()[0]
        ids, distances = hit_columns(found)
        scales = np.fromiter((h["entity"]["scale"] for h in found), dtype=np.int64, count=len(found))
        complete = len(found) < self.limit
        keep = np.zeros(len(ids), dtype=bool)
        again = []
        for size in self.store.scales:
            mine = np.flatnonzero(scales == size)
            keep[mine[: self.n]] = True
            if len(mine) < self.n and not complete:
                again.append(_lexical(self.store, self.text, self.n, scale=size))
        self.seen = dict(zip(ids.tolist(), _bm25(distances).tolist()))
        top_ids, top_scores = [ids[keep]], [_bm25(distances[keep])]
        for call in again:
            more, more_distances = hit_columns(call.result()[0])
            top_ids.append(more)
            top_scores.append(_bm25(more_distances))
            self.seen.update(zip(more.tolist(), _bm25(more_distances).tolist()))
        return np.concatenate(top_ids), np.concatenate(top_scores), complete

    def scores(self, ids: np.ndarray, complete: bool) -> tuple[np.ndarray, Future | None]:
        """BM25 scores of ``ids`` known so far, and the search that scores the rest (None: none)."""
        out = np.asarray([self.seen.get(i, 0.0) for i in ids.tolist()], dtype=np.float32)
        unknown = np.asarray([i for i in ids.tolist() if i not in self.seen], dtype=np.int64)
        if complete or not len(unknown):
            return out, None
        return out, _lexical(self.store, self.text, len(unknown), ids=unknown)


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
    text = window_terms(query_terms) if store.lexical_in_engine and store.scales else ""
    dense_call = _dense(store, vector, dense_n) if vector is not None else None
    lexical = _Lexical(store, text, lexical_n) if text else None

    dense_ids, cosines = hit_columns(dense_call.result()[0]) if dense_call else (np.zeros(0, np.int64), None)
    lexical_ids, complete = np.zeros(0, np.int64), True
    if lexical is not None:
        lexical_ids, _, complete = lexical.top()
    extra = [np.asarray(extra_ids, np.int64)] if extra_ids is not None else []
    ids = np.unique(np.concatenate([dense_ids, lexical_ids, *extra]))

    known = dense_ids if vector is not None and store.exact else np.zeros(0, np.int64)
    missing = np.setdiff1d(ids, known) if vector is not None else np.zeros(0, np.int64)
    vectors_call = store.submit(store.vectors, missing) if len(missing) else None
    scores, fill_call = lexical.scores(ids, complete) if lexical is not None else (None, None)

    if fill_call is not None:
        got, distances = hit_columns(fill_call.result()[0])
        scores[np.searchsorted(ids, got)] = _bm25(distances)
    dense = None
    if vector is not None:
        dense = np.zeros(len(ids), np.float32)
        if len(known):
            dense[np.searchsorted(ids, known)] = cosines
        if vectors_call is not None:
            dense[np.searchsorted(ids, missing)] = vectors_call.result() @ vector.astype(np.float32)
    return Found(ids, dense, scores)
