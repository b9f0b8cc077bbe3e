"""The vector-store seam: what the index and the retriever need from any nearest-neighbour backend.

A store holds one L2-normalised float32 vector per window, addressed by the window's global id
(its row in the index's window table), and answers inner-product top-k queries. Backends live
one per module (``faiss``, ``milvus``); :func:`make_store` picks one from the ``store`` setting
and :func:`load_store` reopens a saved one by the kind recorded in the index manifest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qa.config import Settings
from qa.errors import ConfigError

__all__ = [
    "STORE_KINDS",
    "CandidateSearch",
    "Found",
    "VectorStore",
    "check_store",
    "load_store",
    "make_store",
]

STORE_KINDS = ("faiss", "milvus")


@runtime_checkable
class VectorStore(Protocol):
    """Inner-product search over window vectors; ids are global window ids."""

    kind: str
    """The backend's name, recorded in the manifest (``"faiss"``)."""
    description: str
    """How the vectors are indexed, e.g. a FAISS factory string (``"Flat"``, ``"IVF1024,SQ8"``)."""

    def __len__(self) -> int: ...

    @property
    def dimension(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the ``k`` best windows per query, shape (nq, k), best first;
        ids are -1 (score -inf) where fewer than ``k`` windows exist. Scores are exact inner
        products, whatever the backend's approximation."""
        ...

    def vectors(self, ids: np.ndarray | None = None) -> np.ndarray:
        """The stored vectors of ``ids`` as float32 (for None, all of them as stored, possibly
        memory-mapped and float16)."""
        ...

    def save(self, folder: Path) -> list[str]:
        """Write the store into ``folder``; returns the names of the files written."""
        ...

    @classmethod
    def build(cls, vectors: np.ndarray, settings: Settings) -> VectorStore:
        """A new store over ``vectors`` (row i is window i), configured by ``settings``."""
        ...

    @classmethod
    def load(cls, folder: Path, description: str) -> VectorStore:
        """Reopen a store written by :meth:`save` into ``folder``."""
        ...


@dataclass(frozen=True, eq=False)
class Found:
    """The candidates a store found for one question, each with what fusion scores it on."""

    ids: np.ndarray
    """Window ids, unique, ascending."""
    dense: np.ndarray | None
    """Exact cosine of each candidate to the question (None: no question vector was given)."""
    lexical: np.ndarray | None
    """BM25 score of each candidate within its window size, as the engine computed it (None: the
    engine does no BM25; the caller scores the candidates with its own)."""


@runtime_checkable
class CandidateSearch(Protocol):
    """A store that finds a question's dense and BM25 candidates itself (a search engine with its
    own BM25, such as Milvus), so the caller makes one call instead of one per list; the FAISS
    store does not, and the caller searches its vectors and BM25 one by one."""

    lexical_in_engine: bool
    """Whether the engine scores BM25 (else it finds dense candidates only)."""

    def candidates(
        self,
        vector: np.ndarray | None,
        query_terms: Sequence[str],
        *,
        dense_n: int,
        lexical_n: int,
        extra_ids: np.ndarray | None = None,
    ) -> Found:
        """The union of the ``dense_n`` windows nearest ``vector``, the ``lexical_n`` best BM25
        windows of each size for ``query_terms`` (when the engine does BM25) and ``extra_ids``,
        with their exact cosines and (engine) BM25 scores."""
        ...


def _backend(kind: str) -> type[VectorStore]:
    if kind == "faiss":
        from qa.store.faiss import FaissStore

        return FaissStore
    if kind == "milvus":
        from qa.store.milvus import MilvusStore

        return MilvusStore
    raise ConfigError(f"store {kind!r} is unknown; use one of: {', '.join(STORE_KINDS)}")


def make_store(
    settings: Settings,
    vectors: np.ndarray,
    *,
    columns: Mapping[str, np.ndarray] | None = None,
    texts: Sequence[str] | None = None,
) -> VectorStore:
    """A new store over ``vectors`` (row i is window i), of the kind the settings ask for; a store
    that keeps window metadata (Milvus) also gets the window ``columns`` and, to index them for
    BM25 in the engine, the windows' ``texts``."""
    if settings.store == "milvus":
        return _backend("milvus").build(vectors, settings, columns=columns, texts=texts)
    return _backend(settings.store).build(vectors, settings)


def load_store(kind: str, folder: Path, description: str, settings: Settings | None = None) -> VectorStore:
    """The store of ``kind`` saved in ``folder`` (as recorded in an index manifest); a store on a
    server (Milvus) is reached where ``settings`` say."""
    if kind == "milvus":
        return _backend(kind).load(folder, description, settings)
    return _backend(kind).load(folder, description)


def check_store(settings: Settings) -> None:
    """Fail now, with one line, if the store the settings name cannot be reached (a wrong Milvus
    address or token), before any model is loaded or document embedded."""
    if settings.store == "milvus":
        from qa.store.milvus import connect

        connect(settings).close()
