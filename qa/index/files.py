"""The index on disk: save into a build folder, publish it atomically, load and verify it.

Layout under the index folder::

    CURRENT                 name of the live build folder (replaced atomically)
    build-<time>-<id>/      manifest.json, documents.jsonl, windows.npz,
                            store/ (the vector store's files), lexical/ (BM25 per window size),
                            phrases/ (the documents' content words: which names they mention)
    .lock                   held while a build runs, so two builds never interleave
    .building               the running build's progress line, for other processes (qa.index.lock)

A build is written to a hidden ``.tmp-build-*`` folder and published by replacing ``CURRENT``,
so a crash at any point leaves the previous build loadable; leftovers of a killed build are
removed by the next build. The manifest holds a hash of every file, checked on load: the whole
file up to :data:`SAMPLED_ABOVE` bytes; above it (a million windows' vectors are 1.5 GB, whose
hash alone would take seconds at every start) the file's size and a hash of
:data:`SAMPLED_BLOCKS` blocks spread evenly over it, which any truncation, replacement or
overwrite of a block's worth of the file changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from qa.atomic import atomic_write, file_sha256, fsync_path
from qa.config import Settings
from qa.errors import IndexCorruptError, IndexMissingError, IndexStaleError, QAError
from qa.index.model import FORMAT_VERSION, Index, Manifest, Windows
from qa.ingest.sources import Document
from qa.lexical.bm25 import LexicalIndex
from qa.lexical.terms import Phrasebook
from qa.store.base import load_store

__all__ = [
    "POINTER",
    "live_folder",
    "load_index",
    "read_manifest",
    "remove_leftovers",
    "save_index",
]

POINTER = "CURRENT"
MANIFEST, DOCUMENTS, WINDOWS = "manifest.json", "documents.jsonl", "windows.npz"
STORE_DIR, LEXICAL_DIR, PHRASES_DIR = "store", "lexical", "phrases"
TMP_PREFIX, BUILD_PREFIX = ".tmp-build-", "build-"
SAMPLED_ABOVE = 64 << 20
"""Files larger than this (bytes) are checked by size and sampled blocks, not read whole."""
SAMPLED_BLOCKS, _BLOCK = 1024, 4096
_SAMPLED = "sampled-sha256:"


def _sampled_sha256(path: Path) -> str:
    """Hash of ``path``'s size and of :data:`SAMPLED_BLOCKS` 4 KiB blocks evenly spread over it."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for i in range(SAMPLED_BLOCKS):
            f.seek(i * max(size - _BLOCK, 0) // (SAMPLED_BLOCKS - 1))
            h.update(f.read(_BLOCK))
    return _SAMPLED + h.hexdigest()


def _digest(path: Path) -> str:
    """What the manifest records of a file: its SHA-256, or for a large one a sampled hash."""
    return _sampled_sha256(path) if path.stat().st_size > SAMPLED_ABOVE else file_sha256(path)


def _write_parts(index: Index, folder: Path) -> list[str]:
    """Write everything but the manifest into ``folder``; returns the files' relative paths."""
    with open(folder / DOCUMENTS, "w", encoding="utf-8") as f:
        for d in index.documents:
            record = asdict(d)
            if not record["lang"]:  # unknown: left out, so the file reads as before
                del record["lang"]
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    np.savez(folder / WINDOWS, **index.windows.as_dict())
    (folder / STORE_DIR).mkdir()
    stored = index.store.save(folder / STORE_DIR)
    lexical = index.lexical.save(folder / LEXICAL_DIR)
    phrases = index.phrasebook.save(folder / PHRASES_DIR)
    return [
        DOCUMENTS,
        WINDOWS,
        *(f"{STORE_DIR}/{n}" for n in stored),
        *(f"{LEXICAL_DIR}/{n}" for n in lexical),
        *(f"{PHRASES_DIR}/{n}" for n in phrases),
    ]


def save_index(index: Index, index_dir: Path) -> Path:
    """Write ``index`` to a new build folder and publish it atomically; returns that folder.

    The index's manifest gains the files' hashes.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=index_dir))
    try:
        names = _write_parts(index, tmp)
        manifest = Manifest(**{**asdict(index.manifest), "files": {n: _digest(tmp / n) for n in names}})
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
        for name in (*names, MANIFEST):
            fsync_path(tmp / name)
        for sub in {Path(n).parent for n in names}:
            fsync_path(tmp / sub)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        final = index_dir / f"{BUILD_PREFIX}{stamp}-{tmp.name[-8:]}"
        os.rename(tmp, final)
        atomic_write(index_dir / POINTER, final.name + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index.manifest = manifest
    remove_leftovers(index_dir)
    return final


def remove_leftovers(index_dir: Path) -> None:
    """Remove builds that are not live and ``.tmp-build-*`` folders of killed builds.

    Call only while holding the build lock (a running build owns its temporary folder).
    """
    if not index_dir.is_dir():
        return
    try:
        keep = live_folder(index_dir).name
    except (IndexMissingError, IndexCorruptError):
        keep = ""
    for path in index_dir.iterdir():
        if path.is_dir() and path.name != keep and path.name.startswith((BUILD_PREFIX, TMP_PREFIX)):
            shutil.rmtree(path, ignore_errors=True)
    for path in index_dir.glob(f".{POINTER}.*.tmp"):
        path.unlink(missing_ok=True)


def live_folder(index_dir: Path) -> Path:
    """The build folder ``CURRENT`` names."""
    pointer = index_dir / POINTER
    if not pointer.exists():
        raise IndexMissingError(f"no index in {index_dir}; run `qa index` to build it")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"unreadable {pointer}: {exc}; run `qa index --rebuild`") from None
    folder = index_dir / name
    if not name.startswith(BUILD_PREFIX) or "/" in name or not folder.is_dir():
        raise IndexCorruptError(f"{pointer} names no build folder; run `qa index --rebuild`")
    return folder


def read_manifest(index_dir: Path) -> Manifest:
    """The live build's manifest; :class:`IndexStaleError` if another format version made it."""
    folder = live_folder(index_dir)
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("format_version") != FORMAT_VERSION:
            raise IndexStaleError("the index was built by another version of qa; run `qa index --rebuild`")
        return Manifest.from_json(data)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(
            f"index manifest unreadable ({type(exc).__name__}); run `qa index --rebuild`"
        ) from None


def _verify(folder: Path, manifest: Manifest) -> None:
    if not manifest.files:
        raise IndexCorruptError("index manifest lists no files; run `qa index --rebuild`")
    for name, digest in manifest.files.items():
        path = folder / name
        if not path.is_file():
            raise IndexCorruptError(f"index file {name} is unreadable (missing); run `qa index --rebuild`")
        found = _sampled_sha256(path) if digest.startswith(_SAMPLED) else file_sha256(path)
        if found != digest:
            raise IndexCorruptError(f"index file {name} is damaged; run `qa index --rebuild`")


def load_index(index_dir: Path, *, verify: bool = True, settings: Settings | None = None) -> Index:
    """The live index under ``index_dir``; checks every file against the manifest's hashes.
    ``settings`` say where a store on a server (Milvus) is."""
    manifest = read_manifest(index_dir)
    folder = live_folder(index_dir)
    if verify:
        _verify(folder, manifest)
    try:
        with open(folder / DOCUMENTS, encoding="utf-8") as f:
            documents = [Document(**json.loads(line)) for line in f if line.strip()]
        with np.load(folder / WINDOWS) as npz:
            windows = Windows.from_mapping(npz)
        store = load_store(manifest.store, folder / STORE_DIR, manifest.faiss_index, settings)
        lexical = LexicalIndex.load(folder / LEXICAL_DIR)
        phrasebook = Phrasebook.load(folder / PHRASES_DIR) if (folder / PHRASES_DIR).is_dir() else None
    except QAError:  # damaged files, or a store server that cannot be reached: said as such
        raise
    except Exception as exc:  # numpy, json, bm25s and faiss raise many kinds for damaged files
        raise IndexCorruptError(
            f"index files unreadable ({type(exc).__name__}); run `qa index --rebuild`"
        ) from None
    if not (len(windows) == len(store) == lexical.n == manifest.chunks) or windows.doc.max(initial=-1) >= len(
        documents
    ):
        raise IndexCorruptError("index files disagree on the number of windows; run `qa index --rebuild`")
    return Index(
        manifest=manifest,
        documents=documents,
        windows=windows,
        store=store,
        lexical=lexical,
        phrasebook=phrasebook,
    )
