"""The FAISS vector store: exact search while it is cheap, an 8-bit inverted file above that.

Below :data:`FLAT_LIMIT` windows (or with ``faiss_index="Flat"``) the store is exact: NumPy
inner products over the memory-mapped float vectors, which is what FAISS's flat index computes,
without a second copy of the vectors in memory or on disk. Above it, a FAISS index built from a
factory string (``IVF{≈4√n},SQ8`` by default) proposes candidates and their exact inner products,
read from the same stored float vectors, decide the order, so quantisation never reorders results.

Files: ``vectors.npy`` (memory-mapped on load; float32 below :data:`HALF_FROM` windows, float16
from it: the rows a question rescores are read as float16 and turned into float32 before the
inner products, so a million windows' vectors take 0.77 GB of disk and memory instead of 1.5 GB)
and, for approximate indexes only, ``index.faiss`` (its codes memory-mapped too where FAISS
supports it), so opening costs no time and the processes of ``qa serve --workers`` share one copy
in the page cache.

A process that serves many questions calls :meth:`FaissStore.warm_up` once: the vectors' pages
and the inverted file's codes are then mapped into it at start (Linux's ``MADV_POPULATE_READ``),
where each question would otherwise fault in the pages of the rows it rescores and of the lists
it scans; at a million windows (1.5 GB of vectors, 380 MB of codes) that took about half a
millisecond per question over the first few hundred questions, then 0.1-0.2 ms for the codes
alone (16 lists of 260 codes a question, most of them read for the first time). Mapping the codes
adds about 85 MB to the resident memory at 1M: the lists the first few hundred questions did not
read. :mod:`qa.index.warming` calls it on a thread of its own, so a replica starting on a cold
disk answers while the files are read.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.errors import ConfigError, IndexCorruptError
from qa.pages import available_memory, populate

__all__ = [
    "FLAT_LIMIT",
    "HALF_FROM",
    "FaissStore",
    "faiss_factory",
    "half_to_float",
    "make_faiss",
    "read_mapped",
    "stored_dtype",
    "tune_faiss",
]

FLAT_LIMIT = 50_000
"""Below this many windows the store is exact (flat); above it, IVF over 8-bit codes."""
HALF_FROM = FLAT_LIMIT
"""From this many windows on the vectors are stored as float16 (half the bytes to read and keep);
below it, as float32, so a small index is exact bit for bit."""
RESCORE_MIN = 128
"""Fewest candidates an approximate index proposes for exact rescoring."""
VECTORS, FAISS_FILE = "vectors.npy", "index.faiss"
_QUERY_BLOCK = 64
WARM_SHARE = 0.5
"""Vectors are mapped in at warm-up only while they take at most this share of the memory available."""

logger = logging.getLogger(__name__)


def faiss_factory(n: int, dimension: int, override: str = "") -> str:
    """The FAISS index-factory string for ``n`` vectors: exact search while it is cheap, then an
    inverted file of about 4·sqrt(n) lists over 8-bit scalar-quantised vectors (a quarter of the
    memory; with exact rescoring, recall@10 of 1.0 at 1M passages in ``benchmarks/scale.py``,
    where HNSW reached 0.86). ``override`` (the ``faiss_index`` setting) wins."""
    if override:
        return override
    if n < FLAT_LIMIT:
        return "Flat"
    lists = max(256, int(4 * math.sqrt(n)) // 256 * 256)
    return f"IVF{lists},SQ8"


def stored_dtype(n: int) -> str:
    """How a store of ``n`` windows keeps its vectors: ``"float16"`` from :data:`HALF_FROM` on."""
    return "float16" if n >= HALF_FROM else "float32"


def half_to_float(half: np.ndarray) -> np.ndarray:
    """``half.astype(np.float32)`` for finite float16 values, bit for bit, in a fraction of the time
    (NumPy converts float16 one value at a time: 0.9-1.7 ms for the 1,024 rows a question
    rescores). The float16 bits are widened with their sign (int16 to int32), shifted to where
    float32 keeps them, the sign's copies between cleared, and the value scaled by 2**112, the
    difference of the two exponent biases: exact for normal and subnormal values alike (never
    infinite or NaN in unit vectors). One array is made, and four passes over it."""
    bits = half.view(np.int16).astype(np.int32)  # the sign copied into bits 15-31
    bits <<= np.int32(13)  # the sign now in bits 28-31
    bits &= np.int32(-0x70000001)  # 0x8FFFFFFF: keeps the sign in bit 31, clears 28-30
    values = bits.view(np.float32)
    np.multiply(values, np.float32(2.0**112), out=values)
    return values


def _float32(rows: np.ndarray) -> np.ndarray:
    return half_to_float(rows) if rows.dtype == np.float16 else np.asarray(rows, dtype=np.float32)


def tune_faiss(index, k: int = 64) -> None:
    """Search-time knobs: enough graph breadth or probed lists for ``k`` good candidates."""
    import faiss

    inner = faiss.downcast_index(index)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = max(64, k)
    if hasattr(inner, "nprobe"):
        inner.nprobe = 16


def make_faiss(vectors: np.ndarray, factory: str):
    """A FAISS index of ``vectors`` (inner product) built with FAISS's own index factory."""
    import faiss

    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ConfigError(f"faiss_index {factory!r} is not a FAISS index-factory string") from exc
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    tune_faiss(index)
    return index


def read_mapped(path: Path):
    """The FAISS index in ``path``, its codes memory-mapped where FAISS can (``IO_FLAG_MMAP_IFC``):
    opening takes no time whatever the size, and processes opening the same file share its pages."""
    import faiss

    flag = getattr(faiss, "IO_FLAG_MMAP_IFC", None)
    if flag is not None:
        try:
            return faiss.read_index(str(path), flag | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:  # an index type FAISS cannot map: read it whole
            pass
    return faiss.read_index(str(path))


def _exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` rows of ``matrix`` per query by inner product, best first (ties: lower id)."""
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    ids = np.full((len(queries), k), -1, dtype=np.int64)
    n = min(k, len(matrix))
    if n == 0:
        return scores, ids
    for b in range(0, len(queries), _QUERY_BLOCK):
        block = matrix @ queries[b : b + _QUERY_BLOCK].T  # (windows, queries in block)
        for j in range(block.shape[1]):
            column = block[:, j]
            top = np.argpartition(-column, n - 1)[:n] if n < len(column) else np.arange(len(column))
            top = top[np.lexsort((top, -column[top]))]
            scores[b + j, :n], ids[b + j, :n] = column[top], top
    return scores, ids


class FaissStore:
    """Window vectors in a FAISS index (or exact, when flat); see the module docstring."""

    kind = "faiss"

    def __init__(
        self, vectors: np.ndarray, description: str, faiss_index=None, folder: Path | None = None
    ) -> None:
        self._vectors = vectors
        self._rows = vectors.view(np.ndarray) if isinstance(vectors, np.memmap) else vectors
        """The same (mapped) vectors as a plain array: np.memmap costs tens of µs per slice."""
        self.description = description
        self.faiss_index = faiss_index
        """The approximate FAISS index, or None when the store is exact (flat)."""
        self.folder = folder
        """Where the store's files were loaded from (None: built in this process)."""

    @classmethod
    def build(cls, vectors: np.ndarray, settings: Settings) -> FaissStore:
        factory = faiss_factory(len(vectors), vectors.shape[1], settings.faiss_index)
        return cls.from_factory(vectors, factory, dtype=stored_dtype(len(vectors)))

    @classmethod
    def from_factory(cls, vectors: np.ndarray, factory: str, *, dtype: str = "float32") -> FaissStore:
        """A store over ``vectors`` kept as ``dtype`` and indexed as the FAISS factory string
        ``factory`` says. FAISS learns from ``vectors`` as given (float32), so keeping them as
        float16 changes only the rescoring, not the candidates: learning from the rounded ones
        moved the inverted file's clusters, and with them the top 5 of 62 of 300 questions at a
        million windows against 18 (``benchmarks/README.md``)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        stored = np.ascontiguousarray(vectors, dtype=dtype)
        if factory.replace(" ", "") == "Flat":
            return cls(stored, "Flat")
        return cls(stored, factory, make_faiss(vectors, factory))

    def __len__(self) -> int:
        return len(self._vectors)

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1])

    @property
    def stored_dtype(self) -> str:
        """How the vectors are kept: ``"float32"``, or ``"float16"`` (read back as float32)."""
        return str(self._vectors.dtype)

    @property
    def exact(self) -> bool:
        return self.faiss_index is None

    def vectors(self, ids: np.ndarray | None = None) -> np.ndarray:
        if ids is None:
            return self._vectors
        return _float32(self._rows[np.asarray(ids, dtype=np.int64)])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if k < 1:
            raise ValueError("k must be at least 1")
        if self.faiss_index is None:
            return _exact_top(_float32(self._rows), queries, k)
        return self._rescored(queries, k)

    def _rescored(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The approximate index's candidates (at least ``RESCORE_MIN``, twice ``k``), rescored
        exactly from the stored float vectors."""
        wanted = min(max(2 * k, RESCORE_MIN), len(self))
        _, candidates = self.faiss_index.search(queries, wanted)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        for row, (query, found) in enumerate(zip(queries, candidates)):
            found = np.sort(found[found >= 0])
            exact = self.vectors(found) @ query
            order = np.lexsort((found, -exact))[:k]
            scores[row, : len(order)], ids[row, : len(order)] = exact[order], found[order]
        return scores, ids

    def warm_up(self) -> None:
        """Map the stored vectors' pages, and the inverted file's codes, into this process now
        rather than on the questions that first read them, when they fit in the memory available
        (see the module docstring). It only reads read-only mappings, so it may run on a thread
        of its own while questions are answered."""
        if self.folder is None:  # built in memory: nothing to map
            return
        paths = [self.folder / VECTORS] + ([] if self.faiss_index is None else [self.folder / FAISS_FILE])
        budget, chosen = WARM_SHARE * available_memory(), []
        for path in paths:  # the vectors first: every question rescores rows of them
            if not path.is_file() or path.stat().st_size > budget:
                break
            budget -= path.stat().st_size
            chosen.append(path)
        for path in sorted(chosen, key=lambda p: p.stat().st_size):  # the codes, then the vectors
            logger.debug("mapped %d bytes of %s in", populate(path), path)

    def save(self, folder: Path) -> list[str]:
        np.save(folder / VECTORS, np.asarray(self._vectors))
        if self.faiss_index is None:
            return [VECTORS]
        import faiss

        faiss.write_index(self.faiss_index, str(folder / FAISS_FILE))
        return [VECTORS, FAISS_FILE]

    @classmethod
    def load(cls, folder: Path, description: str) -> FaissStore:
        vectors = np.load(folder / VECTORS, mmap_mode="r")
        if vectors.ndim != 2 or vectors.dtype not in (np.float32, np.float16):
            raise IndexCorruptError(f"{VECTORS} is not a float matrix; run `qa index --rebuild`")
        if description.replace(" ", "") == "Flat":
            return cls(vectors, "Flat", folder=folder)
        index = read_mapped(folder / FAISS_FILE)
        if index.ntotal != len(vectors):
            raise IndexCorruptError(f"{FAISS_FILE} and {VECTORS} disagree; run `qa index --rebuild`")
        tune_faiss(index)
        return cls(vectors, description, index, folder)
