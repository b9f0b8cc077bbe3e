"""Contextual window vectors (late chunking): the model runs once per largest window, and every
smaller window gets the normalised mean of its own tokens' states inside a largest window that
holds it.

The largest windows' vectors are the model's pooled output, identical to embedding them on
their own; a smaller window's vector is pooled from token states that saw the words around it.
With sizes 20, 40, 60 and 100 words each overlapping by half, the model reads exactly what the
naive pipeline reads (100-word windows at stride 50) instead of 3.7 times as many words.

A smaller window is held by the largest windows whose characters include its own (usually two,
since they overlap by half). ``hosts="central"`` pools it in the one where its middle is nearest
the holder's (the most context on both sides; ties: the earlier), ``hosts="all"`` averages its
means in all of them.
Windows no largest window holds (a sentence boundary moved an edge), or whose tokens fell past
the model's ``max_seq_length`` in every holder (long code lines), are embedded on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.embedders.tokens import TokenStates

__all__ = ["HOLDERS_CHECKED", "WindowSpans", "contextual_vectors", "holders"]

Encode = Callable[[list[str]], np.ndarray]
EncodeTokens = Callable[[list[str]], list[TokenStates]]

HOLDERS_CHECKED = 6
"""Largest windows looked at (back from the last one starting at or before a window) for one
holding it; with half overlap at most two or three do."""


@dataclass(frozen=True)
class WindowSpans:
    """One document's windows in table order: size, word range and character range."""

    scale: np.ndarray
    word_start: np.ndarray
    word_end: np.ndarray
    start: np.ndarray
    end: np.ndarray


def holders(spans: WindowSpans, hosts: np.ndarray, rows: np.ndarray) -> list[tuple[int, int, float]]:
    """``(row, host, off_centre)`` for each of ``hosts`` (rows of the largest windows, sorted by
    start) holding one of ``rows``: how many words the row's middle is from the host's."""
    host_start, host_end = spans.start[hosts], spans.end[hosts]
    last = np.searchsorted(host_start, spans.start[rows], side="right") - 1
    host_middle = (spans.word_start[hosts] + spans.word_end[hosts]) / 2
    middles = (spans.word_start[rows] + spans.word_end[rows]) / 2
    out: list[tuple[int, int, float]] = []
    for row, top, middle in zip(rows.tolist(), last.tolist(), middles.tolist()):
        for h in range(max(top - HOLDERS_CHECKED + 1, 0), top + 1):
            if host_end[h] >= spans.end[row]:
                out.append((row, int(hosts[h]), abs(float(host_middle[h]) - middle)))
    return out


def _span_mean(states: TokenStates, cumulative: np.ndarray, begin: int, end: int) -> np.ndarray | None:
    """Mean state of the tokens within characters ``[begin, end)`` of the holder's text; None if
    the span has no tokens or reaches past the tokens the model kept."""
    if end > states.covered:
        return None
    first = int(np.searchsorted(states.starts, begin, side="left"))
    stop = int(np.searchsorted(states.ends, end, side="right"))
    if stop <= first:
        return None
    return (cumulative[stop] - cumulative[first]) / (stop - first)


def contextual_vectors(
    texts: Sequence[str],
    spans: WindowSpans,
    *,
    encode: Encode,
    encode_tokens: EncodeTokens,
    hosts: str = "central",
    batch: int = 256,
) -> np.ndarray:
    """Vectors of one document's windows (``texts`` and ``spans`` in table order): the largest
    windows encoded with their token states, the others pooled from them (see the module)."""
    largest = int(spans.scale.max())
    host_rows = np.flatnonzero(spans.scale == largest)
    host_rows = host_rows[np.argsort(spans.start[host_rows], kind="stable")]
    others = np.flatnonzero(spans.scale != largest)
    central = hosts == "central"
    by_host: dict[int, list[tuple[int, float]]] = {}
    for row, host, off_centre in holders(spans, host_rows, others):
        by_host.setdefault(host, []).append((row, off_centre))
    total: np.ndarray | None = None
    counts = np.zeros(len(texts), dtype=np.int64)
    best = np.full(len(texts), np.inf)  # central: how far off centre the holder used so far is
    out: np.ndarray | None = None
    for b in range(0, len(host_rows), batch):
        part = host_rows[b : b + batch]
        encoded = encode_tokens([texts[i] for i in part])
        if out is None:
            dim = len(encoded[0].vector)
            out = np.zeros((len(texts), dim), dtype=np.float32)
            total = np.zeros((len(texts), dim), dtype=np.float64)
        for host, states in zip(part.tolist(), encoded):
            out[host] = states.vector
            cumulative = np.concatenate(
                [np.zeros((1, out.shape[1])), np.cumsum(states.states, axis=0, dtype=np.float64)]
            )
            offset = int(spans.start[host])
            for row, off_centre in by_host.get(host, ()):
                if central and off_centre >= best[row]:
                    continue
                mean = _span_mean(
                    states, cumulative, int(spans.start[row]) - offset, int(spans.end[row]) - offset
                )
                if mean is None:
                    continue
                if central:
                    total[row], counts[row], best[row] = mean, 1, off_centre
                else:
                    total[row] += mean
                    counts[row] += 1
    alone = [int(i) for i in others if counts[i] == 0]
    if alone:
        own = encode([texts[i] for i in alone])
        if out is None:
            out = np.zeros((len(texts), own.shape[1]), dtype=np.float32)
        out[alone] = own
    pooled = np.flatnonzero(counts > 0)
    if len(pooled):
        mean = total[pooled]
        out[pooled] = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    return out
