"""The best few of many scored windows, best first, ties by the lower key: found without sorting
or partitioning all of them.

BM25 candidates come as tens of thousands of postings (a window once per query term holding it,
always with the same summed score), of which a question keeps a hundred or so. Partitioning them
all costs more than everything else BM25 does at a million windows; here a strided sample of the
scores gives a threshold above which, almost always, enough distinct windows lie, and only those
few hundred are sorted. Whether enough lie above it is checked, never assumed: if not, all of
them are sorted, so the answer is always exactly the full sort's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["best", "best_distinct"]

SAMPLE = 1024
"""Scores sampled to pick the threshold."""
OVERSHOOT = 8
"""Postings kept above the threshold per window wanted: room for repeats (a window once per
query term) and for the sample's error."""
_KEY_MASK = np.int64(0x7FFFFFFF)


def best(scores: np.ndarray, keys: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest of ``scores``, best first, ties by lower ``keys``."""
    chosen = np.arange(len(scores))
    if n < 1:
        return chosen[:0]
    if len(scores) > n:
        threshold = np.partition(scores, len(scores) - n)[len(scores) - n]
        above = np.flatnonzero(scores > threshold)
        ties = np.flatnonzero(scores == threshold)
        ties = ties[np.argsort(keys[ties], kind="stable")][: n - len(above)]
        chosen = np.concatenate([above, ties])
    return chosen[np.lexsort((keys[chosen], -scores[chosen]))]


def best_distinct(scores: np.ndarray, keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best distinct ``keys`` and their scores, best first, ties by lower key.

    ``scores`` are float32 and not negative; ``keys`` are int64 below 2**31, and a key that
    appears more than once has the same score each time. Each (score, key) is packed in one
    int64 that sorts as (score, -key) do: float32 bits of a non-negative number order as the
    number does.
    """
    keys = np.asarray(keys, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float32)
    if n < 1 or not len(scores):
        return keys[:0], scores[:0]
    if scores.min() < 0:  # the packing below holds for non-negative scores only
        chosen = best(scores, keys, len(scores))
        first = np.ones(len(chosen), bool)
        first[1:] = keys[chosen][1:] != keys[chosen][:-1]
        chosen = chosen[first][:n]
        return keys[chosen], scores[chosen]
    wanted = OVERSHOOT * n
    above = None
    if len(scores) > 2 * wanted:
        step = max(1, len(scores) // SAMPLE)
        sample = scores[::step]
        rank = min(len(sample), -(-wanted // step))
        threshold = np.partition(sample, len(sample) - rank)[len(sample) - rank]
        above = np.flatnonzero(scores >= threshold)
    while True:
        part_scores, part_keys = (scores, keys) if above is None else (scores[above], keys[above])
        packed = (part_scores.view(np.int32).astype(np.int64) << 32) | (_KEY_MASK - part_keys)
        packed.sort()
        first = np.ones(len(packed), bool)
        first[1:] = packed[1:] != packed[:-1]
        packed = packed[first]
        if len(packed) >= n or above is None:
            break
        above = None  # too few distinct windows above the threshold: all of them, then
    top = packed[::-1][:n]
    return _KEY_MASK - (top & np.int64(0xFFFFFFFF)), (top >> 32).astype(np.int32).view(np.float32)
