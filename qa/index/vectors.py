"""The vectors of one document's windows: every window embedded by the model, or only the
smallest windows embedded and the larger ones composed from them.

Composing: a window of a larger size is tiled, left to right, by the smallest windows that lie
inside it (non-overlapping, each starting at or after the end of the previous one, plus the
last one inside when the tiles stop short of the end); its vector is the normalised mean of the
tiles' vectors, weighted by their words. With sizes 20, 40, 60 and 100 words each overlapping by
half this sends a quarter of the words through the model: the smallest windows' words only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["compose_vectors", "document_vectors", "tiles"]

Encode = Callable[[list[str]], np.ndarray]


def tiles(small_starts: np.ndarray, small_ends: np.ndarray, start: int, end: int) -> list[int]:
    """Positions (into the small windows, sorted by start) of the tiles of words ``[start, end)``."""
    inside = np.flatnonzero((small_starts >= start) & (small_ends <= end))
    chosen: list[int] = []
    reached = start
    for i in inside:
        if small_starts[i] >= reached:
            chosen.append(int(i))
            reached = int(small_ends[i])
    if len(inside) and reached < end and int(inside[-1]) != chosen[-1]:
        chosen.append(int(inside[-1]))
    if not chosen:  # no small window fits inside (a window at the very end): the overlapping ones
        chosen = [int(i) for i in np.flatnonzero((small_starts < end) & (small_ends > start))]
    return chosen


def compose_vectors(
    small: np.ndarray, small_starts: np.ndarray, small_ends: np.ndarray, spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """One vector per word span: the normalised, word-weighted mean of the small windows tiling it."""
    out = np.zeros((len(spans), small.shape[1]), dtype=np.float32)
    words = (small_ends - small_starts).astype(np.float32)
    for row, (start, end) in enumerate(spans):
        chosen = tiles(small_starts, small_ends, start, end)
        mean = (small[chosen] * words[chosen, None]).sum(axis=0)
        out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def document_vectors(
    texts: Sequence[str],
    scales: np.ndarray,
    word_starts: np.ndarray,
    word_ends: np.ndarray,
    *,
    encode: Encode,
    compose: bool,
) -> np.ndarray:
    """Vectors of one document's windows (given in table order); ``compose``: embed only the
    smallest size and compose the others, else embed them all."""
    if not compose or len(texts) == 0:
        return encode(list(texts))
    smallest = int(scales.min())
    small_rows = np.flatnonzero(scales == smallest)
    small = encode([texts[i] for i in small_rows])
    order = np.argsort(word_starts[small_rows], kind="stable")
    small_rows, small = small_rows[order], small[order]
    out = np.zeros((len(texts), small.shape[1]), dtype=np.float32)
    out[small_rows] = small
    rest = np.flatnonzero(scales != smallest)
    spans = [(int(word_starts[i]), int(word_ends[i])) for i in rest]
    out[rest] = compose_vectors(small, word_starts[small_rows], word_ends[small_rows], spans)
    return out
