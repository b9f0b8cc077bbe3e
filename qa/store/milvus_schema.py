"""How a build's Milvus collection is laid out: fields, indexes, partitions, the BM25 function.

One collection per build. Its fields: ``id`` (the window's global id, primary key), ``doc``,
``scale``, ``start``, ``end``, ``vector`` and, where the engine does BM25 (Milvus ≥ 2.5, Milvus
Lite ≥ 3), ``terms``: the window's words as the project's own normaliser and stemmer make them
(:func:`window_terms`), so the engine only splits on spaces and needs no stemmer; Milvus's BM25
function turns them into the sparse field ``bm25``. Each window size is a partition of its own
(``s20``, ``s40``, ...), so BM25 candidates are found per size, as the local BM25 does.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from qa.ingest.normalize import content_words, stem

__all__ = [
    "COLUMNS",
    "FLAT_LIMIT",
    "create_collection",
    "exact_distances",
    "insert_windows",
    "milvus_index",
    "partition",
    "supports_bm25",
    "window_terms",
]

FLAT_LIMIT = 50_000
"""Below this many windows the collection is searched exactly (FLAT); above it, IVF_FLAT."""
COLUMNS = ("doc", "scale", "start", "end")
INSERT_BATCH = 2048
TERMS_MAX = 65_535
"""Longest ``terms`` text Milvus stores in a VARCHAR."""
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}
"""Okapi BM25 as the local index scores it (``bm25s``'s Lucene variant, its default k1 and b)."""
EXACT_INDEXES = frozenset({"FLAT", "IVF_FLAT", "HNSW"})
"""Index types whose search distances are exact inner products of the stored float vectors."""
_PLAIN = re.compile(r"[a-z0-9]+")
_EMPTY = "\x00empty"
"""As the local BM25 does, a window without words holds one token no query has."""


def milvus_index(n: int, override: str = "") -> tuple[str, dict, dict]:
    """Index type, build parameters and search parameters for ``n`` vectors: exact while cheap,
    then an inverted file of about 4·sqrt(n) lists over the float vectors, whose distances are
    exact inner products, so no candidate has to be fetched again to be rescored."""
    kind = override or ("FLAT" if n < FLAT_LIMIT else "IVF_FLAT")
    if kind.startswith("IVF"):
        lists = max(64, int(4 * math.sqrt(max(n, 1))))
        return kind, {"nlist": lists}, {"nprobe": 16}
    if kind.startswith("HNSW"):
        return kind, {"M": 16, "efConstruction": 200}, {"ef": 128}
    return kind, {}, {}


def exact_distances(kind: str) -> bool:
    """Whether an index of ``kind`` returns exact inner products (else candidates are rescored)."""
    return kind in EXACT_INDEXES


def supports_bm25(version: str) -> bool:
    """Whether a Milvus reporting ``version`` has the BM25 function and sparse search: Milvus
    2.5 and later, Milvus Lite 3 and later (``"milvus_lite-3.2.2"``)."""
    found = re.search(r"(\d+)\.(\d+)", version or "")
    if not found:
        return False
    release = (int(found[1]), int(found[2]))
    return release >= ((3, 0) if "lite" in version.lower() else (2, 5))


def _token(term: str) -> str:
    """``term`` as one token any Milvus analyzer keeps whole (a hash for anything but [a-z0-9])."""
    if _PLAIN.fullmatch(term):
        return term
    return "q" + hashlib.blake2b(term.encode("utf-8"), digest_size=8).hexdigest()


def window_terms(terms: Sequence[str]) -> str:
    """The ``terms`` field of a window (or a query) from its stemmed terms: space-separated tokens."""
    return " ".join(_token(t) for t in terms)


def text_terms(text: str) -> list[str]:
    """The stemmed content words of a window's text, as the local BM25 indexes them."""
    return [stem(w) for w in content_words(text)] or [_EMPTY]


def partition(scale: int) -> str:
    """The partition holding the windows of size ``scale``."""
    return f"s{int(scale)}"


def create_collection(
    client, name: str, *, dimension: int, kind: str, params: dict, scales: Sequence[int], bm25: bool
) -> None:
    """A new collection ``name`` with the fields above, a partition per window size, and the BM25
    function and its sparse index when ``bm25``."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    for column in COLUMNS:
        schema.add_field(column, DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    index = client.prepare_index_params()
    index.add_index("vector", index_type=kind, metric_type="IP", params=params)
    if bm25:
        schema.add_field(
            "terms",
            DataType.VARCHAR,
            max_length=TERMS_MAX,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "standard"},
        )
        schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="terms_bm25",
                function_type=FunctionType.BM25,
                input_field_names=["terms"],
                output_field_names=["bm25"],
            )
        )
        index.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
    client.create_collection(name, schema=schema, index_params=index)
    for scale in scales:
        client.create_partition(name, partition(scale))


def insert_windows(
    client,
    name: str,
    vectors: np.ndarray,
    columns: Mapping[str, np.ndarray],
    texts: Sequence[str] | None,
) -> None:
    """Insert every window into the partition of its size, with its ``terms`` when ``texts`` are
    given (the collection then has the BM25 field)."""
    cols = {c: np.asarray(columns[c], dtype=np.int64) for c in COLUMNS}
    for scale in np.unique(cols["scale"]):
        rows_of_size = np.flatnonzero(cols["scale"] == scale)
        for b in range(0, len(rows_of_size), INSERT_BATCH):
            rows = []
            for i in rows_of_size[b : b + INSERT_BATCH].tolist():
                row = {"id": i, **{c: int(cols[c][i]) for c in COLUMNS}, "vector": vectors[i].tolist()}
                if texts is not None:
                    row["terms"] = window_terms(text_terms(texts[i]))[:TERMS_MAX]
                rows.append(row)
            client.insert(name, rows, partition_name=partition(int(scale)))
