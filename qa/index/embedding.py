"""The build's pass of window texts through the model.

Every text the build will embed is sent at once, in order of its token count when the embedder
can count tokens (both real ones can), so that each batch holds texts of nearly one length and
pads little: on ``docs-pdf/`` a batch of 64 windows padded to its longest computes 1.02 times the
windows' own tokens in this order, 1.37 times when each document's windows went through the model
in chunks of 256 sorted by tokens, and 1.68 times sorted by characters (code lines hold up to
six times the tokens per character of prose). The texts go in chunks of :data:`EMBED_BATCH`, so
progress can be reported. Nothing here changes a vector: only which texts share a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.embedders.base import Embedder

__all__ = ["EMBED_BATCH", "Embedded", "embed_texts", "token_order"]

EMBED_BATCH = 256
"""Texts per call to the embedder (and per progress step)."""
COUNT_CHUNK = 4096
"""Texts tokenised at once to count their tokens (bounds the memory of a large build)."""


def token_order(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Positions of ``texts`` by increasing token count (as given when the embedder cannot count)."""
    counts = getattr(embedder, "token_counts", None)
    if counts is None or len(texts) == 0:
        return np.arange(len(texts))
    parts = [counts(list(texts[i : i + COUNT_CHUNK])) for i in range(0, len(texts), COUNT_CHUNK)]
    return np.argsort(np.concatenate(parts), kind="stable")


def embed_texts(
    embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Vectors of ``texts`` (in their order), embedded in order of token count;
    ``progress(n)`` after each chunk of ``n`` texts."""
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    order = token_order(embedder, texts)
    for b in range(0, len(order), EMBED_BATCH):
        rows = order[b : b + EMBED_BATCH]
        out[rows] = embedder.encode([texts[i] for i in rows])
        if progress:
            progress(len(rows))
    return out


class Embedded:
    """An ``encode`` function over vectors embedded ahead (by :func:`embed_texts`): texts met
    ahead get their vector, any other text goes through ``fallback``."""

    def __init__(
        self,
        texts: Sequence[str],
        vectors: np.ndarray | None,
        fallback: Callable[[list[str]], np.ndarray],
    ) -> None:
        self._rows = {text: row for row, text in enumerate(texts)}
        self._vectors = vectors
        self._fallback = fallback

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self._vectors is None:
            return self._fallback(texts)
        rows = [self._rows.get(text, -1) for text in texts]
        missing = [i for i, row in enumerate(rows) if row < 0]
        if not missing:
            return self._vectors[rows]
        out = np.zeros((len(texts), self._vectors.shape[1]), dtype=np.float32)
        found = [i for i, row in enumerate(rows) if row >= 0]
        out[found] = self._vectors[[rows[i] for i in found]]
        out[missing] = self._fallback([texts[i] for i in missing])
        return out
