"""The embedding model run by sentence-transformers and torch (``backend="torch"``), in fp32 or,
for a build's windows, with its weights in bf16 (``embed_precision`` bf16: ``qa.embedders.precision``).

Texts are encoded in batches of similar token counts (sorted by the tokenizer's count, not by
characters: code and prose differ by up to 6× in tokens per character, and sorting by
characters left a third of the build's model time on padding), one batch per core at a time."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from qa.embedders.paths import quiet_environment, resolve_model_path
from qa.embedders.tokens import TokenStates, token_states
from qa.errors import ModelError

__all__ = ["SentenceTransformerEmbedder"]

log = logging.getLogger(__name__)


PRECISIONS = ("fp32", "bf16")


def _forward(model, prepare, lock: threading.Lock, texts: list[str], *, one_thread: bool) -> np.ndarray:
    """Normalised vectors of one batch of ``texts``; ``one_thread``: torch computes it on the
    calling thread alone (batches then run side by side, one per core: on a busy machine torch's
    own threads wait for each other at every operation, and two of them embedded no faster than
    one). The batch is tokenised here, under ``lock`` (a fast tokenizer set up by one thread must
    not be used by another meanwhile), so one batch's tokenising overlaps another's products."""
    import torch

    if one_thread:
        torch.set_num_threads(1)  # this thread's OpenMP setting; the caller's stays as it was
    with lock:
        features = prepare(texts)
    with torch.inference_mode():
        vectors = model(features)["sentence_embedding"]
    return torch.nn.functional.normalize(vectors.float(), dim=1).numpy()


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded lazily and once, thread-safe for encoding.

    ``precision="bf16"`` holds its weights in bf16 (``model.to(torch.bfloat16)``): every
    operation in bf16, the vectors returned in fp32. Autocast (products in bf16, layer norms
    and pooling in fp32) came 0.00003 closer to fp32 in cosine and embedded 7 to 8 % fewer
    texts per CPU second: it casts every activation between the two (benchmarks/README.md)."""

    def __init__(self, model: str, *, batch_size: int = 64, precision: str = "fp32") -> None:
        if precision not in PRECISIONS:
            raise ModelError(f'precision {precision!r} is not "fp32" or "bf16"')
        self.name = model
        self.batch_size = batch_size
        self.precision = precision
        self._model = None
        self._lock = threading.Lock()
        self._tokenizing = threading.Lock()
        self._counter = None
        self._bf16: SentenceTransformerEmbedder | None = None

    def bf16(self) -> SentenceTransformerEmbedder:
        """The same model with its weights in bf16, for window vectors (one per embedder)."""
        if self.precision == "bf16":
            return self
        with self._lock:
            if self._bf16 is None:
                self._bf16 = SentenceTransformerEmbedder(
                    self.name, batch_size=self.batch_size, precision="bf16"
                )
            return self._bf16

    def _load(self):
        with self._lock:
            if self._model is None:
                quiet_environment()
                location = resolve_model_path(self.name)
                log.info("loading embedding model %s", location)
                try:
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(location, device="cpu")
                    if self.precision == "bf16":
                        import torch

                        model.to(torch.bfloat16)
                    self._model = model
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

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens of each text as the model sees it (special tokens included, truncated)."""
        model = self._load()
        counter = self._token_counter(model)
        if counter is None:  # a tokenizer without a fast (Rust) form
            ids = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)
            lengths = (len(row) for row in ids["input_ids"])
        else:
            lengths = (len(e.ids) for e in counter.encode_batch_fast(list(texts)))
        counts = np.fromiter(lengths, dtype=np.int64, count=len(texts))
        return np.minimum(counts, model.max_seq_length)

    def _token_counter(self, model):
        """A copy of the model's fast tokenizer with no padding and no truncation, for counting
        only (the model's own one is reconfigured by every call that pads a batch)."""
        backend = getattr(model.tokenizer, "backend_tokenizer", None)
        if backend is None or not hasattr(backend, "encode_batch_fast"):
            return None
        with self._tokenizing:
            if self._counter is None:
                from tokenizers import Tokenizer

                counter = Tokenizer.from_str(backend.to_str())
                counter.no_padding()
                counter.no_truncation()
                self._counter = counter
        return self._counter

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        return self.encode_counted(texts, self.token_counts(texts) if texts else np.zeros(0, dtype=np.int64))

    def encode_counted(
        self,
        texts: Sequence[str],
        counts: Sequence[int] | np.ndarray,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Vectors of ``texts`` whose token counts are known (:meth:`token_counts`; a build counts
        every text once, to order the whole build): batches of similar counts, all through one
        pass of the workers; ``progress(n)`` after each batch of ``n`` texts."""
        import torch

        model = self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort(np.asarray(counts), kind="stable")
        batches = [order[b : b + self.batch_size] for b in range(0, len(order), self.batch_size)]
        batches.reverse()  # the longest first: the workers' last batches are the shortest to wait for
        prepare = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers < 6
        inputs = [[texts[i] for i in rows] for rows in batches]
        workers = min(len(batches), torch.get_num_threads())
        run = functools.partial(
            _forward,
            model,
            prepare,
            self._tokenizing,
            one_thread=workers > 1,
        )
        with contextlib.ExitStack() as stack:
            if workers > 1:
                pool = stack.enter_context(ThreadPoolExecutor(workers, thread_name_prefix="qa-embed"))
                results = pool.map(run, inputs)
            else:
                results = map(run, inputs)
            for rows, vectors in zip(batches, results):
                out[rows] = vectors
                if progress:
                    progress(len(rows))
        return out

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
            hidden = hidden.float()
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
