"""What a built index is: documents, a typed table of windows, their vectors in a store, BM25
over their words, and the manifest saying what it was built from.

A window is a run of ``scale`` words of one document; its global id is its row in
:class:`Windows`, the id the vector store and the lexical index use too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np

from qa.index.lazy import PerDocument
from qa.ingest.chunking import Chunk, WordMap
from qa.ingest.sources import Document
from qa.lexical.bm25 import LexicalIndex
from qa.lexical.terms import Phrasebook
from qa.store.base import VectorStore

__all__ = ["DocumentInfo", "Index", "IndexInfo", "Manifest", "Windows"]

FORMAT_VERSION = 3


@dataclass(frozen=True, eq=False)
class Windows:
    """Every window of every document, one row each: NumPy int64 columns of equal length."""

    doc: np.ndarray
    """Position of the window's document in :attr:`Index.documents`."""
    scale: np.ndarray
    """Window size in words."""
    start: np.ndarray
    """Character offsets ``[start, end)`` in the document's text."""
    end: np.ndarray
    word_start: np.ndarray
    """Word offsets ``[word_start, word_end)`` in the document."""
    word_end: np.ndarray

    def __post_init__(self) -> None:
        lengths = {len(getattr(self, f.name)) for f in fields(self)}
        if len(lengths) > 1:
            raise ValueError("window columns differ in length")
        for f in fields(self):
            object.__setattr__(self, f.name, np.asarray(getattr(self, f.name), dtype=np.int64))

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Sequence[int] | np.ndarray]) -> Windows:
        """From a mapping of column name to values (e.g. a loaded ``.npz``)."""
        return cls(**{name: data[name] for name in cls.columns()})

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.columns()}

    def __len__(self) -> int:
        return len(self.doc)

    @cached_property
    def scales(self) -> list[int]:
        """The window sizes present, smallest first."""
        return [int(s) for s in np.unique(self.scale)]

    def of_scale(self, scale: int) -> np.ndarray:
        """Global ids of the windows of size ``scale``."""
        return np.flatnonzero(self.scale == scale)

    def of_document(self, doc: int) -> np.ndarray:
        """Global ids of the windows of document ``doc``."""
        return np.flatnonzero(self.doc == doc)


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with; compared with the current state to decide validity."""

    format_version: int
    model: str
    dimension: int
    window_sizes: list[int]
    sources: dict[str, str]
    """source path -> sha256 of its text."""
    chunks: int
    """Number of windows."""
    faiss_index: str
    """How the store indexes the vectors (for FAISS, the index-factory string)."""
    built_at: str
    store: str = "faiss"
    """The vector store backend."""
    versions: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """file path in the build folder -> sha256, checked on load."""
    window_vectors: str = "embedded"
    """How the windows got their vectors (``Settings.window_vectors``)."""
    indexed_at: dict[str, str] = field(default_factory=dict)
    """source path -> when its vectors were made (ISO time; kept while the source is unchanged)."""
    embed_precision: str = "fp32"
    """The model's arithmetic when the windows were embedded (``Settings.embed_precision``)."""
    stored_vectors: str = "float32"
    """How the store keeps the vectors on disk (``"float32"`` or ``"float16"``; FAISS stores only)."""

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        if data.get("composed") and "window_vectors" not in data:  # written before window_vectors
            data = {**data, "window_vectors": "composed"}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    title: str
    url: str
    windows: int
    indexed_at: str = ""
    """When the document's vectors were made (ISO time)."""


@dataclass(frozen=True)
class IndexInfo:
    """What the edges may show about an index (no paths, no positions)."""

    documents: tuple[DocumentInfo, ...]
    windows: int
    model: str
    built_at: str
    store: str
    store_index: str
    window_sizes: tuple[int, ...]


class Index:
    """Windows of every document with their vectors (a :class:`VectorStore`) and BM25
    (:class:`LexicalIndex`); build with :func:`qa.index.build_index`, open with
    :func:`qa.index.load_index`."""

    def __init__(
        self,
        *,
        manifest: Manifest,
        documents: Sequence[Document],
        windows: Windows | None = None,
        store: VectorStore | None = None,
        lexical: LexicalIndex | None = None,
        phrasebook: Phrasebook | None = None,
        table: Mapping[str, np.ndarray] | None = None,
        vectors: np.ndarray | None = None,
        faiss_index=None,
    ) -> None:
        if windows is None and table is not None:  # compatibility: the untyped table
            windows = Windows.from_mapping(table)
        if store is None and vectors is not None:  # compatibility: raw vectors + FAISS index
            from qa.store.faiss import FaissStore

            desc = "Flat" if faiss_index is None else type(faiss_index).__name__
            store = FaissStore(vectors, desc, faiss_index)
        if windows is None or store is None:
            raise TypeError("an Index needs its windows and its store")
        self.manifest = manifest
        self.documents = list(documents)
        self.windows = windows
        self.store = store
        self._lexical = lexical
        self._phrasebook = phrasebook
        self._by_source = {d.source: i for i, d in enumerate(self.documents)}

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def lexical(self) -> LexicalIndex:
        """BM25 of the windows, per window size (loaded with the index; built if it was not)."""
        if self._lexical is None:
            self._lexical = LexicalIndex(self.texts, self.windows.scale)
        return self._lexical

    @property
    def phrasebook(self) -> Phrasebook:
        """Which names the documents mention (saved with the index; built if it was not)."""
        if self._phrasebook is None:
            self._phrasebook = Phrasebook([d.text for d in self.documents])
        return self._phrasebook

    def document(self, source: str) -> Document:
        """The indexed snapshot of ``source``; KeyError when it is not indexed."""
        return self.documents[self._by_source[source]]

    def indexed_at(self, source: str) -> str:
        """When the vectors of ``source`` were made (ISO time): kept across rebuilds that reuse
        them; the build time for an index that did not record it. KeyError if not indexed."""
        if source not in self._by_source:
            raise KeyError(source)
        return self.manifest.indexed_at.get(source, self.manifest.built_at)

    def document_index(self, source: str) -> int:
        """Position of ``source`` in :attr:`documents` (the ``doc`` column); KeyError if absent."""
        return self._by_source[source]

    def chunk(self, i: int) -> Chunk:
        """Window ``i`` as a chunk of its document's text."""
        w = self.windows
        doc = self.documents[int(w.doc[i])]
        start, end = int(w.start[i]), int(w.end[i])
        return Chunk(doc.source, start, end, doc.text[start:end], int(w.word_start[i]), int(w.word_end[i]))

    @cached_property
    def texts(self) -> list[str]:
        """Every window's text, by global id."""
        return [self.chunk(i).text for i in range(len(self))]

    @cached_property
    def word_counts(self) -> np.ndarray:
        """Words in each document (every document's last window ends at its last word), without
        reading any text."""
        counts = np.zeros(len(self.documents), dtype=np.int64)
        np.maximum.at(counts, self.windows.doc, self.windows.word_end)
        return counts

    @cached_property
    def word_maps(self) -> PerDocument[WordMap]:
        """Word offsets of each document, in :attr:`documents` order (each computed on first use)."""
        return PerDocument(lambda doc: WordMap(self.documents[doc].text), len(self.documents))

    def info(self) -> IndexInfo:
        counts = np.bincount(self.windows.doc, minlength=len(self.documents))
        return IndexInfo(
            documents=tuple(
                DocumentInfo(d.source, d.title, d.url, int(n), self.indexed_at(d.source))
                for d, n in zip(self.documents, counts)
            ),
            windows=len(self),
            model=self.manifest.model,
            built_at=self.manifest.built_at,
            store=self.manifest.store,
            store_index=self.manifest.faiss_index,
            window_sizes=tuple(self.manifest.window_sizes),
        )

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Inner-product scores and window ids of the ``k`` nearest windows of each query."""
        return self.store.search(queries, min(k, len(self)))

    # compatibility aliases, to be removed once the callers use windows / store ---------------

    @property
    def table(self) -> dict[str, np.ndarray]:
        """The window columns as a dict (use :attr:`windows`)."""
        return self.windows.as_dict()

    @property
    def vectors(self) -> np.ndarray:
        """All window vectors, memory-mapped when loaded (use ``store.vectors(ids)``)."""
        return self.store.vectors()
