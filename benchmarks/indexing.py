"""Indexing: embedding throughput against the naive ``model.encode``, the cost of ``qa index``
when nothing changed, and how much is re-embedded when one document changes.

    python benchmarks/indexing.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, table, timed
from naive import seed_windows


def throughput() -> list[list[object]]:
    from qa.config import Settings
    from qa.embedders.onnx import OnnxEmbedder
    from qa.embedders.torch import SentenceTransformerEmbedder

    texts = seed_windows()
    settings = Settings.load(root=REPO)
    st = SentenceTransformerEmbedder(settings.model)
    onnx = OnnxEmbedder(settings.model, settings.index_dir)
    st.encode(texts[:4]), onnx.encode(texts[:4])  # load both
    naive_s = timed(lambda: st.model.encode(texts, normalize_embeddings=True))  # defaults, batch 32
    rows = [["naive model.encode (torch, batch 32)", len(texts), len(texts) / naive_s, 1.0]]
    for name, fn in [
        ("qa torch backend (batch 64)", lambda: st.encode(texts)),
        ("qa onnx backend (length-sorted batches of 32)", lambda: onnx.encode(texts)),
    ]:
        s = timed(fn)
        rows.append([name, len(texts), len(texts) / s, naive_s / s, ""])
    rows[0].append("")
    rows.append(int8_row(onnx, texts, naive_s))
    return rows


def int8_row(onnx, texts: list[str], naive_s: float) -> list[object]:
    """Dynamic int8 quantisation of the ONNX export: faster, but are the vectors the same?"""
    import numpy as np
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.embedders.onnx import OnnxEmbedder

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("tokenizer.json", "meta.json"):
            shutil.copy(onnx.folder / name, folder / name)
        quantize_dynamic(
            onnx.folder / "model.onnx",
            folder / "model.onnx",
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
        int8 = OnnxEmbedder.from_folder(folder, onnx.name)
        int8.encode(texts[:4])
        s = timed(lambda: int8.encode(texts))
        cosine = np.sum(int8.encode(texts) * onnx.encode(texts), axis=1)
    return [
        "int8 onnx (not used: see cosine)",
        len(texts),
        len(texts) / s,
        naive_s / s,
        f"{cosine.mean():.4f} mean, {cosine.min():.4f} min",
    ]


def incremental() -> list[list[object]]:
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "seeds", root / "seeds")
        for i in range(3):
            (root / "seeds" / f"lesson{i}.md").write_text(
                f"# Lesson {i}\n\n" + "Traffickers recruit victims with false promises of work. " * 60,
                encoding="utf-8",
            )
        settings = Settings.load(root=root, index_dir=root / "embeddings")
        embedder = make_embedder(settings)
        for step, change in [
            ("first build", None),
            ("nothing changed", None),
            (
                "one lesson edited",
                lambda: (root / "seeds" / "lesson1.md").write_text(
                    "# Lesson 1\n\nDebt bondage keeps victims working to repay a debt.\n", encoding="utf-8"
                ),
            ),
            (
                "one lesson added",
                lambda: (root / "seeds" / "lesson9.md").write_text(
                    "# Lesson 9\n\nForced marriage is a form of trafficking.\n", encoding="utf-8"
                ),
            ),
        ]:
            if change:
                change()
            start = time.perf_counter()
            report = ensure_index(settings, embedder)
            rows.append([step, report.status, report.embedded, report.reused, time.perf_counter() - start])
        env = {**os.environ, "QA_ROOT": str(root), "QA_INDEX_DIR": str(root / "embeddings")}
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "qa.cli", "index"],
            cwd=root,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows.append(
            ["`qa index`, nothing changed (fresh process)", "up to date", 0, "", time.perf_counter() - start]
        )
    return rows


def main() -> None:
    print("embedding throughput on the seed's 100-word windows")
    print(table(["embedder", "texts", "texts/s", "speed-up vs naive", "cosine to fp32"], throughput()))
    print()
    print("incremental indexing (seed + 3 small lessons)")
    print(table(["step", "status", "windows embedded", "windows reused", "seconds"], incremental()))


if __name__ == "__main__":
    main()
