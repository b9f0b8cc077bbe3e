"""The vectors of one document's windows (``Settings.window_vectors``): every window embedded
by the model; only the smallest windows embedded and the larger ones composed from them; or only
the largest windows embedded and the smaller ones pooled from their token states
(``qa.index.contextual``).

Composing: a window of a larger size is tiled, left to right, by the smallest windows that lie
inside it (non-overlapping, each starting at or after the end of the previous one, plus the
last one inside when the tiles stop short of the end); its vector is the normalised mean of the
tiles' vectors, weighted by their words. With sizes 20, 40, 60 and 100 words each overlapping by
half this sends a quarter of the words through the model: the smallest windows' words only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.index.contextual import EncodeTokens, WindowSpans, contextual_vectors

__all__ = ["WindowSpans", "compose_vectors", "document_vectors", "model_rows", "model_windows", "tiles"]

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


def model_rows(scales: np.ndarray, window_vectors: str) -> np.ndarray:
    """Which of a document's windows (their sizes: ``scales``) :func:`document_vectors` sends to
    ``encode``: all of them (``embedded``), the smallest (``composed``) or none (``contextual``,
    whose windows go through ``encode_tokens``)."""
    if window_vectors == "composed" and len(scales):
        return np.flatnonzero(scales == scales.min())
    if window_vectors == "contextual":
        return np.zeros(0, dtype=np.int64)
    return np.arange(len(scales))


def model_windows(scales: np.ndarray, window_vectors: str) -> int:
    """How many of a document's windows (their sizes: ``scales``) go through the model (for
    ``contextual``, before the few embedded on their own)."""
    if window_vectors == "contextual":
        return int((scales == scales.max()).sum()) if len(scales) else 0
    return len(model_rows(scales, window_vectors))


def document_vectors(
    texts: Sequence[str],
    spans: WindowSpans,
    *,
    encode: Encode,
    window_vectors: str,
    encode_tokens: EncodeTokens | None = None,
) -> np.ndarray:
    """Vectors of one document's windows (``texts`` and ``spans`` in table order) made the way
    ``window_vectors`` says; ``contextual`` needs ``encode_tokens``."""
    if len(texts) == 0 or window_vectors == "embedded":
        return encode(list(texts))
    if window_vectors == "contextual":
        if encode_tokens is None:
            raise ValueError("contextual window vectors need encode_tokens")
        return contextual_vectors(texts, spans, encode=encode, encode_tokens=encode_tokens)
    return composed_vectors(texts, spans.scale, spans.word_start, spans.word_end, encode=encode)


def composed_vectors(
    texts: Sequence[str],
    scales: np.ndarray,
    word_starts: np.ndarray,
    word_ends: np.ndarray,
    *,
    encode: Encode,
) -> np.ndarray:
    """The smallest windows embedded, the others composed from them."""
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
