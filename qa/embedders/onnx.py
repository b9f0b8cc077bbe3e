"""The embedding model run by onnxruntime (``backend="onnx"``), and its one-time ONNX export.

Queries run without torch: a question encodes in a few milliseconds and a CLI process starts in
a second. The export is made once, from sentence-transformers (this is the only place the ONNX
backend touches the torch backend, and only when exporting): the graph takes the tokenizer's
tensors and returns the pooled, L2-normalised sentence vector, i.e. exactly what
``SentenceTransformer.encode(..., normalize_embeddings=True)`` gives, and the token states it
was pooled from (for :meth:`OnnxEmbedder.encode_tokens`). The pooled output is checked against
sentence-transformers on probe texts and refused below ``MIN_COSINE``; it is written to a
temporary folder and renamed into place, so a crash never leaves a half-written model behind.

``precision="int8"`` runs the export's int8 form instead (``qa.embedders.quantize``), made once
from the fp32 export, beside it, and refused if its vectors of the probe texts fall below
``MIN_INT8_COSINE`` to the fp32 ones. The build uses it for window vectors when
``embed_precision`` says so (:meth:`OnnxEmbedder.quantized`); questions stay fp32. For
``embed_precision`` bf16 the build embeds windows with torch (:meth:`OnnxEmbedder.bf16`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.embedders.paths import quiet_environment, read_export_meta
from qa.embedders.quantize import int8_folder, read_int8_meta, write_int8
from qa.embedders.tokens import TokenStates, token_states
from qa.errors import ModelError

__all__ = [
    "MIN_COSINE",
    "MIN_INT8_COSINE",
    "OnnxEmbedder",
    "export_int8",
    "export_onnx",
    "onnx_folder",
    "read_onnx_meta",
]

log = logging.getLogger(__name__)

MIN_COSINE = 0.999
MIN_INT8_COSINE = 0.98
"""The int8 export is refused if a probe text's vector falls below this cosine to fp32's."""
FORMAT_VERSION = 2
"""2: a second output, ``token_embeddings`` (the states before pooling)."""
_PROBES = (
    "What is debt bondage?",
    "forced labour in agriculture fishing construction",
    "The protocol was adopted in 2000. It entered into force in 2003.",
    "## Heading\n\nA paragraph with punctuation, numbers (42) and an émoji 🙂.",
)
_POOLING_KEYS = (
    "pooling_mode_cls_token",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
)


class OnnxEmbedder:
    """The model's ONNX export run by onnxruntime; exports it first if ``cache_dir`` has none.

    Texts are tokenised by the model's own fast tokenizer (``tokenizer.json``), truncated at the
    model's ``max_seq_length``, and encoded in batches sorted by token count (by characters,
    code and prose mixed in a batch: the build's batches padded by two thirds on PDFs).
    """

    def __init__(
        self, model: str, cache_dir: Path | None, *, batch_size: int = 32, precision: str = "fp32"
    ) -> None:
        if precision not in ("fp32", "int8"):
            raise ModelError(f'precision {precision!r} is not "fp32" or "int8"')
        self.name = model
        self.batch_size = batch_size
        self.precision = precision
        self._cache_dir = cache_dir
        self._folder: Path | None = None
        self._session = None
        self._tokenizer = None
        self._meta: dict = {}
        self._lock = threading.Lock()
        self._int8: OnnxEmbedder | None = None
        self._bf16 = None

    @classmethod
    def from_folder(cls, folder: Path, model: str) -> OnnxEmbedder:
        """An embedder over an existing export in ``folder`` (no export, no cache lookup)."""
        out = cls(model, None)
        out._folder = folder
        return out

    @property
    def folder(self) -> Path:
        """The folder of the export in use (``model.onnx``, ``tokenizer.json``, ``meta.json``)."""
        if self._folder is not None:
            return self._folder
        fp32 = onnx_folder(Path(self._cache_dir or "."), self.name)
        return int8_folder(fp32) if self.precision == "int8" else fp32

    def quantized(self) -> OnnxEmbedder:
        """The same model over the int8 form of its export (made on first use), for window
        vectors; one per embedder."""
        if self.precision == "int8":
            return self
        with self._lock:
            if self._int8 is None:
                self._int8 = OnnxEmbedder(
                    self.name, self._cache_dir, batch_size=self.batch_size, precision="int8"
                )
                if self._folder is not None:
                    self._int8._folder = int8_folder(self._folder)
            return self._int8

    def bf16(self):
        """The same model run by torch with bf16 weights
        (:class:`~qa.embedders.torch.SentenceTransformerEmbedder`), for window vectors; one per
        embedder, loaded on first use."""
        from qa.embedders.torch import SentenceTransformerEmbedder

        with self._lock:
            if self._bf16 is None:
                self._bf16 = SentenceTransformerEmbedder(self.name, precision="bf16")
            return self._bf16

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            folder = self.folder
            if self.precision == "int8":
                meta = _int8_meta(self.name, folder)
            elif self._folder is None:
                meta = read_onnx_meta(folder, self.name)
                if meta is None:
                    log.info("exporting %s to ONNX in %s (first start only)", self.name, folder)
                    meta = export_onnx(self.name, folder)
            else:
                meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            self._tokenizer, self._session = _open_session(folder, meta)
            self._meta = meta

    @property
    def dimension(self) -> int:
        self._load()
        return int(self._meta["dimension"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, _, (vectors,) in self._batches(texts, ["embedding"]):
            out[rows] = vectors
        return out

    def encode_tokens(self, texts: Sequence[str]) -> list[TokenStates]:
        """Each text's vector (as :meth:`encode`) and its tokens' states before pooling."""
        texts = list(texts)
        out: list[TokenStates | None] = [None] * len(texts)
        for rows, encoded, (vectors, hidden) in self._batches(texts, ["embedding", "token_embeddings"]):
            got = token_states(
                vectors,
                hidden,
                [e.offsets[: hidden.shape[1]] for e in encoded],  # the batch's width
                [e.special_tokens_mask[: hidden.shape[1]] for e in encoded],
                [e.attention_mask[: hidden.shape[1]] for e in encoded],
            )
            for row, states in zip(rows, got):
                out[row] = states
        return out  # type: ignore[return-value]

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens of each text as the model sees it (special tokens included, truncated)."""
        self._load()
        encoded = self._tokenizer.encode_batch(list(texts))
        return np.array([sum(e.attention_mask) for e in encoded], dtype=np.int64)

    def _batches(self, texts: list[str], outputs: list[str]):
        """``(rows, encodings, outputs)`` per batch of ``texts`` of similar token counts (the
        encodings padded to the longest of ``texts``, the outputs to the batch's longest)."""
        self._load()
        if not texts:
            return
        encoded = self._tokenizer.encode_batch(texts)  # padded to the longest of ``texts``
        columns = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        counts = columns["attention_mask"].sum(axis=1)
        order = np.argsort(counts, kind="stable")
        inputs = self._meta["inputs"]
        for b in range(0, len(order), self.batch_size):
            rows = order[b : b + self.batch_size]
            width = int(counts[rows].max())
            feed = {name: columns[name][rows, :width] for name in inputs}
            yield rows.tolist(), [encoded[i] for i in rows], self._session.run(outputs, feed)


def _int8_meta(model: str, folder: Path) -> dict[str, Any]:
    """The metadata of the int8 export in ``folder`` (see :func:`int8_folder`), made first (and
    the fp32 export it comes from) if missing or made from another fp32 export."""
    fp32_folder = folder.with_name(folder.name.removesuffix("-int8"))
    fp32_meta = read_onnx_meta(fp32_folder, model)
    if fp32_meta is None:
        log.info("exporting %s to ONNX in %s (first start only)", model, fp32_folder)
        fp32_meta = export_onnx(model, fp32_folder)
    meta = read_int8_meta(folder, fp32_folder, fp32_meta)
    if meta is None:
        log.info("quantising the ONNX export of %s to int8 in %s (first start only)", model, folder)
        meta = export_int8(model, fp32_folder, folder)
    return meta


def _thread_limit() -> int:
    """Threads ONNX Runtime may use, from ``OMP_NUM_THREADS`` as the other runtimes read it
    (0: its own default, one per core)."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


def _open_session(folder: Path, meta: dict[str, Any]):
    """The tokenizer and onnxruntime session of the export in ``folder``."""
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(int(meta["max_seq_length"]))
        tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=str(meta["pad_token"]))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # no thread spins waiting for work: a spinning thread holds a core after each run, which
        # the rest of the question (NumPy and Python) or another process on a small shared
        # machine then waits for (benchmarks/README.md: "The query path's time"); the vectors
        # are the same bit for bit
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        threads = _thread_limit()
        if threads:  # a share of the cores (``qa serve --workers``): no more threads
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise ModelError(
            f"cannot load the ONNX model in {folder.name}: {type(exc).__name__}; "
            "delete that folder to export it again, or set QA_BACKEND=torch"
        ) from exc
    return tokenizer, session


def onnx_folder(cache_dir: Path, model: str) -> Path:
    """Where the ONNX export of ``model`` lives under ``cache_dir``."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in model.strip("/"))[-80:]
    return cache_dir / "onnx" / slug


def read_onnx_meta(folder: Path, model: str) -> dict[str, Any] | None:
    """The export's metadata if ``folder`` holds a complete, current export of ``model``."""
    meta = read_export_meta(folder)
    if meta is None or meta.get("format") != FORMAT_VERSION or meta.get("model") != model:
        return None
    return meta


def export_int8(model: str, fp32_folder: Path, folder: Path) -> dict[str, Any]:
    """Quantise the fp32 export in ``fp32_folder`` into ``folder`` (``qa.embedders.quantize``);
    :class:`ModelError` if its probe vectors fall below :data:`MIN_INT8_COSINE` to fp32's."""
    fp32_meta = read_onnx_meta(fp32_folder, model)
    if fp32_meta is None:
        raise ModelError(f"no ONNX export of {model!r} in {fp32_folder}; export it first")
    with _staged(folder) as tmp:
        meta = write_int8(fp32_folder, fp32_meta, tmp)
        got = OnnxEmbedder.from_folder(tmp, model).encode(list(_PROBES))
        want = OnnxEmbedder.from_folder(fp32_folder, model).encode(list(_PROBES))
        cosine = float(np.min(np.sum(got * want, axis=1)))
        if cosine < MIN_INT8_COSINE:
            raise ModelError(
                f"the int8 export of {model!r} is too far from the model (cosine {cosine:.4f}); "
                "set QA_EMBED_PRECISION=fp32"
            )
        meta["min_cosine_to_fp32"] = round(cosine, 6)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta


@contextlib.contextmanager
def _staged(folder: Path) -> Iterator[Path]:
    """A temporary folder beside ``folder`` to write an export into; it replaces ``folder`` when
    the block ends without an exception and is removed when one is raised."""
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _exportable_inputs(st, model: str) -> list[str]:
    """The tokenizer tensors the model takes; :class:`ModelError` unless it is a mean-pooled,
    normalised transformer with a fast tokenizer (what the exported graph reproduces)."""
    transformer, pooling_ok, normalise_ok = st[0], False, True
    for module in list(st)[1:]:
        kind = type(module).__name__
        if kind == "Pooling":
            config = module.get_config_dict()
            if "pooling_mode" in config:  # sentence-transformers 6
                pooling_ok = config["pooling_mode"] == "mean"
            else:
                pooling_ok = config.get("pooling_mode_mean_tokens", False) and not any(
                    config.get(key) for key in _POOLING_KEYS
                )
        elif kind != "Normalize":
            normalise_ok = False
    if type(transformer).__name__ != "Transformer" or not pooling_ok or not normalise_ok:
        raise ModelError(f"model {model!r} is not a mean-pooled transformer; use QA_BACKEND=torch")
    if not getattr(st.tokenizer, "is_fast", False):
        raise ModelError(f"model {model!r} has no fast tokenizer; use QA_BACKEND=torch")
    sample = st.tokenizer(["a b", "c"], padding=True, return_tensors="pt")
    return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]


def _write_graph(st, inputs: list[str], path: Path) -> None:
    """Trace the transformer plus mean pooling and normalisation into ``path``: outputs
    ``embedding`` (pooled, normalised) and ``token_embeddings`` (the states before pooling)."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, hf_model):
            super().__init__()
            self.hf_model = hf_model

        def forward(self, *tensors):
            named = dict(zip(inputs, tensors))
            hidden = self.hf_model(**named).last_hidden_state
            mask = named["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1), hidden

    sample = st.tokenizer(["a b", "c"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {
        "embedding": {0: "batch"},
        "token_embeddings": {0: "batch", 1: "tokens"},
    }
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about Python control flow in the model
        torch.onnx.export(
            Pooled(st[0].auto_model).eval(),
            tuple(sample[n] for n in inputs),
            str(path),
            input_names=inputs,
            output_names=["embedding", "token_embeddings"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def export_onnx(model: str, folder: Path) -> dict[str, Any]:
    """Export ``model`` into ``folder`` and return its metadata; :class:`ModelError` if unsupported."""
    import torch

    from qa.embedders.torch import SentenceTransformerEmbedder

    quiet_environment()
    reference = SentenceTransformerEmbedder(model)
    st = reference.model
    inputs = _exportable_inputs(st, model)
    with _staged(folder) as tmp:
        _write_graph(st, inputs, tmp / "model.onnx")
        st.tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        meta = {
            "format": FORMAT_VERSION,
            "model": model,
            "dimension": int(reference.dimension),
            "max_seq_length": int(st.max_seq_length),
            "inputs": inputs,
            "pad_id": int(st.tokenizer.pad_token_id or 0),
            "pad_token": str(st.tokenizer.pad_token or "[PAD]"),
            "torch": torch.__version__,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        got = OnnxEmbedder.from_folder(tmp, model).encode(list(_PROBES))
        cosine = float(np.min(np.sum(got * reference.encode(list(_PROBES)), axis=1)))
        if cosine < MIN_COSINE:
            raise ModelError(f"the ONNX export of {model!r} differs from the model (cosine {cosine:.4f})")
        meta["min_cosine"] = round(cosine, 6)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta
