"""Vector stores behind one protocol: the seam between the index and the search engine."""

from qa.store.base import STORE_KINDS, VectorStore, load_store, make_store

__all__ = ["STORE_KINDS", "VectorStore", "load_store", "make_store"]
