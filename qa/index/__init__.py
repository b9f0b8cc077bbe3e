"""The built index: documents, a typed window table, vectors in a store, BM25, a manifest.

``model`` (what an index is), ``build`` (building, staleness), ``lock`` (one build at a time),
``embedding`` (the texts through the model, by token count), ``vectors``
(embedded, composed or contextual window vectors; ``contextual`` pools them from token
states), ``progress`` (how far a build is), ``files`` (saving, atomic publishing, loading).
Import heavy libraries only when an index is built or loaded.
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
from qa.index.files import POINTER, load_index, read_manifest, save_index
from qa.index.model import FORMAT_VERSION, DocumentInfo, Index, IndexInfo, Manifest, Windows
from qa.index.progress import BuildProgress, ProgressPrinter, format_progress

__all__ = [
    "FORMAT_VERSION",
    "POINTER",
    "BuildProgress",
    "BuildReport",
    "DocumentInfo",
    "Index",
    "IndexInfo",
    "Manifest",
    "ProgressPrinter",
    "Windows",
    "build_index",
    "build_lock",
    "check_sources",
    "ensure_index",
    "format_progress",
    "load_index",
    "open_index",
    "read_manifest",
    "save_index",
    "stale_reasons",
]
