"""The build's pass of window texts through the model.

Every text the build will embed is sent at once, in order of its token count when the embedder
can count tokens (both real ones can), so that each batch holds texts of nearly one length and
pads little: on ``docs-pdf/`` a batch of 64 windows padded to its longest computes 1.02 times the
windows' own tokens in this order, 1.37 times when each document's windows went through the model
in chunks of 256 sorted by tokens, and 1.68 times sorted by characters (code lines hold up to
six times the tokens per character of prose).

A text that occurs more than once (repeated boilerplate, code lines: 101 of the 7,713 windows of
``docs-pdf/``) goes through the model once and every occurrence gets its vector. Tokens are
counted once: an embedder that takes the counts (``encode_counted``, the torch one) embeds
slices of :data:`COUNTED_SLICE` texts in token order, each in one pass of its workers, reporting
each batch; any other gets chunks of :data:`EMBED_BATCH` in token order, so progress can be
reported. A stop raised by ``progress`` (:mod:`qa.index.stopping`) thus ends the pass within a
slice or a chunk: a pass of the workers, once started, runs to its end. Nothing here changes a
vector beyond which texts share a batch (a slice holds whole batches of the embedder's, the very
batches one pass over all the texts would make), and a text past :data:`MAX_EMBED_CHARS` is cut
there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.embedders.base import Embedder

__all__ = [
    "COUNTED_SLICE",
    "EMBED_BATCH",
    "MAX_EMBED_CHARS",
    "Embedded",
    "distinct",
    "embed_texts",
    "token_counts",
    "token_order",
]

EMBED_BATCH = 256
"""Texts per call to an embedder without ``encode_counted`` (and per progress step)."""
COUNTED_SLICE = 512
"""Texts per pass of the workers of an embedder with ``encode_counted`` (rounded up to whole
batches of its ``batch_size``): a stop waits for at most this many (the torch embedder's pass
cannot be cut short); the workers meet once per slice, at its shortest batches."""
COUNT_CHUNK = 4096
"""Texts tokenised at once to count their tokens (bounds the memory of a large build)."""
MAX_EMBED_CHARS = 100_000
"""Characters of a text the model is given. A window is at most 120 words, but a "word" has no
bound: a document holding one run of 40 million characters without a space (a pasted blob,
a minified line) kept the tokenizer busy for many minutes and the server at 2.5 GB before
truncation to the model's 256 tokens. Such a run is one unknown token however long, so the
cut changes the vector only of a text whose first 256 tokens reach past this many characters."""


def token_counts(embedder: Embedder, texts: Sequence[str]) -> np.ndarray | None:
    """Tokens of each of ``texts`` as the model sees them (None when the embedder cannot count)."""
    counts = getattr(embedder, "token_counts", None)
    if counts is None:
        return None
    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    parts = [counts(list(texts[i : i + COUNT_CHUNK])) for i in range(0, len(texts), COUNT_CHUNK)]
    return np.concatenate(parts)


def token_order(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Positions of ``texts`` by increasing token count (as given when the embedder cannot count)."""
    counts = token_counts(embedder, texts)
    if counts is None:
        return np.arange(len(texts))
    return np.argsort(counts, kind="stable")


def distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The different texts of ``texts`` (first occurrence order) and, for each of ``texts``, the
    position of its text among them."""
    position: dict[str, int] = {}
    where = np.fromiter(
        (position.setdefault(text, len(position)) for text in texts), dtype=np.int64, count=len(texts)
    )
    return list(position), where


def embed_texts(
    embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Vectors of ``texts`` (in their order), each different text embedded once, in order of
    token count; ``progress(n)`` as ``n`` more texts are done (repeats counted at the end)."""
    unique, where = distinct([text[:MAX_EMBED_CHARS] for text in texts])
    counts = token_counts(embedder, unique)
    counted = getattr(embedder, "encode_counted", None)
    if counted is not None and counts is not None and unique:
        batch = int(getattr(embedder, "batch_size", 1))
        vectors = _embed_in_slices(counted, batch, unique, counts, progress)
    else:
        vectors = _embed_in_chunks(embedder, unique, counts, progress)
    if progress and len(texts) > len(unique):
        progress(len(texts) - len(unique))
    if len(unique) == len(texts):
        return vectors
    return vectors[where]


def _embed_in_slices(
    counted: Callable[..., np.ndarray],
    batch: int,
    texts: list[str],
    counts: np.ndarray,
    progress: Callable[[int], None] | None,
) -> np.ndarray:
    """``counted`` (an ``encode_counted``) over slices of ``texts`` in token order, each slice of
    whole batches of ``batch`` and given in the order of ``texts``: the embedder's own ordering
    then makes the batches a single pass would."""
    size = -(-COUNTED_SLICE // max(1, batch)) * max(1, batch)
    if len(texts) <= size:
        return counted(texts, counts, progress=progress)
    order = np.argsort(counts, kind="stable")
    out: np.ndarray | None = None
    for start in range(0, len(order), size):
        rows = np.sort(order[start : start + size])
        vectors = counted([texts[i] for i in rows], counts[rows], progress=progress)
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
    assert out is not None
    return out


def _embed_in_chunks(
    embedder: Embedder,
    texts: list[str],
    counts: np.ndarray | None,
    progress: Callable[[int], None] | None,
) -> np.ndarray:
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    order = np.arange(len(texts)) if counts is None else np.argsort(counts, kind="stable")
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
