"""A final reorder of the first passages by what their section is about.

Near-ties decide rank 1 on documents with headings: the passage of a neighbouring section that
shares the question's words ranks above the one whose section says what the question asks
("Should library code print its own error messages?": the answer sits under *Error Handling*,
rank 2). This reorder reads each of the first :data:`SECTION_ORDER_DEPTH` passages as a reader
of the document does, under its heading path: the passage is embedded as "Title › Section ›
Sub: text" and its cosine to the question as searched becomes evidence, rescaled over those
passages from the lowest (0) to the best (1) as fusion rescales a size's cosines, times the
dense share of fusion. A passage then ranks by ``score + weight × evidence``.

Only the first passages are permuted, so no passage enters the top from below it and hit@k
cannot drop; a passage without a heading path (plain text such as the seed) keeps its place
and its score, and with fewer than two passages that have one nothing is embedded at all.
Abstention is decided before, on the passage today's ranking puts first. The weight is
``Settings.section_order_weight`` (0.2 by default, 0: off); ``benchmarks/section_order.py`` has
the grid it was chosen from.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from qa.answer import Passage
from qa.embedders.base import Embedder
from qa.ingest.formats.base import SECTION_SEPARATOR

__all__ = ["SECTION_ORDER_DEPTH", "SectionOrder", "section_text"]

SECTION_ORDER_DEPTH = 3
"""Passages reordered (the first ones shown)."""
_DENSE_SHARE = 0.6
"""What a rescaled cosine is worth in a passage score: the dense share of hybrid fusion."""
CACHED_TEXTS = 4096
"""Passages under their paths whose vectors are kept (most recently used): learners ask about the
same sections, and a passage's vector does not depend on the question."""


def section_text(title: str, section: str, text: str) -> str:
    """``text`` under its heading path, led by the document's title unless the path opens
    with it ("Ninja › Pools: text"); "" for a passage without a heading path."""
    if not section:
        return ""
    first = section.split(SECTION_SEPARATOR)[0].strip().lower()
    path = section if not title or first == title.strip().lower() else f"{title}{SECTION_SEPARATOR}{section}"
    return f"{path}: {text}"


class SectionOrder:
    """Reorders the first passages of an answer by their section's evidence (see the module)."""

    def __init__(self, embedder: Embedder, *, weight: float, depth: int = SECTION_ORDER_DEPTH) -> None:
        self.embedder = embedder
        self.weight = weight
        self.depth = depth
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.weight > 0

    def evidence(self, vector: np.ndarray, passages: Sequence[Passage]) -> list[float | None]:
        """Cosine of ``vector`` with each passage embedded under its heading path (None: it has none)."""
        texts = [section_text(p.citation.title, p.citation.section, p.text) for p in passages]
        todo = [t for t in texts if t]
        if len(todo) < 2:
            return [None] * len(passages)
        cosines = iter((self._encode(todo) @ vector).tolist())
        return [float(next(cosines)) if t else None for t in texts]

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``, those seen lately from the cache (:data:`CACHED_TEXTS`)."""
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in known:
                self._vectors.move_to_end(t)
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            fresh = np.asarray(self.embedder.encode(todo), dtype=np.float32)
            with self._lock:
                for t, v in zip(todo, fresh):
                    known[t] = self._vectors[t] = v
                while len(self._vectors) > CACHED_TEXTS:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def reorder(self, vector: np.ndarray | None, passages: Sequence[Passage]) -> tuple[Passage, ...]:
        """``passages`` with the first :attr:`depth` permuted by ``score + weight × evidence``;
        a moved passage carries that score. The same passages when off, in lexical mode
        (``vector`` None) or when fewer than two of the first have a heading path."""
        passages = tuple(passages)
        if not self.active or vector is None or len(passages) < 2:
            return passages
        top = passages[: self.depth]
        if not self._can_move(top):
            return passages
        cosines = self.evidence(vector, top)
        movable = [i for i, c in enumerate(cosines) if c is not None]
        if len(movable) < 2:
            return passages
        values = [cosines[i] for i in movable]
        low, high = min(values), max(values)
        scored = {
            i: top[i].score + self.weight * _DENSE_SHARE * (c - low) / max(high - low, 1e-6)
            for i, c in zip(movable, values)
        }
        ranked = sorted(movable, key=lambda i: -scored[i])  # stable: ties keep today's order
        placed = list(top)
        for place, i in zip(movable, ranked):
            placed[place] = dataclasses.replace(top[i], score=float(scored[i]))
        return (*placed, *passages[self.depth :])

    def _can_move(self, top: Sequence[Passage]) -> bool:
        """Whether any of ``top`` could change place: the evidence adds at most ``weight`` × the
        dense share to a score, so when every passage leads each one after it by more than that,
        they keep their order whatever their sections say, and nothing is embedded."""
        reach = self.weight * _DENSE_SHARE
        return any(a.score - b.score <= reach for a, b in combinations(top, 2))
