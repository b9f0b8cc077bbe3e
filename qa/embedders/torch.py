"""The embedding model run by sentence-transformers and torch (``backend="torch"``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from qa.embedders.paths import quiet_environment, resolve_model_path
from qa.embedders.tokens import TokenStates, token_states
from qa.errors import ModelError

__all__ = ["SentenceTransformerEmbedder"]

log = logging.getLogger(__name__)


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
                quiet_environment()
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

    def encode_tokens(self, texts: Sequence[str]) -> list[TokenStates]:
        """Each text's vector and its tokens' states before pooling (the transformer run directly,
        with the model's tokenizer, truncation and mean pooling)."""
        import torch

        model = self._load()
        texts = list(texts)
        out: list[TokenStates] = []
        for b in range(0, len(texts), self.batch_size):
            batch = model.tokenizer(
                texts[b : b + self.batch_size],
                padding=True,
                truncation=True,
                max_length=model.max_seq_length,
                return_offsets_mapping=True,
                return_special_tokens_mask=True,
                return_tensors="pt",
            )
            offsets, special = batch.pop("offset_mapping"), batch.pop("special_tokens_mask")
            with torch.no_grad():
                hidden = model[0].auto_model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(mean, dim=1)
            out += token_states(
                vectors.numpy(),
                hidden.numpy(),
                offsets.tolist(),
                special.tolist(),
                batch["attention_mask"].tolist(),
            )
        return out
