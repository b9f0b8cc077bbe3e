"""Indexing: embedding throughput against the naive ``model.encode``, the cost of ``qa index``
when nothing changed, how much is re-embedded when one document changes, and how close composed
and contextual window vectors are to every window embedded.

    python benchmarks/indexing.py [--only throughput,incremental,vectors,precision] [--corpus DIR ...]

Precision: ONNX Runtime's dynamic int8 quantisations of the export (which layers, per channel
or per tensor, reduced range), their texts per CPU second on one thread and the cosine of their
vectors to fp32's on the seed's windows and on windows of every size of the last corpus.

Vectors: for each window size, the cosine of a window's composed or contextual vector to the
same window embedded on its own, and for the dev questions of the corpus how often the best
window of that size (highest cosine to the question) is the same window as with every window
embedded.
"""

from __future__ import annotations

import argparse
import json
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
        ("qa torch backend (batches of 64 by token count)", lambda: st.encode(texts)),
        ("qa onnx backend (batches of 32 by token count)", lambda: onnx.encode(texts)),
    ]:
        s = timed(fn)
        rows.append([name, len(texts), len(texts) / s, naive_s / s, ""])
    rows[0].append("")
    rows.append(int8_row(onnx, texts, naive_s))
    rows.append(bf16_row(onnx, texts, naive_s))
    return rows


def window_form_row(label: str, form, onnx, texts: list[str], naive_s: float, digits: int) -> list[object]:
    """One window-only form of the model (``QA_EMBED_PRECISION``) beside the fp32 ONNX export:
    its speed and its vectors' cosine to fp32."""
    import numpy as np

    form.encode(texts[:4])  # loaded (or made once beside the fp32 export) before the clock starts
    s = timed(lambda: form.encode(texts))
    cosine = np.sum(form.encode(texts) * onnx.encode(texts), axis=1)
    return [
        label,
        len(texts),
        len(texts) / s,
        naive_s / s,
        f"{cosine.mean():.{digits}f} mean, {cosine.min():.{digits}f} min",
    ]


def bf16_row(onnx, texts: list[str], naive_s: float) -> list[object]:
    """The torch model with bf16 weights (``QA_EMBED_PRECISION=bf16``, window vectors only)."""
    label = "qa torch bf16 weights (QA_EMBED_PRECISION=bf16: windows only)"
    return window_form_row(label, onnx.bf16(), onnx, texts, naive_s, 5)


def int8_row(onnx, texts: list[str], naive_s: float) -> list[object]:
    """The int8 form of the ONNX export (``QA_EMBED_PRECISION=int8``, window vectors only)."""
    label = "qa onnx int8 (QA_EMBED_PRECISION=int8: windows only)"
    return window_form_row(label, onnx.quantized(), onnx, texts, naive_s, 4)


QUANT_VARIANTS = {
    "int8 per channel, every weight (QA_EMBED_PRECISION=int8)": dict(per_channel=True),
    "int8 per channel, reduce_range": dict(per_channel=True, reduce_range=True),
    "int8 per tensor": dict(per_channel=False),
    "uint8 weights per channel": dict(per_channel=True, weight_type="QUInt8"),
    "int8 per channel, Q/K/V in fp32": dict(per_channel=True, keep=("query/", "key/", "value/")),
    "int8 per channel, first and last layer in fp32": dict(per_channel=True, keep=("layer.0/", "layer.5/")),
    "int8 per channel, feed-forward output in fp32": dict(per_channel=True, keep=("/output/dense/",)),
}
"""Dynamic quantisations of the ONNX export measured by ``precision_rows`` (``keep``: MatMul
nodes left in fp32, by a part of their name in the export)."""


def precision_rows(corpus: Path) -> list[list[object]]:
    """Per quantisation variant: texts per CPU second on one thread (100-word seed windows) and
    cosine to fp32 on the seed's 100-word windows and on 400 windows of every size of ``corpus``."""
    import random

    import numpy as np
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.config import Settings
    from qa.embedders.onnx import OnnxEmbedder
    from qa.index.build import _window_texts
    from qa.ingest.sources import scan_sources

    os.environ["OMP_NUM_THREADS"] = "1"  # one thread: CPU seconds measure the work, not the load
    settings = Settings.load(root=REPO)
    fp32 = OnnxEmbedder(settings.model, settings.index_dir)
    seed = seed_windows()
    documents, _ = scan_sources(corpus, corpus.parent)
    every = [t for doc in _window_texts(documents, settings.window_sizes)[1] for t in doc]
    random.Random(0).shuffle(every)
    sets = {"seed": seed, corpus.name: every[:400]}
    fp32.encode(["load"])
    want = {name: fp32.encode(texts) for name, texts in sets.items()}
    matmuls = [n.name for n in onnx.load(str(fp32.folder / "model.onnx")).graph.node if n.op_type == "MatMul"]

    def cpu_rate(embedder) -> float:
        start = time.process_time()
        embedder.encode(seed[:64])
        return 64 / (time.process_time() - start)

    base = max(cpu_rate(fp32) for _ in range(2))
    rows: list[list[object]] = [["fp32 (the export; questions always)", base, 1.0, "1", "1", "1", "1"]]
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in QUANT_VARIANTS.items():
            folder = Path(tmp) / str(len(rows))
            folder.mkdir()
            for file in ("tokenizer.json", "meta.json"):
                shutil.copy(fp32.folder / file, folder / file)
            keep = options.get("keep", ())
            quantize_dynamic(
                fp32.folder / "model.onnx",
                folder / "model.onnx",
                weight_type=getattr(QuantType, options.get("weight_type", "QInt8")),
                per_channel=options["per_channel"],
                reduce_range=options.get("reduce_range", False),
                nodes_to_exclude=[n for n in matmuls if any(k in n for k in keep)],
            )
            variant = OnnxEmbedder.from_folder(folder, fp32.name)
            variant.encode(["load"])
            rate = max(cpu_rate(variant) for _ in range(2))
            row: list[object] = [name, rate, rate / base]
            for set_name, texts in sets.items():
                cosine = np.sum(variant.encode(texts) * want[set_name], axis=1)
                row += [f"{cosine.mean():.4f}", f"{cosine.min():.4f}"]
            rows.append(row)
    return rows


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


def _eval_dir() -> Path:
    """``shared/eval`` beside the checkout (or beside the folder of worktrees)."""
    candidates = [REPO.parent / "shared" / "eval", REPO.parent.parent / "shared" / "eval"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def _questions(corpus: Path) -> list[str]:
    """The dev questions scored on ``corpus`` (``docs-dev.jsonl`` for the manuals, else the seed's)."""
    eval_dir = _eval_dir()
    name = "docs-dev.jsonl" if corpus.name.startswith("docs") else "dev.jsonl"
    lines = (eval_dir / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def vector_rows(corpus: Path) -> list[list[object]]:
    """Per way and window size: cosine to the embedded vectors, and agreement on the best window."""
    import numpy as np

    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import _spans, _window_texts
    from qa.index.contextual import contextual_vectors
    from qa.index.vectors import composed_vectors
    from qa.ingest.sources import scan_sources

    settings = Settings.load(root=REPO)
    embedder = make_embedder(settings)
    documents, _ = scan_sources(corpus, corpus.parent)
    windows, texts = _window_texts(documents, settings.window_sizes)
    ways = {
        "embedded": lambda t, s: embedder.encode(t),
        "composed": lambda t, s: composed_vectors(
            t, s.scale, s.word_start, s.word_end, encode=embedder.encode
        ),
        "contextual, central holder": lambda t, s: contextual_vectors(
            t, s, encode=embedder.encode, encode_tokens=embedder.encode_tokens
        ),
        "contextual, all holders": lambda t, s: contextual_vectors(
            t, s, encode=embedder.encode, encode_tokens=embedder.encode_tokens, hosts="all"
        ),
    }
    vectors, seconds = {}, {}
    for name, make in ways.items():
        start = time.perf_counter()
        vectors[name] = np.concatenate(
            [make(t, _spans(windows, windows.of_document(d))) for d, t in enumerate(texts)]
        )
        seconds[name] = time.perf_counter() - start
    questions = embedder.encode(_questions(corpus))
    rows = []
    for name in list(ways)[1:]:
        for size in settings.window_sizes:
            rows_of_size = windows.of_scale(size)
            got, want = vectors[name][rows_of_size], vectors["embedded"][rows_of_size]
            cosine = np.sum(got * want, axis=1)
            same = np.argmax(questions @ got.T, axis=1) == np.argmax(questions @ want.T, axis=1)
            rows.append(
                [name, size, len(rows_of_size), float(cosine.mean()), float(cosine.min()), float(same.mean())]
            )
        rows.append([name, "all", len(windows), "", "", f"{seconds[name] / seconds['embedded']:.2f}x time"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="throughput,incremental,vectors", help="also: precision")
    parser.add_argument("--corpus", type=Path, nargs="*", default=[REPO / "seeds", _eval_dir() / "docs-md"])
    args = parser.parse_args()
    parts = args.only.split(",")
    if "throughput" in parts:
        print("embedding throughput on the seed's 100-word windows")
        print(table(["embedder", "texts", "texts/s", "speed-up vs naive", "cosine to fp32"], throughput()))
        print()
    if "incremental" in parts:
        print("incremental indexing (seed + 3 small lessons)")
        print(table(["step", "status", "windows embedded", "windows reused", "seconds"], incremental()))
        print()
    if "precision" in parts:
        corpus = args.corpus[-1]
        print(f"int8 quantisations of the ONNX export: seed 100-word windows and {corpus.name}/ windows")
        headers = ["model", "texts per CPU s", "vs fp32", "seed mean cos", "seed min cos"]
        headers += [f"{corpus.name} mean cos", f"{corpus.name} min cos"]
        print(table(headers, precision_rows(corpus)))
        print()
    for corpus in args.corpus if "vectors" in parts else []:
        print(f"window vectors against every window embedded: {corpus.name}/")
        headers = ["vectors", "size", "windows", "mean cosine", "min cosine", "same best window"]
        print(table(headers, vector_rows(corpus)))
        print()


if __name__ == "__main__":
    main()
