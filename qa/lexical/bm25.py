"""BM25 over the windows' normalised, stemmed words (via ``bm25s``), one model per window size.

Document frequencies differ by window size, so each size gets its own Okapi BM25 model over its
windows; callers address windows by their global id (row in the index's window table). The
models are built once with the index and saved beside it (``bm25s.BM25.save``: plain ``.npy``
and JSON files), and loaded with NumPy alone, memory-mapped, so no process rebuilds them and
opening an index imports neither ``bm25s`` nor SciPy.

A question costs what its terms' posting lists cost, never a pass over all windows: scores are
summed over the postings of the query's terms only. Above :data:`POSTINGS_LIMIT` windows a term
proposes only its :data:`POSTINGS_LIMIT` best-scoring windows (impact-ordered postings saved with
the index) and the candidates' exact scores decide the order, as the vector store's inverted
file proposes and exact inner products decide; below it (every term of a corpus of a few
thousand windows per size) the top windows are exactly ``bm25s``'s. An index of at most
:data:`TERM_ROWS_WINDOWS` windows is the exception: there each term read is kept as one row over
all windows (:meth:`LexicalIndex.term_row`), and a question sums and reads those rows, a pass
over a few thousand floats that costs less than a dozen small lookups per size; the scores and
the top windows are the same, bit for bit.

Files under the folder given to :meth:`LexicalIndex.save`: ``rows.npz`` (global ids of each
size's windows) and ``<size>/`` holding that size's ``bm25s`` files and ``impact.*.npy`` (each
term's best postings).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.lexical.term_scores import TermScores
from qa.lexical.terms import terms
from qa.lexical.topk import best, best_distinct
from qa.pages import populate_map

__all__ = ["LexicalIndex", "POSTINGS_LIMIT", "TermScores", "WARM_SHARE"]

POSTINGS_LIMIT = 4096
"""Most postings of one term a question reads to find candidates (its best-scoring windows)."""
TERM_ROWS_WINDOWS = 65_536
"""Up to this many windows, a term's score at every window is kept as one row once a question
has read it (:meth:`LexicalIndex.term_row`): its scores at a question's candidates are then one
take, where they were a binary search in its postings per window size."""
TERM_ROWS_BYTES = 32 * 2**20
"""Most memory the kept rows take (the least recently read row goes first)."""

CHECK_EVERY = 1024
"""Windows whose terms are read between two calls of a build's stop check (a few milliseconds
of work: the check, a file's existence, costs nothing beside it)."""

WARM_SHARE = 0.25
"""The saved arrays are mapped in at warm-up only while they take at most this share of the memory."""

EMPTY = "\x00empty"
"""Token standing in for a window without terms, so every window has a row in BM25."""
_ROWS = "rows.npz"
_PARAMS, _VOCAB, _ARRAYS = "params.index.json", "vocab.index.json", ("data", "indices", "indptr")
_IMPACT = ("indptr", "indices", "data", "limit")
"""Arrays of a size's best postings, saved as ``impact.<name>.npy``."""


class _SizeModel:
    """BM25 over the windows of one size: local row i is global window ``rows[i]``.

    Holds ``bm25s``'s eager index, a sparse term x window matrix of precomputed BM25 scores in
    CSC arrays (``data``, ``indices``, ``indptr``; each term's windows ascending), and scores a
    query exactly as ``bm25s`` does, so loading it needs NumPy only (``bm25s`` and SciPy are
    imported to build it). ``impact`` holds each term's best postings (see the module docstring).
    """

    def __init__(self, scores: dict, vocab: dict[str, int], rows: np.ndarray, impact: dict | None = None):
        self.data, self.indices = scores["data"], scores["indices"]
        self.indptr = np.asarray(scores["indptr"], dtype=np.int64)  # one per term: small, in memory
        self.vocab = vocab
        self.rows = rows
        self.df = np.diff(self.indptr)
        """Windows holding each vocabulary term (BM25 scores are positive where a term occurs)."""
        self.impact = impact if impact is not None else self.best_postings(POSTINGS_LIMIT)
        self._idf: dict[int, float] = {}
        """The IDF of each document frequency met so far: a question weighs its terms tens of times."""

    def best_postings(self, limit: int) -> dict[str, np.ndarray]:
        """Each term's ``limit`` best-scoring postings (all of them for rarer terms), by window."""
        keep = np.minimum(self.df, limit)
        indptr = np.concatenate([[0], np.cumsum(keep)]).astype(np.int64)
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        data = np.empty(int(indptr[-1]), dtype=np.float32)
        for token in range(len(self.df)):
            start, end = int(self.indptr[token]), int(self.indptr[token + 1])
            ids, scores = np.asarray(self.indices[start:end]), np.asarray(self.data[start:end])
            if end - start > limit:
                best = np.sort(np.argpartition(-scores, limit - 1)[:limit])
                ids, scores = ids[best], scores[best]
            indices[indptr[token] : indptr[token + 1]] = ids
            data[indptr[token] : indptr[token + 1]] = scores
        return {"indptr": indptr, "indices": indices, "data": data, "limit": np.int64(limit)}

    def tokens(self, query_terms: Sequence[str]) -> list[int]:
        return [self.vocab[t] for t in query_terms if t in self.vocab]

    def local_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of each window of this size (``bm25s.BM25.get_scores``, same sums)."""
        out = np.zeros(len(self.rows), dtype=np.float32)
        for token in self.tokens(query_terms):
            start, end = int(self.indptr[token]), int(self.indptr[token + 1])
            np.add.at(out, self.indices[start:end], self.data[start:end])
        return out

    def candidates(self, tokens: Sequence[int], n: int, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` local rows with the highest sums over the best postings of ``tokens`` and
        those sums, best first (ties: lower row); the sums are exact where no term has more
        than :data:`POSTINGS_LIMIT` windows. ``sums`` is a scratch array of zeros, at least one
        per row, left as it was found."""
        postings = []
        for token in tokens:
            start, end = int(self.impact["indptr"][token]), int(self.impact["indptr"][token + 1])
            postings.append((self.impact["indices"][start:end], self.impact["data"][start:end]))
        if not postings:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, summed = _sums(postings, sums)
        return best_distinct(summed, rows, n)

    def exact_scores(self, query_terms: Sequence[str], local: np.ndarray) -> np.ndarray:
        """BM25 score of the local rows ``local`` (ascending), summed term by term as
        :meth:`local_scores` sums them, looked up in each term's postings (one binary search
        per term; the rest for all terms at once)."""
        out = np.zeros(len(local), dtype=np.float32)
        for term_scores in self.term_rows(self.tokens(query_terms), local)[1]:
            out += term_scores  # term by term: the float32 sums of local_scores, bit for bit
        return out

    def term_rows(self, tokens: Sequence[int], local: np.ndarray) -> tuple[list[int], np.ndarray]:
        """For the ``tokens`` that some window holds: their positions in ``tokens`` and, one row
        each, their BM25 score at each of the local rows ``local`` (any order; 0 where a row does
        not hold the token), looked up in each token's postings (one binary search per token)."""
        spans = [(i, int(self.indptr[t]), int(self.indptr[t + 1])) for i, t in enumerate(tokens)]
        spans = [span for span in spans if span[2] > span[1]]
        if not spans or not len(local):
            return [i for i, _, _ in spans], np.zeros((len(spans), len(local)), np.float32)
        probe = np.asarray(local, dtype=self.indices.dtype)  # else each term's postings are cast
        at = np.empty((len(spans), len(local)), dtype=np.int64)
        for row, (_, start, end) in enumerate(spans):
            at[row] = self.indices[start:end].searchsorted(probe)
        at += np.array([start for _, start, _ in spans], dtype=np.int64)[:, None]
        np.minimum(at, np.array([end - 1 for _, _, end in spans], dtype=np.int64)[:, None], out=at)
        found = np.where(self.indices[at] == probe, self.data[at], np.float32(0))
        return [i for i, _, _ in spans], found

    def document_frequency(self, term: str) -> int:
        token = self.vocab.get(term)
        return 0 if token is None else int(self.df[token])

    def idf(self, df: int) -> float:
        """Smoothed inverse document frequency of a term in ``df`` of these windows."""
        value = self._idf.get(df)
        if value is None:  # one per distinct frequency: at most one per window
            value = self._idf[df] = _idf(len(self.rows), df)
        return value


def _file_map(array: np.ndarray):
    """The ``mmap.mmap`` under a memory-mapped array (None for an array in memory)."""
    while array is not None:
        if isinstance(array, np.memmap):
            return getattr(array, "_mmap", None)
        array = array.base if isinstance(array, np.ndarray) else None
    return None


def _mapped(path: Path, mode: str | None) -> np.ndarray:
    """The array in ``path``, memory-mapped when ``mode`` is ``"r"`` (as a plain ndarray view:
    ``np.memmap`` costs tens of microseconds per slice, and a question takes hundreds)."""
    array = np.load(path, mmap_mode=mode)
    return array.view(np.ndarray) if isinstance(array, np.memmap) else array


def _sums(postings: list[tuple[np.ndarray, np.ndarray]], sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The row of every posting (a row once per term holding it) and the row's scores summed
    term by term in float32, the order ``np.add.at`` over a dense array sums them. ``sums``
    (zeros) is a scratch array over all rows; only the rows touched are read and set back to
    zero, so the cost is the postings', not the windows'."""
    ids = np.concatenate([rows for rows, _ in postings], dtype=np.int64)  # int32 is cast at each use
    np.add.at(sums, ids, np.concatenate([scores for _, scores in postings]))  # in order: term by term
    out = sums.take(ids)
    sums[ids] = 0.0
    return ids, out


def _idf(n: int, df: int) -> float:
    """Smoothed inverse document frequency of a term in ``df`` of ``n`` windows."""
    return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))


def _terms_of(texts: Sequence[str], rows: np.ndarray, check: Callable[[], None] | None) -> list[list[str]]:
    """The terms of the windows ``rows`` of ``texts``, each text read as its turn comes (a build
    given up raises on reading), ``check`` called every :data:`CHECK_EVERY` windows."""
    out = []
    for n, i in enumerate(rows):
        if check is not None and n % CHECK_EVERY == 0:
            check()
        out.append(terms(texts[i]) or [EMPTY])
    return out


def _build(tokens: list[list[str]]):
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    bm25 = bm25s.BM25()  # Lucene BM25, float32 scores
    bm25.index(tokens, show_progress=False)
    return bm25


class LexicalIndex:
    """Okapi BM25 scores of windows for a query, per window size, by global window id.

    ``LexicalIndex(texts, scales)`` builds the models from the window texts (``scales[i]`` is
    window i's size; all one size when omitted); :meth:`load` reopens saved ones. ``check`` (a
    build's stop check) is called every :data:`CHECK_EVERY` windows while their terms are read
    and before each size's model is built: what it raises ends the build there.
    """

    def __init__(
        self,
        texts: Sequence[str],
        scales: Sequence[int] | np.ndarray | None = None,
        *,
        check: Callable[[], None] | None = None,
    ) -> None:
        scales = np.zeros(len(texts), dtype=np.int64) if scales is None else np.asarray(scales)
        if len(scales) != len(texts):
            raise ValueError("one scale per window text is needed")
        self._bm25 = {}
        models = {}
        for size in np.unique(scales):
            rows = np.flatnonzero(scales == size)
            tokens = _terms_of(texts, rows, check)
            if check is not None:
                check()
            bm25 = _build(tokens)
            self._bm25[int(size)] = bm25
            models[int(size)] = _SizeModel(bm25.scores, bm25.vocab_dict, rows)
        self._attach(models, len(texts))

    def _attach(self, models: dict[int, _SizeModel], n: int) -> None:
        self.n = n
        self._models = dict(sorted(models.items()))
        self._first = next(iter(self._models.values()), None)
        self._scratch: queue.SimpleQueue = queue.SimpleQueue()
        """Zeroed arrays as long as the most windows of one size, lent to one question at a
        time and shared by the sizes: one array in the processor's cache, not one per size."""
        self._scratch_length = max((len(m.rows) for m in self._models.values()), default=0)
        self._size_of = np.full(n, -1, np.int8)
        """Position in ``_models`` of each window's size, and the window's local row there: a
        question's candidates are found in their sizes by lookup, not by binary searches."""
        self._local_of = np.zeros(n, np.int32)
        for position, model in enumerate(self._models.values()):
            self._size_of[model.rows] = position
            self._local_of[model.rows] = np.arange(len(model.rows), dtype=np.int32)
        self._rows: OrderedDict[str, tuple[np.ndarray, bool]] = OrderedDict()
        """Each term's score at every window, for the terms read last (:meth:`term_row`)."""
        self._rows_kept = max(1, TERM_ROWS_BYTES // max(4 * n, 1))
        self._rows_lock = threading.Lock()

    def warm_up(self) -> None:
        """:meth:`prepare` and :meth:`map_in`, one after the other."""
        self.prepare()
        self.map_in()

    def prepare(self) -> None:
        """Make a scratch array for the sums, its pages written now rather than faulted in by
        the questions. Questions write it: call this before the first question, never beside one."""
        if self._scratch.empty() and self._scratch_length:
            self._scratch.put(np.full(self._scratch_length, 0, np.float32))  # written: every page mapped

    def map_in(self) -> int:
        """Map the saved arrays' pages into this process now (Linux's ``MADV_POPULATE_READ``)
        rather than on the questions that first read them: at a million windows they were a
        quarter of a fresh process's page faults, 0.1-0.2 ms of system time a question. Skipped
        for arrays in memory, for arrays larger than :data:`WARM_SHARE` of the memory, and where
        the system cannot (not Linux, a kernel before 5.14). It only reads read-only mappings, so
        it may run on a thread of its own while questions are answered. Returns the bytes mapped."""
        arrays = [a for m in self._models.values() for a in (m.data, m.indices, *m.impact.values())]
        maps = {id(f): f for a in arrays if (f := _file_map(a)) is not None}
        try:
            memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 0
        if sum(len(f) for f in maps.values()) > WARM_SHARE * memory:
            return 0
        done = 0
        for mapping in maps.values():
            mapped = populate_map(mapping)
            if not mapped:
                return done
            done += mapped
        return done

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
        (ties: lower id). Windows without any query term are left out, so fewer may return.
        Reads only the query terms' best postings: exact unless a term has more than
        :data:`POSTINGS_LIMIT` windows (then the best by those postings, rescored exactly)."""
        model = self._model(scale)
        tokens = model.tokens(query_terms)
        partial = any(int(model.df[t]) > int(model.impact["limit"]) for t in tokens)
        try:
            sums = self._scratch.get_nowait()
        except queue.Empty:  # one per question in flight at once, kept for the next ones
            sums = np.zeros(self._scratch_length, np.float32)
        try:
            local, scores = model.candidates(tokens, 2 * n if partial else n, sums)
        finally:
            self._scratch.put(sums)
        keep = scores > 0
        local, scores = local[keep], scores[keep]
        if partial:  # the best by partial sums: their exact scores decide
            local = np.sort(local)
            scores = model.exact_scores(query_terms, local)
            order = np.lexsort((local, -scores))[:n]  # a hundred or so rows, each once
            local, scores = local[order], scores[order]
        return model.rows[local], scores

    def top_each(self, query_terms: Sequence[str], n: int) -> list[np.ndarray]:
        """:meth:`top`'s ids for each window size, smallest first. Up to :data:`TERM_ROWS_WINDOWS`
        windows, and when no term has more than :data:`POSTINGS_LIMIT` windows of a size (then
        :meth:`top` is exact), from the terms' rows (:meth:`term_row`) summed term by term, the
        float32 sums :meth:`top` makes of the postings, bit for bit: one sum for all sizes."""
        rows = [self._term(term) for term in query_terms] if self.n <= TERM_ROWS_WINDOWS else None
        if rows is None or any(limited for _, limited in rows):
            return [self.top(query_terms, n, scale=size)[0] for size in self.scales]
        summed = np.zeros(self.n, np.float32)
        for row, _ in rows:  # in the query's order, a term asked twice added twice (0s add nothing)
            summed += row
        out = []
        for model in self._models.values():
            scores = summed[model.rows]
            held = np.flatnonzero(scores > 0)  # the windows holding a term
            out.append(model.rows[held[best(scores[held], held, n)]])
        return out

    def scores_for(self, query_terms: Sequence[str], window_ids: np.ndarray) -> np.ndarray:
        """BM25 score of each of ``window_ids`` (global ids, any sizes), each within its size;
        reads only the query terms' postings at those windows."""
        return self.term_scores(query_terms, window_ids).total(query_terms)

    def term_scores(self, query_terms: Sequence[str], window_ids: np.ndarray) -> TermScores:
        """The BM25 score of each distinct query term at each of ``window_ids`` (global ids, any
        sizes), each within its size: what :meth:`scores_for` sums, kept term by term so that a
        question that weighs one of its terms again reads no postings twice."""
        window_ids = np.asarray(window_ids, dtype=np.int64)
        distinct = list(dict.fromkeys(query_terms))
        rows = np.zeros((len(distinct), len(window_ids)), dtype=np.float32)
        if not self.n or not distinct or not len(window_ids):
            return TermScores(tuple(distinct), rows)
        if self.n <= TERM_ROWS_WINDOWS and 0 <= window_ids.min() and window_ids.max() < self.n:
            for i, term in enumerate(distinct):
                self.term_row(term).take(window_ids, out=rows[i])
            return TermScores(tuple(distinct), rows)
        known = np.minimum(np.maximum(window_ids, 0), self.n - 1)  # np.clip: 4 times the cost
        size_of = np.where(known == window_ids, self._size_of[known], -1)  # ids out of range: none
        local_of = self._local_of[known]
        for position, model in enumerate(self._models.values()):
            mine = np.flatnonzero(size_of == position)
            if not len(mine):
                continue
            held = [(i, model.vocab[t]) for i, t in enumerate(distinct) if t in model.vocab]
            found, scores = model.term_rows([token for _, token in held], local_of[mine])
            for row, term_scores in zip(found, scores):
                rows[held[row][0], mine] = term_scores
        return TermScores(tuple(distinct), rows)

    def term_row(self, term: str) -> np.ndarray:
        """The BM25 score of ``term`` at every window, each within its size (0 where a window
        does not hold it): its postings' scores copied to their windows. Kept for the terms read
        last, within :data:`TERM_ROWS_BYTES`; not to be written to."""
        return self._term(term)[0]

    def _term(self, term: str) -> tuple[np.ndarray, bool]:
        """:meth:`term_row`, and whether the term has more windows of some size than its best
        postings hold (then :meth:`top` finds its candidates by those postings alone)."""
        with self._rows_lock:
            kept = self._rows.get(term)
            if kept is not None:
                self._rows.move_to_end(term)
                return kept
        row = np.zeros(self.n, np.float32)
        limited = False
        for model in self._models.values():
            token = model.vocab.get(term)
            if token is not None:
                start, end = int(model.indptr[token]), int(model.indptr[token + 1])
                row[model.rows[model.indices[start:end]]] = model.data[start:end]
                limited = limited or end - start > int(model.impact["limit"])
        row.flags.writeable = False
        with self._rows_lock:
            self._rows[term] = (row, limited)
            while len(self._rows) > self._rows_kept:
                self._rows.popitem(last=False)
        return row, limited

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
        return _idf(0, 0) if model is None else model.idf(model.document_frequency(term))

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
            for name in _IMPACT:
                np.save(folder / str(size) / f"impact.{name}.npy", self._models[size].impact[name])
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
            scores = {name: _mapped(sub / f"{name}.csc.index.npy", mode) for name in _ARRAYS}
            vocab = json.loads((sub / _VOCAB).read_text(encoding="utf-8"))
            impact = None  # an index saved before impact-ordered postings: found again here
            if all((sub / f"impact.{name}.npy").is_file() for name in _IMPACT):
                impact = {name: _mapped(sub / f"impact.{name}.npy", mode) for name in _IMPACT}
                impact["indptr"] = np.asarray(impact["indptr"], dtype=np.int64)
            models[size] = _SizeModel(scores, vocab, ids, impact)
        out = cls.__new__(cls)
        out._bm25 = {}
        out._attach(models, n)
        return out
