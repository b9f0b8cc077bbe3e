"""The int8 form of the ONNX export (``embed_precision="int8"``), made once from the fp32 export.

ONNX Runtime's dynamic quantisation: the weights of the model's linear layers are stored as
int8, one scale per output channel, and each layer's input is quantised as it runs (one scale
per tensor, computed from the values at hand), so the matrix products run as int8 (VNNI on CPUs
that have it). Nothing needs calibrating. The products of two activations inside attention
(query × key, weights × value) have no weights and stay fp32. benchmarks/README.md ("int8
window vectors") has the variants measured and why this one.

The export lives in a folder beside the fp32 one (``<fp32 folder>-int8``) and names the fp32
model it was made from by its SHA-256, so a new fp32 export makes it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from qa.atomic import file_sha256
from qa.embedders.paths import read_export_meta

__all__ = ["INT8_FORMAT", "RECIPE", "int8_folder", "recipe_id", "read_int8_meta", "write_int8"]

INT8_FORMAT = 1
RECIPE: dict[str, Any] = {
    "method": "dynamic",
    "weights": "QInt8",
    "per_channel": True,
    "reduce_range": False,
}
"""How the int8 model is made; recorded in its ``meta.json`` (a change makes it again)."""


def recipe_id() -> str:
    """Names how int8 window vectors are made (:data:`INT8_FORMAT` and :data:`RECIPE`); recorded in
    an index's manifest, so vectors made another way are not mixed with new ones."""
    digest = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:8]
    return f"{INT8_FORMAT}-{digest}"


def int8_folder(fp32_folder: Path) -> Path:
    """Where the int8 form of the export in ``fp32_folder`` lives."""
    return fp32_folder.with_name(f"{fp32_folder.name}-int8")


def read_int8_meta(folder: Path, fp32_folder: Path, fp32_meta: dict[str, Any]) -> dict[str, Any] | None:
    """The int8 export's metadata if ``folder`` holds a complete one made by :data:`RECIPE` from
    the fp32 export in ``fp32_folder`` as it is now (None: make it again)."""
    meta = read_export_meta(folder)
    if meta is None or meta.get("int8_format") != INT8_FORMAT or meta.get("recipe") != RECIPE:
        return None
    if meta.get("model") != fp32_meta.get("model") or meta.get("format") != fp32_meta.get("format"):
        return None
    if meta.get("source_sha256") != file_sha256(fp32_folder / "model.onnx"):
        return None
    return meta


@contextlib.contextmanager
def _quiet_root_logger():
    """ONNX Runtime's quantiser warns through the root logger (``logging.warning``), which would
    also give the root logger a stderr handler for good; hold both back while it runs."""
    root = logging.getLogger()
    null, drop = logging.NullHandler(), _DropQuantiserAdvice()
    root.addHandler(null)
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)
        root.removeHandler(null)


class _DropQuantiserAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def write_int8(fp32_folder: Path, fp32_meta: dict[str, Any], out: Path) -> dict[str, Any]:
    """Quantise the fp32 export in ``fp32_folder`` into the (existing, empty) folder ``out``:
    ``model.onnx``, ``tokenizer.json`` and ``meta.json``; returns the metadata."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = fp32_folder / "model.onnx"
    with _quiet_root_logger():
        quantize_dynamic(
            source,
            out / "model.onnx",
            weight_type=QuantType.QInt8,
            per_channel=RECIPE["per_channel"],
            reduce_range=RECIPE["reduce_range"],
        )
    shutil.copyfile(fp32_folder / "tokenizer.json", out / "tokenizer.json")
    meta = {
        **fp32_meta,
        "precision": "int8",
        "int8_format": INT8_FORMAT,
        "recipe": RECIPE,
        "source_sha256": file_sha256(source),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta
