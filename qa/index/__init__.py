"""The built index: documents, a typed window table, vectors in a store, BM25, a manifest.

``model`` (what an index is), ``build`` (building, staleness, the build lock), ``files``
(saving, atomic publishing, loading). Import heavy libraries only when an index is built or
loaded.
"""

from qa.index.build import (
    BuildReport,
    build_index,
    build_lock,
    check_sources,
    ensure_index,
    open_index,
    stale_reasons,
)
from qa.index.files import POINTER, atomic_write, load_index, read_manifest, save_index
from qa.index.model import FORMAT_VERSION, DocumentInfo, Index, IndexInfo, Manifest, Windows

__all__ = [
    "FORMAT_VERSION",
    "POINTER",
    "BuildReport",
    "DocumentInfo",
    "Index",
    "IndexInfo",
    "Manifest",
    "Windows",
    "atomic_write",
    "build_index",
    "build_lock",
    "check_sources",
    "ensure_index",
    "load_index",
    "open_index",
    "read_manifest",
    "save_index",
    "stale_reasons",
]
