"""Sentence embeddings behind a small protocol, so tests can swap in a fake model.

Two real embedders, one per module, both loading on first use, never at import:
:class:`~qa.embedders.onnx.OnnxEmbedder` (onnxruntime over a one-time ONNX export, no torch at
query time) and :class:`~qa.embedders.torch.SentenceTransformerEmbedder` (sentence-transformers).
:func:`make_embedder` picks one from the settings (``backend``); :func:`window_embedder` gives
the build the form that embeds windows (``embed_precision``, decided by ``precision``). Imports
run one way: ``base`` → ``onnx`` → ``torch`` → ``paths``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from qa.config import Settings
from qa.embedders.paths import resolve_model_path
from qa.embedders.precision import window_precision
from qa.errors import ConfigError

if TYPE_CHECKING:
    from qa.embedders.onnx import OnnxEmbedder
    from qa.embedders.torch import SentenceTransformerEmbedder

__all__ = [
    "Embedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "make_embedder",
    "resolve_model_path",
    "window_embedder",
]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (``backend``: ``onnx`` or ``torch``)."""
    if settings.backend == "onnx":
        from qa.embedders.onnx import OnnxEmbedder

        return OnnxEmbedder(settings.model, settings.index_dir)
    from qa.embedders.torch import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model)


def window_embedder(embedder: Embedder, settings: Settings) -> Embedder:
    """What embeds the windows of a build: ``embedder`` itself (fp32), its int8 form (an
    embedder with a ``quantized()`` method, e.g. the ONNX one) or its bf16 form (a ``bf16()``
    method: both real ones), as :func:`~qa.embedders.precision.window_precision` decides from
    ``embed_precision``; questions keep using ``embedder``."""
    precision = window_precision(settings.embed_precision, embedder)
    if precision == "fp32":
        return embedder
    form = getattr(embedder, "quantized" if precision == "int8" else "bf16", None)
    if form is None:
        backend = "QA_BACKEND=onnx or " if precision == "int8" else ""
        raise ConfigError(
            f"embedder {embedder.name!r} has no {precision} form for embed_precision {precision}; "
            f"set {backend}QA_EMBED_PRECISION=fp32"
        )
    return form()


def __getattr__(name: str):
    # compatibility: the embedder classes used to live here; import them from their modules
    if name == "OnnxEmbedder":
        from qa.embedders.onnx import OnnxEmbedder

        return OnnxEmbedder
    if name == "SentenceTransformerEmbedder":
        from qa.embedders.torch import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
