"""Per-document tables computed on first use, so opening an index costs nothing per word.

What retrieval derives from each document's text (word offsets, stems, sentence starts, debris
lines, heading maps) used to be computed for every document when an index was opened: start-up
grew with the corpus (about a minute at a million windows). A question only ever reads a few
documents, so each table is computed for a document when a question first needs it, and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

__all__ = ["PerDocument"]

T = TypeVar("T")
_MISSING = object()


class PerDocument(Sequence, Generic[T]):
    """A read-only sequence whose item ``i`` is ``make(i)``, computed on first access and kept.

    Safe to share between threads: ``make`` runs under a lock, once per item.
    """

    def __init__(self, make: Callable[[int], T], length: int) -> None:
        self._make = make
        self._length = length
        self._items: dict[int, T] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._length))]
        i = int(i)
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError(f"document {i} out of range (0..{self._length - 1})")
        item = self._items.get(i, _MISSING)
        if item is _MISSING:
            with self._lock:
                item = self._items.get(i, _MISSING)
                if item is _MISSING:
                    item = self._items[i] = self._make(i)
        return item  # type: ignore[return-value]

    def __iter__(self) -> Iterator[T]:
        return (self[i] for i in range(self._length))

    @property
    def computed(self) -> int:
        """How many documents' items have been computed so far."""
        return len(self._items)
