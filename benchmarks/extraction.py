"""Extraction speed per format, and the whole build of ``docs-pdf/`` beside the naive pipeline.

    python benchmarks/extraction.py [--corpus ../shared/eval] [--builds embedded:fp32 embedded:int8 ...]
                                    [--no-build]

Extraction: pages (PDF), slides (PPTX) or, for formats without pages, page equivalents of 3,000
characters, read per second by ``qa.ingest`` (the DOCX and PPTX files are made here from the HTML
manuals' sections, since the shared corpus has none). Build: ``ensure_index`` on a copy of
``docs-pdf/`` (extraction, windows, embedding, FAISS, saving; the model already loaded) beside
the naive pipeline on the same extracted text (100-word windows, stride 50, ``model.encode``,
FAISS flat), in the same run, once per build asked for: ``WAY[:PRECISION[:SIZES]]``, where
WAY is how windows get their vectors (``window_vectors``: ``embedded`` sends every window
through the model, ``contextual`` only the largest windows, the others pooled from their token
states, ``composed`` only the smallest, the others composed), PRECISION the model's arithmetic
for windows (``embed_precision``: ``fp32``, ``int8``, ``bf16`` or ``auto``; loaded, and the int8
form made, before the clock starts; the table names the precision the build recorded) and
SIZES the window sizes (e.g. ``20,40,100``; default the settings').
Wall-clock seconds and the process's CPU seconds (all its threads) are both shown: on a shared
machine the load changes between the builds, which moves wall-clock ratios more than CPU ones.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import REPO, table
from naive import windows

PAGE_CHARS = 3000


def make_office_files(corpus: Path, out: Path) -> None:
    """A .docx (headings and paragraphs) and a .pptx (a slide per section) per HTML manual."""
    import docx
    import pptx

    from qa.ingest.formats.base import Limits
    from qa.ingest.formats.html import read_html

    for html in sorted((corpus / "docs").glob("*.html")):
        got = read_html(html, Limits())
        bounds = [s.start for s in got.sections] + [len(got.text)]
        document, deck = docx.Document(), pptx.Presentation()
        for section, end in zip(got.sections, bounds[1:]):
            title = section.path.split(" \u203a ")[-1]
            body = got.text[section.start + len(title) : end].strip()
            document.add_heading(title, level=min(section.path.count("\u203a") + 1, 9))
            slide = deck.slides.add_slide(deck.slide_layouts[1])
            slide.shapes.title.text = title
            for paragraph in body.split("\n\n"):
                document.add_paragraph(paragraph)
            slide.placeholders[1].text = body[:1500]
        document.save(str(out / f"{html.stem}.docx"))
        deck.save(str(out / f"{html.stem}.pptx"))


def extraction_rows(corpus: Path, office: Path) -> list[list[object]]:
    import docx  # noqa: F401  imported before timing: a build imports each library once
    import markdown_it  # noqa: F401
    import pptx  # noqa: F401
    import pypdfium2  # noqa: F401
    import selectolax.lexbor  # noqa: F401

    from qa.ingest.formats import Limits, read_document

    groups = {
        "PDF (docs-pdf/*.pdf)": sorted((corpus / "docs-pdf").glob("*.pdf")),
        "HTML (docs/*.html)": sorted((corpus / "docs").glob("*.html")),
        "Markdown (docs-md/*.md)": sorted((corpus / "docs-md").glob("*.md")),
        "text (*.txt)": sorted((corpus / "docs").glob("*.txt")),
        "DOCX (made from docs/)": sorted(office.glob("*.docx")),
        "PPTX (made from docs/)": sorted(office.glob("*.pptx")),
    }
    rows = []
    for name, paths in groups.items():
        pages = chars = 0
        start = time.perf_counter()
        for path in paths:
            got = read_document(path, Limits())
            chars += len(got.text)
            pages += len(got.pages) if got.pages else max(round(len(got.text) / PAGE_CHARS), 1)
        seconds = time.perf_counter() - start
        unit = "slides" if "PPTX" in name else ("pages" if "PDF" in name else "3k-char pages")
        rows.append([name, len(paths), f"{pages} {unit}", seconds, pages / seconds, chars / seconds / 1e6])
    return rows


def parse_build(spec: str) -> dict[str, object]:
    """``WAY[:PRECISION[:SIZES]]`` as settings overrides."""
    parts = spec.split(":")
    out: dict[str, object] = {"window_vectors": parts[0]}
    if len(parts) > 1 and parts[1]:
        out["embed_precision"] = parts[1]
    if len(parts) > 2 and parts[2]:
        out["window_sizes"] = tuple(int(w) for w in parts[2].split(","))
    return out


def build_rows(corpus: Path, builds: list[str]) -> tuple[list[list[object]], dict[str, float]]:
    import faiss
    from sentence_transformers import SentenceTransformer

    from qa.config import Settings
    from qa.embedders.base import make_embedder, resolve_model_path, window_embedder
    from qa.index.build import ensure_index
    from qa.ingest.sources import scan_sources

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(corpus / "docs-pdf", root / "docs-pdf")
        settings = Settings.load(root=root, seeds_dir=root / "docs-pdf", index_dir=root / "index")
        project_onnx = REPO / "embeddings" / "onnx"
        if project_onnx.is_dir():  # reuse the project's ONNX export: exporting is not building
            shutil.copytree(project_onnx, root / "index" / "onnx")
        embedder = make_embedder(settings)
        embedder.encode(["warm up"])
        progress: list[float] = []
        start = time.perf_counter()
        documents, _ = scan_sources(
            settings.seeds_dir, root, progress=lambda p: progress.append(p.pages_per_second)
        )
        extract_s = time.perf_counter() - start
        done = []
        for spec in builds:  # extraction is memoised: every build reads the files once more
            wanted = settings.replace(**parse_build(spec))
            window_embedder(embedder, wanted).encode(["warm up"])  # exporting is not building
            start, cpu = time.perf_counter(), time.process_time()
            report = ensure_index(wanted, embedder, rebuild=True)
            done.append((wanted, report, time.perf_counter() - start, time.process_time() - cpu))
        texts = [d.text for d in documents]
    model = SentenceTransformer(resolve_model_path(settings.model), device="cpu")
    model.encode(["warm up"])
    start, cpu = time.perf_counter(), time.process_time()
    naive_windows = [w for text in texts for w in windows(text)]
    vectors = model.encode(naive_windows, normalize_embeddings=True)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    naive_s, naive_cpu = time.perf_counter() - start, time.process_time() - cpu
    rows: list[list[object]] = [
        [
            "naive: 100-word windows, model.encode, FAISS flat",
            len(naive_windows),
            "",
            naive_s,
            1.0,
            naive_cpu,
            1.0,
        ]
    ]
    for wanted, report, seconds, cpu_s in done:
        label = _label(wanted, report.index.manifest.embed_precision)
        default = " (default)" if _label(wanted) == _label(settings) else ""
        rows.append(
            [
                f"qa: ensure_index (extract, windows, embed, FAISS, save), {label}{default}",
                len(report.index),
                report.embedded,
                seconds,
                seconds / naive_s,
                cpu_s,
                cpu_s / naive_cpu,
            ]
        )
    return rows, {"extract_s": extract_s, "pages_per_s": progress[-1] if progress else 0.0}


def _label(settings, used: str = "") -> str:
    sizes = ",".join(str(w) for w in settings.window_sizes)
    precision = settings.embed_precision
    if used and used != precision:
        precision = f"{precision} ({used})"
    return f"{settings.window_vectors}, {precision}, windows {sizes}"


def _default_corpus() -> Path:
    """``shared/eval`` beside the checkout (or beside the folder of worktrees)."""
    candidates = [REPO.parent / "shared" / "eval", REPO.parent.parent / "shared" / "eval"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=_default_corpus())
    parser.add_argument(
        "--builds",
        nargs="+",
        default=["embedded:fp32", "embedded:bf16"],
        help="the builds to time, in this order: WAY[:PRECISION[:SIZES]], e.g. embedded:bf16:20,40,100",
    )
    parser.add_argument("--no-build", action="store_true", help="time the extraction only")
    args = parser.parse_args()
    if not (args.corpus / "docs-pdf").is_dir():
        parser.error(f"no docs-pdf/ in {args.corpus}; pass --corpus PATH/TO/shared/eval")
    with tempfile.TemporaryDirectory() as tmp:
        office = Path(tmp)
        make_office_files(args.corpus, office)
        rows = extraction_rows(args.corpus, office)
    print("extraction by format (qa.ingest.formats.read_document)")
    print(table(["format", "files", "pages", "seconds", "pages/s", "M chars/s"], rows))
    if args.no_build:
        return
    print()
    rows, extra = build_rows(args.corpus, args.builds)
    print(
        f"docs-pdf/ build (same extracted text for both); scan_sources alone: {extra['extract_s']:.2f} s, "
        f"{extra['pages_per_s']:.0f} pages/s"
    )
    headers = ["pipeline", "windows", "through the model", "seconds", "ratio to naive", "CPU s", "CPU ratio"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
