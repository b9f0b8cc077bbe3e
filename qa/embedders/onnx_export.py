"""Export a sentence-transformers model to ONNX, so queries run without torch.

The exported graph takes the tokenizer's tensors and returns the pooled, L2-normalised sentence
vector, i.e. exactly what ``SentenceTransformer.encode(..., normalize_embeddings=True)`` gives.
An export is checked against sentence-transformers on probe texts and refused below
``MIN_COSINE``; it is written to a temporary folder and renamed into place, so a crash never
leaves a half-written model behind. Only this module imports torch, and only when exporting.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

from qa.errors import ModelError

__all__ = ["MIN_COSINE", "export_onnx", "onnx_folder", "read_onnx_meta"]

MIN_COSINE = 0.999
FORMAT_VERSION = 1
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


def onnx_folder(cache_dir: Path, model: str) -> Path:
    """Where the ONNX export of ``model`` lives under ``cache_dir``."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in model.strip("/"))[-80:]
    return cache_dir / "onnx" / slug


def read_onnx_meta(folder: Path, model: str) -> dict[str, Any] | None:
    """The export's metadata if ``folder`` holds a complete, current export of ``model``."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION or meta.get("model") != model:
        return None
    if not all((folder / name).is_file() for name in ("model.onnx", "tokenizer.json")):
        return None
    return meta


def export_onnx(model: str, folder: Path) -> dict[str, Any]:
    """Export ``model`` into ``folder`` and return its metadata; :class:`ModelError` if unsupported."""
    import numpy as np
    import torch

    from qa.embedders.base import SentenceTransformerEmbedder

    reference = SentenceTransformerEmbedder(model)
    st = reference.model
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
    tokenizer = st.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"model {model!r} has no fast tokenizer; use QA_BACKEND=torch")
    sample = tokenizer(["a b", "c"], padding=True, return_tensors="pt")
    inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Pooled(torch.nn.Module):
        def __init__(self, hf_model):
            super().__init__()
            self.hf_model = hf_model

        def forward(self, *tensors):
            named = dict(zip(inputs, tensors))
            hidden = self.hf_model(**named).last_hidden_state
            mask = named["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {"embedding": {0: "batch"}}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python control flow in the model
            torch.onnx.export(
                Pooled(transformer.auto_model).eval(),
                tuple(sample[n] for n in inputs),
                str(tmp / "model.onnx"),
                input_names=inputs,
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        meta = {
            "format": FORMAT_VERSION,
            "model": model,
            "dimension": int(reference.dimension),
            "max_seq_length": int(st.max_seq_length),
            "inputs": inputs,
            "pad_id": int(tokenizer.pad_token_id or 0),
            "pad_token": str(tokenizer.pad_token or "[PAD]"),
            "torch": torch.__version__,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        from qa.embedders.base import OnnxEmbedder

        got = OnnxEmbedder.from_folder(tmp, model).encode(list(_PROBES))
        want = reference.encode(list(_PROBES))
        cosine = float(np.min(np.sum(got * want, axis=1)))
        if cosine < MIN_COSINE:
            raise ModelError(f"the ONNX export of {model!r} differs from the model (cosine {cosine:.4f})")
        meta["min_cosine"] = round(cosine, 6)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta
