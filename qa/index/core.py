"""Compatibility: the names that lived here before the index was split into ``model``,
``build`` and ``files`` (and FAISS moved to ``qa.store.faiss``). Import from ``qa.index``;
this module goes once its callers have moved."""

from qa.index import (
    FLAT_LIMIT,
    FORMAT_VERSION,
    POINTER,
    BuildReport,
    Index,
    Manifest,
    build_index,
    build_lock,
    check_sources,
    ensure_index,
    load_index,
    open_index,
    read_manifest,
    save_index,
    stale_reasons,
)
from qa.store.faiss import faiss_factory, make_faiss, tune_faiss

__all__ = [
    "FLAT_LIMIT",
    "FORMAT_VERSION",
    "POINTER",
    "BuildReport",
    "Index",
    "Manifest",
    "build_index",
    "build_lock",
    "check_sources",
    "ensure_index",
    "faiss_factory",
    "load_index",
    "make_faiss",
    "open_index",
    "read_manifest",
    "save_index",
    "stale_reasons",
    "tune_faiss",
]
