"""The built index: windows, their vectors, a FAISS index and a manifest, saved atomically.

Layout under the index folder::

    CURRENT                 name of the live build folder (replaced atomically)
    build-<time>-<id>/      manifest.json, documents.jsonl, chunks.npz, vectors.npy, index.faiss
    .lock                   held while a build runs, so two builds never interleave

A build is written to a hidden temporary folder and published by replacing ``CURRENT``, so a
crash at any point leaves the previous build loadable. The manifest names the model, the chunk
settings and a hash of every source and file; it decides whether the index is still valid.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embedders.base import Embedder
from qa.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    IndexStaleError,
    NoSourcesError,
)
from qa.ingest.chunking import Chunk, WordMap, chunk_text
from qa.ingest.sources import Document, scan_sources

__all__ = [
    "BuildReport",
    "Index",
    "Manifest",
    "build_index",
    "ensure_index",
    "load_index",
    "open_index",
    "save_index",
    "stale_reasons",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
POINTER = "CURRENT"
_FILES = ("documents.jsonl", "chunks.npz", "vectors.npy", "index.faiss")
FLAT_LIMIT = 50_000
"""Below this many windows the FAISS index is exact (flat); above it, HNSW over 8-bit codes."""


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with; compared with the current state to decide validity."""

    format_version: int
    model: str
    dimension: int
    window_sizes: list[int]
    sources: dict[str, str]
    """source path -> sha256 of its text."""
    chunks: int
    faiss_index: str
    built_at: str
    versions: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """file name -> sha256, checked on load."""

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class Index:
    """Windows of every document with their vectors, searchable by inner product."""

    def __init__(
        self,
        *,
        manifest: Manifest,
        documents: Sequence[Document],
        table: dict[str, np.ndarray],
        vectors: np.ndarray,
        faiss_index,
    ) -> None:
        self.manifest = manifest
        self.documents = list(documents)
        self.table = table
        self.vectors = vectors
        self.faiss_index = faiss_index
        self._by_source = {d.source: i for i, d in enumerate(self.documents)}

    def __len__(self) -> int:
        return len(self.table["doc"])

    def chunk(self, i: int) -> Chunk:
        doc = self.documents[int(self.table["doc"][i])]
        start, end = int(self.table["start"][i]), int(self.table["end"][i])
        return Chunk(
            doc.source,
            start,
            end,
            doc.text[start:end],
            int(self.table["word_start"][i]),
            int(self.table["word_end"][i]),
        )

    def document(self, source: str) -> Document:
        """The indexed snapshot of ``source``; KeyError when it is not indexed."""
        return self.documents[self._by_source[source]]

    def document_index(self, source: str) -> int:
        return self._by_source[source]

    @cached_property
    def texts(self) -> list[str]:
        return [self.chunk(i).text for i in range(len(self))]

    @cached_property
    def word_maps(self) -> list[WordMap]:
        return [WordMap(d.text) for d in self.documents]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Inner-product scores and window ids of the ``k`` nearest windows of each query."""
        k = min(k, len(self))
        return self.faiss_index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


@dataclass(frozen=True)
class BuildReport:
    """What :func:`ensure_index` did."""

    index: Index
    status: str
    """"up to date", "updated" or "built"."""
    embedded: int = 0
    reused: int = 0
    skipped: tuple[str, ...] = ()
    """Messages for source files that could not be read."""
    reasons: tuple[str, ...] = ()
    """Why the previous index was not used as it was."""


def _versions() -> dict[str, str]:
    out = {}
    for name in ("qa", "faiss-cpu", "sentence-transformers", "torch", "numpy", "bm25s"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def faiss_factory(n: int, dimension: int, override: str = "") -> str:
    """The FAISS index-factory string for ``n`` vectors: exact search while it is cheap, then an
    inverted file of about 4·sqrt(n) lists over 8-bit scalar-quantised vectors (a quarter of the
    memory; with the retriever's exact rescoring, recall@10 of 1.0 at 1M passages in
    ``benchmarks/scale.py``, where HNSW reached 0.86). ``override`` (the ``faiss_index`` setting)
    wins."""
    if override:
        return override
    if n < FLAT_LIMIT:
        return "Flat"
    lists = max(256, int(4 * math.sqrt(n)) // 256 * 256)
    return f"IVF{lists},SQ8"


def tune_faiss(index, k: int = 64) -> None:
    """Search-time knobs: enough graph breadth or probed lists for ``k`` good candidates."""
    import faiss

    inner = faiss.downcast_index(index)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = max(64, k)
    if hasattr(inner, "nprobe"):
        inner.nprobe = 16


def make_faiss(vectors: np.ndarray, factory: str):
    """A FAISS index of ``vectors`` (inner product) built with FAISS's own index factory."""
    import faiss

    from qa.errors import ConfigError

    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ConfigError(f"faiss_index {factory!r} is not a FAISS index-factory string") from exc
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    tune_faiss(index)
    return index


def build_index(
    documents: Sequence[Document],
    *,
    settings: Settings,
    embedder: Embedder,
    previous: Index | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Index, int, int]:
    """A new index of ``documents``; windows of unchanged documents reuse ``previous`` vectors.

    Returns the index, the number of windows embedded and the number reused.
    """
    if not documents:
        raise NoSourcesError(f"no documents in {settings.seeds_dir}; add some first")
    reusable = previous is not None and (
        previous.manifest.model == embedder.name
        and list(previous.manifest.window_sizes) == list(settings.window_sizes)
        and previous.manifest.format_version == FORMAT_VERSION
    )
    columns: dict[str, list[int]] = {
        k: [] for k in ("doc", "scale", "start", "end", "word_start", "word_end")
    }
    parts: list[np.ndarray | None] = []
    todo: list[tuple[int, list[str]]] = []
    reused = 0
    for d, doc in enumerate(documents):
        chunks = [
            (size, c)
            for size in settings.window_sizes
            for c in chunk_text(doc.text, source=doc.source, size=size, stride=max(size // 2, 1))
        ]
        for size, c in chunks:
            columns["doc"].append(d)
            columns["scale"].append(size)
            columns["start"].append(c.start)
            columns["end"].append(c.end)
            columns["word_start"].append(c.word_start)
            columns["word_end"].append(c.word_end)
        old = None
        if reusable and previous.manifest.sources.get(doc.source) == doc.sha256:
            rows = np.flatnonzero(previous.table["doc"] == previous.document_index(doc.source))
            if len(rows) == len(chunks):
                old = np.asarray(previous.vectors[rows], dtype=np.float32)
        if old is None:
            todo.append((len(parts), [c.text for _, c in chunks]))
        else:
            reused += len(old)
        parts.append(old)
    total = sum(len(t) for _, t in todo)
    done = 0
    for slot, texts in todo:
        vecs = []
        for i in range(0, len(texts), 256):
            vecs.append(embedder.encode(texts[i : i + 256]))
            done += len(texts[i : i + 256])
            if progress:
                progress(done, total)
        parts[slot] = np.concatenate(vecs)
    vectors = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    table = {k: np.asarray(v, dtype=np.int64) for k, v in columns.items()}
    factory = faiss_factory(len(vectors), vectors.shape[1], settings.faiss_index)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=embedder.name,
        dimension=int(vectors.shape[1]),
        window_sizes=list(settings.window_sizes),
        sources={d.source: d.sha256 for d in documents},
        chunks=len(vectors),
        faiss_index=factory,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=_versions(),
    )
    index = Index(
        manifest=manifest,
        documents=documents,
        table=table,
        vectors=vectors,
        faiss_index=make_faiss(vectors, factory),
    )
    return index, total, reused


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_index(index: Index, index_dir: Path) -> Path:
    """Write ``index`` to a new build folder and publish it atomically; returns that folder.

    The index's manifest gains the files' hashes.
    """
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-build-", dir=index_dir))
    try:
        with open(tmp / "documents.jsonl", "w", encoding="utf-8") as f:
            for d in index.documents:
                f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")
        np.savez(tmp / "chunks.npz", **index.table)
        np.save(tmp / "vectors.npy", np.asarray(index.vectors))
        faiss.write_index(index.faiss_index, str(tmp / "index.faiss"))
        files = {name: _sha256(tmp / name) for name in _FILES}
        manifest = Manifest(**{**asdict(index.manifest), "files": files})
        (tmp / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
        for name in (*_FILES, "manifest.json"):
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        final = index_dir / f"build-{stamp}-{tmp.name[-8:]}"
        os.rename(tmp, final)
        pointer_tmp = index_dir / f".{POINTER}.tmp"
        pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
        with open(pointer_tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(pointer_tmp, index_dir / POINTER)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index.manifest = manifest
    _prune(index_dir, keep=final.name)
    return final


def _prune(index_dir: Path, *, keep: str) -> None:
    """Remove old builds and leftovers of crashed builds, keeping the live one."""
    for path in index_dir.iterdir():
        if path.is_dir() and path.name != keep and path.name.startswith(("build-", ".tmp-build-")):
            shutil.rmtree(path, ignore_errors=True)


def _live_folder(index_dir: Path) -> Path:
    pointer = index_dir / POINTER
    if not pointer.exists():
        raise IndexMissingError(f"no index in {index_dir}; run `qa index` to build it")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"unreadable {pointer}: {exc}; run `qa index --rebuild`") from None
    folder = index_dir / name
    if not name.startswith("build-") or "/" in name or not folder.is_dir():
        raise IndexCorruptError(f"{pointer} names no build folder; run `qa index --rebuild`")
    return folder


def read_manifest(index_dir: Path) -> Manifest:
    folder = _live_folder(index_dir)
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("format_version") != FORMAT_VERSION:
            raise IndexStaleError("the index was built by another version of qa; run `qa index`")
        return Manifest.from_json(data)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(
            f"index manifest unreadable ({type(exc).__name__}); run `qa index --rebuild`"
        ) from None


def load_index(index_dir: Path, *, verify: bool = True) -> Index:
    """The live index under ``index_dir``; checks every file against the manifest's hashes."""
    import faiss

    manifest = read_manifest(index_dir)
    folder = _live_folder(index_dir)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexStaleError("index was built by another version of qa; run `qa index --rebuild`")
    try:
        if verify:
            for name in _FILES:
                if _sha256(folder / name) != manifest.files.get(name):
                    raise IndexCorruptError(f"index file {name} is damaged; run `qa index --rebuild`")
        with open(folder / "documents.jsonl", encoding="utf-8") as f:
            documents = [Document(**json.loads(line)) for line in f if line.strip()]
        with np.load(folder / "chunks.npz") as npz:
            table = {k: npz[k] for k in npz.files}
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        faiss_index = faiss.read_index(str(folder / "index.faiss"))
    except IndexCorruptError:
        raise
    except Exception as exc:  # numpy, json and faiss raise many kinds for damaged files
        raise IndexCorruptError(
            f"index files unreadable ({type(exc).__name__}); run `qa index --rebuild`"
        ) from None
    if not (len(table.get("doc", ())) == len(vectors) == faiss_index.ntotal == manifest.chunks):
        raise IndexCorruptError("index files disagree on the number of windows; run `qa index --rebuild`")
    tune_faiss(faiss_index)
    return Index(
        manifest=manifest, documents=documents, table=table, vectors=vectors, faiss_index=faiss_index
    )


def stale_reasons(manifest: Manifest, documents: Sequence[Document], settings: Settings) -> list[str]:
    """Why an index with ``manifest`` does not fit the current sources and settings (empty: fits)."""
    reasons = []
    if manifest.model != settings.model:
        reasons.append(f"built with model {manifest.model!r}, settings ask for {settings.model!r}")
    if list(manifest.window_sizes) != list(settings.window_sizes):
        reasons.append(
            f"built with window sizes {list(manifest.window_sizes)}, "
            f"settings ask for {list(settings.window_sizes)}"
        )
    wanted = faiss_factory(manifest.chunks, manifest.dimension, settings.faiss_index)
    if settings.faiss_index and manifest.faiss_index != wanted:
        reasons.append(f"built as FAISS {manifest.faiss_index!r}, settings ask for {wanted!r}")
    current = {d.source: d.sha256 for d in documents}
    for source in sorted(current.keys() - manifest.sources.keys()):
        reasons.append(f"new source {source}")
    for source in sorted(manifest.sources.keys() - current.keys()):
        reasons.append(f"source removed: {source}")
    for source in sorted(current.keys() & manifest.sources.keys()):
        if current[source] != manifest.sources[source]:
            reasons.append(f"source changed: {source}")
    return reasons


@contextlib.contextmanager
def build_lock(index_dir: Path, *, timeout: float = 600.0) -> Iterator[None]:
    """Hold the index folder's build lock; waits for another build to finish first."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexLockedError(
                        f"another `qa index` has held {index_dir}/.lock for {timeout:.0f}s"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Load the index if it fits the sources and settings; otherwise (re)build what is stale."""
    with build_lock(settings.index_dir):
        documents, problems = scan_sources(
            settings.seeds_dir, settings.root, max_file_mb=settings.max_file_mb
        )
        skipped = tuple(str(p) for p in problems)
        if not documents:
            raise NoSourcesError(
                f"no readable documents in {settings.seeds_dir}"
                + (f" ({'; '.join(skipped)})" if skipped else "")
            )
        previous: Index | None = None
        reasons: list[str] = []
        try:
            previous = load_index(settings.index_dir)
            reasons = stale_reasons(previous.manifest, documents, settings)
        except (IndexMissingError, IndexCorruptError, IndexStaleError) as exc:
            reasons = [str(exc)]
        if previous is not None and not reasons and not rebuild:
            meta = {(d.source, d.title, d.url, d.license) for d in documents}
            if meta == {(d.source, d.title, d.url, d.license) for d in previous.documents}:
                return BuildReport(previous, "up to date", reused=len(previous), skipped=skipped)
            reasons = ["titles or links changed"]
        index, embedded, reused = build_index(
            documents,
            settings=settings,
            embedder=embedder,
            previous=None if rebuild else previous,
            progress=progress,
        )
        save_index(index, settings.index_dir)
        status = "built" if previous is None or rebuild else "updated"
        return BuildReport(index, status, embedded, reused, skipped, tuple(reasons))


def open_index(settings: Settings) -> Index:
    """The live index, refusing one built for another model or other chunk settings."""
    index = load_index(settings.index_dir)
    if index.manifest.model != settings.model:
        raise IndexStaleError(
            f"the index was built with model {index.manifest.model!r} but QA_MODEL is "
            f"{settings.model!r}; run `qa index` to rebuild it"
        )
    return index


def check_sources(settings: Settings, manifest: Manifest) -> list[str]:
    """Reasons the sources on disk no longer match ``manifest`` (cheap: hashes only)."""
    documents, _ = scan_sources(settings.seeds_dir, settings.root, max_file_mb=settings.max_file_mb)
    return stale_reasons(manifest, documents, settings)
