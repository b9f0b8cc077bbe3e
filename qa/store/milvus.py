"""The Milvus vector store: window vectors in a Milvus collection, on a Lite file or a server.

``vector_store`` says where: a path ending in ``.db`` opens Milvus Lite in this process (one
process per file); ``http(s)://host:port`` (with ``vector_store_token``) reaches a Milvus server
or cluster, or ``milvus-lite server``, over the same gRPC client (``pymilvus.MilvusClient``).

Each build is one collection, ``<prefix>_<time>_<random>``, laid out as :mod:`milvus_schema`
says: the window's global id as its primary key, its document, window size and character
offsets, its vector and, where the engine does BM25, its stemmed terms, a partition per window
size. Questions are answered by :meth:`MilvusStore.candidates` (:mod:`milvus_hybrid`): dense and
BM25 candidates from the engine in concurrent calls, fused by the caller as for FAISS; on a
Milvus older than 2.5 the caller's own BM25 finds the lexical candidates. The build folder
names its collection (``milvus.json``), so a reader always searches the collection its windows
came from and never a half-written or newer one; the alias ``<prefix>`` is switched to the newest
collection when it is saved. A build drops the collections of its prefix that are neither the
alias's nor its own, so the previous build stays searchable while replicas move over.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.errors import IndexCorruptError, IndexStaleError, QAError, StoreUnavailableError
from qa.store.milvus_connect import bm25_in_engine, connect, engine_bm25, messages, translate
from qa.store.milvus_hybrid import find_candidates, hit_columns
from qa.store.milvus_schema import (
    create_collection,
    exact_distances,
    insert_windows,
    milvus_index,
)

__all__ = ["MILVUS_FILE", "MilvusStore", "connect", "milvus_index"]

log = logging.getLogger(__name__)

MILVUS_FILE = "milvus.json"
RESCORE_MIN = 128
CALLS_AT_ONCE = 8
"""Calls to Milvus one store runs at the same time (a question's searches go out together)."""
QUERY_BATCH = 8192
"""Ids per query by primary key (Milvus caps a query's result window at 16,384 rows)."""


class _Rows:
    """Stored vectors by window id, fetched from Milvus when indexed (``rows[ids]``)."""

    def __init__(self, store: MilvusStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._store), self._store.dimension)

    def __getitem__(self, ids) -> np.ndarray:
        if isinstance(ids, slice):
            ids = np.arange(len(self._store))[ids]
        return self._store.vectors(np.atleast_1d(np.asarray(ids, dtype=np.int64)))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self._store.vectors(np.arange(len(self._store)))
        return out if dtype is None else out.astype(dtype)


class MilvusStore:
    """Window vectors in one Milvus collection; see the module docstring."""

    kind = "milvus"

    def __init__(
        self,
        client,
        collection: str,
        *,
        count: int,
        dimension: int,
        description: str,
        search_params: Mapping | None = None,
        where: str = "",
        scales: Sequence[int] = (),
        bm25: bool = False,
        use_bm25: bool = True,
    ) -> None:
        self.client = client
        self.collection = collection
        self.where = where
        """The Milvus address (never the token), for messages."""
        self._count = count
        self._dimension = dimension
        self.description = description
        self.search_params = {"metric_type": "IP", "params": dict(search_params or {})}
        self.scales = [int(s) for s in scales]
        """The window sizes, one partition each (empty for a collection built without partitions)."""
        self.bm25 = bool(bm25 and self.scales)
        """Whether the collection has the BM25 field (the engine does BM25: Milvus ≥ 2.5)."""
        self.lexical_in_engine = self.bm25 and use_bm25
        """Whether BM25 candidates come from the engine (else from the index's own BM25)."""
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def exact(self) -> bool:
        """Whether search distances are exact inner products (else candidates are rescored)."""
        return exact_distances(self.description)

    def submit(self, function, *args, **kwargs) -> Future:
        """Run ``function(*args, **kwargs)`` on this store's threads (calls to Milvus at once)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(CALLS_AT_ONCE, thread_name_prefix="milvus")
        return self._pool.submit(function, *args, **kwargs)

    def call(self, method: str, *args, **kwargs):
        """``client.<method>(...)`` with Milvus's failures as typed one-line errors."""
        return self._call(method, *args, **kwargs)

    def _call(self, method: str, *args, **kwargs):
        """``client.<method>(...)`` with Milvus's failures as typed one-line errors."""
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as exc:
            if "does not exist" in messages(exc) or "not found" in messages(exc).lower():
                raise IndexStaleError(
                    f"the index this process opened (Milvus collection {self.collection}) has been "
                    "replaced by two newer builds and dropped; open the index again (restart the server)"
                ) from None
            raise translate(exc, self.where) from None

    # building ------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        settings: Settings,
        *,
        columns: Mapping[str, np.ndarray] | None = None,
        texts: Sequence[str] | None = None,
    ) -> MilvusStore:
        """A new collection holding ``vectors`` (row i is window i), the window ``columns`` (doc,
        scale, start, end; zeros when not given) and, when ``texts`` are given and the engine does
        BM25, the windows' terms; older collections of the prefix are dropped first, except the
        live one."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        client = connect(settings)
        prefix = settings.vector_store_collection
        _drop_stale(client, prefix)
        name = f"{prefix}_{time.strftime('%Y%m%d%H%M%S', time.gmtime())}_{secrets.token_hex(3)}"
        kind, build_params, search_params = milvus_index(len(vectors))
        zeros = np.zeros(len(vectors), dtype=np.int64)
        columns = {c: (columns or {}).get(c, zeros) for c in ("doc", "scale", "start", "end")}
        scales = [int(s) for s in np.unique(columns["scale"])]
        bm25 = texts is not None and engine_bm25(client)  # the field is there whatever the setting says
        try:
            create_collection(
                client,
                name,
                dimension=vectors.shape[1],
                kind=kind,
                params=build_params,
                scales=scales,
                bm25=bm25,
            )
            insert_windows(client, name, vectors, columns, texts if bm25 else None)
            client.flush(name)
            client.load_collection(name)
        except QAError:
            raise
        except Exception as exc:
            _quietly_drop(client, name)
            raise translate(exc, settings.vector_store) from None
        log.info(
            "Milvus collection %s: %d windows, %s, BM25 %s",
            name,
            len(vectors),
            kind,
            "in the engine" if bm25 else "local",
        )
        return cls(
            client,
            name,
            count=len(vectors),
            dimension=vectors.shape[1],
            description=kind,
            search_params=search_params,
            where=settings.vector_store,
            scales=scales,
            bm25=bm25,
            use_bm25=bm25 and bm25_in_engine(client, settings.vector_store_bm25),
        )

    def save(self, folder: Path) -> list[str]:
        """Name the collection in ``folder`` and point the prefix's alias at it."""
        record = {
            "collection": self.collection,
            "count": self._count,
            "dimension": self._dimension,
            "index": self.description,
            "search_params": self.search_params["params"],
            "scales": self.scales,
            "bm25": self.bm25,
        }
        (folder / MILVUS_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        alias = self.collection.rsplit("_", 2)[0]
        try:
            target = _alias_target(self.client, alias)
            if target is None:
                self.client.create_alias(self.collection, alias)
            elif target != self.collection:
                self.client.alter_alias(self.collection, alias)
        except Exception as exc:  # the alias is a convenience for operators; the folder decides
            log.warning("could not point alias %s at %s: %s", alias, self.collection, exc)
        return [MILVUS_FILE]

    @classmethod
    def load(cls, folder: Path, description: str, settings: Settings | None = None) -> MilvusStore:
        """The collection the build in ``folder`` names, on the Milvus ``settings`` point to."""
        if settings is None or not settings.milvus:
            raise StoreUnavailableError(
                "this index keeps its vectors in Milvus; set QA_VECTOR_STORE to the Milvus it was built on"
            )
        try:
            record = json.loads((folder / MILVUS_FILE).read_text(encoding="utf-8"))
            name, count, dimension = record["collection"], int(record["count"]), int(record["dimension"])
        except (OSError, ValueError, KeyError, TypeError):
            raise IndexCorruptError(f"{MILVUS_FILE} is unreadable; run `qa index --rebuild`") from None
        client = connect(settings)
        if not client.has_collection(name):
            raise IndexCorruptError(
                f"Milvus at {settings.vector_store} has no collection {name} (dropped, or another server); "
                "run `qa index --rebuild`"
            )
        stats = client.get_collection_stats(name)
        if int(stats.get("row_count", count)) != count:
            raise IndexCorruptError(
                f"collection {name} does not hold {count} windows; run `qa index --rebuild`"
            )
        client.load_collection(name)
        return cls(
            client,
            name,
            count=count,
            dimension=dimension,
            description=record.get("index", description),
            search_params=record.get("search_params"),
            where=settings.vector_store,
            scales=record.get("scales", ()),
            bm25=bool(record.get("bm25", False)),
            use_bm25=bool(record.get("bm25")) and bm25_in_engine(client, settings.vector_store_bm25),
        )

    # reading -------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` windows per query by inner product, best first; exact scores (candidates of an
        approximate index are rescored from the stored vectors)."""
        if k < 1:
            raise ValueError("k must be at least 1")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        wanted = min(k if self.exact else max(2 * k, RESCORE_MIN), max(len(self), 1), 16384)
        hits = self._call(
            "search",
            self.collection,
            data=queries.tolist(),
            anns_field="vector",
            limit=wanted,
            search_params=self.search_params,
            output_fields=[],
        )
        for row, found in enumerate(hits):
            got, distances = hit_columns(found)
            if self.exact:
                exact = distances
            else:
                exact = self.vectors(got) @ queries[row] if len(got) else np.zeros(0, np.float32)
            order = np.lexsort((got, -exact))[:k]
            scores[row, : len(order)], ids[row, : len(order)] = exact[order], got[order]
        return scores, ids

    candidates = find_candidates
    """A question's dense and (engine) BM25 candidates (:class:`~qa.store.base.CandidateSearch`),
    found by :func:`qa.store.milvus_hybrid.find_candidates` with this store as ``store``."""

    def vectors(self, ids: np.ndarray | None = None):
        """The stored vectors of ``ids`` in that order; for None, a lazy view fetched when indexed."""
        if ids is None:
            return _Rows(self)
        ids = np.asarray(ids, dtype=np.int64).ravel()
        out = np.zeros((len(ids), self._dimension), dtype=np.float32)
        if not len(ids):
            return out
        unique, where = np.unique(ids, return_inverse=True)
        found = np.zeros((len(unique), self._dimension), dtype=np.float32)
        seen = np.zeros(len(unique), dtype=bool)
        for b in range(0, len(unique), QUERY_BATCH):
            block = unique[b : b + QUERY_BATCH]
            rows = self._call("query", self.collection, ids=block.tolist(), output_fields=["vector"])
            for r in rows:
                pos = b + int(np.searchsorted(block, int(r["id"])))
                found[pos], seen[pos] = r["vector"], True
        if not seen.all():
            missing = unique[~seen][:5].tolist()
            raise IndexCorruptError(
                f"collection {self.collection} lacks windows {missing}; run `qa index --rebuild`"
            )
        return found[where]

    def drop(self) -> None:
        """Remove this store's collection (tests and clean-ups)."""
        _quietly_drop(self.client, self.collection)


def _alias_target(client, alias: str) -> str | None:
    """The collection ``alias`` names, or None (looked up without provoking a logged RPC error)."""
    if alias not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(alias).get("collection_name")


def _quietly_drop(client, name: str) -> None:
    try:
        client.drop_collection(name)
    except Exception as exc:
        log.warning("could not drop Milvus collection %s: %s", name, exc)


def _drop_stale(client, prefix: str) -> None:
    """Drop collections ``<prefix>_<time>_<id>`` other than the one the alias ``prefix`` names."""
    live = _alias_target(client, prefix)
    for name in client.list_collections():
        parts = name.rsplit("_", 2)
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit() and name != live:
            _quietly_drop(client, name)
