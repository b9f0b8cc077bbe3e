"""BM25 over the windows' normalised, stemmed words (via ``bm25s``), one model per window size.

Document frequencies differ by window size, so each size gets its own Okapi BM25 model over its
windows; callers address windows by their global id (row in the index's window table). The
models are built once with the index and saved beside it (``bm25s.BM25.save``: plain ``.npy``
and JSON files), and loaded with NumPy alone, memory-mapped, so no process rebuilds them and
opening an index imports neither ``bm25s`` nor SciPy.

Files under the folder given to :meth:`LexicalIndex.save`: ``rows.npz`` (global ids of each
size's windows) and ``<size>/`` holding that size's ``bm25s`` files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.lexical.terms import terms

__all__ = ["LexicalIndex"]

EMPTY = "\x00empty"
"""Token standing in for a window without terms, so every window has a row in BM25."""
_ROWS = "rows.npz"
_PARAMS, _VOCAB, _ARRAYS = "params.index.json", "vocab.index.json", ("data", "indices", "indptr")


class _SizeModel:
    """BM25 over the windows of one size: local row i is global window ``rows[i]``.

    Holds ``bm25s``'s eager index, a sparse term x window matrix of precomputed BM25 scores in
    CSC arrays (``data``, ``indices``, ``indptr``), and scores a query exactly as ``bm25s``
    does, so loading it needs NumPy only (``bm25s`` and SciPy are imported to build it).
    """

    def __init__(self, scores: dict, vocab: dict[str, int], rows: np.ndarray) -> None:
        self.data, self.indices, self.indptr = scores["data"], scores["indices"], scores["indptr"]
        self.vocab = vocab
        self.rows = rows
        self.df = np.diff(np.asarray(self.indptr))
        """Windows holding each vocabulary term (BM25 scores are positive where a term occurs)."""

    def local_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of each window of this size (``bm25s.BM25.get_scores``, same sums)."""
        out = np.zeros(len(self.rows), dtype=np.float32)
        for token in [self.vocab[t] for t in query_terms if t in self.vocab]:
            start, end = int(self.indptr[token]), int(self.indptr[token + 1])
            np.add.at(out, self.indices[start:end], self.data[start:end])
        return out

    def document_frequency(self, term: str) -> int:
        token = self.vocab.get(term)
        return 0 if token is None else int(self.df[token])


def _build(texts: Sequence[str]):
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    bm25 = bm25s.BM25()  # Lucene BM25, float32 scores
    bm25.index([terms(t) or [EMPTY] for t in texts], show_progress=False)
    return bm25


class LexicalIndex:
    """Okapi BM25 scores of windows for a query, per window size, by global window id.

    ``LexicalIndex(texts, scales)`` builds the models from the window texts (``scales[i]`` is
    window i's size; all one size when omitted); :meth:`load` reopens saved ones.
    """

    def __init__(self, texts: Sequence[str], scales: Sequence[int] | np.ndarray | None = None) -> None:
        scales = np.zeros(len(texts), dtype=np.int64) if scales is None else np.asarray(scales)
        if len(scales) != len(texts):
            raise ValueError("one scale per window text is needed")
        self._bm25 = {}
        models = {}
        for size in np.unique(scales):
            rows = np.flatnonzero(scales == size)
            bm25 = _build([texts[i] for i in rows])
            self._bm25[int(size)] = bm25
            models[int(size)] = _SizeModel(bm25.scores, bm25.vocab_dict, rows)
        self._attach(models, len(texts))

    def _attach(self, models: dict[int, _SizeModel], n: int) -> None:
        self.n = n
        self._models = dict(sorted(models.items()))
        self._first = next(iter(self._models.values()), None)

    @property
    def scales(self) -> list[int]:
        """The window sizes, smallest first."""
        return list(self._models)

    def _model(self, scale: int) -> _SizeModel:
        try:
            return self._models[int(scale)]
        except KeyError:
            raise ValueError(f"no windows of size {scale}; the sizes are {self.scales}") from None

    # queries ------------------------------------------------------------------------------

    def top(self, query_terms: Sequence[str], n: int, *, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """Global ids and BM25 scores of the ``n`` best windows of size ``scale``, best first
        (ties: lower id). Windows without any query term are left out, so fewer may return."""
        model = self._model(scale)
        local = model.local_scores(query_terms)
        hits = np.flatnonzero(local > 0)
        if len(hits) > n:
            hits = hits[np.argpartition(-local[hits], n - 1)[:n]]
        hits = hits[np.lexsort((hits, -local[hits]))]
        return model.rows[hits], local[hits]

    def scores_for(self, query_terms: Sequence[str], window_ids: np.ndarray) -> np.ndarray:
        """BM25 score of each of ``window_ids`` (global ids, any sizes), each within its size."""
        window_ids = np.asarray(window_ids, dtype=np.int64)
        out = np.zeros(len(window_ids), dtype=np.float32)
        for model in self._models.values():
            local = np.searchsorted(model.rows, window_ids)
            local = np.minimum(local, len(model.rows) - 1)
            mine = model.rows[local] == window_ids
            if mine.any():
                out[mine] = model.local_scores(query_terms)[local[mine]]
        return out

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every window, each within its size (zeros where no term occurs)."""
        out = np.zeros(self.n, dtype=np.float32)
        for model in self._models.values():
            out[model.rows] = model.local_scores(query_terms)
        return out

    def idf(self, term: str, *, scale: int | None = None) -> float:
        """Smoothed inverse document frequency among windows of ``scale`` (default: the
        smallest size); high for terms the corpus lacks."""
        model = self._first if scale is None else self._model(scale)
        n = 0 if model is None else len(model.rows)
        df = 0 if model is None else model.document_frequency(term)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def known(self, term: str) -> bool:
        """Whether any window holds ``term``."""
        return term != EMPTY and any(m.document_frequency(term) > 0 for m in self._models.values())

    # files --------------------------------------------------------------------------------

    def save(self, folder: Path) -> list[str]:
        """Write the models under ``folder`` (``bm25s``'s own format); returns the files written,
        relative to ``folder``. Only an index built in this process can be saved."""
        if set(self._bm25) != set(self._models):
            raise ValueError("only a BM25 index built in this process can be saved; build the index again")
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / _ROWS, n=np.int64(self.n), **{str(s): m.rows for s, m in self._models.items()})
        written = [_ROWS]
        for size, bm25 in self._bm25.items():
            bm25.save(str(folder / str(size)), show_progress=False)
            written += [f"{size}/{p.name}" for p in sorted((folder / str(size)).iterdir())]
        return written

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> LexicalIndex:
        """The models saved by :meth:`save` into ``folder``, read with NumPy (score arrays
        memory-mapped when ``mmap``); no ``bm25s`` import, so opening an index stays fast."""
        mode = "r" if mmap else None
        with np.load(folder / _ROWS) as npz:
            n = int(npz["n"])
            rows = {int(k): npz[k] for k in npz.files if k != "n"}
        models = {}
        for size, ids in rows.items():
            sub = folder / str(size)
            params = json.loads((sub / _PARAMS).read_text(encoding="utf-8"))
            if params.get("method") != "lucene" or int(params.get("num_docs", -1)) != len(ids):
                raise ValueError(f"BM25 of window size {size} does not match its windows")
            scores = {name: np.load(sub / f"{name}.csc.index.npy", mmap_mode=mode) for name in _ARRAYS}
            vocab = json.loads((sub / _VOCAB).read_text(encoding="utf-8"))
            models[size] = _SizeModel(scores, vocab, ids)
        out = cls.__new__(cls)
        out._bm25 = {}
        out._attach(models, n)
        return out
