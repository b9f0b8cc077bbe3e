"""Embedders: the protocol and factory (``base``), the ONNX and torch backends, model paths."""

from qa.embedders.base import Embedder, make_embedder
from qa.embedders.paths import resolve_model_path

__all__ = ["Embedder", "make_embedder", "resolve_model_path"]
